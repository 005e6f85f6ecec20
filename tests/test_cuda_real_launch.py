"""The CUDA backend on the launch path of a real GPU, run in the simulator: 256-thread blocks,
many blocks, the shared-memory block reduction and the tiled matmul (the simulator path
launches one block of at most 16 threads and avoids shared memory, so these paths would
otherwise only ever run on hardware). Every launch must have at least one block (a GPU
rejects zero-block launches; the simulator accepts them, so this test checks it itself).
Accumulating kernels (scatter_add, index_add, indexing backward) run on narrow dtypes
through a widened copy: cuda.atomic.add does not take bool or 8/16-bit integers."""
import numpy as np
import pytest
import torch

import framework

pytestmark = pytest.mark.cuda


@pytest.fixture
def real_launch(monkeypatch):
    from framework.backends import cuda_backend as backend
    from kernels.cuda import reduce
    if not backend.SIMULATOR:
        pytest.skip("on a GPU every launch is a real one")
    monkeypatch.setattr(backend, "SIMULATOR", False)
    kernel_type = type(reduce.sum_mid)
    launch = kernel_type.__getitem__

    def checked(self, config):
        grid = config[0]
        blocks = np.prod(grid) if isinstance(grid, tuple) else grid
        assert blocks > 0, f"{self} launched with {grid} blocks"
        return launch(self, config)
    monkeypatch.setattr(kernel_type, "__getitem__", checked)
    return backend


def _on_cuda(a):
    return framework.tensor(a, device="cuda")


@pytest.mark.parametrize("shape, dims", [((3, 0), 0), ((0, 4), 1), ((3, 40), 1), ((3, 40, 2), 1), ((5, 7), None)])
def test_sums_on_the_block_reduction(real_launch, shape, dims):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours = _on_cuda(x).sum(dims) if dims is not None else _on_cuda(x).sum()
    np.testing.assert_allclose(ours.cpu().numpy(), x.sum(dims), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("a_shape, b_shape", [((5, 18), (18, 17)), ((2, 3, 16), (16, 4)), ((0, 3), (3, 2)),
                                              ((3, 0), (0, 2))])
def test_matmul_on_the_tiled_kernel(real_launch, a_shape, b_shape):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(a_shape).astype(np.float32), rng.standard_normal(b_shape).astype(np.float32)
    np.testing.assert_allclose((_on_cuda(a) @ _on_cuda(b)).cpu().numpy(), a @ b, rtol=1e-5, atol=1e-5)


def test_softmax_and_elementwise_with_many_blocks(real_launch):
    x = np.random.default_rng(2).standard_normal((40, 33)).astype(np.float32)
    t = _on_cuda(x)
    np.testing.assert_allclose(framework.softmax(t, 1).cpu().numpy(), torch.softmax(torch.tensor(x), 1).numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose((t * 2 + 1).relu().cpu().numpy(), np.maximum(x * 2 + 1, 0), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["uint8", "bool", "int32", "float32"])
def test_accumulating_kernels_on_narrow_dtypes(dtype):
    rng = np.random.default_rng(3)
    base = (rng.integers(0, 2, (3, 4)) if dtype == "bool" else rng.integers(0, 5, (3, 4))).astype(dtype)
    src = (rng.integers(0, 2, (2, 4)) if dtype == "bool" else rng.integers(0, 5, (2, 4))).astype(dtype)
    index = np.array([[0, 1, 2, 0], [0, 0, 1, 2]])
    if dtype != "bool":  # (PyTorch has no bool scatter_add)
        ours = _on_cuda(base).scatter_add(0, _on_cuda(index), _on_cuda(src))
        theirs = torch.tensor(base).scatter_add(0, torch.tensor(index), torch.tensor(src))
        assert ours.cpu().tolist() == theirs.tolist()
        ours = _on_cuda(base).index_add(0, _on_cuda(np.array([2, 2])), _on_cuda(src))
        theirs = torch.tensor(base).index_add(0, torch.tensor([2, 2]), torch.tensor(src))
        assert ours.cpu().tolist() == theirs.tolist()
    distinct = np.array([[0, 1, 2, 0], [1, 2, 0, 1]])  # (no position written twice: no race to compare)
    ours = _on_cuda(base).scatter(0, _on_cuda(distinct), _on_cuda(src))
    theirs = torch.tensor(base).scatter(0, torch.tensor(distinct), torch.tensor(src))
    assert ours.cpu().tolist() == theirs.tolist()


def test_a_device_index_is_honoured_or_refused():
    """cuda:1 must not silently run on GPU 0."""
    count = framework.cuda.device_count()
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        framework.ones(2, device=f"cuda:{count}")
    assert framework.ones(2, device="cuda:0").device == framework.device("cuda")
