"""Sorting and what is built on it: sort, argsort, msort, topk, kthvalue, median, nanmedian,
mode, quantile, nanquantile, unique, unique_consecutive, searchsorted, bucketize, isin,
histc, bincount. One stable per-row sort kernel per backend (nan ordered as PyTorch: after
every number ascending); gradients flow back through the sort's indices (a scatter into
zeros), so everything composed from sorted values is differentiable."""
import math

from framework import dtypes as _dt
from framework import return_types
from framework.autograd.function import Function
from framework.ops._util import same_device, wrap, wrap_dim
from framework.ops.elementwise import where
from framework.tensor import Tensor

_sort_result = return_types.sort
_topk_result = return_types.topk
_kthvalue_result = return_types.kthvalue
_mode_result = return_types.mode


class PickedAlong(Function):
    """Base of the functions of (x, two more arguments) whose values are x's entries picked along
    dim at `indices` (sort; cummax and cummin in scan.py): the gradient goes back to where each
    value was picked, summed."""

    @staticmethod
    def picked(ctx, x, dim, values, indices):
        """The forward's result, (values, int64 indices) as tensors, from the backend's arrays."""
        idx = wrap(indices, _dt.int64, x.device)
        ctx.shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(idx)
        return wrap(values, x.dtype, x.device), idx

    @staticmethod
    def backward(ctx, g, _):
        (idx,) = ctx.saved_tensors
        from framework.ops.indexing import scatter_into_zeros
        return scatter_into_zeros(ctx.shape, ctx.dim, idx, g), None, None


class Sort(PickedAlong):
    @staticmethod
    def forward(ctx, x, dim, descending):
        return PickedAlong.picked(ctx, x, dim, *x.device.backend.sort(x._data, dim, descending))


def _sorted(input, dim, descending):
    if input.ndim == 0:
        wrap_dim(dim, 1)
        from framework.ops.creation import zeros
        return input.clone(), zeros((), dtype=_dt.int64, device=input.device)
    return Sort.apply(input, wrap_dim(dim, input.ndim), bool(descending))


