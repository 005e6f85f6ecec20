"""Compiled kernels never trust an index they did not check in the same call. An index
tensor saved by the forward can be changed before backward (`t.data[0] = ...` bumps no
version), and a source may be smaller than its index: each case must raise PyTorch's
error type, never read or write out of bounds. On CUDA the check happens on the device
and is raised at the next synchronisation."""
import numpy as np
import pytest

import framework
import framework.nn.functional as F


def _sync(t):
    t.cpu()  # CUDA reports device-side index errors when the host next waits for the device
    if t.device.type == "cuda":
        framework.cuda.synchronize()


@pytest.mark.parametrize("bad", [10 ** 9, -7, 5])
def test_cross_entropy_target_changed_before_backward(device, bad):
    x = framework.randn(4, 5, device=device, requires_grad=True)
    target = framework.tensor([0, 1, 2, 3], device=device)
    loss = F.cross_entropy(x, target)
    target.data[0] = bad
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds"):
        loss.backward()
        _sync(x.grad)


def test_gather_index_changed_before_backward(device):
    x = framework.randn(3, 4, device=device, requires_grad=True)
    index = framework.tensor([[0, 1, 2, 0]], device=device)
    out = x.gather(0, index)
    index.data[0, 1] = 10 ** 6
    with pytest.raises(RuntimeError, match="out of bounds"):
        out.sum().backward()
        _sync(x.grad)


def test_embedding_indices_changed_before_backward(device):
    w = framework.randn(5, 3, device=device, requires_grad=True)
    idx = framework.tensor([1, 4, 2], device=device)
    out = F.embedding(idx, w)
    idx.data[1] = 99
    with pytest.raises((IndexError, RuntimeError), match="out of (bounds|range)"):
        out.sum().backward()
        _sync(w.grad)


def test_max_pool_indices_changed_before_backward(device):
    x = framework.randn(1, 1, 4, 4, device=device, requires_grad=True)
    out, indices = F.max_pool2d(x, 2, return_indices=True)
    indices.data[0, 0, 0, 0] = 10 ** 6
    with pytest.raises((IndexError, RuntimeError), match="out of bounds"):
        out.sum().backward()
        _sync(x.grad)


@pytest.mark.parametrize("op", ["scatter", "scatter_add"])
def test_scatter_source_smaller_than_index(device, op):
    x = framework.zeros(3, 4, device=device)
    index = framework.zeros(2, 4, dtype=framework.int64, device=device)
    for src in (framework.ones(1, 4, device=device), framework.ones(2, 2, device=device)):
        with pytest.raises(RuntimeError, match="no larger size than src"):
            getattr(x, op)(0, index, src)


def test_scatter_source_larger_than_index_reads_its_corner(device):
    import torch
    src = np.arange(1, 16, dtype=np.float32).reshape(3, 5)
    index = np.array([[2, 0]])
    ours = framework.zeros(3, 4, device=device).scatter(0, framework.tensor(index, device=device),
                                                      framework.tensor(src, device=device))
    theirs = torch.zeros(3, 4).scatter(0, torch.tensor(index), torch.tensor(src))
    assert ours.cpu().tolist() == theirs.tolist()


def test_scatter_add_kernel_checks_its_operands_shapes():
    """The CPU kernel behind gather's backward indexes index and src with out's outer and inner
    sizes: it refuses operands that are smaller rather than read past them."""
    from kernels.cpu import index as ix
    out = np.empty((4, 5, 2), np.float32)
    with pytest.raises(ValueError, match="outer, e, inner"):
        ix.scatter_add_into_zeros(out, np.zeros((3, 1, 2), np.int64), np.zeros((3, 1, 2), np.float32))
    with pytest.raises(ValueError, match="outer, e, inner"):
        ix.scatter_add_into_zeros(out, np.zeros((4, 1, 2), np.int64), np.zeros((4, 1, 1), np.float32))
    assert ix.scatter_add_into_zeros(out, np.full((4, 1, 2), 9, np.int64), np.ones((4, 1, 2), np.float32)) == 8
