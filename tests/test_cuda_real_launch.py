"""The CUDA backend on the launch path of a real GPU, run in the simulator: 256-thread blocks,
many blocks, reductions in stages and the tiled matmul (the simulator path
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


@pytest.mark.parametrize("shape, dims", [((3, 0), 0), ((0, 4), 1), ((3, 40), 1), ((3, 40, 2), 1), ((5, 7), None),
                                         ((2, 300), None), ((300, 3), 0)])
def test_reductions_in_stages(real_launch, monkeypatch, shape, dims):
    """Few outputs over many elements: interleaved parts per output, then the partials reduced
    again (forced here with runs of 4 elements and few threads), as a full x.sum() runs on a GPU."""
    monkeypatch.setattr(real_launch, "REDUCE_RUN", 4)
    monkeypatch.setattr(real_launch, "REDUCE_THREADS", 64)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if x.size > 50:
        x.flat[[17, 41]] = np.nan  # the first NaN wins max/min, whichever part holds it
        x.flat[[5, 60]] = 9.0
    t, ref = _on_cuda(x), torch.tensor(x)
    ours = t.sum(dims) if dims is not None else t.sum()
    np.testing.assert_allclose(ours.cpu().numpy(), x.astype(np.float64).sum(dims), rtol=1e-5, atol=1e-5)
    if x.size:
        for op in ("max", "min"):
            if dims is None:
                assert getattr(t, "arg" + op)().item() == getattr(ref, "arg" + op)().item()
            elif shape[dims]:
                values, indices = getattr(t, op)(dims)
                expected = getattr(ref, op)(dims)
                np.testing.assert_array_equal(values.cpu().numpy(), expected.values.numpy())
                assert indices.cpu().tolist() == expected.indices.tolist()
        clean = np.nan_to_num(x)
        assert (_on_cuda(clean) > -1).all().item() == bool((clean > -1).all())
        assert (_on_cuda(clean) > 8).any().item() == bool((clean > 8).any())
        np.testing.assert_allclose(_on_cuda(clean[..., :3] / 3 + 1).prod().item(),
                                   np.prod((clean[..., :3] / 3 + 1).astype(np.float64)), rtol=1e-4)


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
