"""torch.fft's n-dimensional Hermitian transforms (hfft2, hfftn, ihfft2, ihfftn) against PyTorch on every
device: values and dtypes over s / dim / norm, gradients (through PyTorch's composition of the complex,
real-to-complex and complex-to-real transforms), finite differences, and errors."""
import numpy as np
import pytest
import torch

from helpers import check, check_raises, gradcheck, randn

NORMS = [None, "backward", "ortho", "forward"]


def cplx(T, x):
    return T.complex(x, x.flip(-1) * 0.5)


TRANSFORMS = {
    "hfft2": lambda T, x, norm: T.fft.hfft2(cplx(T, x), norm=norm),
    "hfft2_real_input": lambda T, x, norm: T.fft.hfft2(x, norm=norm),
    "hfft2_s": lambda T, x, norm: T.fft.hfft2(cplx(T, x), s=(2, 7), norm=norm),
    "hfftn": lambda T, x, norm: T.fft.hfftn(cplx(T, x), norm=norm),
    "hfftn_s_dim": lambda T, x, norm: T.fft.hfftn(cplx(T, x), s=(3, 4), dim=(2, 0), norm=norm),
    "hfftn_one_dim": lambda T, x, norm: T.fft.hfftn(cplx(T, x), dim=1, norm=norm),
    "hfftn_s_keep_last": lambda T, x, norm: T.fft.hfftn(cplx(T, x), s=(5, -1), norm=norm),
    "ihfft2": lambda T, x, norm: T.fft.ihfft2(x, norm=norm),
    "ihfft2_s": lambda T, x, norm: T.fft.ihfft2(x, s=(4, 3), dim=(0, 2), norm=norm),
    "ihfftn": lambda T, x, norm: T.fft.ihfftn(x, norm=norm),
    "ihfftn_s_only": lambda T, x, norm: T.fft.ihfftn(x, s=(2, 5), norm=norm),
    "ihfftn_one_dim": lambda T, x, norm: T.fft.ihfftn(x, dim=(-2,), norm=norm),
}


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_hermitian_transforms(device, name, norm):
    """Values, dtypes and the gradient of the real input (a complex output's through view_as_real)."""
    if device == "cuda" and norm in ("backward", "forward"):
        pytest.skip("(the simulator's time: cuda runs the default and ortho norms)")

    def fn(T, x):
        out = TRANSFORMS[name](T, x, norm)
        return T.view_as_real(out.resolve_conj()) if out.is_complex() else out
    check(fn, randn(2, 3, 4), device=device, atol=1e-5, rtol=1e-4)


def test_hermitian_transforms_float64_and_integer_input(device):
    check(lambda T, x: T.fft.hfftn(x), randn(3, 4, dtype=np.float64), device=device, atol=1e-12, rtol=1e-10)
    check(lambda T, x: T.view_as_real(T.fft.ihfft2(x).resolve_conj()), randn(3, 4, dtype=np.float64),
          device=device, atol=1e-12, rtol=1e-10)
    ints = np.arange(6).reshape(2, 3)
    check(lambda T, x: T.fft.hfft2(x), ints, device=device)
    check(lambda T, x: T.view_as_real(T.fft.ihfftn(x).resolve_conj()), ints, device=device)


def test_hfftn_inverts_ihfftn(device):
    """hfftn(ihfftn(x), s=x.shape) is x again (the last dim's size must be given: it is not recoverable)."""
    check(lambda T, x: T.fft.hfftn(T.fft.ihfftn(x), s=x.shape), randn(3, 5), device=device, atol=1e-5)
    check(lambda T, x: T.fft.hfft2(T.fft.ihfft2(x, norm="ortho"), s=x.shape[-2:], norm="ortho"), randn(2, 2, 4),
          device=device, atol=1e-5)


