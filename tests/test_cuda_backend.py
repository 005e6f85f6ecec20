"""The CUDA backend beyond op-by-op comparisons with PyTorch (those run on every device
through the `device` fixture): host<->device copies, device mixing, index errors found
on the device, on-device random numbers, the shared-memory kernels, checkpoints, and
whole training steps on cuda against the CPU. In CI `cuda` is Numba's simulator (see
conftest.py); on a GPU machine perf/gpu_check.sh runs these on the real device."""
import json
import os

import numpy as np
import pytest

import framework
from helpers import randn

pytestmark = pytest.mark.cuda  # skipped, with the reason, when cuda is unavailable or not selected

CUDA = "cuda"


def test_the_simulator_runs_unless_a_real_gpu_is_asked_for():
    """conftest.py enables the simulator before numba is imported (FRAMEWORK_CUDA_TESTS=1: the real GPU)."""
    from numba.core import config
    from framework.backends import cuda_backend as backend
    simulated = os.environ.get("FRAMEWORK_CUDA_TESTS") != "1"
    assert bool(config.ENABLE_CUDASIM) == simulated and backend.SIMULATOR == simulated


def test_creation_and_moves_count_copies():
    from framework.backends import cuda_backend as backend
    before = dict(backend.transfers)
    a = framework.ones(2, 3, device=CUDA)
    b = framework.arange(6, device=CUDA).reshape(2, 3)
    c = (a * b + framework.zeros(2, 3, device="cuda:0")).sum(1)
    made = [framework.linspace(-1, 2, 7, device=CUDA), framework.linspace(3, 3, 1, device=CUDA),
            framework.eye(3, 4, device=CUDA), framework.eye(2, device=CUDA, dtype=framework.int64)]
    assert backend.transfers == before  # creation and ops never touch the host
    expected = [np.linspace(-1, 2, 7), [3.0], np.eye(3, 4), np.eye(2)]
    for ours, theirs in zip(made, expected):
        np.testing.assert_allclose(ours.cpu().numpy(), theirs, rtol=1e-6)
    before = dict(backend.transfers)
    assert c.cpu().tolist() == [3.0, 12.0]
    assert backend.transfers["d2h"] == before["d2h"] + 1
    d = framework.tensor([1.0, 2.0]).to("cuda")
    assert d.device == framework.device("cuda:0") and backend.transfers["h2d"] == before["h2d"] + 1
    assert d.is_cuda and d.cuda() is d and d.cpu().device == framework.device("cpu")


def test_mixing_devices_is_an_error():
    a, b = framework.ones(2, device=CUDA), framework.ones(2)
    with pytest.raises(RuntimeError, match="same device.*cuda:0.*cpu|same device.*cpu.*cuda:0"):
        a + b
    with pytest.raises(RuntimeError, match="same device"):
        framework.matmul(framework.ones(2, 2, device=CUDA), framework.ones(2, 2))


def test_masks_read_one_count_and_index_tensors_read_nothing():
    from framework.backends import cuda_backend as backend
    x = framework.randn(3, 4, device=CUDA)
    idx = framework.tensor([2, 0], device=CUDA)
    before = dict(backend.transfers)
    x[idx, 1:]
    x[idx] = 1.0
    x[0, 1:] = 2.0
    assert backend.transfers["d2h"] == before["d2h"] and backend.transfers["h2d"] == before["h2d"]
    x[x > 0]
    assert backend.transfers["d2h"] == before["d2h"] + 1


def test_prefix_sums_over_several_chunks():
    """The scan behind nonzero: enough elements for chunk totals to need a scan of their own."""
    from framework.backends import cuda_indexing
    from framework.backends.cuda_backend import to_host
    values = np.random.default_rng(0).integers(0, 5, 300)
    scanned = cuda_indexing.inclusive_scan(framework.tensor(values, device=CUDA)._data)
    np.testing.assert_array_equal(to_host(scanned), np.cumsum(values))


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
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        weighted.item()
    v = framework.randn(3, device=CUDA)
    framework.index_select(v, 0, framework.tensor([-1], device=CUDA))  # out of range, as in PyTorch
    with pytest.raises(IndexError, match="index -1 is out of bounds"):
        framework.cuda.synchronize()
    assert v[framework.tensor([-1], device=CUDA)].item() == v[2].item()  # subscripts do wrap


def test_random_numbers_are_drawn_on_the_device():
    from framework.backends import cuda_backend as backend
    before = dict(backend.transfers)
    framework.manual_seed(0)
    u = framework.rand(2000, device=CUDA)
    z = framework.randn(2000, device=CUDA, dtype=framework.float64)
    k = framework.randint(-3, 4, (2000,), device=CUDA)
    d = framework.nn.functional.dropout(framework.ones(2000, device=CUDA), 0.25)
    assert backend.transfers == before  # no host draws copied over
    u, z, k, d = (t.cpu().numpy() for t in (u, z, k, d))
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.03
    assert abs(z.mean()) < 0.08 and abs(z.std() - 1.0) < 0.08
    assert k.min() == -3 and k.max() == 3 and np.bincount(k + 3).min() > 200
    assert set(np.unique(d)) <= {0.0, np.float32(1.0 / 0.75)} and abs((d == 0).mean() - 0.25) < 0.04
    framework.manual_seed(0)
    assert np.array_equal(framework.rand(2000, device=CUDA).cpu().numpy(), u)  # reproducible


