"""F.pad: 'constant' for any rank (one Function: fill, then copy the kept block), and
'reflect', 'replicate' and 'circular' for the last 1 to 3 dims: a one-tap SparseMap per
padded dim (framework/ops/resample.py), built once per (mode, size, pads), whose backward
(the transposed map) sums the gradient of every copy of an element. Negative pads crop, as
PyTorch's."""
import functools
import numbers

import numpy as np

from framework import dtypes as _dt
from framework.autograd.function import Function
from framework.ops._util import wrap
from framework.ops.resample import SparseMap, map_axes
from framework.tensor import Tensor


class ConstantPad(Function):
    @staticmethod
    def untracked(x, pads, value):
        # pads: ((before, after) per dim, first dim first); negative pads crop.
        b = x.device.backend
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads))
        out = b.full(shape, value, x.dtype.np)
        src = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, pads))
        dst = tuple(slice(max(lo, 0), max(lo, 0) + (s.stop - s.start)) for s, (lo, hi) in zip(src, pads))
        if all(s.stop > s.start for s in src):
            b.setitem(out, dst, b.getitem(x._data, src))
        return wrap(out, x.dtype, x.device)

    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads = pads
        return ConstantPad.untracked(x, pads, value)

    @staticmethod
    def backward(ctx, g):
        return ConstantPad.apply(g, tuple((-lo, -hi) for lo, hi in ctx.pads), 0), None, None


def _pad_list(pad):
    """The pad argument as a list of ints (PyTorch's argument parser: ints, or 0-d int tensors)."""
    if isinstance(pad, Tensor) or not isinstance(pad, (list, tuple)):
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, not {type(pad).__name__}")
    out = []
    for i, v in enumerate(pad):
        if isinstance(v, Tensor) and v.ndim == 0 and not v.dtype.is_floating_point:
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError("pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
                            f"{type(v).__name__} at pos {i}")
        out.append(int(v))
    return out


def _per_dim(x, pad):
    """((before, after) per dim, first dim first) from PyTorch's last-dim-first pad list."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * x.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {x.ndim}")
    pads = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pads[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return tuple(pads)


def _constant(x, pads, value):
    for d, (n, (lo, hi)) in enumerate(zip(x.shape, pads)):
        kept = n - max(-lo, 0) - max(-hi, 0)
        if kept < 0 or max(-lo, 0) > n:
            raise RuntimeError("narrow(): length must be non-negative.")
        if n + lo + hi < 0:
            raise RuntimeError(f"The input size {n}, plus negative padding {lo} and {hi} resulted in a negative "
                               f"output size, which is invalid. Check dimension {d} of your input.")
    return ConstantPad.apply(x, pads, 0.0 if value is None else value)


@functools.lru_cache(maxsize=1024)
def pad_map(mode, n, lo, hi):
    """The one-tap map of `mode` padding (lo, hi) along an axis of size n."""
    p = np.arange(-lo, n + hi)
    if mode == "reflect":
        p = np.abs(p)
        p = np.where(p > n - 1, 2 * (n - 1) - p, p)
    elif mode == "replicate":
        p = np.clip(p, 0, n - 1)
    else:  # circular: wrap around what the negative pads keep
        start = max(-lo, 0)
        kept = n - start - max(-hi, 0)
        p = start + (np.arange(n + lo + hi) - max(lo, 0)) % max(kept, 1)
    return SparseMap.from_taps(n, p[:, None], np.ones((p.size, 1)))


_SUPPORTED = ("Supported combinations for non-constant padding:\n"
              "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
              "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
              "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _check_batch_mode(x, k):
    """padding::check_valid_input: (k+1)-D, or (k+2)-D with a possibly empty batch."""
    batched = x.ndim == k + 2
    nonempty = all(n != 0 for n in (x.shape[1:] if batched else x.shape))
    if not nonempty:
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and other "
                           f"non-zero dimensions for input, but got: {list(x.shape)}")


def _check_reflect(x, pads, k):
    first = x.ndim - k
    # PyTorch checks the last dim first (its argument #4), then #6 and #8.
    for arg, d in zip((4, 6, 8), reversed(range(first, x.ndim))):
        lo, hi = pads[d]
        if not (lo < x.shape[d] and hi < x.shape[d]):
            raise RuntimeError(f"Argument #{arg}: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({lo}, {hi}) at dimension {d} of input {list(x.shape)}")


def _check_output(x, pads, k, mode):
    """PyTorch refuses outputs empty in every padded dim; a negative size in some is refused too."""
    first = x.ndim - k
    ins = x.shape[first:]
    outs = [n + lo + hi for n, (lo, hi) in zip(ins, pads[first:])]
    if max(outs) < 1:
        names = "DHW"[3 - k:]
        if k == 1:
            shown = f"W: {ins[0]}"
        elif k == 2:  # (PyTorch's replicate message has a space before the parenthesis)
            shown = f"H: {ins[0]}, W: {ins[1]}" + (" " if mode == "replicate" else "")
        else:
            shown = f"D: {ins[0]} H: {ins[1]}, W: {ins[2]}"
        got = " ".join(f"{a}: {n}" for a, n in zip(names, outs))
        raise RuntimeError(f"input ({shown}) is too small. Calculated output {got}")
    if min(outs) < 0:
        shape = list(x.shape[:first]) + outs
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(outs)}: {shape}")


def _check_circular(x, pads, k):
    for n, (lo, hi) in zip(x.shape[2:], pads[2:]):
        if not (lo <= n and hi <= n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if n + lo + hi < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
    for n, (lo, hi) in zip(x.shape[2:], pads[2:]):
        kept = n - max(-lo, 0) - max(-hi, 0)  # what the pads wrap around (PyTorch garbles the rest)
        if max(lo, hi) > kept and n + lo + hi > 0:
            raise RuntimeError("Padding value causes wrapping around more than once.")


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad."""
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    pad = _pad_list(pad)
    pads = _per_dim(input, pad)
    if mode == "constant":
        return _constant(input, pads, value)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    k = len(pad) // 2
    if not (1 <= k <= 3 and input.ndim in (k + 1, k + 2)):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
                                  + _SUPPORTED)
    unbatched = mode == "circular" and input.ndim == k + 1
    if unbatched:  # PyTorch pads an unbatched input as a batch of one
        input, pads = input.unsqueeze(0), ((0, 0),) + pads
    if mode == "circular":
        _check_circular(input, pads, k)
    else:
        _check_batch_mode(input, k)
        if mode == "reflect":
            _check_reflect(input, pads, k)
        _check_output(input, pads, k, mode)
    maps = [pad_map(mode, n, lo, hi) for n, (lo, hi) in zip(input.shape[input.ndim - k:], pads[input.ndim - k:])]
    if input.dtype is _dt.bool_:
        out = map_axes(input.to(_dt.uint8), maps).to(_dt.bool_)
    else:
        out = map_axes(input, maps)
    return out.squeeze(0) if unbatched else out
