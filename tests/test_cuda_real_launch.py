"""The CUDA backend on the launch path of a real GPU, run in the simulator: 256-thread blocks,
many blocks, reductions in stages and the tiled matmul (the simulator path
launches one block of at most 4 threads and avoids shared memory, so these paths would
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


@pytest.mark.parametrize("log", [False, True])
def test_softmax_with_a_block_per_row(real_launch, log):
    """Rows of 64+ float32 elements: one 256-thread block each, the max and the sum combined in
    shared memory; a NaN row and -inf entries as PyTorch treats them."""
    x = np.random.default_rng(4).standard_normal((3, 300)).astype(np.float32) * 5
    x[1, 7] = np.nan
    x[2, ::3] = -np.inf
    name = "log_softmax" if log else "softmax"
    for dim in (1, 0):
        data = x if dim == 1 else np.ascontiguousarray(x[:, :70].T)  # (rows of 70 after the move)
        ours = getattr(framework, name)(_on_cuda(data), dim).cpu().numpy()
        theirs = getattr(torch, name)(torch.tensor(data), dim).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_layer_norm_with_a_block_per_row(real_launch, monkeypatch):
    """Rows of 64+ elements: forward and input gradient on one 256-thread block per row; the
    weight and bias gradients in partial sums over interleaved rows (2 parts, forced)."""
    monkeypatch.setattr(real_launch, "REDUCE_RUN", 2)
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((3, 70)), rng.standard_normal(70), rng.standard_normal(70)
    g = rng.standard_normal((3, 70))
    for dtype in (np.float32,):  # (float64 rows run the same body: its statistics are float64 already)
        ours = [framework.tensor(v.astype(dtype), device="cuda", requires_grad=True) for v in (x, w, b)]
        theirs = [torch.tensor(v.astype(dtype), requires_grad=True) for v in (x, w, b)]
        y_ours = framework.nn.functional.layer_norm(ours[0], (70,), ours[1], ours[2])
        y_theirs = torch.nn.functional.layer_norm(theirs[0], (70,), theirs[1], theirs[2])
        (y_ours * framework.tensor(g.astype(dtype), device="cuda")).sum().backward()
        (y_theirs * torch.tensor(g.astype(dtype))).sum().backward()
        tol = 1e-5 if dtype == np.float32 else 1e-10
        for a, t in zip([y_ours] + [v.grad for v in ours], [y_theirs] + [v.grad for v in theirs]):
            np.testing.assert_allclose(a.detach().cpu().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("options", [{"label_smoothing": 0.1, "weight": True, "ignore_index": 2}])
def test_cross_entropy_with_a_block_per_row(real_launch, options):
    """Rows of 64+ classes: the loss and its gradient on one 256-thread block per row (the lane
    that writes the target's gradient element also takes the hit from it)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 300)).astype(np.float32) * 3
    target = np.array([5, 2, 299])
    options = dict(options)
    weight = rng.random(300).astype(np.float32) + 0.5 if options.pop("weight", False) else None
    ours_x = framework.tensor(x, device="cuda", requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    ours = framework.nn.functional.cross_entropy(ours_x, _on_cuda(target), None if weight is None
                                                 else _on_cuda(weight), **options)
    theirs = torch.nn.functional.cross_entropy(theirs_x, torch.tensor(target), None if weight is None
                                               else torch.tensor(weight), **options)
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-5)
    np.testing.assert_allclose(ours_x.grad.cpu().numpy(), theirs_x.grad.numpy(), rtol=1e-5, atol=1e-7)


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
