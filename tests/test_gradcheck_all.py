"""Finite-difference gradcheck (float64) for every differentiable op not already
checked beside its forward test."""
import numpy as np
import pytest

from helpers import gradcheck, randn

x34 = randn(3, 4)
OPS = {
    "max_dim": lambda T, x: x.max(1)[0],
    "min_dim_keep": lambda T, x: x.min(0, keepdim=True).values,
    "amin": lambda T, x: x.amin(0),
    "max_all": lambda T, x: x.max(),
    "norm1": lambda T, x: x.norm(1, dim=1),
    "norm_inf": lambda T, x: x.norm(float("inf")),
    "norm3": lambda T, x: x.norm(3),
    "std": lambda T, x: x.std(0, correction=0),
    "squeeze_unsqueeze": lambda T, x: x.unsqueeze(1).squeeze(1) * 2,
    "transpose": lambda T, x: x.transpose(0, 1) * T.arange(3.0, dtype=T.float64, device=x.device),
    "narrow_chunk": lambda T, x: x.narrow(1, 1, 2) + x.chunk(2, 1)[1],
    "expand": lambda T, x: x[:, :1].expand(3, 5) * T.arange(5.0, dtype=T.float64, device=x.device),
    "masked_fill": lambda T, x: x.masked_fill(x > 0.5, 0.0),
    "masked_select": lambda T, x: x.masked_select(x > 0),
    "setitem": lambda T, x: _setitem(T, x),
    "flatten_unflatten": lambda T, x: x.flatten().unflatten(0, (2, 6)),
    "contiguous": lambda T, x: x.t().contiguous(),
    "outer_dot": lambda T, x: T.outer(x[0], x[1]) + T.dot(x[0], x[2]),
    "bmm": lambda T, x: T.bmm(x.view(1, 3, 4), x.view(1, 4, 3)),
    "clamp_tensor_bounds": lambda T, x: x.clamp(min=x[0], max=x[1] + 1),
    "repeat_interleaved_views": lambda T, x: x.repeat(2, 1)[1:5:2],
    "prod_keep": lambda T, x: x.prod(1, keepdim=True),
    "sum_dtype": lambda T, x: x.sum((0, 1)),
    "inplace_chain": lambda T, x: _inplace_chain(T, x),
}


def _setitem(T, x):
    y = x * 1
    y[1] = x[0] * 2
    y[:, 2] = 0.0
    return y


def _inplace_chain(T, x):
    y = x * 1
    y.mul_(x).add_(x, alpha=2).sigmoid_()
    return y


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradcheck(device, name):
    gradcheck(OPS[name], x34 + np.float32(0.01) * np.arange(12, dtype=np.float32).reshape(3, 4), device=device)
