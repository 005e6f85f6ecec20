"""Anomaly detection for the autograd engine (torch.autograd.detect_anomaly).

While enabled, every recorded node keeps the Python stack of the forward call that made
it (`record`, called by function._connect), and the engine runs each backward through
`checked` (engine.run_backward): a backward that raises, or returns nan with
`check_nan`, first warns with that stack, PyTorch's "Error detected in ..." warning, then
the error propagates. The state is one process-wide flag, as PyTorch's: when it is off
the whole cost is one flag read per recorded node and one per backward call.
"""
import os
import threading
import traceback
import warnings

__all__ = ["detect_anomaly", "set_detect_anomaly"]

enabled = False
check_nan = True
_running = threading.local()  # .node: the node whose backward is running (the parent of the nodes it records)
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def is_anomaly_enabled():
    return enabled


def is_anomaly_check_nan_enabled():
    return check_nan


def set_anomaly_enabled(enabled, check_nan=True):
    """torch.set_anomaly_enabled(enabled, check_nan=True)."""
    _set(bool(enabled), bool(check_nan))


def _set(on, nan):
    global enabled, check_nan
    enabled, check_nan = on, nan


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on; warns that it is slow,
    as PyTorch does. (PyTorch 2.13's own detect_anomaly is a context manager only.)"""

    def __init__(self, check_nan=True):
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", stacklevel=2)

    def __enter__(self):
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args):
        set_anomaly_enabled(self.prev, self.prev_check_nan)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = enabled, check_nan
            _set(True, self.check_nan)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(*prev)
        return wrapper


class set_detect_anomaly:
    """Sets anomaly detection on or off at once; as a context manager, restores it on exit."""

    def __init__(self, mode, check_nan=True):
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *args):
        set_anomaly_enabled(self.prev, self.prev_check_nan)


def record(node):
    """Remember where `node` was made: the caller's frames, without the framework's own
    innermost ones (PyTorch's trace of a built-in op ends at the user's line too), and the
    node whose backward made it when this runs inside a backward (create_graph)."""
    frames = traceback.extract_stack()
    while frames and frames[-1].filename.startswith(_PACKAGE):
        frames.pop()
    node._anomaly_trace = traceback.format_list(frames)
    node._anomaly_parent = getattr(_running, "node", None)


def _warn_trace(node):
    """PyTorch's warnings for a failing node: its forward trace, then each parent's."""
    trace = getattr(node, "_anomaly_trace", None)
    if trace is None:
        warnings.warn(f"Error detected in {node.name()}. No forward pass information available. Enable detect "
                      "anomaly during forward pass for more information.", stacklevel=2)
        return
    warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
                  + "".join(trace), stacklevel=2)
    parent = node._anomaly_parent
    while parent is not None:
        warnings.warn(f"\n\nPrevious calculation was induced by {parent.name()}. Traceback of forward call that "
                      "induced the previous calculation:\n" + "".join(getattr(parent, "_anomaly_trace", ())),
                      stacklevel=2)
        parent = getattr(parent, "_anomaly_parent", None)


def _check_nan(node, outs):
    from framework.autograd import grad_mode
    from framework.tensor import Tensor
    prev = grad_mode.state.enabled
    grad_mode.state.enabled = False
    try:
        for i, g in enumerate(outs):
            if isinstance(g, Tensor) and (g.dtype.is_floating_point or g.dtype.is_complex) and \
                    bool(g.isnan().any()):
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
    finally:
        grad_mode.state.enabled = prev


def checked(call_backward):
    """`call_backward(node, grads)` as the engine runs it while anomaly mode is on."""
    def call(node, grads):
        prev = getattr(_running, "node", None)
        _running.node = node
        try:
            outs = call_backward(node, grads)
            if check_nan:
                _check_nan(node, outs)
            return outs
        except Exception:
            _warn_trace(node)
            raise
        finally:
            _running.node = prev
    return call
