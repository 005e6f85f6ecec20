"""An exported graph (framework/export) as ONNX nodes, one converter per op of the IR.

Each converter takes the builder and the node's arguments (tensor arguments already ONNX
value names) and returns the ONNX names of the node's outputs. Symbolic sizes become int64
values computed from the inputs' shapes (Shape, then Mul/Add), so a dynamic batch runs at
any size. An op with no converter raises an error naming it and the source line.
"""
import math

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from framework import dtypes as _dt
from framework.export._graph import Ref, Sym

_ONNX_DTYPES = {"bool": TensorProto.BOOL, "uint8": TensorProto.UINT8, "int8": TensorProto.INT8,
                "int16": TensorProto.INT16, "int32": TensorProto.INT32, "int64": TensorProto.INT64,
                "float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16, "float32": TensorProto.FLOAT,
                "float64": TensorProto.DOUBLE}
_INT64_MAX = 2 ** 63 - 1


def onnx_dtype(dtype):
    try:
        return _ONNX_DTYPES[dtype.name]
    except KeyError:
        raise RuntimeError(f"ONNX export: dtype {dtype} has no ONNX counterpart here") from None


class UnsupportedOp(RuntimeError):
    pass


class Builder:
    """The ONNX graph under construction."""

    def __init__(self, graph, opset):
        self.graph, self.opset = graph, opset
        self.nodes, self.initializers = [], []
        self.names = {}          # graph value -> ONNX name
        self.symbol_source = {}  # symbol -> (ONNX input name, dim)
        self._n = 0
        self._consts = {}

    def fresh(self, hint):
        self._n += 1
        return f"{hint}_{self._n}"

    def add(self, op_type, inputs, n_out=1, name_hint=None, **attrs):
        outs = [self.fresh(name_hint or op_type) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=self.fresh("n_" + op_type),
                                           **{k: v for k, v in attrs.items() if v is not None}))
        return outs if n_out > 1 else outs[0]

    def const(self, array, hint="const"):
        array = np.asarray(array)
        key = (array.dtype.str, array.shape, array.tobytes())
        name = self._consts.get(key)
        if name is None:
            name = self._consts[key] = self.fresh(hint)
            self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def scalar(self, value, dtype):
        return self.const(np.array(value, dtype=dtype.np if dtype.name != "bfloat16" else np.float32))

    def meta(self, ref):
        return self.graph.meta[ref.name]

    # ---- symbolic integers
    def int_value(self, v):
        """An int64 1-D tensor of one element holding the int or Sym `v`."""
        if not isinstance(v, Sym):
            return self.const(np.array([v], dtype=np.int64))
        total = None
        for names, coef in sorted(v.terms.items()):
            if not names:
                term = self.const(np.array([coef], dtype=np.int64))
            else:
                term = None
                for s in names:
                    src, dim = self.symbol_source[s]
                    size = self.add("Shape", [src], start=dim, end=dim + 1)
                    term = size if term is None else self.add("Mul", [term, size])
                if coef != 1:
                    term = self.add("Mul", [term, self.const(np.array([coef], dtype=np.int64))])
            total = term if total is None else self.add("Add", [total, term])
        return total

    def int_list(self, values):
        """An int64 1-D tensor of `values` (ints and Syms)."""
        if not any(isinstance(v, Sym) for v in values):
            return self.const(np.array(list(values), dtype=np.int64).reshape(-1))
        return self.add("Concat", [self.int_value(v) for v in values], axis=0)

    def operand(self, v, dtype):
        """A binary op's operand in `dtype`: a value (cast if needed), a number or a Sym."""
        if isinstance(v, Ref):
            name = self.names[v.name]
            if self.meta(v).dtype is not dtype:
                name = self.add("Cast", [name], to=onnx_dtype(dtype))
            return name
        if isinstance(v, Sym):
            return self.add("Cast", [self.add("Reshape", [self.int_value(v), self.const(np.array([], np.int64))])],
                            to=onnx_dtype(dtype))
        return self.scalar(v, dtype)

    def reduce(self, op_type, x, axes, keepdims):
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.add(op_type, [x, self.const(np.array(axes, dtype=np.int64))], keepdims=int(keepdims))
        return self.add(op_type, [x], axes=list(axes), keepdims=int(keepdims))


