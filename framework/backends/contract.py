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


# ----------------------------------------------------------------- math breadth: scans, sorts, diagonals


def scan(op, a, dim, out_dtype):
    """The running "sum", "prod" or "logsumexp" of `a` along `dim` (cumsum, cumprod,
    logcumsumexp), a's shape, in out_dtype (a is cast to it first)."""


def scan_extreme(op, a, dim):
    """(values, int64 indices) of the running "max" or "min" of `a` along `dim` (cummax,
    cummin): a later equal value takes over, and a nan, once met, stays, as PyTorch's."""


def sort(a, dim, descending):
    """(values, int64 indices) of `a` stably sorted along `dim`; nan after every number
    ascending, before every number descending, as PyTorch's."""


def searchsorted(sorted_rows, values, right):
    """int64 (rows, k): where each of values (rows, k) goes in its row of sorted_rows (rows
    or 1, n): the first position whose value is >= it (> it with `right`)."""


def sorted_mode(values, indices):
    """(values, int64 indices) per row of (rows, n) rows sorted ascending (with the original
    `indices`): the most frequent value (the smallest on ties) and the last original index
    of it. n >= 1."""


def diagonal(a, offset, dim1, dim2):
    """A view of the diagonal `offset` of dims dim1 and dim2 (dim1 != dim2), those dims
    removed and the diagonal appended as the last dim."""


def view_as_real(a):
    """A float view (..., 2) of the complex array a: its real and imaginary parts."""


def view_as_complex(a):
    """A complex view of the float array a (..., 2) whose last dim has stride 1 (and whose other
    strides and offset are even)."""


# ----------------------------------------------------------------- linear algebra decompositions
# Batched over leading dims; `info` arrays are int32 with the batch shape (0: success, else
# LAPACK's code). The CPU calls LAPACK through SciPy/NumPy; a device may do the same on the host.


def lu_factor(a):
    """(LU, int32 pivots (1-based, as LAPACK's getrf), info) of a (..., m, n)."""


def lu_solve(lu, pivots, b, adjoint):
    """X with A X = B (A^H X = B when `adjoint`) for A given by lu_factor; lu (..., n, n) and
    b (..., n, k) share their batch shape."""


def cholesky(a, upper):
    """(L (or U = L^H when `upper`), info) for Hermitian positive-definite a, reading one
    triangle; the other triangle of the factor is zero."""


def solve_triangular(a, b, upper, left, unitriangular):
    """X with A X = B (left) or X A = B, for triangular a (..., n, n) sharing b's batch shape."""


def qr(a, mode):
    """(Q, R) of a (..., m, n) by Householder QR; mode "reduced", "complete" or "r" (Q empty)."""


def svd(a, full_matrices, compute_uv):
    """(U, S, Vh) with S real, descending; U and Vh empty arrays without compute_uv."""


def eigh(a, upper, compute_v):
    """(real eigenvalues ascending, eigenvectors as columns or an empty array) of the
    Hermitian a, reading its upper or lower triangle."""


def eig(a, compute_v):
    """(complex eigenvalues, complex eigenvectors as columns or an empty array) of a square a."""


def lstsq(a, b, rcond, driver):
    """(solution (..., n, k), residuals, int64 rank, singular values) of min |A X - B| by the
    LAPACK driver gels, gelsy, gelsd or gelss, each output filled as PyTorch's CPU lstsq."""


# ----------------------------------------------------------------- FFT (inputs already resized)


def fft_c2c(a, dims, norm, forward):
    """The complex DFT of a over `dims` (forward sign, or the inverse); norm is "backward",
    "ortho" or "forward" (which direction is scaled, as numpy.fft)."""


def fft_r2c(a, dims, norm, onesided):
    """The DFT of the real a over `dims` (complex result); onesided keeps the last dim's
    n // 2 + 1 terms."""


def fft_c2r(a, dims, norm, last_dim_size):
    """The real inverse DFT over `dims` of a Hermitian half spectrum a; the last dim of the
    result has last_dim_size points."""


# ----------------------------------------------------------------- indexing


def gather(a, dim, index):
    """out[i][j][k] = a[i][index[i][j][k]][k] (for dim 1): torch.gather; RuntimeError for a bad index."""


def scatter(a, dim, index, src, accumulate):
    """A copy of `a` with src (an array or a scalar) written (or, with accumulate, added) at
    `index` along `dim`: torch.scatter / scatter_add."""


