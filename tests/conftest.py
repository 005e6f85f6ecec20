"""Test configuration: the `device` every op test runs on, and hypothesis' profile.

Devices
-------
Op tests take a `device` fixture and run once per device: `test_x[cpu]` and
`test_x[cuda]`, with the same inputs and the same comparison with PyTorch (CPU) on each.

* Without a GPU, `cuda` is Numba's CUDA simulator. This file sets
  NUMBA_ENABLE_CUDASIM=1 when it is imported, which is before anything imports numba
  (conftest.py is imported before the test modules; the pytest plugins installed here,
  hypothesis, platformdirs and pytest-benchmark, do not import numba). The CUDA backend
  launches at most 4 threads per kernel there (grid-stride loops), so tests use small
  shapes.
* `FRAMEWORK_CUDA_TESTS=1` (perf/gpu_check.sh sets it on a GPU machine): the simulator is
  not enabled and `cuda` is the real GPU; without one the run stops with a usage error.
* `FRAMEWORK_TEST_DEVICES=cpu` or `=cuda` (comma-separated; default `cpu,cuda`) restricts the
  devices, e.g. `FRAMEWORK_CUDA_TESTS=1 FRAMEWORK_TEST_DEVICES=cuda python -m pytest tests`.
  Tests that take no `device` run whatever this says, except those marked `cuda` (the CUDA
  backend's own tests, test_cuda_backend.py), which run only when cuda is selected.

If numba-cuda is not installed, `cuda` tests are skipped with that reason.

Coverage is the same on every device by construction: a collection-time check fails
the run when a test of an op module (OP_MODULES), or any test that calls the comparison
helpers (`check`, `check_raises`, `gradcheck`, `check_module`, `both`), does not take
`device`. Known CUDA failures are strict xfails with their diagnosis: CUDA_XFAIL (any cuda),
SIMULATOR_XFAIL (the simulator only; a real GPU must pass them).
"""
import dis
import os
import sys

