"""Tensor methods PyTorch has that are not a function's method form: the in-place variants of the
comparison, logical, bitwise and alias ops; in-place shape ops (t_, squeeze_, ...: the tensor
itself takes the view's shape and strides); resize_; the in-place samplers; Python-callable maps
(apply_, map_, map2_); memory and layout predicates; and the legacy constructors and
deprecated forms. (fill_diagonal_, narrow_copy, split_with_sizes, the unsafe_* splits and is_signed
are framework/ops/scatter_family.py's.) `bind()` sets them on Tensor (framework/_methods.py calls it).

Every in-place value op goes through framework.autograd.inplace, as every other in-place
method does; the samplers and comparisons write values that do not depend differentiably on
the tensor, so its gradient through them is zero (as PyTorch's EqBackward, ...)."""
import math
import numbers
import warnings

from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd.inplace import inplace
from framework.tensor import Size, Tensor

# ----------------------------------------------------------------- in-place forms of existing ops

# x.<name>_(...) == inplace(x, torch.<name>, ...): the op's result (broadcast to x's shape, cast to x's dtype)
VALUE_INPLACE = ("absolute", "divide", "multiply", "subtract", "true_divide", "negative", "bitwise_and", "bitwise_or",
                 "bitwise_xor", "bitwise_not", "conj_physical")
# ... and the comparisons: 1 or 0 in x's dtype, with a zero gradient (PyTorch's EqBackward, ...)
PREDICATE_INPLACE = ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
                     "not_equal")
# ... and the logical ops, which PyTorch does not differentiate at all: the values are written and the
# tensor's history is left as it was (even on a leaf that requires grad), so its gradient passes unchanged
UNTRACKED_INPLACE = ("logical_and", "logical_or", "logical_xor", "logical_not")


def _value_inplace(name):
    def method(self, *args, **kwargs):
        import framework
        op = getattr(framework, name)
        return inplace(self, lambda x, *a: op(x, *a, **kwargs), *args)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place `torch.{name}`."
    return method


def _predicate_inplace(name):
    def method(self, *args):
        import framework
        from framework._methods import _replaced
        op = getattr(framework, name)
        return inplace(self, lambda x, *a: _replaced(x, op(x, *a)), *args)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place `torch.{name}`: 1 or 0 in the tensor's dtype (a zero gradient)."
    return method


def _untracked_inplace(name):
    def method(self, *args):
        import framework
        op = getattr(framework, name)
        with grad_mode.no_grad():
            return inplace(self, op, *args)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place `torch.{name}`: 1 or 0 in the tensor's dtype; the tensor's history is unchanged."
    return method


def negative_(input):
    """torch.negative_(x): x.negative_()."""
    return input.negative_()


# ----------------------------------------------------------------- in-place shape ops


def _shape_inplace(name):
    def method(self, *args, **kwargs):
        recording = grad_mode.state.enabled and self._requires_grad
        if recording and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        view = getattr(Tensor, name)(self, *args, **kwargs)
        self._data = view._data
        self._version_box[0] += 1
        if recording:
            self.grad_fn, self._output_nr = view.grad_fn, view._output_nr
        return self
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"`x.{name}(...)` in place: the tensor itself takes the view's shape and strides."
    return method


SHAPE_INPLACE = ("squeeze", "unsqueeze", "t", "transpose", "swapaxes", "swapdims")


def _size_args(args, name):
    sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list, Size)) else tuple(args)
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__}")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: {list(sizes)}")
    return tuple(int(s) for s in sizes)


def resize_(self, *sizes, memory_format=None):
    """Give the tensor `sizes`, contiguous: the first elements are kept (in order) and a larger
    tensor's new elements are uninitialised. The tensor keeps its memory when it shrinks, and
    growing again within that memory finds the elements it had, as PyTorch's storage does.
    (PyTorch reinterprets the *storage*; for a non-contiguous tensor this keeps its elements in
    logical order instead.)"""
    sizes = _size_args(sizes, "resize_")
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    import framework
    n = math.prod(sizes)
    with grad_mode.no_grad():
        flat = self.detach().contiguous().reshape(-1)
        storage = self.__dict__.get("_resize_storage")  # what an earlier shrink kept beyond the elements
        if storage is not None and storage.device == self.device and storage.numel() > flat.numel() \
                and _address(storage) == _address(flat):
            flat = storage
        if n <= flat.shape[0]:
            self._data = flat[:n].reshape(sizes)._data
            self.__dict__["_resize_storage"] = flat if n < flat.shape[0] else None
        else:
            grown = framework.empty(n, dtype=self.dtype, device=self.device)
            grown[:flat.shape[0]] = flat
            self._data = grown.reshape(sizes)._data
            self._base = None
            self.__dict__["_resize_storage"] = None
    self._version_box[0] += 1
    return self


