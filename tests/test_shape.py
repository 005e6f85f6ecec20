import numpy as np
import pytest
from hypothesis import given, strategies as st

import framework
from helpers import check, check_raises, gradcheck, randn

SHAPE_OPS = {
    "view": lambda T, x: x.view(4, 6),
    "view_infer": lambda T, x: x.view(-1, 3),
    "reshape_t": lambda T, x: x.transpose(0, 2).reshape(-1),
    "flatten": lambda T, x: x.flatten(),
    "flatten_1": lambda T, x: T.flatten(x, 1),
    "flatten_mid": lambda T, x: x.flatten(0, 1),
    "unflatten": lambda T, x: x.unflatten(2, (2, 2)),
    "squeeze": lambda T, x: x.view(2, 1, 3, 4).squeeze(),
    "squeeze_dim": lambda T, x: x.view(2, 1, 3, 4).squeeze(1),
    "unsqueeze": lambda T, x: x.unsqueeze(-1),
    "permute": lambda T, x: x.permute(2, 0, 1),
    "transpose": lambda T, x: x.transpose(0, -1),
    "t": lambda T, x: x[0].t(),
    "T": lambda T, x: x[0].T,
    "mT": lambda T, x: x.mT,
    "expand": lambda T, x: x[:, :1].expand(2, 5, 4),
    "expand_new": lambda T, x: x.expand(3, 2, 3, 4),
    "expand_as": lambda T, x: x[0].expand_as(x),
    "repeat": lambda T, x: x.repeat(2, 1, 3),
    "repeat_more": lambda T, x: x[0].repeat(2, 2, 1),
    "contiguous": lambda T, x: x.transpose(0, 1).contiguous(),
    "cat": lambda T, x: T.cat([x, x * 2], 1),
    "cat_neg": lambda T, x: T.cat((x, x[:, :1]), dim=-2),
    "stack": lambda T, x: T.stack([x, x + 1, x * 3], 1),
    "split": lambda T, x: x.split(2, 2),
    "split_sizes": lambda T, x: T.split(x, [1, 2], 1),
    "chunk": lambda T, x: x.chunk(3, -1),
    "narrow": lambda T, x: x.narrow(1, 1, 2),
    "unbind": lambda T, x: x.unbind(1),
    "flip": lambda T, x: x.flip(0, 2),
    "movedim": lambda T, x: x.movedim(0, -1),
    "clone": lambda T, x: x.clone(),
    "select": lambda T, x: x.select(1, -1),
    "transpose_stepped": lambda T, x: x.transpose(0, 1)[1:, ::2],
    "select_expand": lambda T, x: x[:, None, 1].expand(2, 5, 4),
    "permute_reshape": lambda T, x: x.permute(2, 0, 1).reshape(4, 6),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(device, name):
    check(SHAPE_OPS[name], randn(2, 3, 4), device=device)


@pytest.mark.parametrize("name", ["view", "permute", "expand", "repeat", "cat", "stack", "split", "flip", "unbind"])
def test_shape_ops_gradcheck(device, name):
    gradcheck(lambda T, x: SHAPE_OPS[name](T, x), randn(2, 3, 4), device=device)


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_permute_reshape_hypothesis(device, shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    check(lambda T, x: x.permute(*perm).reshape(-1) * 2, randn(*shape), device=device)


def test_views_share_memory_and_version(device):
    x = framework.zeros(2, 3, device=device)
    for v in (x.view(6), x.reshape(3, 2), x.t(), x[0], x[:, 1:], x.unsqueeze(0), x.permute(1, 0), x.detach(),
              x.expand(4, 2, 3), x.flatten(), x.narrow(1, 0, 1)):
        before = v.sum().item()
        x.add_(1)
        assert v.sum().item() == before + v.numel()
        assert v._version == x._version
    v = x.view(6)
    v[0] = 100.0
    assert x[0, 0].item() == 100.0
    x.t()[2, 1] = -1.0
    assert x[1, 2].item() == -1.0


def test_reshape_copies_when_it_must(device):
    x = framework.arange(6.0, device=device).view(2, 3).t()
    y = x.reshape(6)
    x.add_(1)
    assert y.tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


def test_shape_errors(device):
    msg = check_raises(lambda T, x: x.view(4, 5), randn(2, 3), device=device)
    assert "[4, 5]" in msg and "6" in msg
    msg = check_raises(lambda T, x: x.t().view(6), randn(2, 3), device=device)
    assert "[3, 2]" in msg
    check_raises(lambda T, x: x.reshape(-1, -1), randn(2, 3), device=device)
    check_raises(lambda T, x: x.expand(3, 4), randn(2, 3), device=device)
    check_raises(lambda T, x: x.permute(0, 0), randn(2, 3), device=device)
    check_raises(lambda T, x: T.cat([x, x.t()]), randn(2, 3), device=device)
    check_raises(lambda T, x: T.stack([x, x[0]]), randn(2, 3), device=device)
    check_raises(lambda T, x: x.transpose(0, 3), randn(2, 3), exc=IndexError, device=device)
    check_raises(lambda T, x: T.split(x, [1, 1], 0), randn(3, 2), device=device)
    check_raises(lambda T, x: x.t(), randn(2, 3, 4), device=device)


def test_cat_promotes_and_stacks_many(device):
    check(lambda T, x, y: T.cat([x, y]), np.arange(3), randn(2), device=device)
    check(lambda T, x: T.stack(list(x.unbind(0)), 1), randn(5, 2), device=device)
