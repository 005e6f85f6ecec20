"""tile, ravel, moveaxis, the stack/split families, repeat_interleave, broadcast_shapes, logspace,
scalar_tensor, size predicates and the samplers, against PyTorch on every device."""
import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, randn

SHAPED = {
    "tile": lambda T, x: T.tile(x, (2,)),
    "tile_more_dims": lambda T, x: T.tile(x, (2, 1, 2)),
    "tile_method": lambda T, x: x.tile((1, 3)),
    "ravel": lambda T, x: T.ravel(x.t()),
    "moveaxis": lambda T, x: T.moveaxis(x.unsqueeze(0), 0, 2),
    "column_stack": lambda T, x: T.column_stack([x[0], x[1], x.t()[:3, :1].reshape(-1)]),
    "row_stack": lambda T, x: T.row_stack([x, x[0]]),
    "dstack": lambda T, x: T.dstack([x, x * 2]),
    "hsplit": lambda T, x: T.hsplit(x.repeat(1, 2), 2),
    "hsplit_indices": lambda T, x: T.hsplit(x, [1, 2]),
    "vsplit": lambda T, x: T.vsplit(x, 2),
    "dsplit": lambda T, x: T.dsplit(x.reshape(1, 2, 3), [1]),
    "repeat_interleave": lambda T, x: T.repeat_interleave(x, 2),
    "repeat_interleave_dim": lambda T, x: x.repeat_interleave(T.tensor([1, 3], device=x.device), dim=0),
    "repeat_interleave_dim1": lambda T, x: T.repeat_interleave(x, 2, dim=1),
}


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_shaped_ops_match_torch(device, name):
    check(SHAPED[name], randn(2, 3), device=device)


def test_split_and_repeat_errors(device):
    check_raises(lambda T, x: T.hsplit(x, 2), randn(2, 3), device=device)
    check_raises(lambda T, x: T.vsplit(x, 2), randn(3), device=device)
    check_raises(lambda T, x: T.dsplit(x, 1), randn(2, 3), device=device)
    check_raises(lambda T, x: T.repeat_interleave(x, T.tensor([1, 2, 3], device=x.device), dim=0), randn(2, 3),
                 device=device)
    check_raises(lambda T, x: T.repeat_interleave(x, -1), randn(2), device=device)


def test_repeat_interleave_counts_broadcast_shapes_and_predicates(device):
    counts = [2, 0, 3]
    assert np.array_equal(framework.repeat_interleave(framework.tensor(counts, device=device)).cpu().numpy(),
                          torch.repeat_interleave(torch.tensor(counts)).numpy())
    for shapes in [((2, 1), (3,)), ((1,), (4, 1), ()), (5, (2, 1))]:
        assert tuple(framework.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))
    with pytest.raises(RuntimeError):
        framework.broadcast_shapes((2,), (3,))
    one, two = framework.ones(1, device=device), framework.ones(2, device=device)
    assert framework.is_nonzero(one) and framework.is_same_size(one, one) and not two.is_same_size(one)
    for t, message in ((two, "more than one value"), (framework.ones(0, device=device), "no values")):
        with pytest.raises(RuntimeError, match=message):
            framework.is_nonzero(t)


def test_logspace_and_scalar_tensor(device):
    for args, kw in [((0, 2, 5), {}), ((-1.0, 1.0, 4), {"base": 2.0}), ((0, 3, 4), {"dtype": torch.float64})]:
        ours_kw = {k: (framework.float64 if v is torch.float64 else v) for k, v in kw.items()}
        ours = framework.logspace(*args, device=device, **ours_kw)
        theirs = torch.logspace(*args, **kw)
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6)
    s = framework.scalar_tensor(3, device=device)
    assert s.shape == () and s.dtype is framework.float32 and s.item() == 3.0


def test_samplers(device):
    framework.manual_seed(0)
    p = framework.full((20000,), 0.3, device=device)
    draws = framework.bernoulli(p)
    assert draws.dtype is framework.float32 and abs(draws.mean().item() - 0.3) < 0.02
    assert set(np.unique(p.bernoulli().cpu().numpy())) <= {0.0, 1.0}
    n = framework.normal(2.0, 3.0, (20000,), device=device)
    assert abs(n.mean().item() - 2.0) < 0.1 and abs(n.std().item() - 3.0) < 0.1
    mean = framework.zeros(3, device=device, requires_grad=True)
    std = framework.ones(3, device=device, requires_grad=True)
    out = framework.normal(mean, std)
    out.sum().backward()  # differentiable in mean and std, as PyTorch's
    assert np.allclose(mean.grad.cpu().numpy(), 1.0)
    np.testing.assert_allclose(std.grad.cpu().numpy(), out.detach().cpu().numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        framework.normal(0.0, -1.0, (2,))
    weights = framework.tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]], device=device)
    idx = framework.multinomial(weights, 2000, replacement=True)
    assert idx.shape == (2, 2000) and idx.dtype is framework.int64
    counts = np.bincount(idx[0].cpu().numpy(), minlength=3)
    assert counts[0] == 0 and abs(counts[2] / 2000 - 0.75) < 0.05
    assert set(idx[1].cpu().numpy()) == {0}
    once = framework.multinomial(framework.tensor([1.0, 1.0, 1.0], device=device), 3)
    assert sorted(once.cpu().numpy()) == [0, 1, 2]
    for bad, message in (((weights, 3), "without replacement"), ((framework.tensor([-1.0, 1.0]), 1), "element < 0")):
        with pytest.raises(RuntimeError, match=message):
            framework.multinomial(*bad)
    framework.manual_seed(5)
    a = framework.multinomial(framework.ones(10), 5).cpu().numpy()
    framework.manual_seed(5)
    assert np.array_equal(a, framework.multinomial(framework.ones(10), 5).cpu().numpy())  # seeded
