"""framework.fft and the complex tensors it needs, against PyTorch on every device: values,
dtypes, gradients (through complex intermediates, as PyTorch's conjugate convention gives
them), the n / s / dim / norm arguments, helpers, and errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework
from helpers import check, check_raises, gradcheck, randn

NORMS = [None, "backward", "ortho", "forward"]


def cplx(T, a, b):
    return T.complex(a, b)


ONE_DIM = {
    "fft": lambda T, x, n, norm: T.fft.fft(x, n, -1, norm),
    "ifft": lambda T, x, n, norm: T.fft.ifft(x, n, 0, norm),
    "fft_complex": lambda T, x, n, norm: T.fft.fft(cplx(T, x, x.flip(-1) * 0.5), n, 1, norm),
    "ifft_complex": lambda T, x, n, norm: T.fft.ifft(cplx(T, x, -x), n, -1, norm),
    "rfft": lambda T, x, n, norm: T.fft.rfft(x, n, -1, norm),
    "irfft": lambda T, x, n, norm: T.fft.irfft(cplx(T, x, x * 0.3), n, -1, norm),
    "irfft_real_input": lambda T, x, n, norm: T.fft.irfft(x, n, 0, norm),
    "hfft": lambda T, x, n, norm: T.fft.hfft(cplx(T, x, x.flip(-1)), n, -1, norm),
    "ihfft": lambda T, x, n, norm: T.fft.ihfft(x, n, -1, norm),
}


@pytest.mark.parametrize("n", [None, 3, 8])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", sorted(ONE_DIM))
def test_one_dimensional_transforms(device, name, n, norm):
    if device == "cuda" and (norm == "backward" or n == 3):
        pytest.skip("(the simulator's time: cuda runs the default norm and two sizes)")
    check(lambda T, x: ONE_DIM[name](T, x, n, norm).resolve_conj(), randn(3, 6), device=device, atol=1e-5,
          rtol=1e-4)


MULTI_DIM = {
    "fft2": lambda T, x: T.fft.fft2(x),
    "fft2_s": lambda T, x: T.fft.fft2(x, s=(2, 5), norm="ortho"),
    "ifft2": lambda T, x: T.fft.ifft2(cplx(T, x, x * x), dim=(0, 2)),
    "rfft2": lambda T, x: T.fft.rfft2(x, norm="forward"),
    "irfft2": lambda T, x: T.fft.irfft2(cplx(T, x, -x)),
    "irfft2_s": lambda T, x: T.fft.irfft2(cplx(T, x, x), s=(3, 5)),
    "fftn": lambda T, x: T.fft.fftn(x),
    "fftn_s_dim": lambda T, x: T.fft.fftn(x, s=(4, 2), dim=(2, 0)),
    "fftn_s_only": lambda T, x: T.fft.fftn(x, s=(3, 3)),
    "ifftn": lambda T, x: T.fft.ifftn(cplx(T, x, x.flip(0)), dim=(1,), norm="ortho"),
    "rfftn": lambda T, x: T.fft.rfftn(x, dim=(0, 1)),
    "irfftn": lambda T, x: T.fft.irfftn(cplx(T, x, x), s=(2, 3, 6)),
    "irfftn_dim_none": lambda T, x: T.fft.irfftn(cplx(T, x, 2 * x)),
}


@pytest.mark.parametrize("name", sorted(MULTI_DIM))
def test_multi_dimensional_transforms(device, name):
    check(MULTI_DIM[name], randn(2, 3, 4), device=device, atol=1e-5, rtol=1e-4)


@settings(max_examples=6)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_fftn_any_dims_and_sizes(device, shape, data):
    k = data.draw(st.integers(1, len(shape)))
    dims = data.draw(st.permutations(range(len(shape))))[:k]
    s = [data.draw(st.sampled_from([-1, 1, 2, 5])) for _ in dims]
    norm = data.draw(st.sampled_from(NORMS))
    check(lambda T, x: T.fft.fftn(x, s=s, dim=dims, norm=norm), randn(*shape), device=device)
    check(lambda T, x: T.fft.rfftn(x, s=[n if n != -1 else 3 for n in s], dim=dims, norm=norm), randn(*shape),
          device=device)


GRADCHECKED = {  # real-valued functions through complex intermediates
    "fft_real_view": lambda T, x: T.view_as_real(T.fft.fft(x, norm="ortho")),
    "ifft_padded_abs": lambda T, x: T.fft.ifft(x, 5).abs(),
    "rfft_parts": lambda T, x: T.fft.rfft(x, norm="forward").real + 2 * T.fft.rfft(x, norm="forward").imag,
    "irfft": lambda T, x: T.fft.irfft(T.complex(x, x.flip(0)), 5),
    "irfft_even": lambda T, x: T.fft.irfft(T.complex(x, x * x), 4, norm="ortho"),
    "hfft": lambda T, x: T.fft.hfft(T.complex(x, -x)),
    "ihfft_angle": lambda T, x: T.fft.ihfft(x).angle(),
    "fft2_trimmed": lambda T, x: T.fft.fft2(x.reshape(2, 2), s=(2, 1)).abs(),
    "roundtrip": lambda T, x: T.fft.irfft(T.fft.rfft(x) * 1.0, 4),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_fft_gradcheck(device, name):
    gradcheck(GRADCHECKED[name], randn(4), double=device == "cpu", device=device)


def test_frequencies_and_shifts(device):
    for fn in (lambda T: T.fft.fftfreq(5, 0.1), lambda T: T.fft.fftfreq(6), lambda T: T.fft.rfftfreq(7, 2.0),
               lambda T: T.fft.fftfreq(4, dtype=T.float64), lambda T: T.fft.rfftfreq(0)):
        theirs, ours = fn(torch), fn(framework)
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    x = np.arange(15.0).reshape(3, 5)
    for fn in (lambda T, x: T.fft.fftshift(x), lambda T, x: T.fft.ifftshift(x), lambda T, x: T.fft.fftshift(x, 1),
               lambda T, x: T.fft.ifftshift(x, dim=(0,))):
        check(fn, x, device=device)


# ----------------------------------------------------------------- complex tensors

COMPLEX_OPS = {
    "real_imag": lambda T, a, b: (T.complex(a, b).real, T.complex(a, b).imag),
    "view_as_real": lambda T, a, b: T.view_as_real(T.complex(a, b)),
    "view_as_complex": lambda T, a, b: T.view_as_complex(T.stack([a, b], -1)),
    "abs": lambda T, a, b: T.complex(a, b).abs(),
    "angle": lambda T, a, b: T.angle(T.complex(a, b)),
    "conj": lambda T, a, b: T.view_as_real(T.conj(T.complex(a, b)).resolve_conj()),
    "sgn": lambda T, a, b: T.view_as_real(T.complex(a, b).sgn()),
    "polar": lambda T, a, b: T.view_as_real(T.polar(a.abs(), b)),
    "add_mul_real": lambda T, a, b: T.view_as_real(T.complex(a, b) * 2.0 + T.complex(b, a)),
    "complex_broadcast": lambda T, a, b: T.view_as_real(T.complex(a, b[:1])),
    "mul_complex": lambda T, a, b: T.view_as_real(T.complex(a, b) * T.complex(b, a * 0.5)),
    "square_complex": lambda T, a, b: T.view_as_real(T.complex(a, b) ** 2),
    "pow_complex_int": lambda T, a, b: T.view_as_real(T.complex(a, b) ** 3),
}


@pytest.mark.parametrize("name", sorted(COMPLEX_OPS))
def test_complex_ops(device, name):
    check(COMPLEX_OPS[name], randn(3, 2), randn(3, 2), device=device)


def test_complex_dtypes_and_promotion(device):
    assert framework.cfloat is framework.complex64 and framework.cdouble is framework.complex128
    assert framework.complex64.is_complex and not framework.complex64.is_floating_point
    assert framework.complex64.itemsize == 8
    pairs = [(framework.complex64, framework.float64), (framework.complex64, framework.int64),
             (framework.complex128, framework.float32), (framework.float32, framework.complex64)]
    for a, b in pairs:
        theirs = torch.promote_types(getattr(torch, a.name), getattr(torch, b.name))
        assert str(framework.promote_types(a, b)) == str(theirs)
    z = framework.complex(framework.ones(2, device=device), framework.zeros(2, device=device))
    assert z.dtype is framework.complex64 and z.is_complex() and not z.is_floating_point()
    assert str(framework.result_type(framework.ones(2), 1j)) == str(torch.result_type(torch.ones(2), 1j))
    one = framework.ones((), dtype=framework.float64)
    zero_dim = framework.complex(one, one)
    assert framework.result_type(framework.ones(2), zero_dim) is framework.complex64
    check(lambda T, x: T.view_as_real(T.complex(x, x).to(T.complex128)), randn(2), device=device, grad=False)
    check(lambda T, x: T.isreal(T.complex(x, x * (x > 0))), randn(4), device=device, grad=False)
    for data in ([1 + 2j, 3], 1j, np.array([1j]), [[1.0, 2j]]):  # complex Python and NumPy data
        ours, theirs = framework.tensor(data, device=device), torch.tensor(data)
        assert str(ours.dtype) == str(theirs.dtype)
        assert np.array_equal(ours.cpu().numpy(), theirs.numpy())
    with pytest.raises(TypeError, match="must be real number"):
        framework.tensor([1 + 2j], dtype=framework.float32)


FFT_ERRORS = {
    "norm": (lambda T, x: T.fft.fft(x, norm="foo"), RuntimeError),
    "n_zero": (lambda T, x: T.fft.fft(x, n=0), RuntimeError),
    "dims_repeated": (lambda T, x: T.fft.fftn(x, dim=(0, 0)), RuntimeError),
    "s_dim_lengths": (lambda T, x: T.fft.fftn(x, s=(2,), dim=(0, 1)), RuntimeError),
    "rfft_complex": (lambda T, x: T.fft.rfft(T.fft.fft(x)), RuntimeError),
    "ihfft_complex": (lambda T, x: T.fft.ihfft(T.fft.fft(x)), RuntimeError),
    "irfft_one_point": (lambda T, x: T.fft.irfft(x[:1, :1].reshape(1)), RuntimeError),
    "fft_0d": (lambda T, x: T.fft.fft(x[0, 0]), IndexError),
    "view_as_complex_shape": (lambda T, x: T.view_as_complex(x), RuntimeError),
    "view_as_complex_stride": (lambda T, x: T.view_as_complex(x[:, :2].t()), RuntimeError),
    "imag_of_real": (lambda T, x: T.imag(x), RuntimeError),
    "complex_dtypes": (lambda T, x: T.complex(x, x.double()), RuntimeError),
    "view_as_real_of_real": (lambda T, x: T.view_as_real(x), RuntimeError),
}


@pytest.mark.parametrize("name", sorted(FFT_ERRORS))
def test_fft_and_complex_errors(device, name):
    fn, exc = FFT_ERRORS[name]
    check_raises(fn, randn(2, 3), exc=exc, device=device)


def test_unsupported_complex_ops_raise_instead_of_dropping_the_imaginary_part(device):
    z = framework.fft.fft(framework.tensor([1.0, 2.0, 3.0], device=device))
    for op in (lambda: z / z, lambda: z.exp(), lambda: z.sqrt()):
        with pytest.raises(RuntimeError, match="imaginary part"):
            op()
    assert np.allclose((z * z).cpu().numpy(), np.fft.fft([1.0, 2.0, 3.0]) ** 2, rtol=1e-5)