if os.environ.get("FRAMEWORK_CUDA_TESTS") != "1":
    if "numba.cuda" in sys.modules and os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        raise RuntimeError("numba.cuda was imported before tests/conftest.py could enable the CUDA simulator "
                           "(a pytest plugin?); run with NUMBA_ENABLE_CUDASIM=1")
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    if "numba" in sys.modules:  # imported (without numba.cuda) by a plugin: re-read the environment
        from numba.core import config as _numba_config
        _numba_config.reload_config()

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("default", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ALL_DEVICES = ("cpu", "cuda")
DEVICES = [d.strip() for d in os.environ.get("FRAMEWORK_TEST_DEVICES", ",".join(ALL_DEVICES)).split(",") if d.strip()]
assert set(DEVICES) <= set(ALL_DEVICES), f"FRAMEWORK_TEST_DEVICES: unknown device in {DEVICES}"

# Hypothesis tests draw at most this many examples on cuda (each simulated launch costs milliseconds).
CUDA_MAX_EXAMPLES = 10

# Modules whose every test compares ops with PyTorch, so every test must take `device`.
OP_MODULES = {"test_elementwise", "test_reduction", "test_shape", "test_indexing", "test_linalg", "test_losses",
              "test_nn_layers", "test_gradcheck_all"}
# Comparison helpers: a test that calls one (directly or in a function it defines) must take `device`.
HELPERS = {"check", "check_raises", "gradcheck", "check_module", "both"}

# Known failures on cuda, each a strict xfail: "test_module.py::test_name[params]" (the cuda item's id
# without "cuda") -> diagnosis. Remove a line when the kernel is fixed (strict: the test then fails until it is).
CUDA_XFAIL = {
}
# The same, for failures of Numba's simulator only (it runs kernels as Python on NumPy scalars, where a
# real GPU runs PTX); they run, and must pass, on a real GPU.
SIMULATOR_XFAIL = {
    "test_elementwise.py::test_unary_on_non_contiguous_and_ints[sigmoid_extremes]":
        "simulator only: sigmoid's 1 / (1 + exp(-x)) at x = -1000 runs as Python's math.exp, which raises "
        "OverflowError where the GPU gives inf and so exactly 0 (kernels/scalar.py)",
}
SIMULATED = os.environ.get("FRAMEWORK_CUDA_TESTS") != "1"


def _cuda_available():
    from framework.backends import cuda_available
    return cuda_available()


@pytest.fixture(params=DEVICES)
def device(request):
    """The device an op test runs on: 'cpu' or 'cuda' (see the module docstring)."""
    if request.param == "cuda" and not _cuda_available():
        pytest.skip("cuda unavailable: numba-cuda is not installed (the simulator needs no GPU)")
    return request.param


def _names_used(code):
    """Global names read by a code object and the functions defined in it."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names_used(const)
    return names


def _xfail_key(item):
    """'test_x[a-b]' for the item 'test_x[cuda-a-b]' (None unless it runs on cuda)."""
    if getattr(item, "callspec", None) is None or item.callspec.params.get("device") != "cuda":
        return None
    return item.name.replace("[cuda-", "[").replace("[cuda]", "")


def _plain_arrays_in_simulated_kernels():
    """Numba's CUDA simulator hands a kernel each device array wrapped twice (FakeCUDAArray inside
    FakeWithinKernelCUDAArray, whose job is record arrays' attribute access, which no kernel here
    uses), and every element read or write goes through both: a 4096-element add took 12.9 ms per
    launch so, 2.2 with the arrays' NumPy storage. The kernels see the same values, shapes and
    IndexErrors; what the simulator cannot check (compiling for a GPU) the PTX test and a real GPU do.
    Kept only where numba-cuda still wraps this way; a changed simulator runs unpatched."""
    try:
        from numba.cuda.simulator import kernel as simulated
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray
    except ImportError:  # (no numba-cuda: the cuda tests skip)
        return
    if getattr(simulated, "FakeWithinKernelCUDAArray", None) is not None and hasattr(FakeCUDAArray(None), "_ary"):
        simulated.FakeWithinKernelCUDAArray = lambda fake: fake._ary


def pytest_configure(config):
    if SIMULATED and "cuda" in DEVICES:
        _plain_arrays_in_simulated_kernels()
    config.addinivalue_line("markers", "cuda: a test of the CUDA backend itself (skipped when cuda is "
                                       "unavailable or FRAMEWORK_TEST_DEVICES leaves it out)")


def pytest_collection_modifyitems(config, items):
    missing = set()
    cuda_skip = None
    if "cuda" in DEVICES and not SIMULATED and not _cuda_available():
        raise pytest.UsageError("FRAMEWORK_CUDA_TESTS=1 asks for a real GPU, and numba finds none "
                                "(unset it to test cuda in the simulator)")
    if any(item.get_closest_marker("cuda") for item in items):
        if "cuda" not in DEVICES:
            cuda_skip = "FRAMEWORK_TEST_DEVICES leaves cuda out"
        elif not _cuda_available():
            cuda_skip = "cuda unavailable: numba-cuda is not installed (the simulator needs no GPU)"
    for item in items:
        if cuda_skip and item.get_closest_marker("cuda"):
            item.add_marker(pytest.mark.skip(reason=cuda_skip))
        func = getattr(item, "function", None)
        if func is None:
            continue
        module = item.module.__name__.rpartition(".")[2]
        code = getattr(func, "__code__", None)
        inner = getattr(getattr(func, "hypothesis", None), "inner_test", None)
        if inner is not None:
            code = inner.__code__
        needs = module in OP_MODULES or (code is not None and _names_used(code) & HELPERS)
        if needs and "device" not in item.fixturenames:
            missing.add(item.nodeid.split("[")[0])
        key = _xfail_key(item)
        if key is not None:
            key = f"{module}.py::{key}"
            reason = CUDA_XFAIL.get(key) or (SIMULATOR_XFAIL.get(key) if SIMULATED else None)
            if reason:
                item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
    if missing:
        raise pytest.UsageError("op tests must take the `device` fixture so that every backend runs them "
                                "(tests/conftest.py):\n  " + "\n  ".join(sorted(missing)))


# Compiles every CUDA kernel to PTX in a child process: ~290 CPU-seconds, started when a serial session begins.
PTX_TEST = "test_cuda_ptx.py::test_every_cuda_kernel_compiles_to_ptx_for_the_h100"
_ptx_module = None


def pytest_collection_finish(session):
    """A serial run starts the PTX test's child now, on one CPU fewer than it would take, so that it
    compiles beside the other tests on the cores a serial run leaves idle (on 2 CPUs the suite took
    ~100 s less); the test reads its result when it runs. A pytest-xdist worker (whose every CPU has
    a worker), a 1-CPU machine or a session of that test alone leaves it to the test (all CPUs)."""
    global _ptx_module
    cpus = os.cpu_count() or 1
    if hasattr(session.config, "workerinput") or cpus < 2 or len(session.items) < 2 \
            or session.config.option.collectonly:
        return
    for item in session.items:
        if item.nodeid.endswith(PTX_TEST) and not item.get_closest_marker("skip"):
            _ptx_module = item.module
            _ptx_module.start(processes=min(4, cpus - 1))


def pytest_unconfigure(config):
    if _ptx_module is not None:
        _ptx_module.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fewer hypothesis examples on cuda (the simulator runs each kernel thread in Python)."""
    func = getattr(item, "obj", None)
    current = getattr(func, "_hypothesis_internal_use_settings", None)
    on_cuda = getattr(item, "callspec", None) is not None and item.callspec.params.get("device") == "cuda"
    if current is None or not on_cuda or current.max_examples <= CUDA_MAX_EXAMPLES:
        return (yield)
    func._hypothesis_internal_use_settings = settings(current, max_examples=CUDA_MAX_EXAMPLES)
    try:
        return (yield)
    finally:
        func._hypothesis_internal_use_settings = current
