"""Integer and numeric breadth of torch's top level: gcd and lcm, the bit shifts, the regularized
incomplete gamma functions (igamma, igammac), float_power_, gradient (numpy.gradient's finite
differences), renorm, histogramdd, and the poisson and binomial samplers.

The pointwise ops are expressions of kernels/scalar.py (Euclid's loop and PyTorch's igamma
algorithms in kernels/special.py); the shifts have one kernel per integer width, since a shift
by the width or more is defined by PyTorch (0, or the sign fill) but not by the hardware. The
rest is composed from existing ops, so their gradients come with them."""
import math

from framework import dtypes as _dt, return_types
from framework.autograd.function import Function
from framework.ops._util import wrap, wrap_dim
from framework.ops.elementwise import _Binary, _prepare, _saved_operands, where
from framework.ops.math import _binary_fn, _tensor_args
from framework.tensor import Tensor

if not hasattr(return_types, "histogramdd"):
    return_types._structseq("histogramdd", ("hist", "bin_edges"))

# ----------------------------------------------------------------- integer ops


def _integer_operands(kernel, a, b):
    """a and b in their promoted integer dtype; PyTorch's NotImplementedError for others."""
    xa, xb, dt, device, shape = _prepare(a, b)
    if dt.is_floating_point or dt.is_complex or dt is _dt.bool_:
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for '{_dt.scalar_name(dt)}'")
    return xa, xb, dt, device, shape


def _integer_op(name, op, input, other):
    xa, xb, dt, device, shape = _integer_operands(name, input, other)
    return wrap(device.backend.binary(op, xa, xb, out_shape=shape), dt, device)


def gcd(input, other):
    """The greatest common divisor of |input| and |other| (gcd(0, 0) = 0)."""
    _tensor_args("gcd", input, other)
    return _integer_op("gcd", "gcd", input, other)


def lcm(input, other):
    """The least common multiple of |input| and |other| (0 when either is 0)."""
    _tensor_args("lcm", input, other)
    return _integer_op("lcm", "lcm", input, other)


# the kernel of each integer dtype (kernels/scalar.py): left shifts by width, right shifts by width and signedness
_SHIFT = {"left": {"uint8": "lshift8", "int8": "lshift8", "int16": "lshift16", "int32": "lshift32",
                   "int64": "lshift64"},
          "right": {"uint8": "rshift_uint8", "int8": "rshift8", "int16": "rshift16", "int32": "rshift32",
                    "int64": "rshift64"}}


def _shift(input, other, direction):
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"bitwise_{direction}_shift(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    xa, xb, dt, device, shape = _integer_operands(f"{direction[0]}shift", input, other)
    return wrap(device.backend.binary(_SHIFT[direction][dt.name], xa, xb, out_shape=shape), dt, device)


def bitwise_left_shift(input, other):
    """input << other, computed on the bits of input's width: a shift out of [0, width) gives 0."""
    return _shift(input, other, "left")


def bitwise_right_shift(input, other):
    """input >> other, arithmetic for signed dtypes: a shift out of range gives the sign fill."""
    return _shift(input, other, "right")


# ----------------------------------------------------------------- incomplete gamma


class _Igamma(_Binary):
    """P(a, x) (or Q for igammac): differentiable in x only, as PyTorch's."""

    to_float = True
    sign = 1.0

    @classmethod
    def untracked(cls, a, b):
        _, _, dt, _, _ = _prepare(a, b)
        if not dt.is_floating_point:
            raise NotImplementedError(f"\"{cls.op}_cpu\" not implemented for '{_dt.scalar_name(dt)}'")
        return super().untracked(a, b)

    @staticmethod
    def backward(ctx, g):
        cls = type(ctx)
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{cls.op}: input' is not implemented.")
        a, x = _saved_operands(ctx)
        # d/dx P(a, x) = x^(a-1) e^-x / Gamma(a)
        density = ((a - 1) * x.log() - x - a.lgamma()).exp()
        return None, g * (density * cls.sign)


class Igamma(_Igamma):
    op = "igamma"


class Igammac(_Igamma):
    op = "igammac"
    sign = -1.0


igamma = _binary_fn(Igamma, "igamma", doc="The regularized lower incomplete gamma function P(input, other).")
igammac = _binary_fn(Igammac, "igammac", doc="The regularized upper incomplete gamma function Q(input, other) = 1 - P.")


def float_power_(input, exponent):
    """In-place float_power: only a float64 tensor can hold the float64 result."""
    from framework.autograd.inplace import inplace
    from framework.ops.math import float_power
    if input.dtype is not _dt.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_dt.scalar_name(input.dtype)} but the "
                           f"operation's result requires dtype Double")
    return inplace(input, float_power, exponent)


# ----------------------------------------------------------------- gradient, renorm


def _dims(dim, ndim):
    if dim is None:
        return list(range(ndim))
    dims = [dim] if isinstance(dim, int) else list(dim)
    out = [wrap_dim(d, ndim) for d in dims]
    if len(set(out)) != len(out):
        raise RuntimeError("torch.gradient expected each dimension to be unique")
    return out