def _check_tensor(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")


def sort(input, dim=-1, descending=False, stable=False):
    """Always stable (stable=False allows any order of equal elements; this one is as good)."""
    _check_tensor(input, "sort")
    return _sort_result(*_sorted(input, dim, descending))


def argsort(input, dim=-1, descending=False, stable=False):
    _check_tensor(input, "argsort")
    return _sorted(input.detach(), dim, descending)[1]


def msort(input):
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    _check_tensor(input, "topk")
    size = input.shape[wrap_dim(dim, input.ndim)] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    values, indices = _sorted(input, dim, largest)
    if input.ndim == 0:
        return _topk_result(values, indices)
    d = wrap_dim(dim, input.ndim)
    return _topk_result(values.narrow(d, 0, k), indices.narrow(d, 0, k))


def _pick(values, indices, dim, position, keepdim):
    """The entries at `position` along dim (an int, or an index tensor with dim kept)."""
    if isinstance(position, int):
        v, i = values.narrow(dim, position, 1), indices.narrow(dim, position, 1)
    else:
        from framework.ops.indexing import gather
        v, i = gather(values, dim, position), gather(indices, dim, position)
    return (v, i) if keepdim else (v.squeeze(dim), i.squeeze(dim))


def kthvalue(input, k, dim=-1, keepdim=False):
    _check_tensor(input, "kthvalue")
    d = wrap_dim(dim, max(input.ndim, 1))
    size = input.shape[d] if input.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if input.ndim == 0:
        return _kthvalue_result(*_sorted(input, dim, False))
    values, indices = _sorted(input, d, False)
    return _kthvalue_result(*_pick(values, indices, d, k - 1, keepdim))


def _median(input, dim, keepdim, ignore_nan, name):
    _median_result = getattr(return_types, name)
    _check_tensor(input, name)
    if dim is None:
        flat = input.reshape(-1)
        if flat.numel() == 0:
            from framework.ops.creation import full
            return full((), math.nan, dtype=input.dtype, device=input.device)
        return _median(flat, 0, False, ignore_nan, name).values
    d = wrap_dim(dim, max(input.ndim, 1))
    if input.ndim == 0:
        return _median_result(*_sorted(input, dim, False))
    if input.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    values, indices = _sorted(input, d, False)
    n = input.shape[d]
    if not input.dtype.is_floating_point:
        return _median_result(*_pick(values, indices, d, (n - 1) // 2, keepdim))
    # nan sorts last: count the numbers; median ignores nothing, so a nan anywhere wins (the first nan)
    numbers = (values == values).sum(d, keepdim=True)
    if ignore_nan:
        position = ((numbers - 1).clamp(min=0)) // 2
    else:
        position = where(numbers == n, (n - 1) // 2, numbers)
    return _median_result(*_pick(values, indices, d, position, keepdim))


def median(input, dim=None, keepdim=False):
    return _median(input, dim, keepdim, False, "median")


def nanmedian(input, dim=None, keepdim=False):
    return _median(input, dim, keepdim, True, "nanmedian")


def mode(input, dim=-1, keepdim=False):
    _check_tensor(input, "mode")
    d = wrap_dim(dim, max(input.ndim, 1))
    if input.ndim == 0:
        return _mode_result(*_sorted(input, dim, False))
    n = input.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    values, indices = _sorted(input.detach(), d, False)
    moved_v, moved_i = values.movedim(d, -1).contiguous(), indices.movedim(d, -1).contiguous()
    rows = moved_v.reshape(-1, n)
    b = input.device.backend
    mode_values, mode_indices = b.sorted_mode(rows._data, moved_i.reshape(-1, n)._data)
    out_shape = tuple(moved_v.shape[:-1])
    idx = wrap(mode_indices, _dt.int64, input.device).reshape(out_shape)
    if keepdim:
        idx = idx.unsqueeze(d)
    from framework.ops.indexing import gather
    value = gather(input, d, idx if keepdim else idx.unsqueeze(d))  # (differentiable through the input)
    return _mode_result(value if keepdim else value.squeeze(d), idx)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    _check_tensor(input, name)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, but "
                           f"got {interpolation}")
    from framework.ops.creation import tensor
    scalar_q = not isinstance(q, Tensor)
    if scalar_q:
        if not 0 <= q <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
        q = tensor(float(q), dtype=input.dtype, device=input.device)
    else:
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q.dtype is not input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        same_device(input, q)
        if q.numel() and q.device.type != "meta" and not bool(((q >= 0) & (q <= 1)).all()):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else wrap_dim(dim, max(input.ndim, 1))
    if x.ndim == 0:
        x = x.reshape(1)
    if x.shape[d] == 0:
        raise IndexError(f"{name}() input tensor must be non-empty")
    values, _ = _sorted(x, d, False)
    n = x.shape[d]
    values = values.movedim(d, -1)  # (..., n)
    numbers = (values == values).sum(-1, keepdim=True).to(input.dtype)  # nan sorts last
    qs = q.reshape(-1)
    last = (numbers - 1).clamp(min=0) if ignore_nan else numbers * 0 + (n - 1)
    rank = qs * last  # (..., len(q)): fractional positions
    if interpolation == "lower":
        rank = rank.floor()
    elif interpolation == "higher":
        rank = rank.ceil()
    elif interpolation == "nearest":
        rank = rank.round()
    lo = rank.floor().clamp(max=n - 1).long()
    hi = rank.ceil().clamp(max=n - 1).long()
    from framework.ops.indexing import gather
    below, above = gather(values, -1, lo), gather(values, -1, hi)
    if interpolation == "midpoint":
        weight = (rank.ceil() > rank.floor()).to(input.dtype) * 0.5
    else:
        weight = rank - rank.floor()
    out = below + weight * (above - below)
    # nanquantile: nan for rows of nans only; quantile: nan for rows with any nan
    out = where(numbers == 0 if ignore_nan else numbers < n, math.nan, out)
    out = out.movedim(-1, 0)  # (len(q), ...)
    if dim is None:
        out = out.reshape((qs.shape[0],) + ((1,) * input.ndim if keepdim else ()))
    elif keepdim:
        out = out.unsqueeze(d + 1)
    return out.squeeze(0) if scalar_q or q.ndim == 0 else out


def quantile(input, q, dim=None, keepdim=False, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


# ----------------------------------------------------------------- searches


def searchsorted(sorted_sequence, input, out_int32=False, right=False, side=None, sorter=None):
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    scalar = not isinstance(input, Tensor)
    if scalar:
        from framework.ops.creation import tensor
        input = tensor(input, dtype=sorted_sequence.dtype, device=sorted_sequence.device)
    same_device(sorted_sequence, input)
    seq = sorted_sequence
    if sorter is not None:
        from framework.ops.indexing import gather
        seq = gather(seq, -1, sorter)
    if seq.ndim != 1 and (seq.shape[:-1] != input.shape[:-1] or input.ndim == 0):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(seq.shape)} and input value tensor {list(input.shape)}")
    dt = _dt.promote_types(seq.dtype, input.dtype)
    seq, values = seq.detach().to(dt), input.detach().to(dt)
    rows = values.reshape(1, -1) if seq.ndim == 1 else values.reshape(-1, values.shape[-1] if values.ndim else 1)
    seq_rows = seq.reshape(1, -1) if seq.ndim == 1 else seq.reshape(-1, seq.shape[-1])
    b = input.device.backend
    out = wrap(b.searchsorted(seq_rows.contiguous()._data, rows.contiguous()._data, bool(right)), _dt.int64,
               input.device).reshape(input.shape)
    return out.to(_dt.int32) if out_int32 else out


def bucketize(input, boundaries, out_int32=False, right=False):
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, assume_unique=False, invert=False):
    """Membership: one comparison per pair for few test elements (as PyTorch), else a binary
    search in the sorted test elements (nan, equal to nothing, left out)."""
    from framework.ops.creation import tensor
    if not isinstance(elements, Tensor):
        elements = tensor(elements, device=test_elements.device)
    if not isinstance(test_elements, Tensor):
        test_elements = tensor(test_elements, device=elements.device)
    dt = _dt.promote_types(elements.dtype, test_elements.dtype)
    x, t = elements.detach().to(dt), test_elements.detach().to(dt).reshape(-1)
    if t.numel() < 10 * max(x.numel(), 1) ** 0.145:
        found = (x.unsqueeze(-1) == t).any(-1) if t.numel() else (x != x) & (x == x)
        return ~found if invert else found
    if dt.is_floating_point:
        t = t[t == t]
    s = sort(t).values
    pos = searchsorted(s, x).clamp(max=max(t.numel() - 1, 0))
    found = (s[pos] == x) if t.numel() else (x != x) & (x == x)
    return ~found if invert else found


# ----------------------------------------------------------------- unique


def _unique_sorted(values, indices, return_inverse, return_counts, shape):
    """unique of a flat sorted vector (with its sort permutation)."""
    from framework.ops.creation import ones, zeros
    from framework.ops.scan import cumsum
    from framework.ops.shape import cat
    n = values.shape[0]
    first = ones((min(n, 1),), dtype=_dt.bool_, device=values.device)
    starts = cat([first, values[1:] != values[:-1]]) if n else first
    out = [values[starts]]
    if return_inverse:
        group = cumsum(starts, 0) - 1
        inverse = zeros((n,), dtype=_dt.int64, device=values.device)
        inverse = inverse.scatter(0, indices, group) if n else inverse
        out.append(inverse.reshape(shape))
    if return_counts:
        out.append(_run_counts(starts, n))
    return out


def _run_counts(starts, n):
    from framework.ops.creation import tensor
    from framework.ops.indexing import nonzero
    from framework.ops.shape import cat
    begin = nonzero(starts).reshape(-1)
    return cat([begin[1:], tensor([n], dtype=_dt.int64, device=begin.device)]) - begin


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    _check_tensor(input, "unique")
    if dim is not None:
        return _unique_dim(input, wrap_dim(dim, max(input.ndim, 1)), return_inverse, return_counts, False)
    flat = input.detach().reshape(-1)
    values, indices = _sorted(flat, 0, False)
    out = _unique_sorted(values, indices, return_inverse, return_counts, input.shape)
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    _check_tensor(input, "unique_consecutive")
    if dim is not None:
        return _unique_dim(input, wrap_dim(dim, max(input.ndim, 1)), return_inverse, return_counts, True)
    from framework.ops.creation import arange
    flat = input.detach().reshape(-1)
    out = _unique_sorted(flat, arange(flat.shape[0], device=flat.device), return_inverse, return_counts,
                         input.shape)
    return out[0] if len(out) == 1 else tuple(out)


def _unique_dim(input, dim, return_inverse, return_counts, consecutive):
    """Unique slices along `dim`: slices sorted lexicographically (stable sorts by each key,
    the last key first), then equal neighbours merged."""
    from framework.ops.creation import arange, ones, zeros
    from framework.ops.indexing import index_select
    from framework.ops.scan import cumsum
    from framework.ops.shape import cat
    x = input.detach().movedim(dim, 0)
    n = x.shape[0]
    rows = x.reshape(n, -1)
    order = arange(n, device=input.device)
    if not consecutive:
        for col in range(rows.shape[1] - 1, -1, -1):
            keys = index_select(rows[:, col], 0, order)
            order = index_select(order, 0, _sorted(keys, 0, False)[1])
    ranked = index_select(rows, 0, order)
    first = ones((min(n, 1),), dtype=_dt.bool_, device=input.device)
    starts = cat([first, (ranked[1:] != ranked[:-1]).any(1)]) if n else first
    kept = index_select(x, 0, order)[starts].movedim(0, dim)
    out = [kept]
    if return_inverse:
        inverse = zeros((n,), dtype=_dt.int64, device=input.device)
        out.append(inverse.scatter(0, order, cumsum(starts, 0) - 1) if n else inverse)
    if return_counts:
        out.append(_run_counts(starts, n))
    return out[0] if len(out) == 1 else tuple(out)


# ----------------------------------------------------------------- histograms


def bincount(input, weights=None, minlength=0):
    if input.ndim != 1 or input.dtype.is_floating_point or input.dtype is _dt.bool_:
        if input.dtype.is_floating_point:
            raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_dt.scalar_name(input.dtype)}'")
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != input.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    from framework.ops.creation import ones, zeros
    if input.numel() and int(input.min()) < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    size = max(int(input.max()) + 1 if input.numel() else 0, minlength)
    if weights is None:
        src = ones(input.shape, dtype=_dt.int64, device=input.device)
        return zeros((size,), dtype=_dt.int64, device=input.device).scatter_add(0, input.long(), src)
    dt = weights.dtype if weights.dtype.is_floating_point else _dt.float64
    w = weights.to(dt)
    return zeros((size,), dtype=dt, device=input.device).scatter_add(0, input.long(), w)


def histc(input, bins=100, min=0, max=0):
    """Counts in `bins` equal bins over [min, max] (the data's range when both are 0);
    elements outside are ignored, as PyTorch's."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_dt.scalar_name(input.dtype)}'")
    if bins <= 0:
        raise RuntimeError("torch.histc(): bins must be > 0, but got " + str(bins) + " for bins")
    if min > max:
        raise RuntimeError("torch.histc(): max must be larger than min")
    x = input.detach().reshape(-1)
    lo, hi = float(min), float(max)
    if x.device.type == "meta":  # the counts' shape is known; values are not
        return input.new_empty((bins,))
    if lo == hi and x.numel():
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc(): range of [{lo}, {hi}] is not finite")
    inside = (x >= lo) & (x <= hi)
    pos = ((x - lo) * (bins / (hi - lo))).floor().clamp(0, bins - 1).long()
    from framework.ops.creation import zeros
    counts = zeros((bins,), dtype=input.dtype, device=input.device)
    return counts.scatter_add(0, pos, inside.to(input.dtype))