def scatter_reduce(a, dim, index, src, op, include_self):
    """A copy of `a` with src's values reduced into it at `index` along `dim`, op "sum", "prod",
    "amax" or "amin" (nan wins both extremes); without include_self the positions that receive
    values start from the op's identity instead of a's value: torch.scatter_reduce (its "mean"
    is composed from "sum"). src is an array of a's dtype and at least index's shape;
    RuntimeError for a bad index."""


def scatter_add_into(shape, dim, index, src):
    """zeros(shape) with each entry of src (index's shape) added at its index along `dim`: the
    backward of gather, sort, max/min over a dim and the max pools, with no zeros made and
    copied. index and src have one shape, shape's but along `dim` (the op layer handles an
    index that reaches only a corner). RuntimeError for a bad index (on a device, at the next
    synchronisation)."""


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


def storage(a):
    """(address, size, offset) of the memory a's views share: the int address where that
    storage starts (distinct storages, distinct addresses), its size and a's first element's
    offset in it, both in elements of a's dtype (Tensor.storage_offset, data_ptr)."""


def as_strided(a, shape, strides, offset):
    """A view of a's storage (see `storage`) with `shape` and `strides` (elements, >= 0)
    starting `offset` elements from the storage's start; the caller has checked that it lies
    within the storage."""


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


# ----------------------------------------------------------------- convolution and pooling
# Arrays are (N, C, *spatial) with 1 to 3 spatial dims; every per-dim argument (kernel_size,
# stride, padding, dilation, out_size) is a tuple with one int per spatial dim. The ops above
# check them with PyTorch's errors first: a backend may trust them.


def convolution(x, w, bias, stride, padding, dilation, groups):
    """(out, saved): the cross-correlation of x (N, C, *spatial) with w (OC, C/groups, *kernel)
    plus bias (OC,) or None. `saved` is whatever helps convolution_grad_weight (the CPU's
    im2col columns) or None."""


def convolution_grad_input(g, w, x_shape, stride, padding, dilation, groups):
    """dL/dx of convolution, of shape x_shape, from the output gradient g (also the transposed
    convolution's forward)."""


def convolution_grad_weight(x, g, w_shape, stride, padding, dilation, groups, cols=None):
    """dL/dw of convolution, of shape w_shape; `cols` is the forward's `saved`, or None to recompute."""


def im2col(x, kernel_size, stride, padding, dilation, out_size):
    """F.unfold: the receptive fields of x (N, C, *spatial) as columns (N, C*prod(kernel),
    prod(out_size)), zero in the padding; out_size is the number of blocks per dim."""


def col2im(cols, x_shape, kernel_size, stride, padding, dilation, out_size):
    """F.fold: the (N, C*prod(kernel), prod(out_size)) columns summed into an array of
    x_shape at the pixels each one covers (im2col's adjoint)."""


def max_pool(x, kernel_size, stride, padding, dilation, out_size):
    """(out, int64 indices): max over windows of x (N, C, *spatial) into (N, C, *out_size);
    each index is the flat position in prod(spatial) of the maximum (the backward scatters
    through it). As PyTorch: the first maximum on ties, the last NaN, and a window with no tap
    in the input gives -inf (the type's minimum for integers)."""


def avg_pool(x, kernel_size, stride, padding, out_size, count_include_pad, divisor_override):
    """Average over windows of x (N, C, *spatial) into (N, C, *out_size), as torch's avg_pool3d."""


def avg_pool_backward(g, x_shape, kernel_size, stride, padding, count_include_pad, divisor_override):
    """dL/dx of avg_pool, of shape x_shape."""


def adaptive_avg_pool(x, out_size):
    """Average of x (N, C, *spatial) over PyTorch's adaptive windows into (N, C, *out_size)."""


def adaptive_avg_pool_backward(g, x_shape):
    """dL/dx of adaptive_avg_pool, of shape x_shape."""


def adaptive_max_pool(x, out_size):
    """(out, int64 indices): max of x (N, C, *spatial) over PyTorch's adaptive windows (the
    input has no empty spatial dim), indices as max_pool's."""


# ----------------------------------------------------------------- normalisation and losses


def layer_norm(x, w, b, eps):
    """(out, mean, rstd) normalising each row of the 2-D `x`; w and b of length C, or None.
    mean and rstd are per row (float64 on both backends); the backward takes them back."""


def layer_norm_backward(g, x, w, mean, rstd):
    """(dx, dw, db) of layer_norm."""


# ----------------------------------------------------------------- batch norm


