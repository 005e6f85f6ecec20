"""Signal processing at torch's top level: the window functions (hann, hamming, blackman,
bartlett, kaiser) and the short-time Fourier transform and its inverse.

Everything is composed: windows from arange and pointwise ops (PyTorch's formulas), stft as
frames gathered by index, times the window, through framework.fft, and istft as framework.fft's
inverse, overlap-added with index_add and divided by the window's squared envelope, so both
are differentiable in the signal and the window."""
import math
import warnings

from framework import dtypes as _dt
from framework.tensor import Tensor

# ----------------------------------------------------------------- windows


def _window_start(name, window_length, dtype, device, requires_grad):
    """PyTorch's window_function_checks; (dtype, device) of the result."""
    from framework.device import as_device
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    dt = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    return dt, as_device(device)


def _window(name, window_length, periodic, dtype, device, requires_grad, formula):
    """`formula(n, N)` over n = 0..N-1 of the symmetric window of length N (N = window_length + 1
    when periodic, then the last sample dropped); lengths 0 and 1 give empty and [1]."""
    from framework.ops.creation import arange, ones, zeros
    dt, dev = _window_start(name, window_length, dtype, device, requires_grad)
    if window_length == 0:
        out = zeros((0,), dtype=dt, device=dev)
    elif window_length == 1:
        out = ones((1,), dtype=dt, device=dev)
    else:
        n = window_length + 1 if periodic else window_length
        out = formula(arange(n, dtype=dt, device=dev), n)
        out = out[:window_length] if periodic else out
        out = out.to(dt)
    return out.requires_grad_(True) if requires_grad else out


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, pin_memory=False,
                requires_grad=False):
    """0.5 - 0.5 cos(2 pi n / (N - 1))."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 0.5 - 0.5 * (n * (2 * math.pi / (N - 1))).cos())


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   pin_memory=False, requires_grad=False):
    """alpha - beta cos(2 pi n / (N - 1))."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: alpha - beta * (n * (2 * math.pi / (N - 1))).cos())


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, pin_memory=False,
                    requires_grad=False):
    """0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    def formula(n, N):
        t = n * (math.pi / (N - 1))
        return (t * 4).cos() * 0.08 - (t * 2).cos() * 0.5 + 0.42
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad, formula)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, pin_memory=False,
                    requires_grad=False):
    """The triangle 2n / (N - 1), mirrored as 2 - 2n / (N - 1) past the middle."""
    from framework.ops.elementwise import where

    def formula(n, N):
        t = n * (2.0 / (N - 1))
        return where(n < ((N - 1) >> 1) + 1, t, 2 - t)
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad, formula)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  pin_memory=False, requires_grad=False):
    """I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta), a = (N - 1) / 2."""
    from framework.ops.math import i0

    def formula(n, N):
        a = (N - 1) / 2.0
        r = (n - a) / a
        return i0(beta * (1 - r * r).abs().sqrt()) / float(i0(n.new_tensor(beta, dtype=_dt.float64)))
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, formula)


# ----------------------------------------------------------------- stft


_warned = set()


def _warn_once(key, message):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


def _describe(x):
    if isinstance(x, Tensor):
        return f"torch.{_dt.scalar_name(x.dtype)}Tensor{{[{', '.join(map(str, x.shape))}]}}"
    return "None"


def _centered(window, win_length, n_fft, like):
    """The window (ones by default) zero-padded on both sides to n_fft, as PyTorch centres it."""
    from framework.ops.creation import ones
    from framework.ops.padding import pad
    w = window if window is not None else ones((win_length,), dtype=_dt.real_of(like.dtype), device=like.device)
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        w = pad(w, (left, n_fft - win_length - left))
    return w


def _parts(x):
    from framework.ops.complex import imag, real
    return (real(x), imag(x)) if x.dtype.is_complex else (x, None)


def _times(a, b):
    """a * b where either may be complex, computed on real and imaginary parts: a real factor's
    gradient is then real (the real part, as PyTorch's), and no complex gradient is summed over
    a broadcast."""
    from framework.ops.complex import complex as make_complex
    if not (a.dtype.is_complex or b.dtype.is_complex):
        return a * b
    (ar, ai), (br, bi) = _parts(a), _parts(b)
    if ai is None:
        return make_complex(ar * br, ar * bi)
    if bi is None:
        return make_complex(ar * br, ai * br)
    return make_complex(ar * br - ai * bi, ar * bi + ai * br)


def _over(a, b):
    """a / b on real and imaginary parts (as _times)."""
    from framework.ops.complex import complex as make_complex
    if not (a.dtype.is_complex or b.dtype.is_complex):
        return a / b
    br, bi = _parts(b)
    if bi is not None:  # a conj(b) / |b|^2
        a, b = _times(a, make_complex(br, -bi)), br * br + bi * bi
    ar, ai = _parts(a)
    return make_complex(ar / b, ai / b) if ai is not None else a / b


def _overlap_add(values, index, length):
    """Sums values (..., k) into `length` positions at `index` (k,), per real part."""
    from framework.ops.complex import complex as make_complex
    from framework.ops.creation import zeros
    re, im = _parts(values)
    shape = tuple(values.shape[:-1]) + (length,)
    out = [zeros(shape, dtype=p.dtype, device=p.device).index_add(p.ndim - 1, index, p) for p in (re, im)
           if p is not None]
    return make_complex(*out) if len(out) == 2 else out[0]


def _frame_index(n_frames, n_fft, hop, device):
    from framework.ops.creation import arange
    starts = arange(n_frames, device=device).unsqueeze(1) * hop
    return starts + arange(n_fft, device=device).unsqueeze(0)


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None, align_to_window=None):
    """The short-time Fourier transform: (n_fft // 2 + 1 or n_fft) frequencies x frames of
    the windowed signal (complex; the real view with return_complex=False)."""
    from framework import fft
    from framework.ops.complex import complex as make_complex, view_as_real
    from framework.ops.padding import pad
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if center:
        signal_dim = input.ndim
        pad_size = int(n_fft // 2)
        extended = input.reshape((1,) * (3 - signal_dim) + tuple(input.shape))
        input = pad(extended, [pad_size, pad_size], pad_mode)
        input = input.reshape(tuple(input.shape[-signal_dim:]) if signal_dim else ())
    hop = n_fft >> 2 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    window_desc = _describe(window)

    def fail(message):
        raise RuntimeError(f"stft({_describe(input).split('{')[0]}[{', '.join(map(str, input.shape))}], "
                           f"n_fft={n_fft}, hop_length={hop}, win_length={win}, window={window_desc}, "
                           f"normalized={int(normalized)}, onesided={_opt(onesided)}, "
                           f"return_complex={_opt(return_complex)}, align_to_window={_opt(align_to_window)}) : "
                           f"{message}")
    complex_window = window is not None and window.dtype.is_complex
    if return_complex is None and not (input.dtype.is_complex or complex_window):
        raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will further "
                           "require that return_complex=True in a future PyTorch release.")
    if return_complex is None:
        return_complex = True
    if not return_complex:
        _warn_once("stft_real", "stft with return_complex=False is deprecated. In a future pytorch release, stft will "
                   "return complex tensors for all inputs, and return_complex=False will raise an error.\nNote: you "
                   "can still call torch.view_as_real on the complex output to recover the old return format.")
    if window is None:
        _warn_once("stft_window", "A window was not provided. A rectangular window will be applied,which is known to "
                   "cause spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
                   "recommended to reduce spectral leakage.To suppress this warning and use a rectangular window, "
                   "explicitly set `window=torch.ones(n_fft, device=<device>)`.")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        fail("expected a tensor of floating point or complex values")
    if input.ndim not in (1, 2):
        fail("expected a 1D or 2D tensor")
    x = input.unsqueeze(0) if input.ndim == 1 else input
    length = x.shape[1]
    if n_fft <= 0 or n_fft > length:
        fail(f"expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop <= 0:
        fail(f"expected hop_length > 0, but got hop_length={hop}")
    if win <= 0 or win > n_fft:
        fail(f"expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        fail(f"expected a 1D window tensor of size equal to win_length={win}, but got window with size "
             f"{list(window.shape)}")
    w = _centered(window, win, n_fft, x)
    if align_to_window and win < n_fft:  # frames start where their window does
        left = (n_fft - win) // 2
        x = pad(x, (left, n_fft - win - left))
        n_frames = 1 + (length - win) // hop
    else:
        n_frames = 1 + (length - n_fft) // hop
    index = _frame_index(n_frames, n_fft, hop, x.device)
    re, im = _parts(x)  # (gathered per part: no complex gradient goes through an index backward)
    frames = _times(re[:, index] if im is None else make_complex(re[:, index], im[:, index]), w)
    complex_fft = frames.dtype.is_complex
    sided = (not complex_fft) if onesided is None else onesided
    norm = "ortho" if normalized else "backward"
    if complex_fft:
        if sided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        out = fft.fft(frames, dim=-1, norm=norm)
    else:
        out = fft.rfft(frames, dim=-1, norm=norm) if sided else fft.fft(frames, dim=-1, norm=norm)
    out = out.transpose(1, 2)
    if input.ndim == 1:
        out = out.squeeze(0)
    return out if return_complex else view_as_real(out)


def _opt(value):
    return "None" if value is None else int(value)


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """The inverse of stft: each frame's inverse FFT, windowed, overlap-added and divided by the
    window's squared overlap-added envelope (PyTorch's least-squares inversion)."""
    from framework import fft
    from framework.ops.padding import pad
    hop = n_fft >> 2 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if not (isinstance(input, Tensor) and input.dtype.is_complex):
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    kind = {"complex64": "CPUComplexFloatType", "complex128": "CPUComplexDoubleType"}[input.dtype.name]

    def fail(message):
        raise RuntimeError(f"istft({kind}[{', '.join(map(str, input.shape))}], n_fft={n_fft}, hop_length={hop}, "
                           f"win_length={win}, window={_describe(window)}, center={int(center)}, "
                           f"normalized={int(normalized)}, onesided={_opt(onesided)}, length={_opt(length)}, "
                           f"return_complex={int(return_complex)}) : {message}")
    if input.numel() == 0:
        fail("input tensor cannot be empty.")
    if input.ndim not in (2, 3):
        fail(f"expected a tensor with 3 or 4 dimensions, but got {input.ndim + 1}")
    n_frames, fft_size = input.shape[-1], input.shape[-2]
    sided = (fft_size != n_fft) if onesided is None else onesided
    if sided and n_fft // 2 + 1 != fft_size:
        fail(f"expected the frequency dimension (3rd to the last) of the input tensor to match n_fft / 2 + 1 when "
             f"onesided=True, but got {fft_size}")
    if not sided and n_fft != fft_size:
        fail(f"expected the frequency dimension (3rd to the last) of the input tensor to match n_fft when "
             f"onesided=False, but got {fft_size}")
    if not 0 < hop <= win:
        fail("expected 0 < hop_length <= win_length")
    if not 0 < win <= n_fft:
        fail("expected 0 < win_length <= n_fft")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        fail("Invalid window shape. window has to be 1D and length of `win_length`")
    if window is None:
        _warn_once("istft_window", "A window was not provided. A rectangular window will be applied.Please provide "
                   "the same window used by stft to make the inversion lossless.To suppress this warning and use a "
                   "rectangular window, explicitly set `window=torch.ones(n_fft, device=<device>)`.")
    w = _centered(window, win, n_fft, input)
    spectra = (input.unsqueeze(0) if input.ndim == 2 else input).transpose(1, 2)  # (channel, frames, fft_size)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        if sided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = fft.ifft(spectra, dim=-1, norm=norm)
    else:
        if window is not None and window.dtype.is_complex:
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not sided:
            spectra = spectra.narrow(-1, 0, n_fft // 2 + 1)
        frames = fft.irfft(spectra, n=n_fft, dim=-1, norm=norm)
    expected = n_fft + hop * (n_frames - 1)
    index = _frame_index(n_frames, n_fft, hop, input.device).reshape(-1)
    channels = frames.shape[0]
    y = _overlap_add(_times(frames, w).reshape(channels, -1), index, expected)
    squared = _times(w, w)
    envelope = _overlap_add(squared.unsqueeze(0).repeat(n_frames, 1).reshape(-1), index, expected)
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else (expected - n_fft // 2 if center else expected)
    y = y[:, start:min(end, expected)]
    envelope = envelope[start:min(end, expected)]
    if bool((envelope.abs() < 1e-11).any()):
        raise RuntimeError("istft(...): window overlap add min: 1e-11")  # (checked on the trimmed envelope)
    y = _over(y, envelope)
    if input.ndim == 2:
        y = y.squeeze(0)
    if end > expected:
        _warn_once("istft_length", "The length of signal is shorter than the length parameter. Result is being padded "
                   "with zeros in the tail. Please check your center and hop_length settings.")
        y = pad(y, (0, end - expected))
    return y
