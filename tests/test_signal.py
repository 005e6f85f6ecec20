"""The window functions, stft and istft against PyTorch on every device: values, dtypes, shapes,
gradients (in the signal and the window), gradcheck, and PyTorch's errors."""
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, gradcheck, randn

WINDOWS = ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window")


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("length", [0, 1, 2, 5, 8])
def test_windows_match_torch(device, name, length):
    for periodic in (True, False):
        check(lambda T, x: getattr(T, name)(length, periodic, device=x.device), randn(1), device=device)
    check(lambda T, x: getattr(T, name)(length, dtype=T.float64, device=x.device), randn(1), device=device)


def test_window_parameters(device):
    check(lambda T, x: T.hamming_window(6, False, 0.5, 0.4, device=x.device), randn(1), device=device)
    check(lambda T, x: T.hamming_window(7, True, 0.6, device=x.device), randn(1), device=device)
    check(lambda T, x: T.kaiser_window(7, True, 3.5, device=x.device), randn(1), device=device)
    check(lambda T, x: T.kaiser_window(6, False, 0.0, dtype=T.float64, device=x.device), randn(1), device=device)
    w = framework.hann_window(4, requires_grad=True, device=device)
    assert w.requires_grad and w.is_leaf and w.device == framework.device(device)


def test_window_errors(device):
    for name in WINDOWS:
        check_raises(lambda T, x: getattr(T, name)(-1, device=x.device), randn(1), device=device)
        check_raises(lambda T, x: getattr(T, name)(4, dtype=T.int64, device=x.device), randn(1), device=device)
    message = check_raises(lambda T, x: T.hann_window(-2, device=x.device), randn(1), device=device)
    assert message == "hann_window requires non-negative window_length, got window_length=-2"


def _stft(T, x, n_fft, **kw):
    return T.view_as_real(T.stft(x, n_fft, return_complex=True, **kw))


STFT = {
    "default": lambda T, x: _stft(T, x, 8),
    "hop_and_window": lambda T, x: _stft(T, x, 8, hop_length=3, window=T.hann_window(8, device=x.device)),
    "short_window_centred": lambda T, x: _stft(T, x, 8, win_length=5, window=T.hamming_window(5, device=x.device)),
    "short_default_window": lambda T, x: _stft(T, x, 6, hop_length=2, win_length=4),
    "not_centred": lambda T, x: _stft(T, x, 8, hop_length=2, center=False),
    "align_to_window": lambda T, x: _stft(T, x, 8, hop_length=2, win_length=4, center=False, align_to_window=True),
    "constant_pad": lambda T, x: _stft(T, x, 8, hop_length=4, pad_mode="constant"),
    "replicate_pad": lambda T, x: _stft(T, x, 8, hop_length=4, pad_mode="replicate"),
    "normalized": lambda T, x: _stft(T, x, 8, hop_length=4, normalized=True),
    "two_sided": lambda T, x: _stft(T, x, 6, hop_length=3, onesided=False),
    "batched": lambda T, x: _stft(T, x.reshape(2, 10), 4, hop_length=2, window=T.hann_window(4, device=x.device)),
    "real_output": lambda T, x: T.stft(x, 8, hop_length=4, return_complex=False),
    "non_contiguous": lambda T, x: _stft(T, x.reshape(10, 2).t(), 4, hop_length=3),
    "float64": lambda T, x: _stft(T, x.double(), 8, hop_length=4),
    "method": lambda T, x: T.view_as_real(x.stft(8, 4, return_complex=True)),
    "complex_input": lambda T, x: _stft(T, T.complex(x, x.flip(0)), 8, hop_length=4),
    "complex_window": lambda T, x: _stft(T, x, 4, hop_length=4, center=False,
                                         window=T.complex(x[:4], x[4:8])),
}


