import numpy as np
import pytest

import framework
from helpers import check, check_raises, gradcheck, randn

KEYS = {
    "int": lambda T, x: x[1],
    "neg_int": lambda T, x: x[-1, 2],
    "slice": lambda T, x: x[1:, ::2],
    "ellipsis": lambda T, x: x[..., 1],
    "none": lambda T, x: x[None, :, None, 0],
    "int_list": lambda T, x: x[[0, 2, 2]],
    "int_tensor": lambda T, x: x[T.tensor([2, 0, 2, 2], device=x.device)],
    "int_tensor_2d": lambda T, x: x[T.tensor([[0, 1], [2, 2]], device=x.device)],
    "two_tensors": lambda T, x: x[T.tensor([0, 1, 2], device=x.device), T.tensor([3, 3, 0], device=x.device)],
    "tensor_and_slice": lambda T, x: x[1:, T.tensor([1, 1, 0], device=x.device)],
    "bool_mask": lambda T, x: x[x > 0],
    "bool_row_mask": lambda T, x: x[T.tensor([True, False, True], device=x.device)],
    "mixed": lambda T, x: x[T.tensor([0, 2], device=x.device), 1:3],
    "empty_list": lambda T, x: x[[]],
    "true": lambda T, x: x[True],
    "false": lambda T, x: x[False, 1:],
    "0d_mask": lambda T, x: x[T.tensor(True, device=x.device)],
    "mask_with_int": lambda T, x: x[1, x[0] > 0],
    "negative_tensor": lambda T, x: x[T.tensor([-1, 0, -3], device=x.device)],
    "cpu_index_tensor": lambda T, x: x[T.tensor([2, 0])],  # a CPU index for any device, as PyTorch allows
    "take": lambda T, x: T.take(x, T.tensor([[0, 11], [5, 5]], device=x.device)),
}