def _edges(f, d, h0, h1, n, edge_order):
    """The one-sided differences at both ends of dim d (first or second order); h0, h1 are the
    first two and last two spacings."""
    first, second, third = (f.narrow(d, i, 1) for i in range(3)) if edge_order == 2 else \
        (f.narrow(d, 0, 1), f.narrow(d, 1, 1), None)
    last, before, before2 = (f.narrow(d, n - 1, 1), f.narrow(d, n - 2, 1),
                             f.narrow(d, n - 3, 1) if edge_order == 2 else None)
    if edge_order == 1:
        return (second - first) / h0[0], (last - before) / h1[1]
    a0, b0 = h0
    a1, b1 = h1
    start = (-(2 * a0 + b0) / (a0 * (a0 + b0))) * first + ((a0 + b0) / (a0 * b0)) * second + \
        (-a0 / (b0 * (a0 + b0))) * third
    end = (b1 / (a1 * (a1 + b1))) * before2 + (-(b1 + a1) / (a1 * b1)) * before + \
        ((2 * b1 + a1) / (b1 * (a1 + b1))) * last
    return start, end


def _gradient_along(f, d, spacing, edge_order):
    """numpy.gradient along dim d: central differences inside (for uneven coordinates the
    second-order accurate weights), one-sided differences of `edge_order` at the ends."""
    from framework.ops.shape import cat
    n = f.shape[d]
    if n < edge_order + 1:
        raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    if isinstance(spacing, Tensor):  # coordinates along d
        view = [1] * f.ndim
        view[d] = n
        dx = spacing.diff().reshape(view[:d] + [n - 1] + view[d + 1:])
        dx1, dx2 = dx.narrow(d, 0, n - 2), dx.narrow(d, 1, n - 2)
        inside = (-dx2 / (dx1 * (dx1 + dx2))) * f.narrow(d, 0, n - 2) + \
            ((dx2 - dx1) / (dx1 * dx2)) * f.narrow(d, 1, n - 2) + (dx1 / (dx2 * (dx1 + dx2))) * f.narrow(d, 2, n - 2)
        steps = [dx.narrow(d, i, 1) for i in (0, min(1, n - 2), max(n - 3, 0), n - 2)]
        start, end = _edges(f, d, steps[:2], steps[2:], n, edge_order)
    else:
        h = spacing
        inside = (f.narrow(d, 2, n - 2) - f.narrow(d, 0, n - 2)) / (2 * h)
        start, end = _edges(f, d, (h, h), (h, h), n, edge_order)
    return cat([start, inside, end], d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative of sampled values along each of `dim` (numpy.gradient): spacing is a
    number, one number per dim, or one coordinate tensor per dim."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = _dims(dim, input.ndim)
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                               f"arguments to have the same length, but got a spacing argument of length "
                               f"{len(spacing)} and a dim argument of length {len(dims)}.")
        spacings = list(spacing)
    else:
        spacings = [spacing] * len(dims)
    f = input if input.dtype.is_floating_point or input.dtype.is_complex else input.to(_dt.get_default_dtype())
    out = []
    for d, s in zip(dims, spacings):
        if isinstance(s, Tensor):
            if s.ndim != 1:
                raise RuntimeError(f"torch.gradient expected each tensor to be on the same device as the input and "
                                   f"1-dimensional, but got a tensor with {s.ndim} dimensions")
            if s.shape[0] != input.shape[d]:
                raise RuntimeError(f"torch.gradient expected each tensor in spacing to have the size of its "
                                   f"dimension ({input.shape[d]}), got {s.shape[0]}")
            if not s.dtype.is_floating_point:
                s = s.to(f.dtype)
        out.append(_gradient_along(f, d, s, edge_order))
    return tuple(out)


def renorm(input, p, dim, maxnorm):
    """Each slice along `dim` whose p-norm exceeds maxnorm, scaled to norm maxnorm (by
    maxnorm / (norm + 1e-7), as PyTorch); the gradient flows through the norm."""
    from framework.linalg import vector_norm
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    if not p > 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    dim = wrap_dim(dim, input.ndim)
    others = tuple(d for d in range(input.ndim) if d != dim)
    norm = vector_norm(input, p, others, keepdim=True)
    factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0).to(input.dtype)
    return input * factor


# ----------------------------------------------------------------- histogramdd