def test_shared_memory_kernels_directly():
    """The tiled-matmul kernel, which the backend uses on real GPUs without cuBLAS only (its
    barriers are too slow to simulate at training sizes)."""
    from numba import cuda
    from kernels.cuda import linalg
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 5, 18)).astype(np.float32), rng.standard_normal((2, 18, 17)).astype(np.float32)
    out = cuda.device_array(2 * 5 * 17, np.float32)
    linalg.matmul_tiled[4, (linalg.TILE, linalg.TILE)](cuda.to_device(a.ravel()), cuda.to_device(b.ravel()), out,
                                                       2, 5, 18, 17)
    np.testing.assert_allclose(out.copy_to_host().reshape(2, 5, 17), a @ b, rtol=1e-5, atol=1e-5)


def test_autograd_on_cuda_matches_cpu():
    w_np, x_np = randn(4, 3), randn(5, 4)
    results = []
    for dev in ("cpu", CUDA):
        w = framework.tensor(w_np, device=dev, requires_grad=True)
        x = framework.tensor(x_np, device=dev)
        loss = framework.log_softmax((x @ w).tanh(), 1).sum() * -1
        loss.backward()
        results.append((loss.item(), w.grad.cpu().numpy()))
    assert np.isclose(results[0][0], results[1][0], rtol=1e-5)
    assert np.allclose(results[0][1], results[1][1], rtol=1e-4, atol=1e-6)


def test_tutorial_lenet_two_sgd_steps_on_cuda_match_cpu():
    from framework.examples.lenet import Net
    framework.manual_seed(0)
    cpu_net = Net()
    cuda_net = Net()
    cuda_net.load_state_dict(cpu_net.state_dict())
    cuda_net.to("cuda")
    x, y = randn(2, 1, 32, 32), np.array([3, 7])
    for net, dev in ((cpu_net, "cpu"), (cuda_net, CUDA)):
        opt = framework.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        for _ in range(2):
            opt.zero_grad()
            loss = framework.nn.CrossEntropyLoss()(net(framework.tensor(x, device=dev)),
                                                   framework.tensor(y, device=dev))
            loss.backward()
            opt.step()
    for (name, a), (_, b) in zip(cpu_net.state_dict().items(), cuda_net.state_dict().items()):
        assert b.device == framework.device("cuda:0")
        np.testing.assert_allclose(b.cpu().numpy(), a.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


def test_optimizers_on_cuda_match_cpu():
    for make in (lambda p: framework.optim.Adam(p, lr=0.01, amsgrad=True),
                 lambda p: framework.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
                 lambda p: framework.optim.Adagrad(p, lr=0.1), lambda p: framework.optim.AdamW(p, lr=0.01)):
        finals = []
        for dev in ("cpu", CUDA):
            w = framework.nn.Parameter(framework.tensor([[1.0, -2.0], [0.5, 3.0]], device=dev))
            opt = make([w])
            for _ in range(3):
                opt.zero_grad()
                (w * w * framework.tensor([1.0, 2.0], device=dev)).sum().backward()
                opt.step()
            finals.append(w.detach().cpu().numpy())
        np.testing.assert_allclose(finals[1], finals[0], rtol=1e-5)


def test_checkpoints_of_cuda_tensors(tmp_path):
    net = framework.nn.Linear(3, 2).to("cuda")
    opt = framework.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(framework.ones(4, 3, device=CUDA)).sum().backward()
    opt.step()
    framework.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "gpu.fwt")
    on_cpu = framework.load(tmp_path / "gpu.fwt", map_location="cpu")
    assert on_cpu["model"]["weight"].device == framework.device("cpu")
    back = framework.load(tmp_path / "gpu.fwt")
    assert back["model"]["weight"].device == framework.device("cuda:0")
    assert np.allclose(back["model"]["weight"].cpu().numpy(), net.weight.detach().cpu().numpy())
    fresh = framework.nn.Linear(3, 2)
    fresh.load_state_dict(on_cpu["model"])
    assert np.allclose(fresh.weight.detach().numpy(), net.weight.detach().cpu().numpy())


def test_gpu_benchmark_script_runs_end_to_end(tmp_path):
    """perf/gpu_check.sh's benchmarks at tiny sizes, so the script works when a GPU is lent."""
    from perf import gpu
    gpu.main(["--quick", "--out", str(tmp_path), "--markdown", str(tmp_path / "RESULTS-gpu.md"),
              "--only", "float32"])
    gpu.main(["--quick", "--out", str(tmp_path / "lenet"), "--only", "LeNet"])
    results = json.loads((tmp_path / "gpu_bench.json").read_text())
    rows = results["rows"]
    assert rows and all(isinstance(row["framework"], float) and row["framework"] > 0 for row in rows.values()), rows
    assert "| matmul 16 float32 | GFLOP/s |" in (tmp_path / "RESULTS-gpu.md").read_text()
    lenet = json.loads((tmp_path / "lenet" / "gpu_bench.json").read_text())["rows"]
    assert list(lenet) == ["LeNet step, batch 2"] and lenet["LeNet step, batch 2"]["framework"] > 0
