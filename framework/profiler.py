"""torch.profiler for the framework's ops: which ops ran, how often, and where the time went.

    with framework.profiler.profile() as prof:
        train_step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

Every op is timed where it enters the graph machinery (`Function.apply`: forward rows carry
the Function's name, e.g. "Mul", "Linear") and every backward node where the engine calls it
("MulBackward0"). Self time excludes the ops and `record_function` blocks nested inside;
total time includes them. Numba compilation (and loading compiled code from the cache) on an
op's first calls is measured apart, in the "Compile" column, and left out of the op's times:
a first step is then not mistaken for slow kernels.

While no profiler runs, nothing is hooked: `profile` swaps the two entry points in on start
and puts the originals back on stop, so an idle profiler costs nothing. CUDA kernels run
asynchronously; with ProfilerActivity.CUDA each op on a CUDA tensor is followed by a
synchronisation, so its time includes its kernels (and the ops run slower than unprofiled).
"""
import collections
import contextlib
import enum
import json
import os
import socket
import threading
import time

from numba.core import event as _numba_event

from framework.autograd import engine as _engine
from framework.autograd.function import Function
from framework.tensor import Tensor

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """PyTorch's step schedule: skip `skip_first` steps, then cycles of `wait` idle, `warmup`
    hooked but discarded and `active` recorded steps (the last of which saves), `repeat` times
    (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError("Invalid profiler schedule arguments")
    cycle = wait + warmup + active

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An on_trace_ready callback writing each saved cycle as a Chrome trace into `dir_name`."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{name}.{time.time_ns()}.pt.trace.json")
        if use_gzip:
            import gzip
            data = json.dumps(prof._trace()).encode()
            with gzip.open(path + ".gz", "wb") as f:
                f.write(data)
        else:
            prof.export_chrome_trace(path)
    return handler


# ----------------------------------------------------------------- recording


class _CompileClock(_numba_event.Listener):
    """Seconds Numba held its compiler lock: compiling, and loading compiled code from its cache
    (outermost events only; nested ones are inside them)."""

    def __init__(self):
        self.seconds = 0.0
        self._depth = 0
        self._start = 0.0

    def on_start(self, event):
        if self._depth == 0:
            self._start = time.perf_counter()
        self._depth += 1

    def on_end(self, event):
        self._depth -= 1
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._start


class FunctionEvent:
    """One op call: name, start and duration (us, compilation left out), self time, the compile
    time of the call itself (not of the ops nested in it), input shapes."""
    __slots__ = ("name", "start_us", "duration_us", "self_us", "compile_us", "input_shapes", "thread")

    def __init__(self, name, start_us, duration_us, self_us, compile_us, input_shapes, thread):
        self.name, self.start_us, self.duration_us = name, start_us, duration_us
        self.self_us, self.compile_us, self.input_shapes, self.thread = self_us, compile_us, input_shapes, thread

    key = property(lambda self: self.name)
    cpu_time_total = property(lambda self: self.duration_us)
    self_cpu_time_total = property(lambda self: self.self_us)

    def __repr__(self):
        return f"<FunctionEvent {self.name} {self.duration_us:.1f}us>"


class _Frame:
    __slots__ = ("start", "children", "compile_start", "children_compile")

    def __init__(self, start, compile_start):
        self.start, self.children, self.compile_start, self.children_compile = start, 0.0, compile_start, 0.0


class _Recorder:
    """The active profiler's clock: a stack of open frames per thread and the finished events."""

    def __init__(self, record_shapes, sync_cuda):
        self.events = []
        self.record_shapes = record_shapes
        self.sync_cuda = sync_cuda
        self.clock = _CompileClock()
        self.origin = time.perf_counter()
        self.local = threading.local()
        self.keep = True  # False during warmup steps: hooked, but nothing is kept

    def stack(self):
        s = getattr(self.local, "stack", None)
        if s is None:
            s = self.local.stack = []
        return s

    def enter(self):
        frame = _Frame(time.perf_counter(), self.clock.seconds)
        self.stack().append(frame)
        return frame

    def leave(self, frame, name, shapes, outputs=None):
        if self.sync_cuda and _on_cuda(outputs):
            from framework.cuda import synchronize
            synchronize()
        end = time.perf_counter()
        stack = self.stack()
        stack.pop()
        compiled = self.clock.seconds - frame.compile_start
        elapsed = end - frame.start - compiled
        if stack:
            stack[-1].children += elapsed
            stack[-1].children_compile += compiled
        if self.keep:  # compile time is the frame's own, as self time is (so the column adds up)
            self.events.append(FunctionEvent(name, (frame.start - self.origin) * 1e6, elapsed * 1e6,
                                             (elapsed - frame.children) * 1e6, (compiled - frame.children_compile) * 1e6,
                                             shapes, threading.get_ident()))


