"""The index/scatter/strided family (framework/ops/scatter_family.py) against PyTorch on every device:
values and gradients, gradcheck, in-place forms, views sharing storage, and PyTorch's errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework
from helpers import check, check_raises, const, gradcheck, randn

pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta:UserWarning")


def ix(*values):
    return const(np.array(values, dtype=np.int64))


def _dev(T, x):
    return x.device


# ----------------------------------------------------------------- values and gradients against PyTorch

IDX2 = np.array([[0, 2, 0], [1, 0, 1]])  # repeats: reductions meet ties and several values per position
WITH_TIES = np.array([[1.0, 2.0, 2.0], [-1.0, 3.0, 3.0]], np.float32)

CASES = {
    # index_copy / index_fill / index_reduce
    "index_copy": (lambda T, x, s, i: T.index_copy(x, 1, i, s), randn(2, 3), randn(2, 2), ix(2, 0)),
    "index_copy_neg_dim": (lambda T, x, s, i: x.index_copy(-2, i, s), randn(3, 2), randn(2, 2), ix(1, 2)),
    "index_copy_0d": (lambda T, x, s, i: T.index_copy(x, 0, i, s), randn(), randn(), ix(0)),
    "index_copy_noncontig": (lambda T, x, s, i: T.index_copy(x.t(), 0, i, s), randn(2, 3), randn(1, 2), ix(1)),
    "index_fill": (lambda T, x, i: T.index_fill(x, 1, i, -1.5), randn(2, 3), ix(0, -1)),
    "index_fill_tensor_value": (lambda T, x, v, i: x.index_fill(0, i, v), randn(3, 2), randn(), ix(2)),
    "index_fill_0d_index": (lambda T, x, i: x.index_fill(1, i, 2.0), randn(2, 3),
                            const(np.array(1, dtype=np.int64))),
    "index_reduce_prod": (lambda T, x, s, i: T.index_reduce(x, 1, i, s, "prod"), randn(2, 3), randn(2, 3),
                          ix(0, 2, 0)),
    "index_reduce_prod_zeros": (lambda T, x, s, i: x.index_reduce(0, i, s, "prod"),
                                np.array([[0.0, 2.0], [3.0, 0.0]], np.float32),
                                np.array([[0.0, 1.5], [2.0, 0.0], [0.5, 0.0]], np.float32), ix(0, 0, 1)),
    "index_reduce_mean": (lambda T, x, s, i: T.index_reduce(x, 1, i, s, "mean"), randn(2, 3), randn(2, 3),
                          ix(0, 2, 0)),
    "index_reduce_mean_excl": (lambda T, x, s, i: T.index_reduce(x, 1, i, s, "mean", include_self=False),
                               randn(2, 3), randn(2, 3), ix(0, 2, 0)),
    "index_reduce_amax": (lambda T, x, s, i: T.index_reduce(x, 0, i, s, "amax"), WITH_TIES,
                          np.array([[2.0, 2.0, 0.0], [1.0, 3.0, 3.0]], np.float32), ix(1, 0)),
    "index_reduce_amin_excl": (lambda T, x, s, i: T.index_reduce(x, 1, i, s, "amin", include_self=False),
                               randn(2, 3), randn(2, 2), ix(1, 1)),
    # scatter_reduce (sum, prod, mean, amax, amin; include_self both ways)
    "scatter_reduce_sum": (lambda T, x, s, i: T.scatter_reduce(x, 1, i, s, "sum"), randn(2, 3), randn(2, 3),
                           const(IDX2)),
    "scatter_reduce_sum_excl": (lambda T, x, s, i: x.scatter_reduce(1, i, s, "sum", include_self=False),
                                randn(2, 3), randn(2, 3), const(IDX2)),
    "scatter_reduce_prod": (lambda T, x, s, i: T.scatter_reduce(x, 1, i, s, "prod"), randn(2, 3), randn(2, 3),
                            const(IDX2)),
    "scatter_reduce_prod_excl": (lambda T, x, s, i: T.scatter_reduce(x, 1, i, s, "prod", include_self=False),
                                 randn(2, 3), randn(2, 3), const(IDX2)),
    "scatter_reduce_prod_zeros": (lambda T, x, s, i: T.scatter_reduce(x, 1, i, s, "prod"),
                                  np.array([[0.0, 2.0, 3.0], [1.0, 0.0, 2.0]], np.float32),
                                  np.array([[0.0, 2.0, 1.5], [3.0, 0.0, 0.0]], np.float32), const(IDX2)),
    "scatter_reduce_mean": (lambda T, x, s, i: T.scatter_reduce(x, 1, i, s, "mean"), randn(2, 3), randn(2, 3),
                            const(IDX2)),
    "scatter_reduce_mean_excl": (lambda T, x, s, i: T.scatter_reduce(x, 1, i, s, "mean", include_self=False),
                                 randn(2, 3), randn(2, 3), const(IDX2)),
    "scatter_reduce_amax_ties": (lambda T, x, s, i: T.scatter_reduce(x, 1, i, s, "amax"), WITH_TIES,
                                 np.array([[1.0, 2.0, 1.0], [3.0, -1.0, 3.0]], np.float32),
                                 const(np.array([[0, 1, 0], [1, 0, 2]]))),
    "scatter_reduce_amin_ties": (lambda T, x, s, i: T.scatter_reduce(x, 0, i, s, "amin"), WITH_TIES,
                                 np.array([[1.0, 2.0, -1.0]], np.float32), const(np.array([[0, 0, 1]]))),
    "scatter_reduce_amax_excl": (lambda T, x, s, i: T.scatter_reduce(x, 1, i, s, "amax", include_self=False),
                                 randn(2, 3), randn(2, 3), const(IDX2)),
    "scatter_reduce_0d": (lambda T, x, s, i: T.scatter_reduce(x, 0, i, s, "prod"), randn(), randn(),
                          const(np.array(0, dtype=np.int64))),
    "scatter_reduce_neg_dim_noncontig": (lambda T, x, s, i: T.scatter_reduce(x.t(), -1, i, s, "mean"),
                                         randn(3, 2), randn(2, 3), const(IDX2)),
    # index_put / masked_scatter / put
    "index_put": (lambda T, x, v, i, j: T.index_put(x, (i, j), v), randn(2, 3), randn(2), ix(0, 1), ix(2, 0)),
    "index_put_accumulate": (lambda T, x, v, i, j: T.index_put(x, (i, j), v, accumulate=True), randn(2, 3),
                             randn(3), ix(0, 0, 1), ix(2, 2, 0)),
    "index_put_broadcast_value": (lambda T, x, v, i: x.index_put((i,), v), randn(3, 2), randn(), ix(2, 0)),
    "index_put_mask": (lambda T, x, v: T.index_put(x, (x > 0,), v), randn(2, 3), randn()),
    "index_put_mask_accumulate": (lambda T, x, v: T.index_put(x, (T.tensor([True, False, True], device=x.device),),
                                                              v, True), randn(3, 2), randn(2)),
    "masked_scatter": (lambda T, x, s: T.masked_scatter(x, x > 0, s), randn(2, 3), randn(8)),
    "masked_scatter_broadcast": (lambda T, x, s: x.masked_scatter(T.tensor([True, False, True], device=x.device),
                                                                  s), randn(2, 3), randn(2, 3)),
    "masked_scatter_broadcast_self": (lambda T, x, s: T.masked_scatter(x, T.tensor([[True], [False]],
                                                                                   device=x.device), s),
                                      randn(3), randn(4)),
    "put": (lambda T, x, s, i: T.put(x, i, s), randn(2, 3), randn(2, 2), const(np.array([[0, -1], [4, 2]]))),
    "put_accumulate": (lambda T, x, s, i: x.put(i, s, accumulate=True), randn(2, 3), randn(3), ix(1, 1, -6)),
    # select / slice scatter
    "select_scatter": (lambda T, x, s: T.select_scatter(x, s, 0, -1), randn(2, 3), randn(3)),
    "select_scatter_dim1": (lambda T, x, s: x.select_scatter(s, 1, 1), randn(2, 3), randn(2)),
    "slice_scatter": (lambda T, x, s: T.slice_scatter(x, s, 1, 0, 3, 2), randn(2, 3), randn(2, 2)),
    "slice_scatter_defaults": (lambda T, x, s: T.slice_scatter(x, s), randn(2, 3), randn(2, 3)),
    "slice_scatter_negative_start": (lambda T, x, s: x.slice_scatter(s, 1, -2, None), randn(2, 3), randn(2, 2)),
    "slice_scatter_empty": (lambda T, x, s: T.slice_scatter(x, s, 1, 5, 10), randn(2, 3), randn(2, 0)),
    # as_strided, unfold
    "as_strided": (lambda T, x: T.as_strided(x, (2, 2), (1, 2)), randn(2, 3)),
    "as_strided_overlapping": (lambda T, x: T.as_strided(x, (3, 2), (1, 1), 1), randn(2, 3)),
    "as_strided_of_view": (lambda T, x: x[1].as_strided((2,), (2,)), randn(2, 3)),
    "as_strided_of_view_offset": (lambda T, x: T.as_strided(x[1:], (2, 2), (3, 1), 0), randn(3, 3)),
    "as_strided_of_expanded": (lambda T, x: T.as_strided(x.expand(3, 2), (2, 3), (1, 0)), randn(2)),
    "as_strided_0d": (lambda T, x: T.as_strided(x, (), (), 4), randn(2, 3)),
    "as_strided_empty": (lambda T, x: T.as_strided(x, (0, 5), (1, 1), 100), randn(2, 3)),
    "as_strided_copy": (lambda T, x: T.as_strided_copy(x, (2, 2), (1, 1)), randn(2, 3)),
    "unfold": (lambda T, x: x.unfold(1, 2, 1), randn(2, 3)),
    "unfold_step": (lambda T, x: x.unfold(0, 2, 2), randn(5, 2)),
    "unfold_transposed": (lambda T, x: x.t().unfold(0, 2, 1), randn(2, 3)),
    "unfold_twice": (lambda T, x: x.unfold(0, 2, 1).unfold(1, 2, 1), randn(3, 3)),
    "unfold_empty_window": (lambda T, x: x.unfold(-1, 0, 1), randn(2, 3)),
    "unfold_0d": (lambda T, x: x.unfold(0, 1, 5), randn()),
    # splits, fill, narrow_copy
    "split_with_sizes": (lambda T, x: T.split_with_sizes(x, [1, 2], 1), randn(2, 3)),
    "split_with_sizes_method": (lambda T, x: x.split_with_sizes([2, 0, 1]), randn(3, 2)),
    "unsafe_split": (lambda T, x: T.unsafe_split(x, 2, 1), randn(2, 3)),
    "unsafe_split_method": (lambda T, x: x.unsafe_split(1), randn(2, 3)),
    "unsafe_chunk": (lambda T, x: T.unsafe_chunk(x, 2, -1), randn(2, 3)),
    "unsafe_split_with_sizes": (lambda T, x: T.unsafe_split_with_sizes(x, [1, 1], 0), randn(2, 3)),
    "split_with_sizes_copy": (lambda T, x: T.split_with_sizes_copy(x, [2, 1], 1), randn(2, 3)),
    "narrow_copy": (lambda T, x: x.narrow_copy(1, 1, 2), randn(2, 3)),
    "fill": (lambda T, x: T.fill(x, 2.5), randn(2, 3)),
    "fill_tensor_value": (lambda T, x, v: T.fill(x, v), randn(2, 3), randn()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(device, name):
    fn, *inputs = CASES[name]
    check(fn, *inputs, device=device)


def test_scatter_reduce_src_larger_than_index(device):
    """Only index's corner of src is read (PyTorch's backward refuses this case; ours gives the corner
    its gradient, checked by finite differences)."""
    fn = lambda T, x, s: T.scatter_reduce(x, 1, T.tensor([[3, 0], [1, 1]], device=x.device), s, "amin")
    check(fn, randn(3, 4), randn(3, 3), grad=False, device=device)
    gradcheck(fn, randn(3, 4), randn(3, 3), device=device)


@pytest.mark.parametrize("case", ["contiguous", "transposed", "view"])
def test_as_strided_scatter(device, case):
    """Values as PyTorch's, also for inputs whose elements are not at storage positions 0..n-1 (found by
    their own positions). Gradients by finite differences only: PyTorch's gradient for input is wrong
    (it fails its own gradcheck: it passes the gradient at the covered positions instead of the others)."""
    fn = {"contiguous": lambda T, x, s: T.as_strided_scatter(x, s, (2, 2), (1, 2), 1),
          "transposed": lambda T, x, s: T.as_strided_scatter(x.t(), s[0], (2,), (1,)),
          "view": lambda T, x, s: x[1].as_strided_scatter(s[1], (2,), (1,), 4)}[case]
    check(fn, randn(2, 3), randn(2, 2), grad=False, device=device)
    gradcheck(fn, randn(2, 3), randn(2, 2), device=device)


# Differentiable ops by finite differences (double backward where the rule is itself differentiable).
GRADCHECK = {
    "index_copy": (lambda T, x, s: T.index_copy(x, 1, T.tensor([2, 0], device=x.device), s), randn(2, 3), randn(2, 2)),
    "index_fill": (lambda T, x, v: T.index_fill(x, 0, T.tensor([1], device=x.device), v), randn(2, 2), randn()),
    "index_reduce_prod": (lambda T, x, s: T.index_reduce(x, 1, T.tensor([0, 2, 0], device=x.device), s, "prod"),
                          randn(2, 3), randn(2, 3)),
    "index_reduce_mean": (lambda T, x, s: T.index_reduce(x, 0, T.tensor([1, 1], device=x.device), s, "mean",
                                                         include_self=False), randn(2, 2), randn(2, 2)),
    "scatter_reduce_prod": (lambda T, x, s: T.scatter_reduce(x, 1, T.tensor(IDX2, device=x.device), s, "prod"),
                            randn(2, 3), randn(2, 3)),
    "scatter_reduce_amax": (lambda T, x, s: T.scatter_reduce(x, 1, T.tensor(IDX2, device=x.device), s, "amax",
                                                             include_self=False), randn(2, 3), randn(2, 3)),
    "scatter_reduce_mean": (lambda T, x, s: T.scatter_reduce(x, 0, T.tensor([[1, 1]], device=x.device), s, "mean"),
                            randn(2, 2), randn(1, 2)),
    "index_put_accumulate": (lambda T, x, v: T.index_put(x, (T.tensor([0, 0], device=x.device),), v, True),
                             randn(2, 2), randn(2, 2)),
    "masked_scatter": (lambda T, x, s: T.masked_scatter(x, T.tensor([True, False, True], device=x.device), s),
                       randn(3), randn(3)),
    "put": (lambda T, x, s: T.put(x, T.tensor([3, 0], device=x.device), s), randn(2, 2), randn(2)),
    "select_scatter": (lambda T, x, s: T.select_scatter(x, s, 1, 0), randn(2, 2), randn(2)),
    "slice_scatter": (lambda T, x, s: T.slice_scatter(x, s, 0, 1), randn(3, 2), randn(2, 2)),
    "as_strided_overlapping": (lambda T, x: T.as_strided(x, (2, 2), (1, 1)), randn(4)),
    "as_strided_of_overlapping_input": (lambda T, x: T.as_strided(x.expand(2, 2), (2, 2), (1, 0)), randn(2)),
    "unfold": (lambda T, x: x.unfold(0, 2, 1), randn(3, 2)),
    "fill": (lambda T, x, v: T.fill(x, v), randn(2), randn()),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(device, name):
    fn, *inputs = GRADCHECK[name]
    gradcheck(fn, *inputs, double=name in ("scatter_reduce_prod", "as_strided_overlapping", "index_copy"),
              device=device)


def test_integer_and_bool_reductions_match_torch(device):
    """Integer mean rounds down (PyTorch's floor division); bools reduce as ints."""
    x = np.array([[-5, 4, 3], [2, -7, 1]], np.int64)
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            check(lambda T, a, s, i: T.scatter_reduce(a, 1, i, s, reduce, include_self=include_self), x,
                  np.array([[2, 3, -3], [4, 5, 6]], np.int64), const(IDX2), device=device)
    check(lambda T, a, s, i: T.scatter_reduce(a, 1, i, s, "amax"), x.astype(np.int32),
          np.array([[2, 9, -3], [4, 5, 6]], np.int32), const(IDX2), device=device)
    check(lambda T, a, s, i: T.index_reduce(a, 0, i, s, "mean"), x, np.array([[3, 3, 3]], np.int64), ix(1),
          device=device)
    for reduce in ("sum", "amax", "amin", "prod"):
        check(lambda T, a, i: T.scatter_reduce(a > 0, 1, i, a < 0, reduce), x, const(IDX2), device=device)


def test_reductions_propagate_nan(device):
    nan = np.float32(np.nan)
    for reduce in ("amax", "amin"):
        check(lambda T, x, s, i: T.scatter_reduce(x, 0, i, s, reduce), np.array([nan, 1.0, 2.0], np.float32),
              np.array([0.5, nan, 3.0], np.float32), ix(0, 1, 2), grad=False, device=device)


# ----------------------------------------------------------------- in-place forms


INPLACE = {
    "index_copy_": lambda T, x, s: x.index_copy_(1, T.tensor([1, 0], device=x.device), s[:, :2]),
    "index_fill_": lambda T, x, s: x.index_fill_(1, T.tensor([2], device=x.device), s[0, 0]),
    "index_reduce_": lambda T, x, s: x.index_reduce_(1, T.tensor([0, 0, 2], device=x.device), s, "amax",
                                                     include_self=False),
    "scatter_reduce_": lambda T, x, s: x.scatter_reduce_(1, T.tensor(IDX2, device=x.device), s, "prod"),
    "index_put_": lambda T, x, s: x.index_put_((T.tensor([1, 1], device=x.device),), s[0, :2].unsqueeze(1), True),
    "torch_index_put_": lambda T, x, s: T.index_put_(x, (T.tensor([0], device=x.device),), s[1]),
    "masked_scatter_": lambda T, x, s: x.masked_scatter_(T.tensor([False, True, True], device=x.device), s),
    "put_": lambda T, x, s: x.put_(T.tensor([5, 0], device=x.device), s[0, :2], accumulate=True),
    "fill_diagonal_": lambda T, x, s: x.fill_diagonal_(7.0),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_forms(device, name):
    """The in-place form returns self, changed as the out-of-place op's result, and differentiates
    through the value it replaced and the values written."""
    def fn(T, x, s):
        y = x * 1.0
        out = INPLACE[name](T, y, s)
        assert out is y
        return y * 2
    check(fn, randn(2, 3), randn(2, 3), device=device)


@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((5, 3), False), ((7, 3), True), ((5, 3), True),
                                        ((3, 5), True), ((2, 2, 2), False)])