def resize_as_(self, the_template, memory_format=None):
    return resize_(self, tuple(the_template.shape))


def resize(self, *sizes):
    """Deprecated out-of-place resize: a reshape that must keep the number of elements."""
    warnings.warn("non-inplace resize is deprecated", stacklevel=2)
    return _autograd_resize(self, _size_args(sizes, "resize"))


def resize_as(self, tensor):
    warnings.warn("non-inplace resize_as is deprecated", stacklevel=2)
    return _autograd_resize(self, tuple(tensor.shape))


def _autograd_resize(self, sizes):
    if math.prod(sizes) != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(map(str, sizes))} ({math.prod(sizes)} elements in total), "
                           f"but the given tensor has a size of {'x'.join(map(str, self.shape))} ({self.numel()} "
                           "elements). autograd's resize can only change the shape of a given tensor, while "
                           "preserving the number of elements. ")
    return self.contiguous().reshape(sizes)


# ----------------------------------------------------------------- in-place samplers


def _uniform(self, generator):
    """U[0, 1) draws of the tensor's shape, in its dtype (float64 for an integer tensor)."""
    import framework
    dtype = self.dtype if self.dtype.is_floating_point else _dt.float64
    return framework.rand(tuple(self.shape), generator=generator, dtype=dtype, device=self.device)


def _write(self, sample):
    """Write `sample` into self through autograd's in-place path (a zero gradient for self)."""
    from framework._methods import _replaced
    return inplace(self, _replaced, sample)


def _need_float(self, name, what):
    """PyTorch's refusal of an integer tensor: RuntimeError for a continuous distribution named
    `what`, else NotImplementedError for the kernel `name`."""
    if self.dtype.is_floating_point:
        return
    if what:
        raise RuntimeError(f"{what} is a continuous probability distribution. dtype must be a floating point but you "
                           f"specified {_dt.scalar_name(self.dtype)}")
    raise NotImplementedError(f"\"{name}\" not implemented for '{_dt.scalar_name(self.dtype)}'")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """median + sigma * tan(pi * (u - 1/2))."""
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    _need_float(self, "cauchy_", "Cauchy distribution")
    with grad_mode.no_grad():
        sample = ((_uniform(self, generator) - 0.5) * math.pi).tan() * sigma + median
    return _write(self, sample)


def exponential_(self, lambd=1.0, *, generator=None):
    """-log(1 - u) / lambd."""
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    _need_float(self, "exponential_", "Exponential distribution")
    with grad_mode.no_grad():
        sample = (1 - _uniform(self, generator)).log() * (-1.0 / lambd)
    return _write(self, sample)


def geometric_(self, p, *, generator=None):
    """The number of Bernoulli(p) trials up to the first success: ceil(log(1 - u) / log(1 - p)), >= 1."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    if self.dtype is _dt.bool_:
        _need_float(self, "geometric_cpu", None)
    with grad_mode.no_grad():
        u = _uniform(self, generator)
        sample = ((1 - u).log() / math.log1p(-p)).ceil().clamp(min=1)
    return _write(self, sample)


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """exp(N(mean, std^2))."""
    import framework
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    _need_float(self, "log_normal_cpu", None)
    with grad_mode.no_grad():
        sample = (framework.randn(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device) * std
                  + mean).exp()
    return _write(self, sample)


def bernoulli_(self, p=0.5, *, generator=None):
    """1 with probability p (a number, or a tensor broadcast to self), else 0, in self's dtype."""
    if not isinstance(p, Tensor) and not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    with grad_mode.no_grad():
        prob = p.detach().to(self.device) if isinstance(p, Tensor) else p
        u = _uniform(self, generator)
        sample = u < (prob.to(u.dtype) if isinstance(prob, Tensor) else prob)
    return _write(self, sample)


_INT_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "int16": (-2 ** 15, 2 ** 15 - 1),
               "int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1), "bool": (0, 1)}
_MANTISSA = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


