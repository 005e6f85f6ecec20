"""The one scalar definition of every elementwise op, shared by all targets.

Each entry is a Python expression in `x` (and `y` for binary ops) that Numba
compiles for the CPU and CUDA targets alike. `kernels/codegen.py` turns this
table into module-level loop kernels (Numba cannot cache closures built in a
factory, so the loops are written out as real functions).

The framework casts inputs to the op's compute dtype before calling a kernel,
so expressions only ever see one dtype at a time.

`exp` and `tanh` are each target's own: on the CPU the vectorisable float32 versions
of `kernels/cpu/vmath.py`, on the GPU the math module's.
"""

# name -> expression of x. Float ops are only called with float32/float64.
UNARY = {
    "neg": "-x",
    "abs": "abs(x)",
    "sign": "1 * (x > 0) - 1 * (x < 0)",
    "exp": "exp(x)",
    "log": "math.log(x)",
    "log1p": "math.log1p(x)",
    "expm1": "math.expm1(x)",
    "sqrt": "math.sqrt(x)",
    "rsqrt": "1.0 / math.sqrt(x)",
    "sin": "math.sin(x)",
    "cos": "math.cos(x)",
    "tanh": "tanh(x)",
    "erf": "math.erf(x)",
    "sigmoid": "1.0 / (1.0 + exp(-x))",  # exp(-x) = inf for x << 0 gives exactly 0
    "relu": "x if x > 0 else x * 0",
    "floor": "np.floor(x)",
    "ceil": "np.ceil(x)",
    "round": "np.rint(x)",
    "trunc": "np.trunc(x)",
    "reciprocal": "1.0 / x",
    "logical_not": "not x",
    "bitwise_not": "~x",
}

# name -> expression of x and y.
BINARY = {
    "add": "x + y",
    "sub": "x - y",
    "mul": "x * y",
    "div": "x / y",
    "floor_divide": "x // y",
    "remainder": "x % y",
    "pow": "x ** y",
    "maximum": "x if (x >= y or x != x) else y",
    "minimum": "x if (x <= y or x != x) else y",
    "eq": "x == y",
    "ne": "x != y",
    "lt": "x < y",
    "le": "x <= y",
    "gt": "x > y",
    "ge": "x >= y",
    "logical_and": "x and y",
    "logical_or": "x or y",
    "logical_xor": "(x != 0) != (y != 0)",
    "bitwise_and": "x & y",
    "bitwise_or": "x | y",
    "bitwise_xor": "x ^ y",
    # Backward helpers: fused so that a backward pass without create_graph is one kernel.
    "relu_backward": "y if x > 0 else y * 0",
    "sigmoid_backward": "y * x * (1.0 - x)",
    "tanh_backward": "y * (1.0 - x * x)",
}