def batch_norm(x, w, b, mean, var, training, eps):
    """(out, mean, var, invstd) normalising the contiguous-able (N, C, S) `x` per channel:
    out = x * scale + shift, scale = w / sqrt(var + eps), shift = b - mean * scale. training: mean
    and the biased var come from x (over N * S, accumulated in float64); else mean and var are
    given (length C). w and b of length C or None. mean, var and invstd come back float64."""


def batch_norm_backward(g, x, w, mean, invstd, training):
    """(dx, dw, db) of batch_norm; with training, dx includes the statistics' dependence on x."""


def cross_entropy(x, target, weight, ignore_index, label_smoothing):
    """(per-row losses, total weight): the cross-entropy of (N, C) logits with int64 class
    targets, as PyTorch's: (1 - e) * w[t] * -log_softmax(x)[t] + e / C * sum_j w[j] * -log_softmax(x)[j]
    with e = label_smoothing and `weight` (C,) class weights w (None: all 1). Rows whose target
    is ignore_index are 0. The total weight, sum of w[t] over the rows not ignored, divides the
    mean: a number, or a 0-d array on a device that sums it there. A class out of range raises
    IndexError, at once or (a device checking on the device) at the next to_host/synchronize."""


def cross_entropy_backward(x, target, weight, ignore_index, label_smoothing, scale):
    """dL/dx (N, C) of cross_entropy for per-row losses weighted by `scale` (N,)."""


def nll_loss(x, target, weight, ignore_index):
    """(per-row losses -w[t] * x[i, t], total weight) for (N, C) log-probabilities, as cross_entropy."""


def nll_loss_backward(target, weight, ignore_index, scale, num_classes):
    """dL/dx (N, num_classes) of nll_loss for per-row losses weighted by `scale` (N,), in scale's dtype."""


def ctc_loss(log_probs, targets, offsets, target_lengths, input_lengths, blank, max_target_length):
    """(neg_log_likelihood (N,), log_alpha (N, T, 2 * max_target_length + 1) float64): CTC of
    log_probs (T, N, C) with the int64 labels of element n at targets[offsets[n]:][:target_lengths[n]]
    (offsets, lengths: int64 arrays of N). A label outside [0, C) raises IndexError and lengths that
    do not fit RuntimeError, at once or at the next synchronisation."""


def ctc_loss_backward(grad_out, log_probs, targets, offsets, target_lengths, input_lengths, blank, zero_infinity,
                      nll, log_alpha):
    """dL/dlog_probs (T, N, C) of ctc_loss for losses weighted by grad_out (N,), as PyTorch's
    (exp(log_probs) - occupation / likelihood); 0 for t >= input_lengths[n], and for an infinite
    loss under zero_infinity."""


# ----------------------------------------------------------------- embedding bags


def embedding_bag(weight, indices, offsets, num_bags, per_sample_weights, mode, padding_idx):
    """(out (B, D), bag_of (n,), bag_size (B,), max_indices (B, D)) for B = num_bags bags of the
    int64 `indices` (n,) into `weight` (V, D): bag b is indices[offsets[b]:offsets[b + 1]] (the
    last runs to n when offsets has B entries), reduced by `mode` 0 (sum, each row times
    per_sample_weights[k] when that is not None), 1 (mean) or 2 (max). Indices equal to
    padding_idx are left out. bag_of[k] is the bag of index k (-1 when left out), bag_size[b] the
    indices counted, max_indices[b, j] the row of each max (-1 for an empty bag, whose output is 0);
    int64. Offsets that do not start at 0, decrease or pass n, and indices outside [0, V), raise
    RuntimeError (at once, or at the next synchronisation)."""


# ----------------------------------------------------------------- attention


def attention_softmax(scores, mask, scale, causal, safe):
    """softmax(scores * scale + mask) over the last dim of (..., L, S) float scores; mask is
    None or a float array of the scores' dtype broadcastable to their shape. With `causal`
    only j <= i counts in row i (the rest is 0). A row without a finite logit gives 0 when
    `safe` (scaled_dot_product_attention), nan otherwise (softmax). A new contiguous array."""


def attention_softmax_backward(g, p, scale):
    """scale * p * (g - sum(g * p, -1)): dL/dscores of attention_softmax from its output p and
    the output gradient g (same shape)."""


# ----------------------------------------------------------------- recurrent cells
# One time step of a recurrent layer, gates in PyTorch's order. The products (x @ W_ih.T,
# h @ W_hh.T) are made by the caller; xg and hg are their results, (rows, gates * H).


def lstm_cell(xg, hg, c_prev):
    """(h, c, act): one LSTM step, gates = xg + hg (i f g o; xg and hg (rows, 4H)), c_prev (rows, H):
    c = f * c_prev + i * g, h = o * tanh(c). act (rows, 4H) is what lstm_cell_backward reads."""


