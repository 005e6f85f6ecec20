"""CUDA matrix products through cuBLAS (kernels/cuda/cublas.py), checked in the simulator with a
host stand-in for cuBLAS's gemm_strided_batched_ex that reads memory column-major exactly as the
library does and refuses leading dimensions and strides the library would refuse. So the mapping
of row-major views (transposed, broadcast, batched, offset) onto cuBLAS's arguments is tested in
CI; on a GPU machine the op tests run real cuBLAS (perf/gpu_check.sh)."""
import ctypes

import numpy as np
import pytest

import framework
from framework.backends import cuda_backend as backend
from kernels.cuda import cublas

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not backend.SIMULATOR, reason="the stand-in reads host memory (simulator only)")]

_DTYPES = {0: np.float32, 1: np.float64, 2: np.float16}


def _matrix(address, dtype, rows, cols, ld, stride, batch):
    """The column-major matrices cuBLAS would read at `address` (batch, rows, cols)."""
    item = np.dtype(dtype).itemsize
    extent = (rows - 1) + (cols - 1) * ld + (batch - 1) * stride + 1
    flat = np.ctypeslib.as_array((ctypes.c_byte * (extent * item)).from_address(address)).view(dtype)
    return np.lib.stride_tricks.as_strided(flat, (batch, rows, cols), (stride * item, item, ld * item))


class HostCublas:
    """gemm_strided_batched_ex on host memory; records each call's arguments."""

    def __init__(self):
        self.calls = []

    def gemm_strided_batched_ex(self, handle, transa, transb, m, n, k, alpha, a, atype, lda, stride_a,
                                b, btype, ldb, stride_b, beta, c, ctype, ldc, stride_c, batch, compute, algo):
        self.calls.append(dict(transa=transa, transb=transb, m=m, n=n, k=k, a=a, lda=lda, stride_a=stride_a,
                               b=b, ldb=ldb, stride_b=stride_b, ldc=ldc, stride_c=stride_c, batch=batch,
                               compute=compute))
        assert atype == btype == ctype and min(m, n, k, batch) > 0
        dtype = _DTYPES[ctype]
        scalar = ctypes.c_double if compute == cublas.COMPUTE_64F else ctypes.c_float
        alpha, beta = scalar.from_address(alpha).value, scalar.from_address(beta).value
        a_rows, a_cols = (m, k) if transa == cublas.OP_N else (k, m)
        b_rows, b_cols = (k, n) if transb == cublas.OP_N else (n, k)
        # the library's own argument checks (cublasGemmStridedBatchedEx returns INVALID_VALUE)
        assert lda >= max(1, a_rows) and ldb >= max(1, b_rows) and ldc >= max(1, m), (lda, ldb, ldc)
        assert stride_c >= ldc * n
        op_a = _matrix(a, dtype, a_rows, a_cols, lda, stride_a, batch)
        op_b = _matrix(b, dtype, b_rows, b_cols, ldb, stride_b, batch)
        if transa == cublas.OP_T:
            op_a = op_a.transpose(0, 2, 1)
        if transb == cublas.OP_T:
            op_b = op_b.transpose(0, 2, 1)
        out = _matrix(c, dtype, m, n, ldc, stride_c, batch)
        out[...] = (alpha * (op_a.astype(np.float64) @ op_b.astype(np.float64))
                    + (beta * out if beta else 0)).astype(dtype)


@pytest.fixture
def host_cublas():
    stand_in = HostCublas()
    cublas.use(stand_in)
    yield stand_in
    cublas.use(None)


def _pair(rng, dtype, a_shape, b_shape, a_t=False, b_t=False):
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(b_shape).astype(dtype)
    ta = framework.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)) if a_t else a, device="cuda")
    tb = framework.tensor(np.ascontiguousarray(np.swapaxes(b, -1, -2)) if b_t else b, device="cuda")
    return a, b, (ta.mT if a_t else ta), (tb.mT if b_t else tb)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a_t,b_t", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("a_shape,b_shape", [((5, 3), (3, 4)), ((2, 5, 3), (3, 4)), ((5, 3), (2, 3, 4)),
                                             ((2, 1, 5, 3), (3, 3, 4)), ((1, 3), (3, 1)), ((4, 1), (1, 6))])
