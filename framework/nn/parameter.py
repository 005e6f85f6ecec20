"""nn.Parameter: a Tensor that a Module registers as a parameter when assigned; Buffer, its
counterpart for buffers; and the uninitialised placeholders of lazy modules."""
from framework.tensor import Tensor

__all__ = ["Parameter", "UninitializedParameter", "is_lazy", "Buffer", "UninitializedBuffer",
           "UninitializedTensorMixin"]


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

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach(), self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class _BufferMeta(type):
    def __instancecheck__(cls, instance):
        if cls is Buffer and isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False):
            return True
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """`module.x = Buffer(t)` registers t as a buffer (persistent unless persistent=False).
    Like PyTorch's, this returns a plain Tensor marked as a buffer."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from framework.ops.creation import empty
            data = empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = t._buffer_persistent = persistent  # (Module.__setattr__ reads _buffer_persistent)
        t._is_buffer = True
        return t


class UninitializedTensorMixin:
    """A placeholder of unknown shape that a lazy module materialises on its first forward."""

    def materialize(self, shape, device=None, dtype=None):
        """Give the placeholder `shape` (uninitialised memory) and make it a cls_to_become."""
        from framework.ops.creation import empty
        device = self.device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        self.data = empty(tuple(shape) if not isinstance(shape, int) else (shape,), device=device, dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. This error usually "
                           "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
                           "initialized one. Call `forward` to initialize the parameters before accessing their "
                           "attributes.")

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
                           "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{self.__class__.__name__}>"

    def _moved(self, moved):
        """The placeholder with moved's device and dtype (a conversion keeps it a placeholder)."""
        if moved.device == self.device and moved.dtype == self.dtype:
            return self
        out = type(self)(requires_grad=self.requires_grad, device=moved.device, dtype=moved.dtype)
        if hasattr(self, "persistent"):
            out.persistent = out._buffer_persistent = self.persistent
        return out

    def to(self, *args, **kwargs):
        return self._moved(Tensor.to(self, *args, **kwargs))

    def cuda(self, *args, **kwargs):
        return self._moved(Tensor.cuda(self, *args, **kwargs))

    def cpu(self):
        return self._moved(Tensor.cpu(self))

    def float(self):
        return self._moved(Tensor.float(self))

    def double(self):
        return self._moved(Tensor.double(self))

    def half(self):
        return self._moved(Tensor.half(self))

    def __reduce_ex__(self, proto):
        return (self.__class__, (self.requires_grad,))


def is_lazy(param):
    """Whether param is an uninitialised placeholder of a lazy module."""
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        from framework.ops.creation import empty
        super().__init__(empty(0, device=device, dtype=dtype), requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.requires_grad, self.device, self.dtype)
        memo[id(self)] = result
        return result


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        from framework.ops.creation import empty
        data = empty(0, device=device, dtype=dtype)
        self._init(data._data, data.dtype, data.device)
        self.requires_grad = requires_grad
        self.persistent = self._buffer_persistent = persistent
        self._is_buffer = True