def lstm_cell_backward(dh, dc, act, c_prev):
    """(dgates, dc_prev): the gradient of the gates' pre-activations (rows, 4H) and of c_prev, from
    the gradients dh and dc (None: zero) of lstm_cell's h and c."""


def gru_cell(xg, hg, hb, h_prev):
    """(h, act): one GRU step (r z n; xg and hg (rows, 3H)), hb the recurrent bias (3H,) added to hg
    or None: r = s(xr + hr), z = s(xz + hz), n = tanh(xn + r * hn), h = (1 - z) * n + z * h_prev.
    act (rows, 4H) is what gru_cell_backward reads."""


def gru_cell_backward(dh, act, h_prev):
    """(dxg, dhg, dh_prev): the gradients of xg and of hg (+ hb), and z * dh, the part of h_prev's
    gradient that does not pass through hg."""


def rnn_cell(xg, hg, relu):
    """h = tanh(xg + hg), or relu(xg + hg) when `relu`; xg and hg (rows, H)."""


def rnn_cell_backward(dh, h, relu):
    """The gradient of rnn_cell's pre-activation from dh and its output h."""


# ----------------------------------------------------------------- resampling
# Padding modes, interpolation and their gradients are sparse linear maps along one axis,
# built and validated by framework/ops/resample.py; grid sampling has its own kernels.


def axis_map(x, dim, indptr, cols, weights, size):
    """A new array, x's shape with `size` at `dim`: out[..., i, ...] = sum of weights[p] *
    x[..., cols[p], ...] over indptr[i] <= p < indptr[i + 1] (a CSR matrix applied along dim;
    an empty row gives 0). indptr (size + 1,) and cols int64, weights in x's dtype; the caller
    guarantees 0 <= cols < x.shape[dim] and a non-decreasing indptr within cols' length."""


def grid_sample(x, grid, mode, padding_mode, align_corners):
    """x (N, C, H, W) sampled at grid (N, OH, OW, 2) into (N, C, OH, OW), or x (N, C, D, H, W)
    at grid (N, OD, OH, OW, 3): PyTorch's grid_sampler. mode 'bilinear', 'nearest' or 'bicubic'
    (4-D only), padding_mode 'zeros', 'border' or 'reflection'; x and grid share a float dtype."""


def grid_sample_backward(g, x, grid, mode, padding_mode, align_corners, input_grad):
    """(dx, dgrid) of grid_sample for the output gradient g; dx is None unless input_grad."""


# ----------------------------------------------------------------- fused optimizer updates (optional)

OPTIMIZER_STEPS = frozenset()
"""The names of the fused updates `optimizer_step` runs (a frozenset of str). Optional: a
backend without it (or with it empty) gets plain-tensor updates from framework.optim."""


def optimizer_step(name, arrays, *scalars):
    """In place: run the fused update `name` (one of OPTIMIZER_STEPS) over same-shaped arrays,
    param first, then its gradient and state, with the hyperparameters `scalars`.
    Optional, with OPTIMIZER_STEPS."""


def fused_launch(module, arrays, outs, shape):
    """In place: run framework.compile's fused elementwise kernel `module` (generated by
    framework/backends/fusion.py for this device) over `shape`, reading `arrays` (each
    broadcastable to shape) and writing the contiguous `outs` of that shape."""


def fused_row_launch(module, arrays, outs, shape):
    """In place: run framework.compile's fused row kernel `module` (fusion.py's `kernel_rows`)
    over the rows of `shape` (every dim but the last; at least one), reading `arrays` (each
    broadcastable to shape) and writing the contiguous `outs`, each of shape's size or one
    value per row."""


# ----------------------------------------------------------------- float16 products (optional)


def native_float16_products():
    """Whether matmul and linear may give this backend float16 operands as they are (its products
    accumulate in float32 and round once, as PyTorch's: CUDA with cuBLAS); otherwise
    framework/autograd/low_precision.py widens them to float32 first. Optional: absent means False."""


# ----------------------------------------------------------------- the listing

OPS = {name: fn for name, fn in list(globals().items())
       if inspect.isfunction(fn) and fn.__module__ == __name__ and not name.startswith("_")}
"""{op name: the function above that documents it}, in the order above."""

CONSTANTS = {"OPTIMIZER_STEPS": OPTIMIZER_STEPS}
"""{name: the value a backend that leaves it out is taken to have}."""

OPTIONAL = frozenset({"OPTIMIZER_STEPS", "optimizer_step", "native_float16_products"})
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