def test_products_of_views_match_numpy(host_cublas, dtype, a_t, b_t, a_shape, b_shape):
    rng = np.random.default_rng(0)
    a, b, ta, tb = _pair(rng, dtype, a_shape, b_shape, a_t, b_t)
    got = (ta @ tb).cpu().numpy()
    assert host_cublas.calls, "cuBLAS was not called"
    np.testing.assert_allclose(got, a @ b, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
    assert got.dtype == dtype


def test_transposed_operands_are_read_in_place(host_cublas):
    """linear's x @ w.T and a batched k.mT: the op flag, not a copy (the address is the weight's own)."""
    from kernels.cuda.cublas import address
    x = framework.randn(6, 5, device="cuda")
    w = framework.randn(4, 5, device="cuda")
    y = framework.nn.functional.linear(x, w)
    call = host_cublas.calls[-1]
    assert call["transa"] == cublas.OP_T and call["a"] == address(w._data.buf, 0)  # w.T: op(B) is w itself
    assert call["transb"] == cublas.OP_N and call["b"] == address(x._data.buf, 0)
    np.testing.assert_allclose(y.cpu().numpy(), x.cpu().numpy() @ w.cpu().numpy().T, rtol=1e-5, atol=1e-6)
    q = framework.randn(3, 4, 5, device="cuda")
    k = framework.randn(3, 6, 5, device="cuda")
    s = q @ k.mT
    call = host_cublas.calls[-1]
    assert call["batch"] == 3 and call["stride_a"] == 30 and call["transa"] == cublas.OP_T
    np.testing.assert_allclose(s.cpu().numpy(), q.cpu().numpy() @ k.cpu().numpy().transpose(0, 2, 1),
                               rtol=1e-5, atol=1e-6)


def test_a_broadcast_operand_has_batch_stride_zero(host_cublas):
    w = framework.randn(3, 4, device="cuda")
    x = framework.randn(5, 2, 3, device="cuda")
    got = (x @ w).cpu().numpy()
    call = host_cublas.calls[-1]
    assert call["batch"] == 5 and call["stride_a"] == 0  # w (cuBLAS's A) is the same for every product
    np.testing.assert_allclose(got, x.cpu().numpy() @ w.cpu().numpy(), rtol=1e-5, atol=1e-6)


def test_strided_and_offset_views(host_cublas):
    """A view at an offset is read in place; a column-stride view cuBLAS cannot read is copied."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 8)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    ta, tb = framework.tensor(a, device="cuda"), framework.tensor(b, device="cuda")
    np.testing.assert_allclose((ta[2:, 1:5] @ tb).cpu().numpy(), a[2:, 1:5] @ b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose((ta[:, ::2] @ tb).cpu().numpy(), a[:, ::2] @ b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose((ta[::2, 1:5] @ tb[:, ::2]).cpu().numpy(), a[::2, 1:5] @ b[:, ::2],
                               rtol=1e-5, atol=1e-6)


def test_many_products_go_in_chunks(host_cublas, monkeypatch):
    monkeypatch.setattr(cublas, "MAX_BATCH", 2)
    x = framework.randn(5, 3, 4, device="cuda")
    y = framework.randn(5, 4, 2, device="cuda")
    np.testing.assert_allclose((x @ y).cpu().numpy(), x.cpu().numpy() @ y.cpu().numpy(), rtol=1e-5, atol=1e-6)
    assert [c["batch"] for c in host_cublas.calls] == [2, 2, 1]


def test_empty_products_and_integers_do_not_call_cublas(host_cublas):
    z = framework.randn(3, 0, device="cuda") @ framework.randn(0, 4, device="cuda")
    assert z.shape == (3, 4) and not z.cpu().numpy().any()
    assert (framework.randn(0, 2, device="cuda") @ framework.randn(2, 4, device="cuda")).shape == (0, 4)
    i = framework.arange(6, device="cuda").reshape(2, 3)
    assert (i @ i.mT).cpu().tolist() == [[5, 14], [14, 50]]
    assert not host_cublas.calls


def test_backward_through_cublas_matches_torch(host_cublas):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    ours_x, ours_w = (framework.tensor(v, device="cuda", requires_grad=True) for v in (x, w))
    theirs_x, theirs_w = (torch.tensor(v, requires_grad=True) for v in (x, w))
    (framework.nn.functional.linear(ours_x, ours_w) ** 2).sum().backward()
    (torch.nn.functional.linear(theirs_x, theirs_w) ** 2).sum().backward()
    np.testing.assert_allclose(ours_x.grad.cpu().numpy(), theirs_x.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours_w.grad.cpu().numpy(), theirs_w.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert len(host_cublas.calls) >= 3  # forward and both gradients


def test_tf32_follows_pytorchs_switches(host_cublas):
    x = framework.randn(4, 4, device="cuda")
    try:
        x @ x
        assert host_cublas.calls[-1]["compute"] == cublas.COMPUTE_32F
        framework.backends.cuda.matmul.allow_tf32 = True
        assert framework.get_float32_matmul_precision() == "high"
        x @ x
        assert host_cublas.calls[-1]["compute"] == cublas.COMPUTE_32F_FAST_TF32
        framework.backends.cuda.matmul.allow_tf32 = False
        assert framework.get_float32_matmul_precision() == "highest"
        framework.set_float32_matmul_precision("medium")
        assert framework.backends.cuda.matmul.allow_tf32 is True
        x.double() @ x.double()
        assert host_cublas.calls[-1]["compute"] == cublas.COMPUTE_64F  # float64 is never reduced
    finally:
        framework.set_float32_matmul_precision("highest")


def test_without_nvmath_the_kernels_run_and_the_reason_is_kept():
    cublas.use(None)
    try:
        if cublas.library() is not None:
            pytest.skip("nvmath-python is installed and cuBLAS started")
        assert any(why in cublas.reason() for why in ("nvmath-python", "cuBLAS", "simulator"))
        x = framework.randn(3, 4, device="cuda")
        np.testing.assert_allclose((x @ x.mT).cpu().numpy(), x.cpu().numpy() @ x.cpu().numpy().T, rtol=1e-5)
    finally:
        cublas.use(None)


def test_constants_are_cublas_own():
    enums = pytest.importorskip("nvmath.bindings.cublas")
    assert cublas.OP_N == enums.Operation.N and cublas.OP_T == enums.Operation.T
    assert cublas.COMPUTE_32F == enums.ComputeType.COMPUTE_32F
    assert cublas.COMPUTE_64F == enums.ComputeType.COMPUTE_64F
    assert cublas.COMPUTE_32F_FAST_TF32 == enums.ComputeType.COMPUTE_32F_FAST_TF32


@pytest.mark.parametrize("x_shape,w_shape,options", [
    ((2, 4, 6, 6), (6, 4, 3, 3), dict(padding=1)),
    ((2, 4, 7, 5), (6, 2, 3, 2), dict(stride=2, groups=2, dilation=(1, 2))),
    ((3, 3, 9), (4, 3, 3), dict(padding=2, stride=2)),
    ((1, 2, 4, 4, 4), (2, 2, 2, 2, 2), dict()),
    ((2, 4, 5, 5), (4, 1, 3, 3), dict(groups=4, padding=1)),
])
def test_convolutions_as_products_match_torch(host_cublas, x_shape, w_shape, options):
    """im2col + cuBLAS forward, input and weight gradients (1-D to 3-D, groups, stride, dilation)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    name = {3: "conv1d", 4: "conv2d", 5: "conv3d"}[len(x_shape)]
    ours = [framework.tensor(v, device="cuda", requires_grad=True) for v in (x, w, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    y_ours = getattr(framework.nn.functional, name)(*ours, **options)
    y_theirs = getattr(torch.nn.functional, name)(*theirs, **options)
    g = rng.standard_normal(tuple(y_theirs.shape)).astype(np.float32)
    (y_ours * framework.tensor(g, device="cuda")).sum().backward()
    (y_theirs * torch.tensor(g)).sum().backward()
    assert len(host_cublas.calls) >= 3
    for a, t in zip([y_ours] + [v.grad for v in ours], [y_theirs] + [v.grad for v in theirs]):
        np.testing.assert_allclose(a.detach().cpu().numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-4)


def test_a_convolution_reads_its_weight_once_for_every_image(host_cublas):
    """One group: the forward product's weight has batch stride 0 (no per-image copy); the weight
    gradient is one product whose k runs over every image's positions."""
    x = framework.randn(3, 2, 5, 5, device="cuda")
    w = framework.randn(4, 2, 3, 3, device="cuda", requires_grad=True)
    framework.nn.functional.conv2d(x, w).sum().backward()
    forward, weight_grad = host_cublas.calls[0], host_cublas.calls[-1]
    assert forward["batch"] == 3 and forward["stride_b"] == 0  # (cuBLAS's B is our left operand, W)
    assert weight_grad["batch"] == 1 and weight_grad["k"] == 3 * 9


def test_float16_products_stay_float16_on_the_tensor_cores(host_cublas):
    """matmul and linear keep float16 operands where cuBLAS is there (float32 accumulation, one
    rounding), forward and backward, against PyTorch's float16 products; the bias gradient is a
    float16 sum computed in float32."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, w, b = (rng.standard_normal(s).astype(np.float16) for s in ((4, 6, 5), (3, 5), (3,)))
    ours = [framework.tensor(v, device="cuda", requires_grad=True) for v in (x, w, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    y_ours = framework.nn.functional.linear(*ours) @ framework.tensor(np.eye(3, dtype=np.float16), device="cuda")
    y_theirs = torch.nn.functional.linear(*theirs) @ torch.eye(3, dtype=torch.float16)
    assert y_ours.dtype == framework.float16
    assert host_cublas.calls and all(c["compute"] == cublas.COMPUTE_32F for c in host_cublas.calls)
    forward_calls = len(host_cublas.calls)
    g = rng.standard_normal(tuple(y_theirs.shape)).astype(np.float16)
    y_ours.backward(framework.tensor(g, device="cuda"))
    y_theirs.backward(torch.tensor(g))
    assert len(host_cublas.calls) > forward_calls
    for a, t in zip([y_ours] + [v.grad for v in ours], [y_theirs] + [v.grad for v in theirs]):
        assert a.dtype == framework.float16
        np.testing.assert_allclose(a.detach().cpu().numpy().astype(np.float32), t.detach().float().numpy(),
                                   rtol=2e-3, atol=2e-3)


def test_autocast_products_run_in_float16_on_cuda(host_cublas):
    x = framework.randn(4, 5, device="cuda")
    w = framework.randn(3, 5, device="cuda")
    with framework.autocast("cuda"):
        y = framework.nn.functional.linear(x, w)
    assert y.dtype == framework.float16
    assert len(host_cublas.calls) == 1 and host_cublas.calls[0]["m"] == 3
    np.testing.assert_allclose(y.float().cpu().numpy(), x.cpu().numpy() @ w.cpu().numpy().T, rtol=1e-2, atol=1e-2)


def test_without_cublas_float16_products_compute_in_float32():
    """The Numba kernels would accumulate in float16: without cuBLAS the operands are widened."""
    cublas.use(None)
    if cublas.library() is not None:
        pytest.skip("nvmath-python is installed and cuBLAS started")
    from framework.backends import cuda_backend
    assert not cuda_backend.native_float16_products()
    a = framework.full((1, 4096), 1.0, device="cuda", dtype=framework.float16)
    b = framework.full((4096, 1), 1.0, device="cuda", dtype=framework.float16)
    assert (a @ b).item() == 4096.0  # a float16 running sum stops at 2048 (2049 is not a float16)
