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


def test_threaded_kernels_and_their_serial_twins_agree(monkeypatch):
    """The convolution and pooling kernels run serially below cpu_backend's THREADED_MIN_* work
    (kernels/cpu/_jit.threaded): a LeNet step at batch 16 is over it (both convolutions and both
    pools threaded), and gives the same loss and gradients with every kernel forced serial."""
    from framework.backends import cpu_backend
    from framework.examples.lenet import Net
    framework.manual_seed(0)
    net = Net()
    x, y = framework.randn(16, 1, 32, 32), framework.randint(0, 10, (16,))
    assert 16 * 16 * 100 * 150 >= cpu_backend.THREADED_MIN_PRODUCTS  # conv2's multiply-adds
    assert 16 * 16 * 10 * 10 >= cpu_backend.THREADED_MIN_ELEMENTS  # the second pool's input

    def step():
        net.zero_grad()
        loss = framework.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        return loss.item(), [p.grad.clone() for p in net.parameters()]

    threaded_form = []  # per convolution or pooling call: whether the threaded form was chosen
    sized = cpu_backend._sized

    def spy(kernel, *work):
        chosen = sized(kernel, *work)
        if kernel.py_func.__module__ in ("kernels.cpu.conv", "kernels.cpu.pool", "kernels.cpu.index"):
            threaded_form.append(chosen is kernel)  # (the loss of 16 rows is under its own threshold)
        return chosen

    monkeypatch.setattr(cpu_backend, "_sized", spy)
    threaded_loss, threaded_grads = step()
    assert len(threaded_form) >= 6 and all(threaded_form)  # 2 convolutions, 2 pools, forward and backward
    threaded_form.clear()
    monkeypatch.setattr(cpu_backend, "THREADED_MIN_ELEMENTS", 1 << 62)
    monkeypatch.setattr(cpu_backend, "THREADED_MIN_PRODUCTS", 1 << 62)
    serial_loss, serial_grads = step()
    assert len(threaded_form) >= 6 and not any(threaded_form)
    assert abs(threaded_loss - serial_loss) <= 1e-6 * abs(serial_loss)
    for a, b in zip(threaded_grads, serial_grads):
        assert framework.allclose(a, b, rtol=1e-5, atol=1e-6)
