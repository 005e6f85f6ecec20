"""Indexing on device='cuda' against PyTorch: the same keys as on the CPU, assignment,
nonzero and masks, and index errors found on the device."""
import numpy as np
import pytest

import framework
from helpers import check, randn
from test_autograd import VIEW_INPLACE
from test_indexing import KEYS, KEYS_4D

CUDA = "cuda"


@pytest.mark.parametrize("name", sorted(KEYS))
def test_getitem(name):
    check(KEYS[name], randn(3, 4), device=CUDA)


@pytest.mark.parametrize("name", sorted(KEYS_4D))
def test_getitem_places_index_dims_as_pytorch_does(name):
    check(KEYS_4D[name], randn(2, 3, 4, 5), device=CUDA)


def test_setitem_with_index_tensors_and_masks():
    def fn(T, x, v):
        y = x * 1
        y[T.tensor([2, 0]), T.tensor([1, 3])] = v[:2]
        y[y > 1] = -1.0
        y[1, T.tensor([True, False, True, False])] = v[2]
        y[T.tensor([0, 0])] = 2.5  # repeated rows get the same value
        y[T.tensor([2, 1])] = x[1]  # values that are views at an offset in their buffer
        y[T.tensor([0]), T.tensor([1, 3])] = v[2:]
        return y
    check(fn, randn(3, 4), randn(4), device=CUDA)


def test_nonzero_masked_select_take():
    x = randn(3, 4)
    x[1, 1] = x[2, 3] = 0.0
    check(lambda T, x: T.nonzero(x), x, device=CUDA, grad=False)
    check(lambda T, x: T.nonzero(x > 0.5, as_tuple=True), x, device=CUDA, grad=False)
    check(lambda T, x: T.argwhere(x[0]), x, device=CUDA, grad=False)
    check(lambda T, x: T.nonzero(x[0, 0]), x, device=CUDA, grad=False)
    check(lambda T, x, m: T.masked_select(x, m), x, np.array([True, False, False, True]), device=CUDA)
    check(lambda T, x: T.take(x, T.tensor([[0, 11], [5, 5]])), x, device=CUDA)
    assert framework.nonzero(framework.zeros(2, 3, device=CUDA)).shape == (0, 2)


def test_prefix_sums_over_several_chunks():
    """The scan behind nonzero: enough elements for chunk totals to need a scan of their own."""
    from framework.backends import cuda_indexing
    values = np.random.default_rng(0).integers(0, 5, 300)
    scanned = cuda_indexing.inclusive_scan(framework.tensor(values, device=CUDA)._data)
    from framework.backends.cuda import to_host
    np.testing.assert_array_equal(to_host(scanned), np.cumsum(values))


def test_masks_read_one_count_and_index_tensors_read_nothing():
    from framework.backends import cuda as backend
    x = framework.randn(3, 4, device=CUDA)
    idx = framework.tensor([2, 0], device=CUDA)
    before = dict(backend.transfers)
    x[idx, 1:]
    x[idx] = 1.0
    x[0, 1:] = 2.0
    assert backend.transfers["d2h"] == before["d2h"] and backend.transfers["h2d"] == before["h2d"]
    x[x > 0]
    assert backend.transfers["d2h"] == before["d2h"] + 1


def test_bad_indices_are_reported_at_the_next_synchronisation():
    x = framework.randn(3, 4, device=CUDA)
    y = x[framework.tensor([0, 3], device=CUDA)]  # launches without waiting for the device
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        y.cpu()
    assert x[framework.tensor([-3], device=CUDA)].shape == (1, 4)  # the error was reported once, then cleared
    framework.cuda.synchronize()
    x[:, framework.tensor([5], device=CUDA)]
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 4"):
        framework.cuda.synchronize()
    framework.gather(x, 1, framework.tensor([[4]], device=CUDA))
    with pytest.raises(RuntimeError, match="index 4 is out of bounds for dimension 1 with size 4"):
        x.sum().item()
    loss = framework.nn.functional.cross_entropy(x, framework.tensor([0, 1, 4], device=CUDA))
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        loss.item()
    loss = framework.nn.functional.cross_entropy(x, framework.tensor([0, -100, 3], device=CUDA))
    assert np.isfinite(loss.item())  # ignore_index is not an error
    weighted = framework.nn.functional.nll_loss(x, framework.tensor([0, 1, 7], device=CUDA),
                                                weight=framework.ones(4, device=CUDA))
    with pytest.raises(RuntimeError, match="index 7 is out of bounds"):
        weighted.item()


@pytest.mark.parametrize("name", ["column_mul_", "transposed_setitem", "buffer_without_grad"])
def test_inplace_through_views_rebases_the_history(name):
    check(VIEW_INPLACE[name], randn(2, 3), randn(3), device=CUDA)


def test_index_add_and_negative_indices_on_cuda():
    check(lambda T, x, i, s: x.index_add(0, i, s, alpha=2), randn(3, 2), np.array([0, 2, 0]), randn(3, 2),
          device=CUDA)
    x = framework.randn(3, device=CUDA)
    framework.index_select(x, 0, framework.tensor([-1], device=CUDA))  # out of range, as in PyTorch
    with pytest.raises(IndexError, match="index -1 is out of bounds"):
        framework.cuda.synchronize()
    assert x[framework.tensor([-1], device=CUDA)].item() == x[2].item()  # subscripts do wrap