def random_(self, *args, generator=None):
    """random_(): integers in [0, 2^mantissa] (floats) or [0, max] (integers); random_(to): [0, to);
    random_(from, to): [from, to) (to=None: up to the dtype's largest)."""
    import framework
    if len(args) > 2:
        raise TypeError(f"random_() takes at most 2 positional arguments ({len(args)} given)")
    name = self.dtype.name
    top = 2 ** _MANTISSA[name] if name in _MANTISSA else _INT_RANGES.get(name, (0, 2 ** 63 - 1))[1]
    if not args:
        low, high = 0, top + 1
    elif len(args) == 1:
        low, high = 0, args[0]
    else:
        low, high = args[0], (args[1] if args[1] is not None else top + 1)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if name in _INT_RANGES and not (_INT_RANGES[name][0] <= low and high - 1 <= _INT_RANGES[name][1]):
        raise RuntimeError(f"{'from' if low < _INT_RANGES[name][0] else 'to - 1'} is out of bounds for {name}")
    high = min(high, 2 ** 63 - 1)
    with grad_mode.no_grad():
        sample = framework.randint(low, high, tuple(self.shape), generator=generator, dtype=_dt.int64,
                                   device=self.device)
    return _write(self, sample)


# ----------------------------------------------------------------- Python callables (CPU only)


def _host_values(self, name):
    if self.device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")
    if self._requires_grad and grad_mode.state.enabled:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() instead.")
    return self.detach().numpy().reshape(-1).tolist()


def _write_values(self, values):
    import framework
    with grad_mode.no_grad():
        kind = bool if self.dtype is _dt.bool_ else float if self.dtype.is_floating_point else \
            complex if self.dtype.is_complex else int
        data = framework.tensor([kind(v) for v in values], dtype=self.dtype).reshape(self.shape)
        self.copy_(data)
    return self


def apply_(self, callable):
    """self[i] = callable(self[i]) for every element, in Python (CPU only; slow)."""
    return _write_values(self, [callable(v) for v in _host_values(self, "apply_")])


def map_(self, tensor, callable):
    """self[i] = callable(self[i], tensor[i]), tensor broadcast to self (CPU only)."""
    mine = _host_values(self, "map_")
    other = tensor.detach().expand(self.shape).contiguous().numpy().reshape(-1).tolist()
    return _write_values(self, [callable(a, b) for a, b in zip(mine, other)])


def map2_(self, x, y, callable):
    """self[i] = callable(self[i], x[i], y[i]), x and y broadcast to self (CPU only)."""
    mine = _host_values(self, "map2_")
    xs, ys = (t.detach().expand(self.shape).contiguous().numpy().reshape(-1).tolist() for t in (x, y))
    return _write_values(self, [callable(a, b, c) for a, b, c in zip(mine, xs, ys)])


# ----------------------------------------------------------------- memory, layout and kind predicates


class layout:
    """torch.layout: framework's tensors are all strided."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


strided = layout("strided")


def share_memory_(self):
    """Marks the tensor shared (its memory is already what other threads of this process see;
    framework has no inter-process storage to move it to)."""
    self.__dict__["_shared"] = True
    return self


def is_shared(self):
    return self.device.type == "cuda" or self.__dict__.get("_shared", False)


def is_pinned(self, device=None):
    return self.__dict__.get("_pinned", False)


def pin_memory(self, device=None):
    """A page-locked copy for faster host-to-GPU copies (PyTorch's); needs a GPU."""
    import framework
    if not framework.cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    if self.device.type != "cpu":
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    if is_pinned(self):
        return self
    out = self.clone()
    out.__dict__["_pinned"] = True
    return out


def _address(t):
    """Where t's first element is (the backend's storage address plus t's offset in it)."""
    address, _, offset = t.device.backend.storage(t._data)
    return address + offset * t.dtype.itemsize


def is_set_to(self, tensor):
    """Same memory, device, shape and strides."""
    return (self.device == tensor.device and tuple(self.shape) == tuple(tensor.shape)
            and self.stride() == tensor.stride() and _address(self) == _address(tensor))


def dim_order(self, ambiguity_check=False):
    """The dims from outermost to innermost in memory (PyTorch's
    compute_elementwise_output_logical_to_physical_perm); ambiguity_check=True raises where two
    orders describe the memory equally (size-1 dims, equal strides)."""
    if not isinstance(ambiguity_check, bool):
        raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
    shape, strides, ndim = tuple(self.shape), self.stride(), self.ndim
    if ambiguity_check and (any(a == b for a, b in zip(strides, strides[1:])) or any(s == 1 for s in shape)):
        raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the given memory "
                           "formats.")
    if ndim <= 1:
        return tuple(range(ndim))
    if self.is_contiguous():
        return tuple(range(ndim))

    def ge(a, b):
        return True if b == 0 else False if a == 0 else a >= b or a % b == 0

    def should_swap(a, b):
        sa, sb = strides[a], strides[b]
        if sa == 0 or sb == 0:
            return 0
        if sa == sb:
            return 0 if ge(shape[b], shape[a]) else 1
        return -1 if ge(sb, sa) else 1 if ge(sa, sb) else 0

    perm = list(reversed(range(ndim)))
    for i in range(1, ndim):
        dim1 = i
        for dim0 in reversed(range(i)):
            comparison = should_swap(perm[dim0], perm[dim1])
            if comparison > 0:
                perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
                dim1 = dim0
            elif comparison < 0:
                break
    return tuple(reversed(perm))


