"""The backend contract: every name the code above `framework.backends` calls on a backend.

This is the reference a new device implements (docs/DESIGN.md, "How to add a device"):
a backend module defines each function below with the same parameters, and nothing above
the backends calls anything else on it. `tests/test_backend_contract.py` checks that the
CPU and CUDA backends match it and that every name here is in use.

Conventions. An *array* is the backend's own array type (NumPy's on the CPU, `CudaArray`
on CUDA); the code above reads only `a.shape` (a tuple of ints), `a.ndim`, `a.size` and
`a.dtype` (a NumPy dtype) of it. `dtype` arguments are NumPy dtypes, shapes are tuples of
ints, dims are non-negative ints, and scalars are Python numbers or NumPy scalars. Results
are new arrays unless a docstring says "view" (shares memory with its input, as NumPy's
views do) or "in place". `gen` is a `numpy.random.Generator` (the framework's generator
lives on the host; a device may draw a key from it and generate on the device).
"""
import inspect

# ----------------------------------------------------------------- allocation and copies


def empty(shape, dtype):
    """A new array of `shape`, uninitialised."""


def zeros(shape, dtype):
    """A new array of `shape` filled with 0."""


def full(shape, value, dtype):
    """A new array of `shape` filled with the scalar `value` (cast to dtype)."""


def arange(start, step, n, dtype):
    """The 1-D array start + i * step for i < n, computed in 64 bits and cast, as PyTorch."""


def linspace(start, end, steps, dtype):
    """`steps` evenly spaced values from start to end inclusive (1-D)."""


def eye(n, m, dtype):
    """The (n, m) identity matrix."""


def asarray(data, dtype=None):
    """A new array holding host data: nested lists, scalars or a NumPy array (always copied)."""


def from_host(array):
    """A NumPy array as a backend array; may share its memory where the device can (the CPU does)."""


def to_host(a):
    """The array as a NumPy array of the same shape (a copy unless the memory is host memory).

    A device that reports errors found by its kernels asynchronously raises them here."""


def synchronize():
    """Wait until every kernel launched so far has finished (and raise errors they found)."""


def astype(a, dtype):
    """A new array with a's values cast to `dtype`."""


def copy(a):
    """A new contiguous array equal to `a`."""


def copy_(dst, src):
    """In place: write `src` (an array or a scalar, broadcast to dst's shape, cast) into `dst`."""


# ----------------------------------------------------------------- elementwise


def unary(op, a, out=None):
    """The elementwise op named `op` (e.g. "exp", "neg", "logical_not") of `a`.

    The result has a's dtype (bool for logical ops); with `out` it is written there in place
    and `out` is returned."""


def binary(op, a, b, out=None, out_shape=None):
    """The elementwise op named `op` (e.g. "add", "lt", "maximum") of a and b, broadcast.

    a and b share one dtype, or one of them is a scalar of the other's dtype. The result has
    that dtype (bool for comparisons and logical ops). `out_shape` is the broadcast shape
    when the caller knows it; with `out` the result is written there in place and returned."""


def where(cond, a, b, out_shape):
    """cond ? a : b, broadcast to `out_shape`; a and b share a dtype, cond is bool."""


# ----------------------------------------------------------------- reductions


def reduce(op, a, dims, out_dtype):
    """Reduce `a` over `dims` (a tuple) without keeping them; op is sum, prod, all, any, max or min."""


def argreduce(op, a, dim):
    """(values, int64 indices) of "max" or "min" over one dim, that dim removed (first index on ties)."""


def softmax(a, dim, log):
    """softmax (log=False) or log_softmax (log=True) of `a` over `dim`."""


# ----------------------------------------------------------------- linear algebra


def matmul(a, b, batch_shape):
    """Batched product of (..., n, k) by (..., k, m) into (*batch_shape, n, m); batch dims broadcast."""


# ----------------------------------------------------------------- indexing


def gather(a, dim, index):
    """out[i][j][k] = a[i][index[i][j][k]][k] (for dim 1): torch.gather; RuntimeError for a bad index."""


def scatter(a, dim, index, src, accumulate):
    """A copy of `a` with src (an array or a scalar) written (or, with accumulate, added) at
    `index` along `dim`: torch.scatter / scatter_add."""


def index_select(a, dim, index):
    """a's entries along `dim` at the 1-D int64 `index`; IndexError for a bad index."""


def index_add(shape, dim, index, src):
    """zeros(shape) with the slices of `src` added at `index` along `dim` (the backward of index_select)."""


def getitem(a, key):
    """a[key]. A key of ints, slices, None and Ellipsis (a tuple) gives a view; an
    `framework.backends.layout.AdvancedKey` (index arrays, bool masks) gives a new array,
    with PyTorch's placement of the index dims."""


def setitem(a, key, value):
    """In place: a[key] = value (an array broadcast to the selection, or a scalar); keys as getitem."""


def index_put_add(shape, key, values, dtype):
    """zeros(shape)[key] += values, accumulating repeated indices (the backward of getitem)."""


def view_positions(view, root):
    """Flat int64 indices into contiguous `root` of the elements of `view` (a view of root's
    memory), in view's shape; None when root is not contiguous."""


def nonzero(a):
    """The (count, ndim) int64 coordinates of a's nonzero elements, in row-major order."""


# ----------------------------------------------------------------- shape


def reshape(a, shape):
    """a in `shape`: a view where the strides allow one, else a copy."""


def view(a, shape):
    """a in `shape` as a view; None when the strides make a view impossible."""


def permute(a, dims):
    """A view with the dims reordered."""