def test_fill_diagonal(device, shape, wrap):
    check(lambda T, x: x.clone().fill_diagonal_(-2.0, wrap=wrap), randn(*shape), device=device)


def test_fill_diagonal_of_transposed_and_ints(device):
    check(lambda T, x: x.t().clone().fill_diagonal_(1.0), randn(2, 3), device=device)
    check(lambda T, x: x.clone().fill_diagonal_(2.7), np.arange(6).reshape(2, 3), device=device)


def test_as_strided_inplace_changes_geometry(device):
    def fn(T, x):
        y = x * 1.0
        y.as_strided_((2, 2), (1, 2), 1)
        assert tuple(y.shape) == (2, 2) and y.stride() == (1, 2) and y.storage_offset() == 1
        return y
    check(fn, randn(2, 3), device=device)
    leaf = framework.zeros(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.as_strided_((2,), (1,))


# ----------------------------------------------------------------- views share storage


def test_as_strided_and_unfold_are_views(device):
    base = framework.arange(12.0, device=device).reshape(3, 4)
    view = base.as_strided((2, 2), (4, 1), 5)
    assert view._base is base and view.storage_offset() == 5 and view.stride() == (4, 1)
    view[0, 1] = -1.0  # the base sees writes through the view
    assert base[1, 2].item() == -1.0
    base[2, 1] = 100.0  # and the view sees the base's
    assert view[1, 0].item() == 100.0
    windows = base.unfold(1, 2, 2)
    assert windows.shape == (3, 2, 2) and windows.stride() == (4, 2, 1)
    windows[0, 1, 0] = 55.0
    assert base[0, 2].item() == 55.0
    assert base[1:].as_strided((2,), (1,)).tolist() == base[1, :2].tolist()  # offset defaults to the input's


def test_inplace_through_as_strided_view_records_gradient(device):
    def fn(T, x, v):
        y = x * 1.0
        y.as_strided((2,), (3,), 1).mul_(v)
        y.unfold(0, 2, 2)[0].add_(v)
        return y
    check(fn, randn(6), randn(2), device=device)


def test_low_precision_views_and_reductions(device):
    """bfloat16: as_strided stays a view of the 16-bit storage; scatter_reduce computes in float32
    and rounds once, as PyTorch's CPU kernels."""
    x = framework.arange(6.0, device=device).reshape(2, 3).to(framework.bfloat16)
    view = x.as_strided((2, 2), (1, 1))
    assert view._base is x and view.dtype is framework.bfloat16
    view[1, 1] = 9.0
    assert x[0, 2].item() == 9.0
    src = [[1.5, 3.0], [-2.0, 0.5]]
    ours = framework.scatter_reduce(x, 1, framework.tensor([[0, 0], [2, 1]], device=device),
                                    framework.tensor(src, device=device).to(framework.bfloat16), "prod")
    theirs = torch.scatter_reduce(torch.tensor([[0.0, 1, 9], [3, 4, 5]]).bfloat16(), 1, torch.tensor([[0, 0], [2, 1]]),
                                  torch.tensor(src).bfloat16(), "prod")
    assert ours.dtype is framework.bfloat16 and ours.float().tolist() == theirs.float().tolist()


def test_storage_metadata(device):
    x = framework.zeros(2, 3, device=device)
    t = torch.zeros(2, 3)
    assert x.nbytes == t.nbytes and x.itemsize == t.itemsize
    assert x.int().nbytes == t.int().nbytes and x.double().itemsize == t.double().itemsize
    assert x[1].storage_offset() == t[1].storage_offset() == 3
    assert x.t()[2:].storage_offset() == t.t()[2:].storage_offset()
    assert x[1, 1:].data_ptr() == x.data_ptr() + 4 * x.itemsize
    assert x[0].data_ptr() == x.data_ptr() == x.view(6).data_ptr()
    assert framework.zeros(2, device=device).data_ptr() != x.data_ptr()
    for dt in ("float32", "float64", "int64", "int32", "uint8", "bool"):
        ours, theirs = framework.zeros(1, dtype=getattr(framework, dt)), torch.zeros(1, dtype=getattr(torch, dt))
        assert ours.is_signed() == theirs.is_signed() == framework.is_signed(ours)


def test_empty_strided(device):
    t = framework.empty_strided((2, 3), (1, 2), device=device)
    assert t.shape == (2, 3) and t.stride() == (1, 2) and t.device.type == framework.device(device).type
    t.copy_(framework.arange(6.0).reshape(2, 3))
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    n = x = framework.ones(1, dtype=framework.float64, device=device).new_empty_strided((2, 2), (0, 1))
    assert n.dtype is framework.float64 and x.stride() == (0, 1)
    g = framework.empty_strided((2,), (1,), dtype=framework.float64, requires_grad=True)
    assert g.requires_grad and g.dtype is framework.float64
    assert framework.empty_strided((0, 3), (3, 1)).shape == (0, 3)


def test_unravel_index(device):
    for indices, shape in [([4, 1], (2, 3)), (4, (2, 3)), ([-1, -7, 6], (2, 3)), ([[1234], [5678]], (10, 10, 10, 10)),
                           ([3], 5), ([1, 2], ())]:
        def fn(T, i):
            return T.unravel_index(i, shape)
        check(fn, np.array(indices, np.int64), device=device)
    check(lambda T, i: T.unravel_index(i, (2, 3)), np.array([5, 0], np.int32), device=device)


# ----------------------------------------------------------------- PyTorch's errors


ERRORS = {
    "index_copy_bad_index": (IndexError, lambda T, x: T.index_copy(x, 1, T.tensor([0, 5]), x[:, :2])),
    "index_copy_negative_index": (IndexError, lambda T, x: T.index_copy(x, 1, T.tensor([-1, 1]), x[:, :2])),
    "index_copy_2d_index": (IndexError, lambda T, x: T.index_copy(x, 1, T.tensor([[0, 1]]), x[:, :2])),
    "index_copy_float_index": (RuntimeError, lambda T, x: T.index_copy(x, 1, T.tensor([0.0, 1.0]), x[:, :2])),
    "index_copy_int32_index": (RuntimeError, lambda T, x: T.index_copy(x, 1, T.tensor([0, 1], dtype=T.int32),
                                                                     x[:, :2])),
    "index_copy_count": (IndexError, lambda T, x: T.index_copy(x, 1, T.tensor([0, 1]), x)),
    "index_copy_dtype": (RuntimeError, lambda T, x: T.index_copy(x, 1, T.tensor([0, 1]), x[:, :2].double())),
    "index_copy_slice_shape": (RuntimeError, lambda T, x: T.index_copy(x, 1, T.tensor([0, 1]), x[:1, :2])),
    "index_copy_source_ndim": (IndexError, lambda T, x: T.index_copy(x, 1, T.tensor([0, 1]), T.ones(2, 2, 1))),
    "index_reduce_slice_shape": (RuntimeError, lambda T, x: T.index_reduce(x, 1, T.tensor([0, 1]), x[:1, :2],
                                                                           "amin")),
    "index_fill_bad_index": (IndexError, lambda T, x: T.index_fill(x, 1, T.tensor([0, 5]), 1.0)),
    "index_fill_2d_index": (RuntimeError, lambda T, x: T.index_fill(x, 1, T.tensor([[0]]), 1.0)),
    "index_fill_int32_index": (IndexError, lambda T, x: T.index_fill(x, 1, T.tensor([0], dtype=T.int32), 1.0)),
    "index_fill_1d_value": (RuntimeError, lambda T, x: T.index_fill(x, 1, T.tensor([0]), T.tensor([1.0]))),
    "index_reduce_bad_index": (IndexError, lambda T, x: T.index_reduce(x, 1, T.tensor([0, 5]), x[:, :2], "prod")),
    "index_reduce_negative": (IndexError, lambda T, x: T.index_reduce(x, 1, T.tensor([0, -1]), x[:, :2], "amax")),
    "index_reduce_sum": (RuntimeError, lambda T, x: T.index_reduce(x, 1, T.tensor([0, 1]), x[:, :2], "sum")),
    "index_reduce_count": (RuntimeError, lambda T, x: T.index_reduce(x, 1, T.tensor([0, 1]), x, "prod")),
    "index_reduce_dtype": (RuntimeError, lambda T, x: T.index_reduce(x, 1, T.tensor([0, 1]), x[:, :2].double(),
                                                                     "prod")),
    "scatter_reduce_bad_index": (RuntimeError, lambda T, x: T.scatter_reduce(x, 1, T.tensor([[0, 5]]), x, "amax")),
    "scatter_reduce_negative": (RuntimeError, lambda T, x: T.scatter_reduce(x, 1, T.tensor([[0, -1]]), x, "prod")),
    "scatter_reduce_mean_bad_index": (RuntimeError, lambda T, x: T.scatter_reduce(x, 0, T.tensor([[2]]), x,
                                                                                  "mean")),
    "scatter_reduce_reduce": (RuntimeError, lambda T, x: T.scatter_reduce(x, 1, T.tensor([[0, 1]]), x, "add")),
    "scatter_reduce_dtype": (RuntimeError, lambda T, x: T.scatter_reduce(x, 1, T.tensor([[0, 1]]), x.double(),
                                                                         "amax")),
    "scatter_reduce_index_ndim": (RuntimeError, lambda T, x: T.scatter_reduce(x, 1, T.tensor([0, 1]), x, "sum")),
    "scatter_reduce_index_too_big": (RuntimeError, lambda T, x: T.scatter_reduce(x, 1, T.tensor([[0, 1, 1, 1]]),
                                                                                 x[:, :2], "amin")),
    "scatter_reduce_float_index": (RuntimeError, lambda T, x: T.scatter_reduce(x, 1, T.tensor([[0.0]]), x, "sum")),
    "index_put_bad_index": (IndexError, lambda T, x: T.index_put(x, (T.tensor([0, 3]),), T.tensor(1.0))),
    "index_put_accumulate_bad_index": (IndexError, lambda T, x: T.index_put(x, (T.tensor([0, 3]),), T.tensor(1.0),
                                                                            True)),
    "index_put_float_index": (IndexError, lambda T, x: T.index_put(x, (T.tensor([0.0]),), T.tensor(1.0))),
    "index_put_dtype": (RuntimeError, lambda T, x: T.index_put(x, (T.tensor([0]),), T.tensor(1.0).double())),
    "index_put_number": (TypeError, lambda T, x: T.index_put(x, (T.tensor([0]),), 1.0)),
    "index_put_none": (TypeError, lambda T, x: T.index_put(x, (None, T.tensor([0])), T.tensor(1.0))),
    "index_put_too_many": (IndexError, lambda T, x: T.index_put(x, (T.tensor([0]),) * 3, T.tensor(1.0))),
    "index_put_shape": (RuntimeError, lambda T, x: T.index_put(x, (T.tensor([0, 1]),), T.ones(3, 3))),
    "masked_scatter_short_source": (RuntimeError, lambda T, x: T.masked_scatter(x, x > -10, T.ones(2))),
    "masked_scatter_float_mask": (RuntimeError, lambda T, x: T.masked_scatter(x, (x > 0).float(), T.ones(9))),
    "masked_scatter_dtype": (RuntimeError, lambda T, x: T.masked_scatter(x, x > 0, T.ones(9).double())),
    "masked_scatter_inplace_broadcast": (RuntimeError, lambda T, x: x[0].clone().masked_scatter_(x > 0, T.ones(9))),
    "put_bad_index": (IndexError, lambda T, x: x.clone().put_(T.tensor([0, 6]), T.ones(2))),
    "put_bad_negative": (IndexError, lambda T, x: T.put(x, T.tensor([-7]), T.ones(1))),
    "put_int32_index": (RuntimeError, lambda T, x: T.put(x, T.tensor([0], dtype=T.int32), T.ones(1))),
    "put_count": (IndexError, lambda T, x: T.put(x, T.tensor([0, 1]), T.ones(3))),
    "put_dtype": (RuntimeError, lambda T, x: T.put(x, T.tensor([0]), T.ones(1).double())),
    "select_scatter_shape": (RuntimeError, lambda T, x: T.select_scatter(x, T.ones(2), 0, 1)),
    "select_scatter_index": (IndexError, lambda T, x: T.select_scatter(x, T.ones(3), 0, 2)),
    "slice_scatter_shape": (RuntimeError, lambda T, x: T.slice_scatter(x, T.ones(2, 1), 1, 0, 3, 2)),
    "slice_scatter_step": (RuntimeError, lambda T, x: T.slice_scatter(x, T.ones(2, 2), 1, 0, 3, 0)),
    "as_strided_out_of_storage": (RuntimeError, lambda T, x: T.as_strided(x, (2, 2), (1, 1), 10)),
    "as_strided_view_out_of_storage": (RuntimeError, lambda T, x: x[1].as_strided((4,), (1,))),
    "as_strided_negative_stride": (RuntimeError, lambda T, x: T.as_strided(x, (2, 2), (-1, 1))),
    "as_strided_negative_offset": (RuntimeError, lambda T, x: T.as_strided(x, (2, 2), (1, 1), -1)),
    "as_strided_lengths": (RuntimeError, lambda T, x: T.as_strided(x, (2, 2), (1,))),
    "as_strided_negative_size": (RuntimeError, lambda T, x: T.as_strided(x, (-2, 2), (1, 1))),
    "as_strided_scatter_shape": (RuntimeError, lambda T, x: T.as_strided_scatter(x, T.ones(2, 3), (2, 2), (1, 1))),
    "as_strided_scatter_storage": (RuntimeError, lambda T, x: T.as_strided_scatter(x, T.ones(2, 2), (2, 2),
                                                                                   (1, 10))),
    "unfold_size": (RuntimeError, lambda T, x: x.unfold(1, 4, 1)),
    "unfold_step": (RuntimeError, lambda T, x: x.unfold(1, 2, 0)),
    "unfold_negative_size": (RuntimeError, lambda T, x: x.unfold(1, -1, 1)),
    "unfold_dim": (IndexError, lambda T, x: x.unfold(2, 1, 1)),
    "empty_strided_lengths": (RuntimeError, lambda T, x: T.empty_strided((2, 3), (1,))),
    "empty_strided_negative": (RuntimeError, lambda T, x: T.empty_strided((2, 3), (-1, 2))),
    "split_with_sizes_sum": (RuntimeError, lambda T, x: T.split_with_sizes(x, [1, 1], 1)),
    "split_with_sizes_negative": (RuntimeError, lambda T, x: T.split_with_sizes(x, [1, -1, 3], 1)),
    "fill_1d_value": (RuntimeError, lambda T, x: T.fill(x, T.tensor([3.0]))),
    "fill_diagonal_1d": (RuntimeError, lambda T, x: x[0].clone().fill_diagonal_(1.0)),
    "fill_diagonal_unequal": (RuntimeError, lambda T, x: T.zeros(2, 2, 3).fill_diagonal_(1.0)),
    "unravel_float": (TypeError, lambda T, x: T.unravel_index(x, (2, 3))),
    "unravel_bool": (TypeError, lambda T, x: T.unravel_index(x > 0, (2, 3))),
    "unravel_negative_shape": (ValueError, lambda T, x: T.unravel_index(T.tensor([1]), (2, -3))),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(device, name):
    exc, fn = ERRORS[name]

    def on_device(T, x):  # tensors the lambdas make go to x's device
        if T is framework:
            T = _OnDevice(x.device)
        return fn(T, x)
    check_raises(on_device, randn(2, 3), exc=exc, device=device)


class _OnDevice:
    """framework, with tensor/ones/zeros/empty_strided made on one device."""

    def __init__(self, device):
        self._device = device

    def __getattr__(self, name):
        attr = getattr(framework, name)
        if name in ("tensor", "ones", "zeros", "empty_strided"):
            return lambda *a, **k: attr(*a, device=self._device, **k)
        return attr


# ----------------------------------------------------------------- scatter_reduce over random shapes


@st.composite
def _scatter_case(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    dim = draw(st.integers(-ndim, ndim - 1))
    index_shape = tuple(draw(st.integers(0, n + 1)) if d == dim % ndim else draw(st.integers(0, n))
                        for d, n in enumerate(shape))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    index = rng.integers(0, shape[dim], size=index_shape)
    src = rng.integers(-3, 4, size=index_shape).astype(np.float32)  # small integers: ties and zeros happen
    x = rng.integers(-3, 4, size=shape).astype(np.float32)
    return x, src, index, dim, draw(st.sampled_from(_REDUCE)), draw(st.booleans())


_REDUCE = ("sum", "prod", "mean", "amax", "amin")


@settings(max_examples=40)  # (conftest lowers this on cuda)
@given(case=_scatter_case())
def test_scatter_reduce_random_shapes(device, case):
    x, src, index, dim, reduce, include_self = case
    check(lambda T, a, s, i: T.scatter_reduce(a, dim, i, s, reduce, include_self=include_self), x, src,
          const(index), device=device)
