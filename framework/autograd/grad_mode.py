"""Whether operations record the graph: one flag per thread, as in PyTorch (a `no_grad()`
inference thread must not stop a training thread from recording). `state.enabled` is
read on every op's hot path; a threading.local attribute is a cheap read."""
import functools
import threading


class _State(threading.local):
    enabled = True  # (a class default: every new thread starts with grad enabled)
    inference = False


state = _State()


def is_grad_enabled():
    return state.enabled


class _GradMode:
    """Context manager and decorator that sets the grad mode, restoring it on exit."""

    mode = True

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)() if type(self) is not set_grad_enabled else set_grad_enabled(self.mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    mode = False


class enable_grad(_GradMode):
    mode = True


class set_grad_enabled(_GradMode):
    """Like PyTorch: takes effect at once when called, and undoes itself on `with` exit."""

    def __init__(self, mode):
        self._prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __enter__(self):
        pass


def is_inference_mode_enabled():
    return state.inference


def is_inference(tensor):
    """Whether `tensor` was made under inference_mode (a view takes its base's answer)."""
    return tensor.__dict__.get("_inference", False)


class inference_mode(no_grad):
    """no_grad that also marks the tensors made inside as inference tensors (is_inference).
    The marking wraps Tensor._make only while some thread is in inference mode, so ops
    outside it pay nothing."""

    def __init__(self, mode=True):
        self.mode = not mode
        self._inference = bool(mode)

    def __enter__(self):
        self._prev_inference = state.inference
        state.inference = self._inference
        if self._inference:
            _marking(+1)
        super().__enter__()

    def __exit__(self, *exc):
        if self._inference:
            _marking(-1)
        state.inference = self._prev_inference
        return super().__exit__(*exc)


_marking_lock = threading.Lock()
_marking_depth = [0, None]  # threads inside inference mode, the unwrapped Tensor._make


def _marking(step):
    from framework.tensor import Tensor
    with _marking_lock:
        depth, plain = _marking_depth
        if depth == 0 and step > 0:
            plain = Tensor.__dict__["_make"].__func__

            def _make(data, dtype, device, base=None):
                t = plain(data, dtype, device, base)
                if state.inference and (base is None or base.__dict__.get("_inference", False)):
                    t.__dict__["_inference"] = True
                return t
            Tensor._make = staticmethod(_make)
        elif depth + step == 0:
            Tensor._make = staticmethod(plain)
        _marking_depth[:] = [depth + step, plain]