def broadcast_to(a, shape):
    """A read-only view of `a` broadcast to `shape` (stride 0 along the new dims)."""


def contiguous(a):
    """`a` itself when C-contiguous, else a contiguous copy."""


def is_contiguous(a):
    """Whether `a` is C-contiguous (size-1 dims may have any stride)."""


def strides(a):
    """a's strides in elements (a tuple of ints), as torch's Tensor.stride()."""


def flip(a, dims):
    """A new array with the order of elements along `dims` reversed."""


def cat(arrays, dim):
    """The arrays (same dtype, same shape but along dim) joined along `dim`."""


# ----------------------------------------------------------------- random numbers


def rand(gen, shape, dtype):
    """Uniform floats in [0, 1)."""


def randn(gen, shape, dtype):
    """Standard normal floats."""


def randint(gen, low, high, shape, dtype):
    """Integers uniform in [low, high)."""


def randperm(gen, n, dtype):
    """A random permutation of 0 .. n-1."""


# ----------------------------------------------------------------- convolution and pooling (NCHW)


def conv2d(x, w, bias, stride, padding, dilation, groups):
    """(out, saved): the 2-D cross-correlation of x (N, C, H, W) with w (OC, C/groups, KH, KW)
    plus bias (OC,) or None. stride, padding and dilation are pairs. `saved` is whatever
    helps conv2d_grad_weight (the CPU's im2col columns) or None."""


def conv2d_grad_input(g, w, x_shape, stride, padding, dilation, groups):
    """dL/dx of conv2d, of shape x_shape, from the output gradient g (also conv_transpose2d's forward)."""


def conv2d_grad_weight(x, g, w_shape, stride, padding, dilation, groups, cols=None):
    """dL/dw of conv2d, of shape w_shape; `cols` is the forward's `saved`, or None to recompute."""


def max_pool2d(x, kernel_size, stride, padding, dilation, out_hw):
    """(out, int64 indices): max over windows of x (N, C, H, W) into (N, C, *out_hw); each
    index is the flat position in H*W of the maximum (the backward scatters through it)."""


def avg_pool2d(x, kernel_size, stride, padding, out_hw, count_include_pad, divisor_override):
    """Average over windows of x (N, C, H, W) into (N, C, *out_hw), as torch's avg_pool2d."""


def avg_pool2d_backward(g, x_shape, kernel_size, stride, padding, count_include_pad, divisor_override):
    """dL/dx of avg_pool2d, of shape x_shape."""


def adaptive_avg_pool2d(x, out_hw):
    """Average of x (N, C, H, W) over PyTorch's adaptive windows into (N, C, *out_hw)."""


def adaptive_avg_pool2d_backward(g, x_shape):
    """dL/dx of adaptive_avg_pool2d, of shape x_shape."""


# ----------------------------------------------------------------- normalisation and losses


def layer_norm(x, w, b, eps):
    """(out, mean, rstd) normalising each row of the 2-D `x`; w and b of length C, or None.
    mean and rstd are per row (float64 on both backends); the backward takes them back."""


def layer_norm_backward(g, x, w, mean, rstd):
    """(dx, dw, db) of layer_norm."""


def cross_entropy(x, target, ignore_index):
    """(per-row losses, rows counted): the cross-entropy of (N, C) logits with int64 class
    targets; rows whose target is ignore_index count 0. The count may be None (the caller then
    counts on the device). A class out of range raises IndexError, at once or (a device
    checking on the device) at the next to_host/synchronize."""


def cross_entropy_backward(x, target, ignore_index, scale):
    """dL/dx (N, C) of cross_entropy for per-row losses weighted by `scale` (N,)."""


# ----------------------------------------------------------------- fused optimizer updates (optional)

OPTIMIZER_STEPS = frozenset()
"""The names of the fused updates `optimizer_step` runs (a frozenset of str). Optional: a
backend without it (or with it empty) gets plain-tensor updates from framework.optim."""


def optimizer_step(name, arrays, *scalars):
    """In place: run the fused update `name` (one of OPTIMIZER_STEPS) over same-shaped arrays,
    param first, then its gradient and state, with the hyperparameters `scalars`.
    Optional, with OPTIMIZER_STEPS."""


# ----------------------------------------------------------------- the listing

OPS = {name: fn for name, fn in list(globals().items())
       if inspect.isfunction(fn) and fn.__module__ == __name__ and not name.startswith("_")}
"""{op name: the function above that documents it}, in the order above."""

CONSTANTS = {"OPTIMIZER_STEPS": OPTIMIZER_STEPS}
"""{name: the value a backend that leaves it out is taken to have}."""

OPTIONAL = frozenset({"OPTIMIZER_STEPS", "optimizer_step"})
"""Names a backend may leave out; code above the backends reads them with getattr and a default."""


def _parameters(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def problems(backend):
    """What `backend` (a module) lacks or defines differently from the contract; [] when it complies.

    Optional names may be absent, but a function that is present must take the contract's
    parameters (names, kinds and defaults, in order)."""
    found = []
    for name, spec in OPS.items():
        fn = getattr(backend, name, None)
        if fn is None:
            if name not in OPTIONAL:
                found.append(f"{name}: missing")
        elif not callable(fn):
            found.append(f"{name}: not a function")
        else:
            try:
                ours = _parameters(fn)
            except (TypeError, ValueError):  # a builtin without a signature
                continue
            if ours != _parameters(spec):
                found.append(f"{name}{inspect.signature(fn)}: expected {name}{inspect.signature(spec)}")
    for name in CONSTANTS:
        if not hasattr(backend, name) and name not in OPTIONAL:
            found.append(f"{name}: missing")
    return found
