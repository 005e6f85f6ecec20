"""nn.Parameter: a Tensor that a Module registers as a parameter when assigned."""
from framework.tensor import Tensor


class Parameter(Tensor):
    def __init__(self, data=None, requires_grad=True):
        if data is None:
            from framework.ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        # Share the storage (and version counter) of `data`, as PyTorch does.
        self._init(data._data, data.dtype, data.device, version_box=data._version_box)
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach(), self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marker type for `register_buffer`-by-assignment (torch.nn.Buffer)."""

    def __new__(cls, data, persistent=True):
        t = data.detach()
        t._buffer_persistent = persistent
        return t