def _histogramdd_edges(x, bins, range, d):
    from framework.ops.creation import linspace
    if isinstance(bins, Tensor) or (isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], Tensor)):
        edges = [bins] if isinstance(bins, Tensor) else list(bins)
        if len(edges) != d:
            raise RuntimeError(f"torch.histogramdd: expected {d} sequences of bin edges for each of the {d} input "
                               f"dimensions, but got {len(edges)} bin edge tensors")
        for e in edges:
            if e.dtype is not x.dtype:
                raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                                   f"but got input {x.dtype} and bins {e.dtype}")
        return [e.detach() for e in edges]
    counts = [bins] * d if isinstance(bins, int) else list(bins)
    if len(counts) != d:
        raise RuntimeError(f"torch.histogramdd: expected {d} bin counts for each of the {d} input dimensions, but got "
                           f"{len(counts)} bin counts")
    if any(c <= 0 for c in counts):
        raise RuntimeError("torch.histogramdd(): bins must be > 0, but got " + str(min(counts)))
    if range is not None and len(range) != 2 * d:
        raise RuntimeError(f"torch.histogramdd: for a {d}-dimensional histogram range should have {2 * d} elements, "
                           f"but got {len(range)}")
    edges = []
    for j, c in enumerate(counts):
        if range is not None:
            lo, hi = float(range[2 * j]), float(range[2 * j + 1])
        elif x.shape[0]:
            column = x[:, j]
            lo, hi = float(column.min()), float(column.max())
        else:
            lo, hi = 0.0, 0.0
        if lo > hi:
            raise RuntimeError(f"torch.histogramdd: expected upper bin range {hi} to be greater than or equal to "
                               f"lower bin range {lo} for dimension {j}")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges.append(linspace(lo, hi, c + 1, dtype=x.dtype, device=x.device))
    return edges


def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """The D-dimensional histogram of the points in input's last dim: `bins` equal bins per
    dim over `range` (the data's by default) or the given edges; each last bin includes its right edge."""
    from framework.ops.creation import zeros
    from framework.ops.sort import bucketize
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but got "
                           f"input {input.dtype} and bins float")
    if input.ndim < 1:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 1 dimension, but got 0")
    d = input.shape[-1]
    x = input.detach().reshape(-1, d)
    edges = _histogramdd_edges(x, bins, range, d)
    sizes = [e.shape[0] - 1 for e in edges]
    flat = zeros(x.shape[:1], dtype=_dt.int64, device=x.device)
    inside = (flat == 0)
    for j, e in enumerate(edges):
        k = sizes[j]
        column = x[:, j]
        index = bucketize(column, e, right=True) - 1
        index = where(column == e[-1], k - 1, index)  # (the right edge belongs to the last bin)
        inside = inside & (index >= 0) & (index < k)
        flat = flat * k + index.clamp(0, max(k - 1, 0))
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape[:-1]):
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have the same shape as the "
                               f"input tensor excluding its innermost dimension, but got input with shape "
                               f"{tuple(input.shape)} and weight with shape {tuple(weight.shape)}")
        counts = where(inside, weight.detach().reshape(-1).to(x.dtype), 0.0).to(x.dtype)
    else:
        counts = inside.to(x.dtype)
    total = math.prod(sizes)
    hist = zeros((total,), dtype=x.dtype, device=x.device).scatter_add(0, where(inside, flat, 0), counts)
    hist = hist.reshape(tuple(sizes))
    if density:
        hist = hist / hist.sum()
        for j, e in enumerate(edges):
            shape = [1] * d
            shape[j] = sizes[j]
            hist = hist / (e[1:] - e[:-1]).reshape(tuple(shape))
    return return_types.histogramdd(hist, tuple(edges))


# ----------------------------------------------------------------- samplers


class _PoissonDraw(Function):
    """A draw that stays in the graph of its rates with a zero gradient, as PyTorch's."""

    @staticmethod
    def forward(ctx, values, rates):
        return values

    @staticmethod
    def backward(ctx, g):
        from framework.ops.creation import zeros_like
        return None, zeros_like(g)


class _BinomialDraw(Function):
    """A draw whose derivative PyTorch does not implement: backward raises."""

    @staticmethod
    def forward(ctx, values, count, prob):
        return values

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::binomial is not implemented")


def _drawn(values, ref, draw, *inputs):
    """The host draws as a tensor like `ref`, in the graph of `inputs` through `draw` when one requires grad."""
    from framework.ops.creation import tensor
    out = tensor(values.astype(ref.dtype.np), device=ref.device)
    return draw.apply(out, *inputs) if any(t.requires_grad for t in inputs) else out


def poisson(input, generator=None):
    """A Poisson draw per element with rate input (seeded by framework.manual_seed)."""
    import numpy as np
    from framework.random import numpy_generator
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"poisson_cpu\" not implemented for '{_dt.scalar_name(input.dtype)}'")
    rates = input.detach().cpu().numpy().astype(np.float64)
    if not (rates >= 0).all():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return _drawn(numpy_generator(generator).poisson(rates), input, _PoissonDraw, input)


def binomial(count, prob, generator=None):
    """A Binomial(count, prob) draw per element (broadcast), in count's dtype."""
    import numpy as np
    from framework.random import numpy_generator
    if not count.dtype.is_floating_point:
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{_dt.scalar_name(count.dtype)}")
    if prob.dtype is not count.dtype:
        raise RuntimeError(f"Found dtype {_dt.scalar_name(prob.dtype)} but expected {_dt.scalar_name(count.dtype)}")
    n, p = np.broadcast_arrays(count.detach().cpu().numpy().astype(np.float64),
                               prob.detach().cpu().numpy().astype(np.float64))
    valid = (n >= 0) & (p >= 0) & (p <= 1)
    drawn = numpy_generator(generator).binomial(np.where(valid, n, 0).astype(np.int64), np.where(valid, p, 0.0))
    return _drawn(np.where(valid, drawn, np.nan), count, _BinomialDraw, count, prob)