GRADCHECKED = {  # real-valued functions of real inputs
    "hfft2": lambda T, x: T.fft.hfft2(T.complex(x, -x.flip(1))),
    "hfftn_s": lambda T, x: T.fft.hfftn(T.complex(x, x * x), s=(3, 5), norm="ortho"),
    "hfftn_one_dim": lambda T, x: T.fft.hfftn(T.complex(x, x), dim=0, norm="forward"),
    "ihfft2_parts": lambda T, x: T.view_as_real(T.fft.ihfft2(x).resolve_conj()),
    "ihfftn_abs": lambda T, x: T.fft.ihfftn(x, s=(3, 4), norm="ortho").abs(),
    "roundtrip": lambda T, x: T.fft.hfftn(T.fft.ihfftn(x) * 2.0, s=(2, 3)),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_hermitian_gradcheck(device, name):
    gradcheck(GRADCHECKED[name], randn(2, 3), double=device == "cpu", device=device)


ERRORS = {
    "ihfftn_complex": (lambda T, x: T.fft.ihfftn(T.fft.fft(x)), RuntimeError),
    "ihfft2_complex": (lambda T, x: T.fft.ihfft2(T.fft.fft(x)), RuntimeError),
    "hfftn_no_dims": (lambda T, x: T.fft.hfftn(x, dim=[]), RuntimeError),
    "ihfftn_no_dims": (lambda T, x: T.fft.ihfftn(x, dim=[]), RuntimeError),
    "hfftn_0d": (lambda T, x: T.fft.hfftn(x[0, 0]), RuntimeError),
    "ihfftn_0d": (lambda T, x: T.fft.ihfftn(x[0, 0]), RuntimeError),
    "hfft2_0d": (lambda T, x: T.fft.hfft2(x[0, 0]), IndexError),
    "hfft2_1d": (lambda T, x: T.fft.hfft2(x[0]), IndexError),
    "ihfft2_1d": (lambda T, x: T.fft.ihfft2(x[0]), IndexError),
    "hfftn_too_many_sizes": (lambda T, x: T.fft.hfftn(x, s=(2, 3, 4)), RuntimeError),
    "hfftn_s_dim_lengths": (lambda T, x: T.fft.hfftn(x, s=(2,), dim=(0, 1)), RuntimeError),
    "hfftn_one_output_point": (lambda T, x: T.fft.hfftn(x[:, :1]), RuntimeError),
    "ihfftn_zero_size": (lambda T, x: T.fft.ihfftn(x, s=(0, 2)), RuntimeError),
    "ihfftn_empty": (lambda T, x: T.fft.ihfftn(x[:0]), RuntimeError),
    "hfftn_dims_repeated": (lambda T, x: T.fft.hfftn(x, dim=(0, 0)), RuntimeError),
    "ihfftn_dims_repeated": (lambda T, x: T.fft.ihfftn(x, dim=(1, -1)), RuntimeError),
    "hfftn_norm": (lambda T, x: T.fft.hfftn(x, norm="bad"), RuntimeError),
    "ihfft2_norm": (lambda T, x: T.fft.ihfft2(x, norm="bad"), RuntimeError),
    "hfftn_half": (lambda T, x: T.fft.hfftn(x.half()), RuntimeError),
    "ihfftn_half": (lambda T, x: T.fft.ihfftn(x.half()), RuntimeError),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_hermitian_errors(device, name):
    fn, exc = ERRORS[name]
    check_raises(fn, randn(2, 3), exc=exc, device=device)


def test_error_messages():
    import framework
    with pytest.raises(RuntimeError, match="Only supports floating-point dtypes, but found: ComplexFloat"):
        framework.fft.ihfftn(framework.fft.fft(framework.ones(2, 2)))
    with pytest.raises(RuntimeError, match="hfft2 must transform at least one axis"):
        framework.fft.hfft2(framework.ones(2, 2), dim=())
    with pytest.raises(RuntimeError, match="Unsupported dtype Half"):
        framework.fft.ihfft2(framework.ones(2, 2, dtype=framework.float16))
    assert tuple(torch.fft.hfftn(torch.ones(3, 4)).shape) == tuple(framework.fft.hfftn(framework.ones(3, 4)).shape)
