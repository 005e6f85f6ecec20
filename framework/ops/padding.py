"""pad: constant padding is one Function; reflect/replicate/circular are index_select
along each padded dim, which makes them differentiable for free."""
from framework.autograd.function import Function
from framework.ops._util import wrap


class ConstantPad(Function):
    @staticmethod
    def forward(ctx, x, pads, value):
        # pads: ((before, after) per dim, first dim first); negative pads crop.
        b = x.device.backend
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pads))
        out = b.full(shape, value, x.dtype.np)
        src = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, pads))
        dst = tuple(slice(max(lo, 0), max(lo, 0) + (s.stop - s.start)) for s, (lo, hi) in zip(src, pads))
        b.setitem(out, dst, b.getitem(x._data, src))
        ctx.pads, ctx.shape = pads, x.shape
        return wrap(out, x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return ConstantPad.apply(g, tuple((-lo, -hi) for lo, hi in ctx.pads), 0), None, None


def _per_dim(x, pad):
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(f"Padding length must be divisible by 2 and at most twice the number of dims; got "
                           f"{len(pad)} for input of {x.ndim} dims")
    pads = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pads[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return tuple(pads)


def pad(input, pad, mode="constant", value=None):
    pads = _per_dim(input, pad)
    if mode == "constant":
        return ConstantPad.apply(input, pads, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    from framework.ops.creation import arange
    from framework.ops.indexing import index_select
    out = input
    for dim, (lo, hi) in enumerate(pads):
        if not lo and not hi:
            continue
        n = out.shape[dim]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({lo}, {hi}) at dimension {dim} of input {list(input.shape)}")
        pos = arange(-lo, n + hi, device=input.device)
        if mode == "replicate":
            pos = pos.clamp(0, n - 1)
        elif mode == "circular":
            pos = pos % n
        else:
            period = 2 * (n - 1)
            pos = pos.abs() % period if period else pos * 0
            pos = (pos - (pos >= n) * (2 * (pos - n + 1)))
        out = index_select(out, dim, pos)
    return out