# ----------------------------------------------------------------- elementwise

_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max",
           "minimum": "Min", "fmax": "Max", "fmin": "Min", "atan2": None}
_COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual", "ne": "Equal"}
_LOGICAL = {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}
_UNARY = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
          "neg": "Neg", "abs": "Abs", "sin": "Sin", "cos": "Cos", "tan": "Tan", "erf": "Erf",
          "reciprocal": "Reciprocal", "sign": "Sign", "floor": "Floor", "ceil": "Ceil", "round": "Round",
          "asin": "Asin", "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "asinh": "Asinh",
          "acosh": "Acosh", "atanh": "Atanh", "logical_not": "Not"}


def _compute_dtype(b, args, out):
    """The dtype a comparison's operands are compared in (PyTorch's promotion)."""
    tensors = [b.meta(a).dtype for a in args if isinstance(a, Ref)]
    floats = [d for d in tensors if d.is_floating_point]
    if floats:
        return max(floats, key=lambda d: d._rank)
    if any(type(a) is float for a in args):
        return _dt.get_default_dtype()
    return max(tensors, key=lambda d: d._rank) if tensors else out


def _binary(op_type):
    def convert(b, node, a, c):
        dt = node.meta[0].dtype
        return b.add(op_type, [b.operand(a, dt), b.operand(c, dt)])
    return convert


def _compare(name):
    def convert(b, node, a, c):
        dt = _compute_dtype(b, (a, c), node.meta[0].dtype)
        out = b.add(_COMPARE[name], [b.operand(a, dt), b.operand(c, dt)])
        return b.add("Not", [out]) if name == "ne" else out
    return convert


def _logical(op_type):
    def convert(b, node, a, c):
        return b.add(op_type, [b.operand(a, _dt.bool_), b.operand(c, _dt.bool_)])
    return convert


def _bitwise(logical, bitwise):
    def convert(b, node, a, c):
        dt = node.meta[0].dtype
        if dt is _dt.bool_:
            return b.add(logical, [b.operand(a, dt), b.operand(c, dt)])
        if b.opset < 18:
            raise UnsupportedOp(f"{bitwise} on integers before opset 18")
        return b.add(bitwise, [b.operand(a, dt), b.operand(c, dt)])
    return convert


def _unary(op_type):
    def convert(b, node, x):
        return b.add(op_type, [b.operand(x, node.meta[0].dtype)])
    return convert


def _composed_unary(fn):
    def convert(b, node, x):
        dt = node.meta[0].dtype
        return fn(b, b.operand(x, dt), dt)
    return convert


