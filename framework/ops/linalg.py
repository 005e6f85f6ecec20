"""matmul with PyTorch's 1-D and batch-broadcast rules; mm, bmm, dot, mv, outer, linear."""
import math

from framework.autograd.function import Function, _connect, records_plainly, skips_apply
from framework.ops._util import broadcast_shapes, same_device, wrap
from framework.tensor import Tensor


def _shape_error(a, b):
    return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, a))} and "
                        f"{'x'.join(map(str, b))})")


class Matmul(Function):
    """(..., n, k) @ (..., k, m); batch dims broadcast."""
    autocast_op = "matmul"  # (framework/amp/autocast_mode.py)
    native_float16 = True  # (framework/autograd/low_precision.py)

    @staticmethod
    def forward(ctx, a, b):
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        ctx.save_for_backward(a, b)
        return wrap(a.device.backend.matmul(a._data, b._data, batch), a.dtype, a.device)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if a.dtype.is_complex:  # (PyTorch's convention for complex: the conjugate transposes)
            from framework.ops.complex import conj
            a, b = conj(a), conj(b)
        return (Matmul.apply(g, b.mT) if ctx.needs_input_grad[0] else None,
                Matmul.apply(a.mT, g) if ctx.needs_input_grad[1] else None)


def _check(a, b, name):
    for x in (a, b):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}(): argument must be Tensor, not {type(x).__name__}")
    same_device(a, b)
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to {name} need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")


def matmul(input, other):
    a, b = input, other
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype is b.dtype and a.device is b.device:
        sa, sb = a._data.shape, b._data.shape
        if len(sa) == 2 and len(sb) == 2 and sa[1] == sb[0]:  # the common 2-D case, checked cheaply
            if skips_apply(a._requires_grad or b._requires_grad):  # what Matmul.apply comes to
                return wrap(a.device.backend.matmul(a._data, b._data, ()), a.dtype, a.device)
            return Matmul.apply(a, b)
    _check(a, b, "matmul")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else -1]:
        raise _shape_error(a.shape if a.ndim > 1 else (1,) + a.shape, b.shape if b.ndim > 1 else b.shape + (1,))
    if a.ndim == 1 and b.ndim == 1:
        return Matmul.apply(a.unsqueeze(0), b.unsqueeze(1)).reshape(())
    if a.ndim == 1:
        return Matmul.apply(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return Matmul.apply(a, b.unsqueeze(1)).squeeze(-1)
    try:
        broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except RuntimeError:
        raise _shape_error(a.shape, b.shape) from None
    return Matmul.apply(a, b)


def mm(input, mat2):
    _check(input, mat2, "mm")
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2D tensors, got {input.ndim}D and {mat2.ndim}D")
    if input.shape[1] != mat2.shape[0]:
        raise _shape_error(input.shape, mat2.shape)
    return Matmul.apply(input, mat2)


def bmm(input, mat2):
    _check(input, mat2, "bmm")
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (got {input.ndim}D and {mat2.ndim}D)")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}] "
                           f"(shapes {list(input.shape)} and {list(mat2.shape)})")
    return Matmul.apply(input, mat2)


def dot(input, other):
    _check(input, other, "dot")
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           f"to have the same number of elements, but got {input.shape[0]} and {other.shape[0]} "
                           f"elements respectively")
    return matmul(input, other)


def mv(input, vec):
    _check(input, vec, "mv")
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}D and {vec.ndim}D")
    return matmul(input, vec)


def outer(input, vec2):
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1D tensors, got {input.ndim}D and {vec2.ndim}D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