def _check_on_a_signal(fn, device):
    """fn(T, x) on 20 samples against PyTorch (its UserWarnings, about windows and lengths, silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(fn, randn(20), atol=1e-4, device=device)


@pytest.mark.parametrize("name", sorted(STFT))
def test_stft_matches_torch(device, name):
    _check_on_a_signal(STFT[name], device)


def test_stft_gradcheck(device):
    gradcheck(lambda T, x, w: _stft(T, x, 4, hop_length=2, window=w), randn(9).astype(np.float64),
              randn(4).astype(np.float64), device=device)


def test_stft_errors_and_warnings(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_raises(lambda T, x: T.stft(x, 4), randn(10), device=device)  # return_complex required for real input
        for kw in ({"n_fft": 0}, {"n_fft": 4, "hop_length": 0}, {"n_fft": 4, "win_length": 5},
                   {"n_fft": 4, "window": "w3"}, {"n_fft": 4, "center": True, "align_to_window": True},
                   {"n_fft": 4, "onesided": True, "complex": True}, {"n_fft": 4, "pad_mode": "bogus"}):
            kw = dict(kw)
            complex_input = kw.pop("complex", False)
            exc = NotImplementedError if kw.get("pad_mode") == "bogus" else RuntimeError

            def run(T, x, kw=kw, complex_input=complex_input):
                if kw.get("window") == "w3":
                    kw = dict(kw, window=T.ones(3, device=x.device))
                return T.stft(T.complex(x, x) if complex_input else x, return_complex=True, **kw)
            check_raises(run, randn(10), exc=exc, device=device)
        check_raises(lambda T, x: T.stft(x.reshape(1, 2, 5), 4, return_complex=True), randn(10), device=device)
        check_raises(lambda T, x: T.stft((x * 10).long(), 4, return_complex=True), randn(10), device=device)
        check_raises(lambda T, x: T.stft(x, 20, return_complex=True), randn(10), device=device)
        message = check_raises(lambda T, x: T.stft(x, 4, hop_length=0, return_complex=True), randn(10),
                               device=device)
        assert message.endswith(": expected hop_length > 0, but got hop_length=0")
        theirs = ""
        try:
            torch.stft(torch.zeros(10), 4, win_length=5, return_complex=True)
        except RuntimeError as e:
            theirs = str(e)
        ours = check_raises(lambda T, x: T.stft(x, 4, win_length=5, return_complex=True), randn(10), device=device)
        assert ours == theirs
    framework.ops.spectral._warned.discard("stft_real")  # (warned once per process, as PyTorch's)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        framework.stft(framework.zeros(10, device=device), 4, window=framework.ones(4, device=device),
                       return_complex=False)


ISTFT = {
    "round_trip": lambda T, x: T.istft(T.stft(x, 8, hop_length=2, window=T.hann_window(8, device=x.device),
                                              return_complex=True), 8, hop_length=2,
                                       window=T.hann_window(8, device=x.device)),
    "default_window": lambda T, x: T.istft(T.stft(x, 4, window=T.ones(4, device=x.device), return_complex=True), 4),
    "length_shorter": lambda T, x: T.istft(T.stft(x, 8, hop_length=2, return_complex=True), 8, hop_length=2,
                                           length=15),
    "length_longer": lambda T, x: T.istft(T.stft(x, 8, hop_length=2, return_complex=True), 8, hop_length=2,
                                          length=26),
    "not_centred": lambda T, x: T.istft(T.stft(x, 8, hop_length=2, center=False, return_complex=True), 8,
                                        hop_length=2, center=False),
    "short_window": lambda T, x: T.istft(T.stft(x, 8, hop_length=2, win_length=6, return_complex=True), 8,
                                         hop_length=2, win_length=6),
    "normalized": lambda T, x: T.istft(T.stft(x, 8, hop_length=4, normalized=True, window=T.hann_window(
        8, device=x.device), return_complex=True), 8, hop_length=4, normalized=True,
        window=T.hann_window(8, device=x.device)),
    "two_sided": lambda T, x: T.istft(T.stft(x, 6, hop_length=2, onesided=False, return_complex=True), 6,
                                      hop_length=2, onesided=False),
    "complex_output": lambda T, x: T.view_as_real(T.istft(T.stft(x, 6, hop_length=2, onesided=False,
                                                                 return_complex=True), 6, hop_length=2,
                                                          onesided=False, return_complex=True)),
    "batched": lambda T, x: T.istft(T.stft(x.reshape(2, 10), 4, hop_length=1, return_complex=True), 4,
                                    hop_length=1),
    "method": lambda T, x: T.stft(x, 4, hop_length=2, return_complex=True).istft(4, 2),
    "spectrum_input": lambda T, x: T.istft(T.complex(x[:15].reshape(3, 5), x[5:].reshape(3, 5)), 4, hop_length=2,
                                           window=T.hann_window(4, device=x.device) + 0.1),
}


@pytest.mark.parametrize("name", sorted(ISTFT))
def test_istft_matches_torch(device, name):
    _check_on_a_signal(ISTFT[name], device)


def test_istft_gradcheck(device):
    def run(T, re, im):
        window = T.ones(4, dtype=T.float64, device=re.device)
        return T.istft(T.complex(re, im), 4, hop_length=2, window=window, center=False)
    gradcheck(run, randn(3, 4).astype(np.float64), randn(3, 4).astype(np.float64), device=device)


def test_istft_errors(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)

        def spectrum(T, x):
            return T.stft(x, 4, window=T.ones(4, device=x.device), return_complex=True)
        check_raises(lambda T, x: T.istft(T.view_as_real(spectrum(T, x)), 4), randn(10), device=device)
        check_raises(lambda T, x: T.istft(spectrum(T, x), 6), randn(10), device=device)
        check_raises(lambda T, x: T.istft(spectrum(T, x), 4, onesided=False), randn(10), device=device)
        check_raises(lambda T, x: T.istft(spectrum(T, x), 4, hop_length=5), randn(10), device=device)
        check_raises(lambda T, x: T.istft(spectrum(T, x), 4, win_length=5), randn(10), device=device)
        check_raises(lambda T, x: T.istft(spectrum(T, x), 4, window=T.ones(3, device=x.device)), randn(10),
                     device=device)
        check_raises(lambda T, x: T.istft(spectrum(T, x)[:, :0], 4), randn(10), device=device)
        check_raises(lambda T, x: T.istft(spectrum(T, x), 4, return_complex=True), randn(10), device=device)
        check_raises(lambda T, x: T.istft(spectrum(T, x).reshape(1, 1, 3, 11), 4), randn(10), device=device)
        check_raises(lambda T, x: T.istft(spectrum(T, x), 4, hop_length=4, window=T.hann_window(4, device=x.device)),
                     randn(10), device=device)  # the window's overlap-added envelope has zeros
        message = check_raises(lambda T, x: T.istft(spectrum(T, x), 6), randn(10), device=device)
        try:
            torch.istft(spectrum(torch, torch.zeros(10)), 6)
        except RuntimeError as e:
            assert message == str(e)