_COMPOSED = {
    "rsqrt": lambda b, x, dt: b.add("Reciprocal", [b.add("Sqrt", [x])]),
    "log1p": lambda b, x, dt: b.add("Log", [b.add("Add", [x, b.scalar(1, dt)])]),
    "expm1": lambda b, x, dt: b.add("Sub", [b.add("Exp", [x]), b.scalar(1, dt)]),
    "log2": lambda b, x, dt: b.add("Div", [b.add("Log", [x]), b.scalar(math.log(2), dt)]),
    "log10": lambda b, x, dt: b.add("Div", [b.add("Log", [x]), b.scalar(math.log(10), dt)]),
    "trunc": lambda b, x, dt: b.add("Mul", [b.add("Sign", [x]), b.add("Floor", [b.add("Abs", [x])])]),
    # activations
    "silu": lambda b, x, dt: b.add("Mul", [x, b.add("Sigmoid", [x])]),
    "selu": lambda b, x, dt: b.add("Selu", [x]),
    "mish": lambda b, x, dt: b.add("Mul", [x, b.add("Tanh", [b.add("Softplus", [x])])]),
    "hardswish": lambda b, x, dt: b.add("HardSwish", [x]),
    "hardsigmoid": lambda b, x, dt: b.add("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5),
    "gelu": lambda b, x, dt: b.add("Mul", [b.add("Mul", [x, b.scalar(0.5, dt)]), b.add("Add", [
        b.add("Erf", [b.add("Mul", [x, b.scalar(math.sqrt(0.5), dt)])]), b.scalar(1, dt)])]),
    "gelu_tanh": lambda b, x, dt: b.add("Mul", [b.add("Mul", [x, b.scalar(0.5, dt)]), b.add("Add", [b.add("Tanh", [
        b.add("Mul", [b.add("Add", [x, b.add("Mul", [b.add("Mul", [b.add("Mul", [x, x]), x]),
                                                     b.scalar(0.044715, dt)])]),
                      b.scalar(math.sqrt(2 / math.pi), dt)])]), b.scalar(1, dt)])]),
    "logsigmoid": lambda b, x, dt: b.add("Neg", [b.add("Softplus", [b.add("Neg", [x])])]),
    "softplus": lambda b, x, dt: b.add("Softplus", [x]),
    "relu6": lambda b, x, dt: b.add("Clip", [x, b.scalar(0, dt), b.scalar(6, dt)]),
}


def _param_activation(op_type, attr):
    def convert(b, node, x, param):
        return b.add(op_type, [b.operand(x, node.meta[0].dtype)], **{attr: float(param)})
    return convert


def _where(b, node, cond, x, y):
    dt = node.meta[0].dtype
    if dt is _dt.bool_:  # (onnxruntime has no bool Where: as uint8)
        out = b.add("Where", [b.operand(cond, _dt.bool_), b.operand(x, _dt.uint8), b.operand(y, _dt.uint8)])
        return b.add("Cast", [out], to=TensorProto.BOOL)
    return b.add("Where", [b.operand(cond, _dt.bool_), b.operand(x, dt), b.operand(y, dt)])


def _clamp(b, node, x, lo, hi):
    dt = node.meta[0].dtype
    return b.add("Clip", [b.operand(x, dt), "" if lo is None else b.scalar(lo, dt),
                          "" if hi is None else b.scalar(hi, dt)])


# ----------------------------------------------------------------- layers


def _linear(b, node, x, w, bias):
    xm = b.meta(x)
    if len(xm.shape) == 2:
        return b.add("Gemm", [b.names[x.name], b.names[w.name]] + ([b.names[bias.name]] if bias is not None else []),
                     transB=1)
    out = b.add("MatMul", [b.names[x.name], b.add("Transpose", [b.names[w.name]], perm=[1, 0])])
    return b.add("Add", [out, b.names[bias.name]]) if bias is not None else out


def _matmul(b, node, x, y):
    return b.add("MatMul", [b.names[x.name], b.names[y.name]])


def _conv(b, node, x, w, bias, stride, padding, dilation, groups):
    if isinstance(padding, str):
        raise UnsupportedOp(f"Convolution with padding={padding!r}")
    k = b.meta(w).shape[2:]
    inputs = [b.names[x.name], b.names[w.name]] + ([b.names[bias.name]] if bias is not None else [])
    return b.add("Conv", inputs, kernel_shape=list(k), strides=list(stride), pads=list(padding) * 2,
                 dilations=list(dilation), group=groups)


def _conv_transpose(b, node, g, w, x_shape, stride, padding, dilation, groups):
    k = b.meta(w).shape[2:]
    in_sizes = b.meta(g).shape[2:]
    out_pad = []
    for i in range(len(k)):
        full = (in_sizes[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k[i] - 1) + 1
        out_pad.append(x_shape[2 + i] - full)
    if any(isinstance(p, Sym) for p in out_pad):
        raise UnsupportedOp("ConvGradInput (conv_transpose) with a dynamic spatial size")
    return b.add("ConvTranspose", [b.names[g.name], b.names[w.name]], kernel_shape=list(k), strides=list(stride),
                 pads=list(padding) * 2, dilations=list(dilation), group=groups, output_padding=out_pad)


def _ceil_mode(in_sizes, k, s, p, d, out_size):
    floor = [(n + 2 * pp - dd * (kk - 1) - 1) // ss + 1 for n, kk, ss, pp, dd in zip(in_sizes, k, s, p, d)]
    return int(any(o != f for o, f in zip(out_size, floor)))


def _max_pool(b, node, x, k, s, p, d, out_size, misses):
    if node.outputs[1] in b.used:
        raise UnsupportedOp("MaxPool's indices (return_indices=True)")
    ceil = _ceil_mode(b.meta(x).shape[2:], k, s, p, d, out_size)
    return [b.add("MaxPool", [b.names[x.name]], kernel_shape=list(k), strides=list(s), pads=list(p) * 2,
                  dilations=list(d), ceil_mode=ceil), None]


def _avg_pool(b, node, x, k, s, p, out_size, include_pad, divisor):
    if divisor:
        raise UnsupportedOp("AvgPool with divisor_override")
    ceil = _ceil_mode(b.meta(x).shape[2:], k, s, p, (1,) * len(k), out_size)
    return b.add("AveragePool", [b.names[x.name]], kernel_shape=list(k), strides=list(s), pads=list(p) * 2,
                 count_include_pad=int(bool(include_pad)), ceil_mode=ceil)


def _adaptive_avg_pool(b, node, x, out_size):
    sizes = b.meta(x).shape[2:]
    if all(o == 1 for o in out_size):
        return b.add("GlobalAveragePool", [b.names[x.name]])
    if any(isinstance(n, Sym) or n % o for n, o in zip(sizes, out_size)):
        raise UnsupportedOp("AdaptiveAvgPool whose input size is not a multiple of its output size")
    k = [n // o for n, o in zip(sizes, out_size)]
    return b.add("AveragePool", [b.names[x.name]], kernel_shape=k, strides=k)


def _batch_norm(b, node, x, w, bias, mean, var, training, momentum, eps):
    c = b.meta(x).shape[1]
    dt = b.meta(x).dtype
    scale = b.names[w.name] if w is not None else b.const(np.ones(c, dt.np))
    shift = b.names[bias.name] if bias is not None else b.const(np.zeros(c, dt.np))
    if training:
        if mean is not None:
            raise UnsupportedOp("BatchNormChannels in training mode (call model.eval() before exporting)")
        return _batch_statistics_norm(b, b.names[x.name], len(b.meta(x).shape), scale, shift, eps, dt)
    return b.add("BatchNormalization", [b.names[x.name], scale, shift, b.names[mean.name], b.names[var.name]],
                 epsilon=float(eps))


def _batch_statistics_norm(b, x, rank, scale, shift, eps, dt):
    """Normalisation by the input's own statistics per channel (instance norm, and batch norm
    without running estimates): (x - mean) / sqrt(var + eps) * scale + shift over all dims but 1."""
    axes = [0] + list(range(2, rank))
    mean = b.reduce("ReduceMean", x, axes, True)
    centred = b.add("Sub", [x, mean])
    var = b.reduce("ReduceMean", b.add("Mul", [centred, centred]), axes, True)
    normed = b.add("Div", [centred, b.add("Sqrt", [b.add("Add", [var, b.scalar(eps, dt)])])])
    per_channel = b.const(np.array([-1] + [1] * (rank - 2), dtype=np.int64))
    return b.add("Add", [b.add("Mul", [normed, b.add("Reshape", [scale, per_channel])]),
                         b.add("Reshape", [shift, per_channel])])


def _layer_norm(b, node, x, w, bias, eps):
    n = b.meta(x).shape[-1]
    dt = b.meta(x).dtype
    scale = b.names[w.name] if w is not None else b.const(np.ones(n, dt.np))
    inputs = [b.names[x.name], scale] + ([b.names[bias.name]] if bias is not None else [])
    return b.add("LayerNormalization", inputs, axis=-1, epsilon=float(eps))


# ----------------------------------------------------------------- shapes and indexing


def _reshape(b, node, x, shape, must_view):
    return b.add("Reshape", [b.names[x.name], b.int_list(shape)])


def _permute(b, node, x, dims):
    return b.add("Transpose", [b.names[x.name]], perm=list(dims))


def _expand(b, node, x, shape):
    return b.add("Expand", [b.names[x.name], b.int_list(shape)])


def _identity(b, node, x, *_):
    return b.add("Identity", [b.names[x.name]])


def _cast(b, node, x, dtype):
    return b.add("Cast", [b.names[x.name]], to=onnx_dtype(dtype))


def _cat(b, node, dim, *tensors):
    return b.add("Concat", [b.names[t.name] for t in tensors], axis=dim)


def _getitem(b, node, x, key, basic):
    if not basic:
        raise UnsupportedOp("GetItem with a tensor or mask index")
    rank = len(b.meta(x).shape)
    key = list(key)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        used = sum(1 for k in key if k is not None and k is not Ellipsis)
        key[i:i + 1] = [slice(None)] * (rank - used)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    dim = out = 0
    for k in key:
        if k is None:
            unsqueeze.append(out)
            out += 1
            continue
        if type(k) is slice:
            step = 1 if k.step is None else k.step
            if k.start is not None or k.stop is not None or step != 1:
                starts.append(k.start if k.start is not None else (0 if step > 0 else -1))
                ends.append(k.stop if k.stop is not None else (_INT64_MAX if step > 0 else -_INT64_MAX - 1))
                axes.append(dim)
                steps.append(step)
            out += 1
        else:  # an int: a slice of one, squeezed
            starts.append(k)
            ends.append(k + 1 if k != -1 else _INT64_MAX)
            axes.append(dim)
            steps.append(1)
            squeeze.append(dim)
        dim += 1
    y = b.names[x.name]
    if axes:
        y = b.add("Slice", [y, b.int_list(starts), b.int_list(ends), b.int_list(axes), b.int_list(steps)])
    if squeeze:
        y = b.add("Squeeze", [y, b.int_list(squeeze)])
    if unsqueeze:
        y = b.add("Unsqueeze", [y, b.int_list(unsqueeze)])
    return y if (axes or squeeze or unsqueeze) else b.add("Identity", [y])


def _unstack(b, node, x):
    n = b.meta(x).shape[0]
    if isinstance(n, Sym):
        raise UnsupportedOp("Unstack along a dynamic dim")
    parts = b.add("Split", [b.names[x.name]], n_out=n, axis=0, num_outputs=n) if b.opset >= 18 else \
        b.add("Split", [b.names[x.name], b.const(np.ones(n, dtype=np.int64))], n_out=n, axis=0)
    parts = [parts] if n == 1 else parts
    return [b.add("Squeeze", [p, b.int_list([0])]) for p in parts]


def _index_select(b, node, x, dim, index):
    return b.add("Gather", [b.names[x.name], b.names[index.name]], axis=dim)


def _gather(b, node, x, dim, index):
    return b.add("GatherElements", [b.names[x.name], b.names[index.name]], axis=dim)


def _random(uniform):
    """rand / randn: RandomUniform / RandomNormal (the Like form when the size is symbolic)."""
    params = {"low": 0.0, "high": 1.0} if uniform else {"mean": 0.0, "scale": 1.0}

    def convert(b, node, size, dtype):
        if not any(isinstance(s, Sym) for s in size):
            return b.add("RandomUniform" if uniform else "RandomNormal", [], dtype=onnx_dtype(dtype),
                         shape=list(size), **params)
        zeros = b.add("ConstantOfShape", [b.int_list(size)])
        return b.add("RandomUniformLike" if uniform else "RandomNormalLike", [zeros], dtype=onnx_dtype(dtype),
                     **params)
    return convert


def _flip(b, node, x, dims):
    n = len(dims)
    return b.add("Slice", [b.names[x.name], b.int_list([-1] * n), b.int_list([-_INT64_MAX - 1] * n),
                           b.int_list(list(dims)), b.int_list([-1] * n)])


def _full(b, node, size, value, dtype):
    np_dtype = dtype.np if dtype.name != "bfloat16" else np.float32
    if not any(isinstance(s, Sym) for s in size):
        return b.const(np.full(tuple(size), value, dtype=np_dtype), "full")
    fill = numpy_helper.from_array(np.array([value], dtype=np_dtype), "value")
    return b.add("ConstantOfShape", [b.int_list(size)], value=fill)


# ----------------------------------------------------------------- reductions


def _sum(b, node, x, dims, keepdim, dtype):
    out_dt = node.meta[0].dtype
    return b.reduce("ReduceSum", b.operand(x, out_dt), dims, keepdim)


def _extreme(b, node, x, op, dims, keepdim):
    return b.reduce("ReduceMax" if op == "max" else "ReduceMin", b.names[x.name], dims, keepdim)


def _extreme_dim(b, node, x, op, dim, keepdim):
    name = b.names[x.name]
    values = b.reduce("ReduceMax" if op == "max" else "ReduceMin", name, [dim], keepdim)
    indices = b.add("ArgMax" if op == "max" else "ArgMin", [name], axis=dim, keepdims=int(keepdim))
    return [values, indices]


def _var(b, node, x, dims, divisor, keepdim):
    name = b.names[x.name]
    dt = b.meta(x).dtype
    mean = b.reduce("ReduceMean", name, dims, True)
    centred = b.add("Sub", [name, mean])
    squares = b.reduce("ReduceSum", b.add("Mul", [centred, centred]), dims, keepdim)
    return b.add("Div", [squares, b.operand(divisor, dt)])


def _softmax(b, node, x, dim, log):
    return b.add("LogSoftmax" if log else "Softmax", [b.names[x.name]], axis=dim)


def _attention_softmax(b, node, scores, mask, scale, causal, safe):
    """softmax(scores * scale + mask) over the last dim (the fused attention softmax); `causal`
    keeps key j <= query i (top-left aligned); with `safe` a row with no position left (every
    logit -inf) is 0, as PyTorch's scaled_dot_product_attention, else nan, as softmax."""
    dt = b.meta(scores).dtype
    logits = b.add("Mul", [b.names[scores.name], b.scalar(scale, dt)])
    if mask is not None:
        logits = b.add("Add", [logits, b.operand(mask, dt)])
    if causal:
        logits = b.add("Where", [_causal_keep(b, b.names[scores.name], b.meta(scores).shape[-2:]), logits,
                                 b.scalar(-math.inf, dt)])
    p = b.add("Softmax", [logits], axis=-1)
    if safe:
        dead = b.add("Equal", [b.reduce("ReduceMax", logits, [-1], True), b.scalar(-math.inf, dt)])
        p = b.add("Where", [dead, b.scalar(0, dt), p])
    return p


def _causal_keep(b, scores, sizes):
    """A bool (L, S): key j <= query i. A constant for static sizes, else from the scores' shape."""
    if not any(isinstance(n, Sym) for n in sizes):
        return b.const(np.tril(np.ones(sizes, dtype=bool)))
    zero, one = b.const(np.array(0, np.int64)), b.const(np.array(1, np.int64))
    scalar_shape = b.const(np.array([], np.int64))
    rows, cols = (b.add("Range", [zero, b.add("Reshape", [b.add("Shape", [scores], start=d, end=d + 1 or None),
                                                           scalar_shape]), one]) for d in (-2, -1))
    return b.add("LessOrEqual", [cols, b.add("Unsqueeze", [rows, b.int_list([1])])])


CONVERTERS = {
    **{k: _binary(v) for k, v in _BINARY.items() if v},
    **{k: _compare(k) for k in _COMPARE},
    **{k: _logical(v) for k, v in _LOGICAL.items()},
    "bitwise_and": _bitwise("And", "BitwiseAnd"), "bitwise_or": _bitwise("Or", "BitwiseOr"),
    "bitwise_xor": _bitwise("Xor", "BitwiseXor"),
    **{k: _unary(v) for k, v in _UNARY.items()},
    **{k: _composed_unary(v) for k, v in _COMPOSED.items()},
    "elu": _param_activation("Elu", "alpha"), "celu": _param_activation("Celu", "alpha"),
    "leaky_relu": _param_activation("LeakyRelu", "alpha"),
    "Where": _where, "ClampScalar": _clamp,
    "Linear": _linear, "Matmul": _matmul, "Convolution": _conv, "ConvGradInput": _conv_transpose,
    "MaxPool": _max_pool, "AvgPool": _avg_pool, "AdaptiveAvgPool": _adaptive_avg_pool,
    "BatchNormChannels": _batch_norm, "LayerNormRows": _layer_norm,
    "Reshape": _reshape, "Permute": _permute, "Expand": _expand, "Contiguous": _identity, "Clone": _identity,
    "Move": _identity, "Cast": _cast, "Cat": _cat, "GetItem": _getitem, "IndexSelect": _index_select, "Unstack": _unstack,
    "Gather": _gather, "Flip": _flip, "full": _full, "rand": _random(True), "randn": _random(False),
    "Sum": _sum, "Extreme": _extreme, "ExtremeDim": _extreme_dim, "Var": _var, "Softmax": _softmax,
    "AttentionSoftmax": _attention_softmax,
}
