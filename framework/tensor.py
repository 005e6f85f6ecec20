"""Tensor: a handle to a backend array plus dtype, device and autograd state.

The array is the storage *and* the view: on the CPU it is a NumPy array, whose
strided views share memory exactly like PyTorch's views. Views and `detach()`
share a version counter (`_version_box`), which in-place ops bump so that a
backward needing an overwritten value can refuse. Operations live in
`framework.ops`; most Tensor methods are those functions bound as methods
(framework/_methods.py; framework/tensor.pyi declares them all for type checkers).

Autograd sits above this module: the methods that need it (backward, register_hook)
import it when called, so importing Tensor never imports autograd.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from framework import dtypes as _dt
from framework.device import as_device

if TYPE_CHECKING:
    from framework.device import device as _device


_new = object.__new__


class Tensor:
    __slots__ = ("_data", "dtype", "device", "_requires_grad", "_grad", "grad_fn", "_output_nr",
                 "_version_box", "_base", "_accumulator", "_retains_grad", "__weakref__", "__dict__")
    __array_priority__ = 1000  # NumPy defers `ndarray + tensor` to our __radd__
    # The slots' types, for framework/tensor.pyi (annotations only: no class attributes).
    _data: Any  # the backend's array
    dtype: _dt.dtype
    device: _device
    _requires_grad: bool
    _grad: Tensor | None
    grad_fn: Any  # a framework.autograd.function.Node, or None for a leaf
    _output_nr: int
    _version_box: list[int]
    _base: Tensor | None
    _accumulator: Any
    _retains_grad: bool

    def __init__(self, *args, dtype=None, device=None, requires_grad=False) -> None:
        """`Tensor(data)` (float32, like torch.Tensor) or `Tensor(*sizes)` (uninitialised)."""
        from framework.ops.creation import _array_from_data
        dev = as_device(device)
        dt = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
        if len(args) == 1 and not isinstance(args[0], int):
            data = _array_from_data(args[0], dt, dev)
        elif all(isinstance(a, int) for a in args):
            data = dev.backend.empty(args, dt.np)
        else:
            raise TypeError(f"Tensor(): expected data or int sizes, got {args!r}")
        self._init(data, dt, dev)
        if requires_grad:
            self.requires_grad = True

    def _init(self, data, dtype, device, base=None, version_box=None) -> None:
        self._data = data
        self.dtype = dtype
        self.device = device
        self._requires_grad = False
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version_box = version_box if version_box is not None else [0]
        self._base = base
        self._accumulator = None
        self._retains_grad = False

    @staticmethod
    def _make(data, dtype, device, base=None) -> Tensor:
        """Wrap a backend array (the fast constructor every op uses; a staticmethod, as a
        classmethod's binding costs a tenth of it)."""
        t = _new(Tensor)
        t._data = data
        t.dtype = dtype
        t.device = device
        t._requires_grad = False
        t._grad = None
        t.grad_fn = None
        t._output_nr = 0
        t._version_box = base._version_box if base is not None else [0]
        t._base = base
        t._accumulator = None
        t._retains_grad = False
        return t

    # ------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if value and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(value)

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward (None until one is)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        """Assigning a gradient checks it as PyTorch does: a Tensor (or None) of this tensor's
        shape, dtype and device; an optimizer would otherwise read past or misread it."""
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of "
                                   f"size '{list(self.shape)}'. Please ensure that the gradient and the tensor are "
                                   f"the same size")
            if value.dtype is not self.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype '{value.dtype}' to a tensor with "
                                   f"dtype '{self.dtype}'. The gradient must match the tensor's dtype")
            if value.device != self.device:
                raise RuntimeError(f"attempting to assign a gradient with device '{value.device}' to a tensor with "
                                   f"device '{self.device}'. Please ensure that the gradient and the tensor are on "
                                   f"the same device")
        self._grad = value

    def requires_grad_(self, requires_grad=True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._version_box[0]

    def _bump_version(self) -> None:
        self._version_box[0] += 1

    def _grad_accumulator(self) -> Any:
        """This leaf's AccumulateGrad node (framework.autograd.function.grad_accumulator)."""
        from framework.autograd.function import grad_accumulator
        return grad_accumulator(self)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        from framework.autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook) -> Any:
        """Call `hook(grad)` when this tensor's gradient is computed; it may return a replacement."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node = self.grad_fn if self.grad_fn is not None else self._grad_accumulator()
        return node.register_prehook(self._output_nr, hook)

    def register_post_accumulate_grad_hook(self, hook) -> Any:
        """Call `hook(self)` after backward has accumulated into this leaf's `.grad` (the engine
        runs them, framework/autograd/engine.py); DistributedDataParallel starts its all-reduce here."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        from framework.nn.modules.module import RemovableHandle
        from collections import OrderedDict  # (a dict subclass, which the handle can reference weakly)
        hooks = self.__dict__.setdefault("_post_accumulate_grad_hooks", OrderedDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in `.grad` (after its hooks have run, as PyTorch)."""
        if self.grad_fn is None or self._retains_grad:
            return
        import weakref
        node = self.grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def detach(self) -> Tensor:
        """Same storage and version counter, out of the graph."""
        return Tensor._make(self._data, self.dtype, self.device, base=self)

    def detach_(self) -> Tensor:
        if self._base is not None and self._base.requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def _detached_owned(self) -> Tensor:
        """This gradient as a `.grad` that aliases nothing: the tensor itself when no one
        else can reach it or its memory (PyTorch's rule too), else a copy.

        Called by the engine, where the tensor is referenced by the engine's list, the
        caller's argument, `self` and getrefcount's argument (4), and its array by `_data`,
        the local `data` and getrefcount's argument (3). Any other holder (a second graph
        edge, the user's variable, a view) raises a count and forces the copy."""
        data = self._data
        if type(data) is np.ndarray and self.grad_fn is None and not self._requires_grad \
                and sys.getrefcount(self) <= 4 and sys.getrefcount(data) <= 3 and _owns_memory(data):
            return self
        return Tensor._make(self.device.backend.copy(data), self.dtype, self.device)

    def _accumulate_(self, other) -> None:
        """self += other in place, outside autograd (for .grad accumulation)."""
        b = self.device.backend
        if self.dtype._low:  # computed in float32 and rounded (framework/autograd/low_precision.py)
            b.copy_(self._data, (self.detach() + other.detach())._data)
        else:
            b.binary("add", self._data, other._data, out=self._data)
        self._bump_version()

    @property
    def data(self) -> Tensor:
        return Tensor._make(self._data, self.dtype, self.device)

    @data.setter
    def data(self, value) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data
        self.dtype = value.dtype
        self.device = value.device

    # ------------------------------------------------------------ metadata
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None) -> Any:  # Size, or an int for one dim
        shape = self._data.shape
        if dim is None:
            return Size(shape)
        return shape[_wrap_dim(dim, len(shape))]

    def dim(self) -> int:
        return self._data.ndim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def ndimension(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self.dtype.itemsize

    def stride(self, dim=None) -> Any:  # a tuple, or an int for one dim
        s = self.device.backend.strides(self._data)
        return s if dim is None else s[_wrap_dim(dim, len(s))]

    def is_contiguous(self, memory_format=None) -> bool:
        return self.device.backend.is_contiguous(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    @property
    def is_mps(self) -> bool:  # (device probes in PyTorch code; no such device here)
        return False

    @property
    def is_xpu(self) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        return self.device.type == "meta"

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def get_device(self) -> int:
        return -1 if self.device.type == "cpu" or self.device.index is None else self.device.index

    @property
    def T(self) -> Tensor:
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    # ------------------------------------------------------------ conversions
    def numpy(self, force=False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.device.type == "meta":
            raise TypeError("can't convert meta device type tensor to numpy. Use Tensor.cpu() to copy the tensor to "
                            "host memory first.")
        return self.device.backend.to_host(self._data)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = self.device.backend.to_host(self._data)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def item(self) -> int | float | bool:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        if self.device.type == "meta":
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        return self.device.backend.to_host(self._data).reshape(()).item()

    def tolist(self) -> Any:
        return self.device.backend.to_host(self._data).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.dtype is _dt.bool_:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from framework._format import format_tensor
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec) -> str:
        if self.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol) -> tuple:
        return (_rebuild, (self.numpy(force=True).copy(), self.dtype.name, str(self.device), self.requires_grad))

    def __deepcopy__(self, memo) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol")
        new = type(self).__new__(type(self))
        Tensor._init(new, self.device.backend.copy(self._data), self.dtype, self.device)
        new._requires_grad = self._requires_grad
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        if hasattr(self, "__dict__"):
            import copy
            for k, v in self.__dict__.items():
                setattr(new, k, copy.deepcopy(v, memo))
        memo[id(self)] = new
        return new


def _owns_memory(data) -> bool:
    """True for an array that is its memory's only way in: no base, or a contiguous view
    (a reshape of a fresh kernel output) whose base nothing else holds."""
    base = data.base
    if base is None:
        return True
    return type(base) is np.ndarray and base.base is None and data.flags.c_contiguous \
        and sys.getrefcount(base) <= 3  # the view's .base, the local `base`, getrefcount's argument


def _rebuild(array, dtype_name, device, requires_grad) -> Tensor:
    from framework.ops.creation import tensor
    return tensor(array, dtype=_dt.as_dtype(dtype_name), device=device, requires_grad=requires_grad)


class Size(tuple):
    """torch.Size: a tuple of ints that prints like PyTorch's."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(map(str, self))}])"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


def _wrap_dim(dim, ndim) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim
