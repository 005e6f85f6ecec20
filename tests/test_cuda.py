"""The CUDA backend without a GPU: clear errors (PTX: test_cuda_ptx.py; ops on cuda: every op
test through the `device` fixture; the rest of the backend: test_cuda_backend.py)."""
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_without_a_gpu_cuda_is_unavailable_and_errors_are_clear():
    """In a process of its own: this one runs the CUDA simulator (conftest.py)."""
    code = textwrap.dedent("""
        import pytest
        import framework
        if framework.cuda.is_available():
            print("GPU present")
            raise SystemExit
        assert framework.cuda.device_count() == 0
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            framework.ones(2, device="cuda")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            framework.ones(2).cuda()
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            framework.tensor([1.0], device="cuda:0")
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    if out.stdout.strip() == "GPU present":
        pytest.skip("a GPU is present")
    assert out.stdout.strip() == "ok"