def record_stream(self, stream):
    """Nothing to do: framework frees a tensor's memory when the tensor goes, not by stream."""


def as_subclass(self, cls):
    """A `cls` instance on the same memory, attached to the same graph (an alias of self)."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not possible. "
                        "Make sure your class inherits from Tensor.")
    out = self.view_as(self)
    out.__class__ = cls
    return out


def new(self, *args, device=None):
    """Legacy constructor: `x.new()` (empty), `x.new(2, 3)` or `x.new(torch.Size)` (uninitialised),
    `x.new(data)` (a tensor of data); x's dtype, x's device unless given."""
    import framework
    device = self.device if device is None else device
    if not args:
        return framework.empty(0, dtype=self.dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        raise TypeError("new(): expected sizes or data, got a Tensor (use x.new_tensor(data) or t.clone())")
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args) or \
            (len(args) == 1 and isinstance(args[0], Size)):
        return framework.empty(*_size_args(args, "new"), dtype=self.dtype, device=device)
    if len(args) == 1:
        return framework.tensor(args[0], dtype=self.dtype, device=device)
    raise TypeError(f"new(): expected sizes or one sequence of data, got {args!r}")


# ----------------------------------------------------------------- other gaps


def nonzero_static(self, *, size, fill_value=-1):
    """nonzero() as exactly `size` rows: truncated, or padded with fill_value."""
    import framework
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, but got size = {size}")
    found = self.nonzero()
    if found.shape[0] >= size:
        return found[:size].clone()
    pad = framework.full((size - found.shape[0], self.ndim), fill_value, dtype=_dt.int64, device=self.device)
    return framework.cat([found, pad])


def _contains(self, element):
    if isinstance(element, Tensor) or isinstance(element, numbers.Number):
        return bool((self == element).any().item())
    raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(element)}.")


def _reversed(self):
    return self if self.ndim == 0 else self.flip(0)


def _delitem(self, key):
    raise TypeError("Tensor does not support deleting items")


def _volatile(self):
    warnings.warn("volatile was removed (Variable.volatile is always False)", stacklevel=2)
    return False


_FALSE_PROPERTIES = ("is_sparse", "is_sparse_csr", "is_quantized", "is_nested", "is_mkldnn", "is_vulkan", "is_xla",
                     "is_ipu", "is_mtia", "is_maia")


def bind():
    """Set every method above on Tensor."""
    for name in VALUE_INPLACE:
        setattr(Tensor, name + "_", _value_inplace(name))
    for name in PREDICATE_INPLACE:
        setattr(Tensor, name + "_", _predicate_inplace(name))
    for name in UNTRACKED_INPLACE:
        setattr(Tensor, name + "_", _untracked_inplace(name))
    for name in SHAPE_INPLACE:
        setattr(Tensor, name + "_", _shape_inplace(name))
    for fn in (resize_, resize_as_, resize, resize_as, cauchy_, exponential_, geometric_, log_normal_, bernoulli_,
               random_, apply_, map_, map2_, share_memory_, is_shared, is_pinned, pin_memory, is_set_to, dim_order,
               record_stream, as_subclass, new, nonzero_static):
        setattr(Tensor, fn.__name__, fn)
    Tensor.__contains__ = _contains
    Tensor.__reversed__ = _reversed
    Tensor.__delitem__ = _delitem
    Tensor.__complex__ = lambda self: complex(self.item())
    Tensor.__ixor__ = Tensor.bitwise_xor_
    Tensor.is_neg = lambda self: False
    Tensor.resolve_neg = lambda self: self
    Tensor.is_distributed = lambda self: False
    Tensor.output_nr = property(lambda self: self._output_nr)
    Tensor.layout = property(lambda self: strided)
    Tensor.name = property(lambda self: None)
    Tensor.volatile = property(_volatile)
    for name in _FALSE_PROPERTIES:
        setattr(Tensor, name, property(lambda self: False))
