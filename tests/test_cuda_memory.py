"""framework.cuda's memory accounting (framework/backends/cuda_memory.py) as PyTorch reports it,
and a training step on cuda that copies nothing to the host and holds the same memory each step."""
import gc

import numpy as np
import pytest

import framework

pytestmark = pytest.mark.cuda


def _settle():
    gc.collect()  # (reference cycles in a graph being freed; PyTorch's counts drop at the same point)
    return framework.cuda.memory_allocated()


def test_allocated_follows_buffers_in_512_byte_blocks():
    start = _settle()
    x = framework.ones(1000, device="cuda")  # 4000 bytes -> 8 blocks
    assert framework.cuda.memory_allocated() - start == 4096
    y = framework.zeros(1, device="cuda", dtype=framework.float64)
    assert framework.cuda.memory_allocated() - start == 4096 + 512
    tail = x[10:]  # a view holds its buffer
    del x
    assert _settle() - start == 4096 + 512
    del tail, y
    assert _settle() == start
    z = framework.tensor(np.zeros((3, 256), np.float32), device="cuda")  # copied from the host
    assert framework.cuda.memory_allocated() - start == 3072
    del z
    assert _settle() == start


def test_peak_and_its_reset():
    start = _settle()
    framework.cuda.reset_peak_memory_stats()
    assert framework.cuda.max_memory_allocated() == start
    big = framework.empty(10_000, device="cuda")
    del big
    _settle()
    assert framework.cuda.max_memory_allocated() == start + 40448  # 40000 rounded up to 79 blocks
    assert framework.cuda.memory_reserved() >= framework.cuda.memory_allocated()
    assert framework.cuda.max_memory_reserved() >= framework.cuda.max_memory_allocated()
    framework.cuda.reset_max_memory_allocated()
    assert framework.cuda.max_memory_allocated() == framework.cuda.memory_allocated()
    stats = framework.cuda.memory_stats()
    assert stats["allocated_bytes.all.current"] == framework.cuda.memory_allocated()
    assert stats["allocated_bytes.all.peak"] == framework.cuda.max_memory_allocated()
    framework.cuda.empty_cache()
    free, total = framework.cuda.mem_get_info()
    assert free <= total


def test_device_arguments_as_pytorch():
    for device in (None, 0, "cuda", "cuda:0", framework.device("cuda")):
        assert framework.cuda.memory_allocated(device) == framework.cuda.memory_allocated()
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        framework.cuda.memory_allocated("cpu")
    with pytest.raises(RuntimeError, match="Invalid device argument"):
        framework.cuda.max_memory_allocated(framework.cuda.device_count())


def test_a_lenet_step_copies_nothing_to_the_host_and_holds_the_same_memory_each_step():
    from framework.backends import cuda_backend as backend
    from framework.examples.lenet import Net
    framework.manual_seed(0)
    net = Net().to("cuda")
    opt = framework.optim.SGD(net.parameters(), lr=0.01)  # (no momentum buffers: step 1 is steady already)
    x = framework.randn(2, 1, 32, 32, device="cuda")
    y = framework.tensor([3, 7], device="cuda")
    held, before = [], None

    def step():
        opt.zero_grad()
        framework.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    for i in range(2):
        if i == 1:
            before = dict(backend.transfers)
        step()
        held.append(_settle())
    assert backend.transfers["d2h"] == before["d2h"] and backend.transfers["h2d"] == before["h2d"]
    assert held[0] == held[1]  # nothing accumulates from step to step (the gradients stay allocated)
    assert framework.cuda.max_memory_allocated() > held[1]  # activations were held during the step


def test_the_allocator_is_chosen_by_name():
    """FRAMEWORK_CUDA_ALLOCATOR: Numba's by default; a misspelt name is refused, naming the choices;
    RMM's need rmm-cu13 (in the simulator, which allocates host arrays, Numba's is kept)."""
    import subprocess
    import sys
    code = ("import framework.backends.cuda_backend as b; print(b.ALLOCATOR)")
    run = lambda value: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                                       env={**__import__("os").environ, "FRAMEWORK_CUDA_ALLOCATOR": value})
    from framework.backends import cuda_backend
    assert cuda_backend.ALLOCATOR == "numba"
    bad = run("rmm")
    assert bad.returncode != 0 and "FRAMEWORK_CUDA_ALLOCATOR must be one of numba, rmm-async, rmm-pool" in bad.stderr
    if cuda_backend.SIMULATOR:
        assert run("rmm-async").stdout.strip() == "numba"
