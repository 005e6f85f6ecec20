"""Whether operations record the graph: one flag per thread, as in PyTorch (a `no_grad()`
inference thread must not stop a training thread from recording). `state.enabled` is
read on every op's hot path; a threading.local attribute is a cheap read."""
import functools
import threading


class _State(threading.local):
    enabled = True  # (a class default: every new thread starts with grad enabled)


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


class inference_mode(no_grad):
    def __init__(self, mode=True):
        self.mode = not mode