def _on_cuda(outputs):
    if isinstance(outputs, Tensor):
        return outputs.device.type == "cuda"
    if isinstance(outputs, (tuple, list)):
        return any(isinstance(o, Tensor) and o.device.type == "cuda" for o in outputs)
    return False


_active = [None]  # the recorder of the running profiler (one at a time, as PyTorch)
_original_apply_descriptor = Function.__dict__["apply"]
_original_apply = _original_apply_descriptor.__func__
_original_call_backward = _engine._call_backward


def _shapes(args):
    return tuple(tuple(a.shape) for a in args if isinstance(a, Tensor))


def _profiled_apply(cls, *args):
    rec = _active[0]
    frame = rec.enter()
    out = None
    try:
        out = _original_apply(cls, *args)
        return out
    finally:
        rec.leave(frame, cls.__name__, _shapes(args) if rec.record_shapes else (), out)


def _profiled_call_backward(node, grads):
    rec = _active[0]
    frame = rec.enter()
    out = None
    try:
        out = _original_call_backward(node, grads)
        return out
    finally:
        rec.leave(frame, node.name(), _shapes(grads) if rec.record_shapes else (), out)


def _install(recorder):
    if _active[0] is not None:
        raise RuntimeError("Profiler is already enabled on this thread")
    _active[0] = recorder
    _numba_event.register("numba:compiler_lock", recorder.clock)
    Function.apply = classmethod(_profiled_apply)
    _engine._call_backward = _profiled_call_backward


def _uninstall(recorder):
    if _active[0] is not recorder:
        return
    Function.apply = _original_apply_descriptor
    _engine._call_backward = _original_call_backward
    _numba_event.unregister("numba:compiler_lock", recorder.clock)
    _active[0] = None


class record_function(contextlib.ContextDecorator):
    """A labelled block of the user's code, a row of its own (its total includes the ops inside)."""

    def __init__(self, name, args=None):
        self.name = name
        self._frame = None

    def __enter__(self):
        rec = _active[0]
        if rec is not None:
            self._frame = (rec, rec.enter())
        return self

    def __exit__(self, *exc):
        if self._frame is not None:
            rec, frame = self._frame
            rec.leave(frame, self.name, ())
            self._frame = None
        return False


# ----------------------------------------------------------------- results


class FunctionEventAvg:
    """All calls of one op (or one op and input shapes): counts and times in microseconds."""

    def __init__(self, key, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = self.compile_time_total = 0.0

    def add(self, e):
        self.count += 1
        self.cpu_time_total += e.duration_us
        self.self_cpu_time_total += e.self_us
        self.compile_time_total += e.compile_us

    @property
    def cpu_time(self):
        return self.cpu_time_total / max(self.count, 1)

    @property
    def self_cpu_time(self):
        return self.self_cpu_time_total / max(self.count, 1)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.1f}us "
                f"cpu_time={self.cpu_time_total:.1f}us count={self.count}>")


_SORT_KEYS = {"cpu_time_total": "cpu_time_total", "self_cpu_time_total": "self_cpu_time_total",
              "cpu_time": "cpu_time", "self_cpu_time": "self_cpu_time", "count": "count",
              "compile_time_total": "compile_time_total",
              # device columns: the CUDA time is inside the CPU time here (see the module docstring)
              "cuda_time_total": "cpu_time_total", "self_cuda_time_total": "self_cpu_time_total",
              "device_time_total": "cpu_time_total", "self_device_time_total": "self_cpu_time_total"}


def _us(v):
    if v >= 1e6:
        return f"{v / 1e6:.3f}s"
    if v >= 1e3:
        return f"{v / 1e3:.3f}ms"
    return f"{v:.3f}us"


