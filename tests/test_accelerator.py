"""torch.accelerator and torch.backends' flags: the device selection current tutorials open
with, and the switches PyTorch code sets, behave as PyTorch's. In this process CUDA is the
simulator (or a real GPU); a child process without either checks the CPU-only answers
against PyTorch's CPU build."""
import json
import os
import subprocess
import sys

import pytest
import torch

import framework

CUDA = framework.cuda.is_available()


@pytest.mark.skipif(not CUDA, reason="needs CUDA (the simulator, or a GPU)")
def test_accelerator_with_cuda():
    acc = framework.accelerator
    assert acc.is_available() and acc.device_count() >= 1
    assert acc.current_accelerator() == framework.device("cuda")
    device = acc.current_accelerator().type if acc.is_available() else "cpu"  # the tutorials' line
    x = framework.ones(3, device=device) * 2
    acc.synchronize()
    assert x.device.type == "cuda" and x.sum().item() == 6
    assert acc.current_device_index() == 0 and acc.current_device_idx() == 0
    acc.set_device_index(0)
    acc.set_device_index("cuda:0")
    with acc.device_index(0):
        assert acc.current_device_index() == 0
    with pytest.raises(RuntimeError, match="Invalid device index 1"):
        acc.set_device_index(1)
    with pytest.raises(ValueError, match="cpu doesn't match the current accelerator"):
        acc.synchronize("cpu")
    acc.empty_cache()


CPU_ONLY = r"""
import json, sys
lib = __import__(sys.argv[1])
acc = lib.accelerator
out = {"available": acc.is_available(), "current": acc.current_accelerator(), "count": acc.device_count(),
       "checked": acc.current_accelerator(True),
       "device": acc.current_accelerator().type if acc.is_available() else "cpu"}
for name in ("current_device_index", "synchronize", "empty_cache"):
    try:
        getattr(acc, name)()
        out[name] = "ok"
    except Exception as e:
        out[name] = [type(e).__name__, str(e)]
print(json.dumps(out))
"""


def test_accelerator_without_cuda_answers_as_pytorch_cpu():
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_ENABLE_CUDASIM", "FRAMEWORK_CUDA_TESTS")}
    env["CUDA_VISIBLE_DEVICES"] = ""  # no GPU even on a GPU machine
    results = []
    for lib in ("framework", "torch"):
        run = subprocess.run([sys.executable, "-c", CPU_ONLY, lib], env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    ours, theirs = results
    assert ours == theirs


def test_backend_flags_match_pytorch_defaults_and_keep_what_is_set():
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32", "benchmark_limit"):
        assert getattr(framework.backends.cudnn, name) == getattr(torch.backends.cudnn, name), name
    assert framework.backends.cudnn.is_available() is False and framework.backends.cudnn.version() is None
    with framework.backends.cudnn.flags(enabled=False, deterministic=True):
        assert framework.backends.cudnn.enabled is False and framework.backends.cudnn.deterministic is True
    assert framework.backends.cudnn.enabled is True and framework.backends.cudnn.deterministic is False
    saved = framework.backends.cudnn.benchmark
    framework.backends.cudnn.benchmark = True
    assert framework.backends.cudnn.benchmark is True
    framework.backends.cudnn.benchmark = saved

    assert framework.backends.mps.is_available() is False and framework.backends.mps.is_built() is False
    assert framework.backends.cpu.get_cpu_capability() == torch.backends.cpu.get_cpu_capability()

    cuda = framework.backends.cuda
    for name in ("allow_tf32", "allow_fp16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction"):
        assert getattr(cuda.matmul, name) == getattr(torch.backends.cuda.matmul, name), name
    cuda.matmul.allow_tf32 = True
    assert cuda.matmul.allow_tf32 is True
    cuda.matmul.allow_tf32 = False
    for lib in (framework, torch):
        with pytest.raises(AttributeError, match="Unknown attribute no_such_flag"):
            lib.backends.cuda.matmul.no_such_flag = 1
    assert cuda.flash_sdp_enabled() == torch.backends.cuda.flash_sdp_enabled()
    cuda.enable_flash_sdp(False)
    assert cuda.flash_sdp_enabled() is False
    cuda.enable_flash_sdp(True)
    with cuda.sdp_kernel(enable_flash=False):
        assert not cuda.flash_sdp_enabled() and cuda.math_sdp_enabled()
    assert cuda.flash_sdp_enabled()
    assert cuda.preferred_linalg_library() == "default"
    with pytest.raises(RuntimeError, match="Unknown input value"):
        cuda.preferred_linalg_library("lapack")
    with pytest.raises(AttributeError):
        framework.backends.no_such_backend


@pytest.mark.skipif(not CUDA, reason="needs CUDA (the simulator, or a GPU)")
def test_default_device():
    assert framework.get_default_device() == framework.device("cpu") and str(torch.get_default_device()) == "cpu"
    try:
        framework.set_default_device("cuda")
        made = [framework.ones(2), framework.zeros(1, 2), framework.randn(3), framework.arange(4.0),
                framework.tensor([1.0]), framework.empty(2), framework.full((2,), 3.0)]
        assert all(t.device.type == "cuda" for t in made)
        assert framework.ones(2, device="cpu").device.type == "cpu"  # an explicit device still wins
    finally:
        framework.set_default_device(None)
    assert framework.ones(2).device.type == "cpu"
    with framework.device("cuda") as d:
        assert d == framework.device("cuda") and framework.zeros(3).device.type == "cuda"
    assert framework.zeros(3).device.type == "cpu"


def test_device_probes_on_tensors():
    x = framework.ones(2)
    for name in ("is_cpu", "is_cuda", "is_mps", "is_xpu", "is_meta"):
        assert getattr(x, name) == getattr(torch.ones(2), name), name
