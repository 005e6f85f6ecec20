"""framework.profiler: per-op counts, self and total times, compile time apart, schedules,
traces; and nothing hooked while no profiler runs."""
import json

import numpy as np
import pytest
from numba import njit

import framework
from framework.autograd import engine
from framework.autograd.function import Function
from framework.profiler import ProfilerAction, profile, record_function, schedule

ORIGINAL_APPLY = Function.__dict__["apply"]
ORIGINAL_BACKWARD = engine._call_backward


def _mlp_step(x, w1, w2):
    loss = (x @ w1).relu().matmul(w2).sum()
    loss.backward()


def _inputs():
    rng = np.random.default_rng(0)
    x = framework.tensor(rng.standard_normal((8, 5)).astype(np.float32))
    w1 = framework.tensor(rng.standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    w2 = framework.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    return x, w1, w2


def test_counts_self_and_total_times_and_the_hooks_come_off():
    x, w1, w2 = _inputs()
    with profile() as prof:
        with record_function("two steps"):
            for _ in range(2):
                _mlp_step(x, w1, w2)
    assert Function.__dict__["apply"] is ORIGINAL_APPLY and engine._call_backward is ORIGINAL_BACKWARD
    rows = {r.key: r for r in prof.key_averages()}
    assert rows["Relu"].count == 2 and rows["Sum"].count == 2 and rows["ReluBackward"].count == 2
    assert rows["two steps"].count == 1
    for r in rows.values():
        assert 0 <= r.self_cpu_time_total <= r.cpu_time_total + 1e-6
    inner = sum(r.cpu_time_total for k, r in rows.items() if k != "two steps" and "Backward" not in k)
    assert rows["two steps"].cpu_time_total >= inner * 0.99  # the block's total holds the ops inside it
    events = prof.events()
    assert abs(sum(e.self_us for e in events) - rows["two steps"].cpu_time_total) < 1e-3 * max(1.0, rows[
        "two steps"].cpu_time_total)  # self times add up to the outermost total
    text = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=3)
    assert "Self CPU %" in text and "# of Calls" in text and "Compile" in text
    assert len([line for line in text.splitlines() if line.startswith(tuple(rows))]) == 3
    with pytest.raises(AttributeError, match="sort_by"):
        prof.key_averages().table(sort_by="no_such_column")


def test_compile_time_is_apart_from_op_time():
    @njit(cache=False)
    def fresh(a):  # a new function: its first call compiles
        return a * 2.0 + 1.0

    with profile() as prof:
        with record_function("first call"):
            fresh(np.ones(3))
        with record_function("second call"):
            fresh(np.ones(3))
    rows = {r.key: r for r in prof.key_averages()}
    assert rows["first call"].compile_time_total > 1e4  # tens of milliseconds of compilation, in microseconds
    assert rows["first call"].cpu_time_total < rows["first call"].compile_time_total  # and not in the op time
    assert rows["second call"].compile_time_total == 0


def test_schedule_records_only_active_steps_and_calls_on_trace_ready():
    x, w1, w2 = _inputs()
    ready = []
    sched = schedule(wait=1, warmup=1, active=2, repeat=1)
    assert [sched(i) for i in range(5)] == [ProfilerAction.NONE, ProfilerAction.WARMUP, ProfilerAction.RECORD,
                                            ProfilerAction.RECORD_AND_SAVE, ProfilerAction.NONE]
    with profile(schedule=sched, on_trace_ready=lambda p: ready.append(len(p.events()))) as prof:
        for _ in range(5):
            _mlp_step(x, w1, w2)
            prof.step()
    assert Function.__dict__["apply"] is ORIGINAL_APPLY
    assert len(ready) == 1
    rows = {r.key: r for r in prof.key_averages()}
    assert rows["Relu"].count == 2  # the two active steps, not the warmup or the idle ones


def test_shapes_trace_nesting_errors_and_disabled(tmp_path):
    x, w1, w2 = _inputs()
    with profile(record_shapes=True) as prof:
        _mlp_step(x, w1, w2)
        with pytest.raises(RuntimeError, match="already enabled"):
            profile().start()
        with pytest.raises(RuntimeError):
            framework.ones(2, 3) @ framework.ones(2, 3)  # an op that raises leaves the recorder consistent
        framework.ones(2).sum()
    grouped = prof.key_averages(group_by_input_shape=True)
    assert any(r.key == "Relu" and r.input_shapes == ((8, 4),) for r in grouped)
    assert "Input Shapes" in grouped.table()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    assert {e["name"] for e in trace["traceEvents"]} >= {"Relu", "Sum"}
    with framework.autograd.profiler.profile(enabled=False) as off:
        _mlp_step(x, w1, w2)
    assert off.events() == [] and Function.__dict__["apply"] is ORIGINAL_APPLY
    with framework.autograd.profiler.profile() as on:
        _mlp_step(x, w1, w2)
    assert "Relu" in {r.key for r in on.key_averages()}


@pytest.mark.skipif(not framework.cuda.is_available(), reason="needs CUDA (the simulator, or a GPU)")
def test_cuda_ops_are_timed_with_their_kernels():
    x = framework.ones(4, device="cuda", requires_grad=True)
    with profile(activities=[framework.profiler.ProfilerActivity.CPU,
                             framework.profiler.ProfilerActivity.CUDA]) as prof:
        (x * 2).sum().backward()
    assert {"Mul", "Sum", "MulBackward0"} <= {r.key for r in prof.key_averages()}


def test_optimizer_steps_are_rows_named_as_pytorch():
    x, w1, w2 = _inputs()
    opt = framework.optim.SGD([w1, w2], lr=0.1)
    with profile() as prof:
        _mlp_step(x, w1, w2)
        opt.step()
    assert "Optimizer.step#SGD.step" in {r.key for r in prof.key_averages()}