class EventList(list):
    """key_averages()'s rows, and their table."""

    def __init__(self, rows, self_total):
        super().__init__(rows)
        self._self_total = self_total

    @property
    def self_cpu_time_total(self):
        return self._self_total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False):
        rows = list(self)
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise AttributeError(f"sort_by must be one of {sorted(_SORT_KEYS)}, got {sort_by!r}")
            rows.sort(key=lambda r: getattr(r, _SORT_KEYS[sort_by]), reverse=True)
        if row_limit is not None and row_limit >= 0:
            rows = rows[:row_limit]
        shapes = any(r.input_shapes for r in rows)
        total = self._self_total or 1.0
        heads = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "Compile",
                 "# of Calls"] + (["Input Shapes"] if shapes else [])
        lines = []
        for r in rows:
            cells = [r.key[:max_name_column_width], f"{100 * r.self_cpu_time_total / total:.2f}%",
                     _us(r.self_cpu_time_total), f"{100 * r.cpu_time_total / total:.2f}%", _us(r.cpu_time_total),
                     _us(r.cpu_time), _us(r.compile_time_total), str(r.count)]
            if shapes:
                cells.append(str([list(s) for s in r.input_shapes or ()])[:max_shapes_column_width])
            lines.append(cells)
        widths = [max([len(h)] + [len(c[i]) for c in lines]) for i, h in enumerate(heads)]
        rule = "  ".join("-" * w for w in widths)
        fmt = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        out = ([header] if header else []) + [rule, fmt(heads), rule] + [fmt(c) for c in lines] + [rule]
        out.append(f"Self CPU time total: {_us(self._self_total)}")
        compile_total = sum(r.compile_time_total for r in self)
        out.append(f"Compile time total (Numba, first calls; outside the times above): {_us(compile_total)}")
        return "\n".join(out) + "\n"

    def __str__(self):
        return self.table()


class profile:
    """torch.profiler.profile (and torch.autograd.profiler.profile): a context manager, or
    start()/stop(), with `schedule`/`step()` and `on_trace_ready` as PyTorch's."""

    def __init__(self, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False, use_cuda=None,
                 custom_trace_id_callback=None, *, enabled=True, use_device=None, use_cpu=True, use_kineto=False):
        activities = set(activities) if activities is not None else {ProfilerActivity.CPU}
        if use_cuda or use_device == "cuda":
            activities.add(ProfilerActivity.CUDA)
        self.activities = activities
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self._recorder = None
        self._events = []

    # ---- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _action(self):
        return self.schedule(self.step_num) if self.schedule else ProfilerAction.RECORD

    def _open(self, keep):
        if self._recorder is None:
            self._recorder = _Recorder(self.record_shapes, ProfilerActivity.CUDA in self.activities)
            _install(self._recorder)
        self._recorder.keep = keep

    def _close(self, save):
        rec, self._recorder = self._recorder, None
        if rec is None:
            return
        _uninstall(rec)
        self._events = rec.events
        if save and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def _apply(self, action):
        if action is ProfilerAction.NONE:
            self._close(save=False)
        else:
            self._open(keep=action is not ProfilerAction.WARMUP)

    def start(self):
        if self.enabled:
            self._apply(self._action())

    def stop(self):
        if not self.enabled:
            return
        saving = self.schedule is None or self._action() in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        self._close(save=saving and self._recorder is not None)

    def step(self):
        """The end of one training step, for `schedule`."""
        if not self.enabled:
            return
        before = self._action()
        self.step_num += 1
        if before is ProfilerAction.RECORD_AND_SAVE:
            self._close(save=True)
        self._apply(self._action())

    # ---- results
    def events(self):
        return list(self._recorder.events if self._recorder else self._events)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        groups = collections.OrderedDict()
        for e in self.events():
            key = (e.name, e.input_shapes) if group_by_input_shape else e.name
            if key not in groups:
                groups[key] = FunctionEventAvg(e.name, e.input_shapes if group_by_input_shape else None)
            groups[key].add(e)
        return EventList(groups.values(), sum(e.self_us for e in self.events()))

    def _trace(self):
        pid = os.getpid()
        return {"traceEvents": [{"name": e.name, "ph": "X", "ts": e.start_us, "dur": e.duration_us, "pid": pid,
                                 "tid": e.thread, "cat": "cpu_op",
                                 "args": {"Input Dims": [list(s) for s in e.input_shapes],
                                          "compile us": e.compile_us}} for e in self.events()]}

    def export_chrome_trace(self, path):
        """The events as a Chrome trace (chrome://tracing, Perfetto)."""
        with open(path, "w") as f:
            json.dump(self._trace(), f)

    def table(self, *args, **kwargs):
        return self.key_averages().table(*args, **kwargs)