# Keys where PyTorch and NumPy place the index dims differently: PyTorch applies the ints
# first, so they never separate the index tensors. On a (2, 3, 4, 5) tensor.
KEYS_4D = {
    "int_slice_tensor": lambda T, x: x[0, :, T.tensor([0, 1], device=x.device)],
    "slice_int_slice_tensor": lambda T, x: x[:, 0, :, T.tensor([1, 2], device=x.device)],
    "tensor_slice_int": lambda T, x: x[T.tensor([0, 1], device=x.device), :, 0],
    "separated_by_none": lambda T, x: x[None, T.tensor([0, 1], device=x.device), None,
                                         T.tensor([1, 1], device=x.device)],
    "separated_by_slice": lambda T, x: x[T.tensor([[0, 1], [1, 0]], device=x.device), :,
                                          T.tensor([2, 3], device=x.device)],
    "ellipsis_tensor_int": lambda T, x: x[..., T.tensor([0, 3], device=x.device), 0],
    "int_tensor_none": lambda T, x: x[0, T.tensor([0, 1], device=x.device), None],
    "mask_2d_then_tensor": lambda T, x: x[x[:, :, 0, 0] > 0, T.tensor([1], device=x.device)],
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_getitem(device, name):
    check(KEYS[name], randn(3, 4), device=device)


@pytest.mark.parametrize("name", sorted(KEYS_4D))
def test_getitem_places_index_dims_as_pytorch_does(device, name):
    check(KEYS_4D[name], randn(2, 3, 4, 5), device=device)


@pytest.mark.parametrize("name", ["int_tensor", "bool_mask", "two_tensors", "slice"])
def test_getitem_gradcheck(device, name):
    gradcheck(KEYS[name], randn(3, 4), double=True, device=device)


def test_setitem(device):
    def fn(T, x, v):
        y = x * 1
        y[0] = v[0]
        y[1:, 1] = 0.5
        y[y > 1] = -1.0
        y[T.tensor([2, 2], device=x.device), T.tensor([0, 3], device=x.device)] = v[:2]
        return y
    check(fn, randn(3, 4), randn(4), device=device)


def test_setitem_through_views_and_errors(device):
    x = framework.zeros(3, 4, device=device)
    row = x[1]
    row[2] = 7.0
    x[:, 0][1:] = 3.0
    assert x.tolist()[1] == [3.0, 0.0, 7.0, 0.0]
    assert x[2, 0].item() == 3.0
    check_raises(lambda T, x: x.__setitem__(5, 1.0), randn(3), exc=IndexError, device=device)
    w = framework.zeros(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w[0] = 1.0
    with framework.no_grad():
        w[0] = 1.0
    assert w[0].item() == 1.0


def test_setitem_with_index_tensors_and_masks(device):
    def fn(T, x, v):
        y = x * 1
        y[T.tensor([2, 0], device=x.device), T.tensor([1, 3], device=x.device)] = v[:2]
        y[y > 1] = -1.0
        y[1, T.tensor([True, False, True, False], device=x.device)] = v[2]
        y[T.tensor([0, 0], device=x.device)] = 2.5  # repeated rows get the same value
        y[T.tensor([2, 1], device=x.device)] = x[1]  # values that are views at an offset in their buffer
        y[T.tensor([0], device=x.device), T.tensor([1, 3], device=x.device)] = v[2:]
        return y
    check(fn, randn(3, 4), randn(4), device=device)


def test_index_errors(device):
    check_raises(lambda T, x: x[3], randn(3, 4), exc=IndexError, device=device)
    check_raises(lambda T, x: x[T.tensor([0, 5], device=x.device)], randn(3, 4), exc=IndexError, device=device)
    check_raises(lambda T, x: x[T.tensor([0.0], device=x.device)], randn(3, 4), exc=IndexError, device=device)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_scatter(device, dim):
    x = randn(3, 4)
    idx = np.random.default_rng(1).integers(0, x.shape[dim], (3, 4)).astype(np.int64)
    check(lambda T, x, i: x.gather(dim, i), x, idx, device=device)
    check(lambda T, x, i: T.gather(x, dim, i[:2, :3]), x, idx, device=device)
    check(lambda T, x, i, s: x.scatter_add(dim, i, s), x, idx, randn(3, 4), device=device)
    # PyTorch's own backward rejects a src larger than the index, so compare values only
    check(lambda T, x, i, s: T.scatter_add(x, dim, i[:2], s), x, idx, randn(3, 4), grad=False, device=device)
    gradcheck(lambda T, x, i, s: T.scatter_add(x, dim, i[:2], s), x, idx, randn(3, 4), device=device)
    unique = np.argsort(np.random.default_rng(2).random((3, 4)), axis=dim % 2).astype(np.int64)
    check(lambda T, x, i, s: x.scatter(dim, i, s), x, unique, randn(3, 4), device=device)
    check(lambda T, x, i: x.scatter(dim, i, 2.5), x, unique, device=device)
    gradcheck(lambda T, x, i: x.gather(dim, i), x, idx, double=True, device=device)
    gradcheck(lambda T, x, i, s: x.scatter_add(dim, i, s), x, idx, randn(3, 4), device=device)


@pytest.mark.parametrize("shape,dim", [((7, 4), 1), ((5, 3, 2), 1), ((2, 3, 130), 1), ((4, 70), 0)])
def test_gather_backward_on_each_layout(device, shape, dim):
    """Gather's backward (a scatter-add into zeros, shared by sort, max over a dim and the max
    pools) splits its work by the layout around dim: a last dim, more outer than inner entries,
    and blocks of 64 along a long inner dim (two and more blocks). Repeated indices, and an
    index shorter than the input in the other dims, which reaches only that corner."""
    x = randn(*shape)
    idx = np.random.default_rng(3).integers(0, shape[dim], shape).astype(np.int64)
    check(lambda T, x, i: x.gather(dim, i), x, idx, device=device)
    corner = tuple(slice(0, max(1, n - 1)) if d != dim else slice(None) for d, n in enumerate(shape))
    check(lambda T, x, i: x.gather(dim, i[corner]), x, idx, device=device)


def test_gather_out_of_range_is_a_clear_error(device):
    msg = check_raises(lambda T, x, i: x.gather(1, i), randn(2, 3), np.array([[0, 3], [1, 1]]), device=device)
    assert "3" in msg
    check(lambda T, x, i: x.gather(1, i), randn(2, 3), np.array([[0, 1]], np.int32), device=device)
    check_raises(lambda T, x, i: x.gather(1, i), randn(2, 3), np.array([[0.0, 1.0]]), device=device)


def test_index_select_masked_nonzero(device):
    x = randn(4, 5)
    idx = np.array([3, 0, 3], np.int64)
    check(lambda T, x, i: x.index_select(0, i), x, idx, device=device)
    check(lambda T, x, i: T.index_select(x, 1, i), x, idx, device=device)
    gradcheck(lambda T, x, i: x.index_select(1, i), x, idx, double=True, device=device)
    check(lambda T, x: x.masked_select(x > 0.2), x, device=device)
    check(lambda T, x: T.masked_select(x, T.tensor([True, False, True, False, True], device=x.device)), x,
          device=device)
    check(lambda T, x: T.nonzero(x > 0), x, grad=False, device=device)
    check(lambda T, x: (x > 0).nonzero(as_tuple=True), x, grad=False, device=device)
    check(lambda T, x: T.where(x > 0), x, grad=False, device=device)
    z = x.copy()
    z[1, 1] = z[2, 3] = 0.0
    check(lambda T, x: T.nonzero(x), z, grad=False, device=device)
    check(lambda T, x: T.argwhere(x[0]), z, grad=False, device=device)
    check(lambda T, x: T.nonzero(x[0, 0]), z, grad=False, device=device)
    check(lambda T, x: T.nonzero(x * 0), z, grad=False, device=device)
    check(lambda T, x, m: T.masked_select(x, m), z, np.array([True, False, False, True, False]), device=device)
    check(lambda T, x: x.masked_fill(T.tensor([True, False, False, True, True], device=x.device), 0.0), x,
          device=device)
    check_raises(lambda T, x: x.index_select(0, T.tensor([9], device=x.device)), x, exc=(IndexError, RuntimeError),
                 device=device)


def test_index_add_matches_pytorch(device):
    index = np.array([0, 2, 0])
    check(lambda T, x, i, s: x.index_add(0, i, s, alpha=2), randn(3, 2), index, randn(3, 2), device=device)
    check(lambda T, x, i, s: T.index_add(x, 1, i, s), randn(2, 3), index, randn(2, 3), device=device)
    gradcheck(lambda T, x, s: x.index_add(1, T.tensor([1, 1, 0], device=x.device), s), randn(2, 3), randn(2, 3),
              double=True, device=device)

    def in_place(T, x, i, s):
        y = x * 1
        y.index_add_(0, i, s)
        return y
    check(in_place, randn(3, 2), index, randn(3, 2), device=device)


@pytest.mark.parametrize("op, exc", [
    (lambda T, x, i: T.index_select(x, 0, i), IndexError),
    (lambda T, x, i: x.gather(0, i), RuntimeError),
    (lambda T, x, i: x.scatter(0, i, T.ones(1, device=x.device)), RuntimeError),
    (lambda T, x, i: x.index_add(0, i, T.ones(1, device=x.device)), IndexError),
    (lambda T, x, i: T.nn.functional.embedding(i, x.reshape(3, 1)), IndexError),
])
def test_negative_indices_are_out_of_range_outside_subscripts(device, op, exc):
    """Only x[idx] wraps negative indices; gather, scatter, index_select, index_add and
    embedding refuse them, as in PyTorch."""
    check_raises(op, randn(3), np.array([-1]), exc=exc, device=device)
