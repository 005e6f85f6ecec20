"""torch.library.custom_op: a user's own kernel (`@njit`, `@cuda.jit`, or any Python) as an op.

    @framework.library.custom_op("mylib::scaled_sin", mutates_args=())
    def scaled_sin(x: Tensor, scale: float) -> Tensor:        # the kernel for every device ...
        out = framework.empty_like(x)
        sin_kernel(framework.library.as_array(x), scale, framework.library.as_array(out))   # an @njit loop
        return out

    @scaled_sin.register_kernel("cuda")                          # ... or one per device type
    def _(x, scale): ...

    scaled_sin.register_autograd(backward, setup_context=setup_context)
    scaled_sin.register_fake(lambda x, scale: framework.empty_like(x))   # shapes, on the meta device

The op is one autograd `Function` (its backward the registered formula), so it is recorded by
framework.export's capture as one node named "mylib::scaled_sin": `framework.compile` runs it as
an opaque node between fused kernels, `framework.export` saves it (the loading process must
define the op too), and ONNX export refuses it naming the op.
"""
import inspect

from framework.autograd.function import Function
from framework.tensor import Tensor

__all__ = ["custom_op", "CustomOpDef", "as_array"]


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None, tags=None):
    """Register `fn` as the op `name` ("namespace::op_name"): a CustomOpDef, or a decorator."""
    if not isinstance(name, str) or name.count("::") != 1 or not all(p.isidentifier() for p in name.split("::")):
        raise ValueError(f"custom_op name must be 'namespace::op_name' (identifiers), got {name!r}")
    if mutates_args != "unknown" and isinstance(mutates_args, str):
        raise ValueError("mutates_args must be a sequence of argument names or 'unknown', not a string")

    def inner(fn):
        op = CustomOpDef(name, fn, mutates_args)
        if device_types is None:
            op._kernels[None] = fn
        else:
            op.register_kernel(device_types, fn)
        return op

    return inner if fn is None else inner(fn)


class _CustomFunction(Function):
    """The autograd node of one custom op (subclassed per op, see CustomOpDef)."""

    opdef = None
    custom_op_name = None  # the IR name framework/export/_ops.py records it under

    @staticmethod
    def forward(ctx, *args):
        op = type(ctx).opdef
        out = op._dispatch(args)
        if op._setup_context is not None:
            op._setup_context(ctx, args, out)
        return out

    @staticmethod
    def backward(ctx, *grads):
        op = type(ctx).opdef
        if op._backward is None:
            raise RuntimeError(f"Trying to backward through {op._name} but no autograd formula was registered. "
                               f"Please use register_autograd to add one.")
        got = op._backward(ctx, *grads)
        got = tuple(got) if isinstance(got, (tuple, list)) else (got,)
        if len(got) != len(ctx.needs_input_grad):
            raise RuntimeError(f"{op._name}: the backward formula returned {len(got)} gradients, expected one per "
                               f"input ({len(ctx.needs_input_grad)})")
        return got


class CustomOpDef:
    """A registered custom op: call it like the function it was made from."""

    def __init__(self, name, fn, mutates_args):
        from framework.export import _ops
        self._name, self._init_fn = name, fn
        self._signature = inspect.signature(fn)
        self._mutates = () if mutates_args == "unknown" else tuple(mutates_args)
        for arg in self._mutates:
            if arg not in self._signature.parameters:
                raise ValueError(f"mutates_args names {arg!r}, which is not an argument of {name}")
        self._kernels = {}
        self._fake = self._backward = self._setup_context = None
        self._function = type(f"_CustomOp_{name.replace('::', '_')}", (_CustomFunction,),
                              {"opdef": self, "custom_op_name": name, "__module__": __name__})
        _ops.CUSTOM[name] = self._function
        self.__name__ = name.split("::")[1]
        self.__doc__ = fn.__doc__

    def __repr__(self):
        return f"<CustomOpDef({self._name})>"

    def __call__(self, *args, **kwargs):
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        positional = tuple(bound.arguments[p] for p in self._signature.parameters)
        if self._mutates:
            from framework.export import _capture
            if _capture.capturing() is not None:
                raise _capture.CaptureError(f"{self._name} mutates its arguments {list(self._mutates)}, which the "
                                            f"graph cannot record yet")
            return self._dispatch(positional)
        return self._function.apply(*positional)

    def _dispatch(self, args):
        device = next((a.device for a in _tensors(args)), None)
        kind = device.type if device is not None else "cpu"
        if kind == "meta":
            if self._fake is None:
                raise RuntimeError(f"There was no fake impl registered for {self!r}. This is necessary for "
                                   f"torch.compile/export/fx tracing to work. Please use `f.register_fake` to add "
                                   f"an fake impl.")
            return self._fake(*args)
        kernel = self._kernels.get(kind, self._kernels.get(None))
        if kernel is None:
            raise NotImplementedError(f"Could not run '{self._name}' with arguments from the '{kind}' backend: no "
                                      f"kernel is registered for it (register_kernel({kind!r}))")
        return kernel(*args)

    def register_kernel(self, device_types, fn=None, /):
        """The kernel for `device_types` ("cpu", "cuda" or a sequence); a decorator without `fn`."""
        kinds = (device_types,) if isinstance(device_types, str) else tuple(device_types)
        for kind in kinds:
            if kind not in ("cpu", "cuda"):
                raise ValueError(f"register_kernel: unknown device type {kind!r} (expected 'cpu' or 'cuda')")

        def inner(fn):
            for kind in kinds:
                self._kernels[kind] = fn
            return fn

        return inner if fn is None else inner(fn)

    def register_fake(self, fn=None, /):
        """The shape function: run on the meta device, it returns outputs of the right shape and dtype."""
        def inner(fn):
            self._fake = fn
            return fn
        return inner if fn is None else inner(fn)

    def register_autograd(self, backward, /, *, setup_context=None):
        """backward(ctx, *grads) -> one gradient per input; setup_context(ctx, inputs, output) saves
        what it needs (`ctx.save_for_backward`), as torch.library.register_autograd."""
        if not callable(backward):
            raise TypeError(f"register_autograd: expected a callable backward, got {type(backward).__name__}")
        self._backward, self._setup_context = backward, setup_context


def _tensors(args):
    for a in args:
        if isinstance(a, Tensor):
            yield a
        elif type(a) in (tuple, list):
            yield from _tensors(a)


def as_array(tensor):
    """The array a kernel reads and writes for a contiguous tensor, sharing its memory: the NumPy
    array on the CPU, a Numba device array on CUDA (pass it to a `@cuda.jit` kernel)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"as_array expects a Tensor, got {type(tensor).__name__}")
    if not tensor.is_contiguous():
        raise ValueError("as_array needs a contiguous tensor (call .contiguous() first)")
    data = tensor.detach()._data
    if tensor.device.type == "cuda":
        n = tensor.numel()
        flat = data.buf[data.offset:data.offset + n]
        return flat.reshape(tuple(tensor.shape)) if tensor.ndim != 1 else flat
    if tensor.device.type != "cpu":
        raise ValueError(f"as_array: a tensor on {tensor.device} has no array to hand to a kernel")
    return data
