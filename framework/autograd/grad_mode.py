"""Whether operations record the graph. One module-level flag: reading it is
the cheapest check on every op's hot path."""
import functools

enabled = True


def is_grad_enabled():
    return enabled


class _GradMode:
    """Context manager and decorator that sets the grad mode, restoring it on exit."""

    mode = True

    def __enter__(self):
        global enabled
        self._prev = enabled
        enabled = self.mode

    def __exit__(self, *exc):
        global enabled
        enabled = self._prev
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
        global enabled
        self._prev = enabled
        self.mode = bool(mode)
        enabled = self.mode

    def __enter__(self):
        pass


class inference_mode(no_grad):
    def __init__(self, mode=True):
        self.mode = not mode
