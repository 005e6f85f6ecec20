"""Threads: Numba's TBB layer is used where the tbb package is installed (it is safe to
call from several Python threads at once; the workqueue fallback aborts the process),
and two Python threads may run parallel kernels concurrently."""
import os
import subprocess
import sys
import textwrap

import pytest

import framework
from kernels.cpu import threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_tbb_layer_is_used_where_the_package_is_installed():
    if not threads.tbb_installed():
        pytest.skip("the tbb package is not installed on this platform")
    x = framework.ones(1 << 19)
    assert (x + x).sum().item() == 2 * (1 << 19)  # large enough for the parallel kernels
    assert threads.layer() == "tbb"


def test_two_python_threads_run_parallel_kernels_at_once():
    script = textwrap.dedent("""
        import threading
        import framework
        errors = []
        def work(seed):
            try:
                x = framework.full((1 << 19,), float(seed))
                for _ in range(30):
                    y = (x * 2 + 1).exp().sum()
                    assert abs(y.item() / (1 << 19) - framework.tensor(2.0 * seed + 1).exp().item()) < 1e-2 * y.item() / (1 << 19)
            except Exception as exc:
                errors.append(repr(exc))
        ts = [threading.Thread(target=work, args=(s,)) for s in (0.1, 0.2, 0.3)]
        for t in ts: t.start()
        for t in ts: t.join()
        assert not errors, errors
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, (out.returncode, out.stdout[-2000:], out.stderr[-3000:])


def test_grad_mode_is_per_thread():
    """An inference thread under no_grad() must not stop another thread from recording."""
    import threading
    entered, release, seen = threading.Event(), threading.Event(), {}

    def inference():
        with framework.no_grad():
            entered.set()
            release.wait(10)
            seen["inference"] = framework.is_grad_enabled()

    t = threading.Thread(target=inference)
    t.start()
    entered.wait(10)
    w = framework.ones(3, requires_grad=True)
    y = (w * 2).sum()  # recorded in this thread while the other sits in no_grad
    release.set()
    t.join()
    assert framework.is_grad_enabled() and seen["inference"] is False
    assert y.grad_fn is not None
    y.backward()
    assert w.grad.tolist() == [2.0, 2.0, 2.0]
    fresh = {}
    with framework.no_grad():
        t = threading.Thread(target=lambda: fresh.setdefault("enabled", framework.is_grad_enabled()))
        t.start()
        t.join()
    assert fresh["enabled"] is True  # a new thread starts with grad enabled, as in PyTorch