class Linear(Function):
    """y = x @ w.T + b in one node: BLAS reads w transposed in place, and the weight
    gradient g.T @ x comes out contiguous in w's layout (no transposed copy to make)."""
    autocast_op = "linear"  # (framework/amp/autocast_mode.py)
    native_float16 = True  # (framework/autograd/low_precision.py)

    @staticmethod
    def untracked(x, w, b):
        bk = x.device.backend
        xd = x._data
        shape = xd.shape
        flat = len(shape) == 2  # (the common case, with no reshapes to make)
        out = bk.matmul(xd if flat else bk.reshape(xd, (math.prod(shape[:-1]), shape[-1])),
                        bk.permute(w._data, (1, 0)), ())
        if b is not None:
            bk.binary("add", out, b._data, out, out.shape)
        return Tensor._make(out if flat else bk.reshape(out, shape[:-1] + (w._data.shape[0],)), x.dtype, x.device)

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return Linear.untracked(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        g2 = g.reshape(-1, w.shape[0])
        gx = (g2 @ w).reshape(x.shape) if ctx.needs_input_grad[0] else None
        gw = g2.mT @ x.reshape(-1, x.shape[-1]) if ctx.needs_input_grad[1] else None
        gb = g2.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb


def linear(input, weight, bias=None):
    x_shape, w_shape = input._data.shape, weight._data.shape
    if not x_shape or len(w_shape) != 2 or x_shape[-1] != w_shape[1]:
        lead = math.prod(x_shape[:-1]) if x_shape else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({lead}x{x_shape[-1] if x_shape else 1} "
                           f"and {'x'.join(map(str, w_shape[::-1]))})")
    if weight.device is not input.device or (bias is not None and bias.device is not input.device):
        same_device(input, weight, bias)
    if input.dtype is not weight.dtype or (bias is not None and bias.dtype is not input.dtype):
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {input.dtype} != {weight.dtype}")
    if bias is not None and bias._data.shape not in ((), (1,), (w_shape[0],)):
        b_shape = bias._data.shape
        if len(b_shape) > 1:
            raise RuntimeError(f"linear: expected bias to be 1-dimensional with {w_shape[0]} elements, but got "
                               f"bias of size {list(b_shape)}")
        raise RuntimeError(f"The size of tensor a ({w_shape[0]}) must match the size of tensor b ({b_shape[0]}) at "
                           f"non-singleton dimension 1")
    if skips_apply(input._requires_grad or weight._requires_grad or (bias is not None and bias._requires_grad)):
        return Linear.untracked(input, weight, bias)  # what Linear.apply comes to, without its layers
    if records_plainly():  # what it comes to when it records (forward and _connect; forward only calls kernels)
        ctx = Function.__new__(Linear)
        return _connect(ctx, (input, weight, bias), Linear.forward(ctx, input, weight, bias))
    return Linear.apply(input, weight, bias)


# ----------------------------------------------------------------- tensor contractions (einsum, tensordot, kron, cdist)


def tensordot(a, b, dims=2):
    """Contract the last `dims` dims of a with the first of b, or the listed pairs of dims."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    dims_a = [d % a.ndim if a.ndim else d for d in dims_a]
    dims_b = [d % b.ndim if b.ndim else d for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[da]} in dim {da} "
                               f"and second has size {b.shape[db]} in dim {db}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    k = math.prod(a.shape[d] for d in dims_a)
    left = a.permute(*free_a, *dims_a).reshape(-1, k)
    right = b.permute(*dims_b, *free_b).reshape(k, -1)
    return matmul(left, right).reshape(tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def kron(input, other):
    n = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (n - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (n - other.ndim) + tuple(other.shape))
    inter_a, inter_b = [], []
    for sa, sb in zip(a.shape, b.shape):
        inter_a += [sa, 1]
        inter_b += [1, sb]
    return (a.reshape(inter_a) * b.reshape(inter_b)).reshape(tuple(sa * sb for sa, sb in zip(a.shape, b.shape)))


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M)."""
    if x1.ndim < 2 or x2.ndim < 2:
        bad = x1 if x1.ndim < 2 else x2
        raise RuntimeError(f"cdist only supports at least 2D tensors, X{1 if bad is x1 else 2} got: {bad.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: "
                           f"{x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if not x1.dtype.is_floating_point:
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    rows, cols = x1.shape[-2], x2.shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or
                         (compute_mode == "use_mm_for_euclid_dist_if_necessary" and (rows > 25 or cols > 25)))
    if use_mm:  # |a|^2 + |b|^2 - 2 a.b, as PyTorch's _euclidean_dist
        sq1 = (x1 * x1).sum(-1, keepdim=True)
        sq2 = (x2 * x2).sum(-1, keepdim=True)
        return (sq1 - 2 * matmul(x1, x2.mT) + sq2.mT).clamp(min=1e-30).sqrt()
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    from framework.ops.reduction import norm
    return norm(diff, p, -1)


def einsum(equation, *operands):
    """Einstein summation with PyTorch's notation: explicit or implicit output, ellipsis,
    repeated labels (diagonals); contracted pairwise, left to right, through matmul."""
    from framework.ops.contraction import einsum as _einsum
    return _einsum(equation, *operands)
