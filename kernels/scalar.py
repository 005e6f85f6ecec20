"""The one scalar definition of every elementwise op and optimizer update, shared by all targets.

Each elementwise entry is a Python expression in `x` (and `y` for binary ops) that
Numba compiles for the CPU and CUDA targets alike; each optimizer entry is the body of
its per-element loop. `kernels/codegen.py` turns these tables into module-level loop
kernels (Numba cannot cache closures built in a factory, so the loops are written out
as real functions).

The framework casts inputs to the op's compute dtype before calling a kernel,
so expressions only ever see one dtype at a time.

`exp`, `log` and `tanh` are each target's own: on the CPU the vectorisable float32
versions of `kernels/cpu/vmath.py`, on the GPU the math module's.
"""

# ---- expression builders for the activation entries below (framework/ops/activation.py)
# `type(x)(c)` is the constant c in x's dtype: a Python float would promote float32 work to
# float64, whose exp/log/tanh are scalar libm calls instead of the vectorised float32 ones. And
# log1p/expm1 are built from exp and log: a libm erf, expm1 or log1p costs 12-17 ns an element
# here. Per 10^6 float32, one thread, forward: mish 48.7 -> 0.66 ms, softplus 30 -> 4.0, elu
# 9.6 -> 3.1 (PyTorch 4.3, 1.7, 1.6). GELU keeps libm's erf (17 ms; PyTorch 0.7): a vectorised
# float32 erf belongs in kernels/cpu/vmath.py beside exp, log and tanh.


def _typed(c):
    return f"type(x)({c})"


def _log1p(u):
    """log1p(u) from the vectorisable log: w = 1 + u, then log(w) * u / (w - 1), exact to a few
    ulps because w - 1 is computed exactly (Goldberg); u itself where 1 + u rounds to 1."""
    one = _typed("1.0")
    w = f"({one} + {u})"
    return f"({u} if {w} == {one} else log({w}) * ({u} / ({w} - {one})))"


def _expm1(z):
    """expm1(z) from the vectorisable exp and log: (u - 1) * z / log(u), u = exp(z) (Kahan);
    z where u rounds to 1, -1 where u - 1 does."""
    one, u = _typed("1.0"), f"exp({z})"
    return f"({z} if {u} == {one} else (-{one} if {u} - {one} == -{one} else ({u} - {one}) * {z} / log({u})))"


_MISH_N = f"(exp(x) * (exp(x) + {_typed(2.0)}))"
_SIGMOID = f"({_typed(1.0)} / ({_typed(1.0)} + exp(-x)) if x >= 0 else exp(x) / ({_typed(1.0)} + exp(x)))"
_GELU_TANH = f"tanh({_typed(0.7978845608028654)} * (x + {_typed(0.044715)} * x * x * x))"

# name -> expression of x. Float ops are only called with float32/float64.
UNARY = {
    "neg": "-x",
    "abs": "abs(x)",
    "sign": "1 * (x > 0) - 1 * (x < 0)",
    "exp": "exp(x)",
    "log": "log(x)",
    "log1p": "math.log1p(x)",
    "expm1": "math.expm1(x)",
    "sqrt": "math.sqrt(x)",
    "rsqrt": "1.0 / math.sqrt(x)",
    "sin": "math.sin(x)",
    "cos": "math.cos(x)",
    "tanh": "tanh(x)",
    "erf": "math.erf(x)",
    "sigmoid": "1.0 / (1.0 + exp(-x))",  # exp(-x) = inf for x << 0 gives exactly 0
    "relu": "x if not x <= 0 else 0",  # relu(-inf) = 0 (-inf * 0 is nan), relu(nan) = nan, relu(-1) = +0
    "floor": "np.floor(x)",
    "ceil": "np.ceil(x)",
    "round": "np.rint(x)",
    "trunc": "np.trunc(x)",
    "reciprocal": "1.0 / x",
    "logical_not": "not x",
    "bitwise_not": "~x",
    # ---- math breadth: trig, hyperbolic, logs and special functions (helpers: kernels/special.py)
    "tan": "tan_(x)",
    "asin": "asin_(x)",
    "acos": "acos_(x)",
    "atan": "math.atan(x)",
    "sinh": "sinh_(x)",
    "cosh": "cosh_(x)",
    "asinh": "math.asinh(x)",
    "acosh": "acosh_(x)",
    "atanh": "atanh_(x)",
    "exp2": "exp2_(x)",
    "log2": "log2_(x)",
    "log10": "log10_(x)",
    "erfc": "math.erfc(x)",
    "erfinv": "erfinv(x)",
    "erfcx": "erfcx(x)",
    "lgamma": "lgamma_(x)",
    "digamma": "digamma(x)",
    "trigamma": "trigamma(x)",
    "i0": "i0(x)",
    "i0e": "i0e(x)",
    "i1": "i1(x)",
    "i1e": "i1e(x)",
    "sinc": "sinc(x)",
    "ndtr": "ndtr(x)",
    "ndtri": "ndtri(x)",
    "log_ndtr": "log_ndtr(x)",
    "bessel_j0": "bessel_j0(x)",
    "bessel_j1": "bessel_j1(x)",
    "entr": "entr(x)",
    "airy_ai": "airy_ai(x)",
    "bessel_y0": "bessel_y0(x)",
    "bessel_y1": "bessel_y1(x)",
    "modified_bessel_i0": "modified_bessel_i0(x)",
    "modified_bessel_i1": "modified_bessel_i1(x)",
    "modified_bessel_k0": "modified_bessel_k(x, 0, False)",
    "modified_bessel_k1": "modified_bessel_k(x, 1, False)",
    "scaled_modified_bessel_k0": "modified_bessel_k(x, 0, True)",
    "scaled_modified_bessel_k1": "modified_bessel_k(x, 1, True)",
    "spherical_bessel_j0": "spherical_bessel_j0(x)",
    # ---- activations (framework/ops/activation.py): PyTorch's CPU formulas, each branch safe for the
    # CUDA simulator's Python floats (no exp of a large argument: sigmoid is exp(x) / (1 + exp(x)) for x < 0).
    "silu": f"x / ({_typed(1.0)} + exp(-x)) if x >= 0 else x * exp(x) / ({_typed(1.0)} + exp(x))",
    "selu": f"{_typed(1.7580993408473766)} * {_expm1('x')} if x <= 0 else {_typed(1.0507009873554805)} * x",
    # tanh(softplus(x)) = n / (n + 2), n = e * (e + 2), e = exp(x) (no log, no tanh); it is 1 beyond 20
    "mish": f"x if x > 20.0 else x * {_MISH_N} / ({_MISH_N} + {_typed(2.0)})",
    "hardswish": "x * (0.0 if x <= -3.0 else (6.0 if x >= 3.0 else x + 3.0)) / 6.0",  # -inf gives nan, as PyTorch
    "hardsigmoid": "(0.0 if x <= -3.0 else (6.0 if x >= 3.0 else x + 3.0)) / 6.0",
    "gelu": f"x * {_typed(0.5)} * ({_typed(1.0)} + math.erf(x * {_typed(0.7071067811865476)}))",
    "gelu_tanh": f"{_typed(0.5)} * x * ({_typed(1.0)} + {_GELU_TANH})",
    "softplus": f"x if x > 20.0 else {_log1p('exp(x)')}",  # beta 1, threshold 20
    "logsigmoid": f"(x if x < 0 else {_typed(0.0)}) - {_log1p('exp(-abs(x))')}",
    "relu6": "0.0 if x < 0 else (6.0 if x > 6.0 else x)",  # -0.0 and nan pass, as clamp
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
    # integer powers: a negative exponent gives 1, -1 or 0, as in PyTorch
    "ipow": "x ** y if y >= 0 else (1 if x == 1 else ((1 if y % 2 == 0 else -1) if x == -1 else 0))",
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
    "relu_backward": "0 if x <= 0 else y",  # none where x <= 0, even an inf or nan one; a nan x passes it, as PyTorch
    "sigmoid_backward": "y * x * (1.0 - x)",
    "tanh_backward": "y * (1.0 - x * x)",
    # ---- math breadth (helpers: kernels/special.py)
    "atan2": "math.atan2(x, y)",
    "hypot": "math.hypot(x, y)",
    "copysign": "math.copysign(x, y)",
    "logaddexp": "logaddexp(x, y)",
    "logaddexp2": "logaddexp2(x, y)",
    "xlogy": "xlogy(x, y)",
    "xlog1py": "xlog1py(x, y)",
    "zeta": "zeta(x, y)",
    "fmax": "x if (x >= y or y != y) else y",  # a nan loses to a number
    "fmin": "x if (x <= y or y != y) else y",
    "heaviside": "y if x == 0 else (1 if x > 0 else 0)",
    "nextafter": "nextafter(x, y, 53, -1021, 1024)",  # float64
    "nextafter32": "nextafter(x, y, 24, -125, 128)",  # float32 (computed exactly in float64)
    # ---- integer and incomplete-gamma breadth (framework/ops/numeric.py); the shifts per integer width
    "gcd": "gcd(x, y)",
    "lcm": "lcm(x, y)",
    "lshift8": "lshift(x, y, 8)",  # int8 and uint8
    "lshift16": "lshift(x, y, 16)",
    "lshift32": "lshift(x, y, 32)",
    "lshift64": "lshift(x, y, 64)",
    "rshift_uint8": "rshift(x, y, 8, False)",
    "rshift8": "rshift(x, y, 8, True)",
    "rshift16": "rshift(x, y, 16, True)",
    "rshift32": "rshift(x, y, 32, True)",
    "rshift64": "rshift(x, y, 64, True)",
    "igamma": "igamma(x, y)",
    "igammac": "igammac(x, y)",
    # ---- torch.special's orthogonal polynomials: x the point, y the degree n (framework/special.py)
    "chebyshev_polynomial_t": "chebyshev_polynomial(x, y, 0)",
    "chebyshev_polynomial_u": "chebyshev_polynomial(x, y, 1)",
    "chebyshev_polynomial_v": "chebyshev_polynomial(x, y, 2)",
    "chebyshev_polynomial_w": "chebyshev_polynomial(x, y, 3)",
    "shifted_chebyshev_polynomial_t": "shifted_chebyshev_polynomial(x, y, 0)",
    "shifted_chebyshev_polynomial_u": "shifted_chebyshev_polynomial(x, y, 1)",
    "shifted_chebyshev_polynomial_v": "shifted_chebyshev_polynomial(x, y, 2)",
    "shifted_chebyshev_polynomial_w": "shifted_chebyshev_polynomial(x, y, 3)",
    "hermite_polynomial_h": "hermite_polynomial_h(x, y, 512)",  # float64; nan beyond degree 512, as PyTorch
    "hermite_polynomial_h32": "hermite_polynomial_h(x, y, 128)",  # float32
    "hermite_polynomial_he": "hermite_polynomial_he(x, y, 512)",
    "hermite_polynomial_he32": "hermite_polynomial_he(x, y, 128)",
    "laguerre_polynomial_l": "laguerre_polynomial_l(x, y)",
    "legendre_polynomial_p": "legendre_polynomial_p(x, y)",
    # ---- activations with a parameter y (framework/ops/activation.py); x <= 0 picks the negative
    # branch, so nan takes the positive one, as PyTorch's kernels
    "elu": f"y * {_expm1('x')} if x <= 0 else x",  # y = alpha
    "celu": f"y * {_expm1(f'(x * ({_typed(1.0)} / y))')} if x <= 0 else x",  # y = alpha
    "leaky_relu": "x if x > 0 else x * y",  # y = negative_slope
    # ---- their fused backwards: x the input, y the incoming gradient (PyTorch's formulas, nan and inf included)
    "silu_backward": f"y * {_SIGMOID} * ({_typed(1.0)} + x * ({_typed(1.0)} - {_SIGMOID}))",
    "selu_backward": "y * 1.7580993408473766 * exp(x) if x <= 0 else y * 1.0507009873554805",
    "elu_backward": "y * exp(x) if x <= 0 else y",  # alpha 1 (ELU, CELU)
    "leaky_relu_backward": "y if x > 0 else y * 0.01",  # the default slope
    # x * 0.0 beyond 20 on purpose: PyTorch's 1 + x * sigmoid * (1 - tanh^2) is nan at inf
    # tanh(softplus) + x * sigmoid * (1 - tanh(softplus)^2), with 1 - (n / (n + 2))^2 = 4 (n + 1) / (n + 2)^2
    "mish_backward": f"y * (1.0 + x * 0.0) if x > 20.0 else y * ({_MISH_N} / ({_MISH_N} + {_typed(2.0)}) + x * "
                     f"(exp(x) / (exp(x) + {_typed(1.0)})) * ({_typed(4.0)} * ({_MISH_N} + {_typed(1.0)}) / "
                     f"(({_MISH_N} + {_typed(2.0)}) * ({_MISH_N} + {_typed(2.0)}))))",
    "hardswish_backward": "0.0 if x <= -3.0 else (y * (x / 3.0 + 0.5) if x < 3.0 else y)",
    "hardsigmoid_backward": "y * (1.0 / 6.0) if (x > -3.0 and x < 3.0) else 0.0",
    "gelu_backward": f"y * ({_typed(0.5)} * ({_typed(1.0)} + math.erf(x * {_typed(0.7071067811865476)})) + "
                     f"x * {_typed(0.3989422804014327)} * exp(x * x * {_typed(-0.5)}))",
    "gelu_tanh_backward": f"y * ({_typed(0.5)} * ({_typed(1.0)} + {_GELU_TANH}) + {_typed(0.5)} * x * "
                          f"({_typed(1.0)} - {_GELU_TANH} * {_GELU_TANH}) * {_typed(0.7978845608028654)} * "
                          f"({_typed(1.0)} + {_typed(0.134145)} * x * x))",
    "softplus_backward": "y if x > 20.0 else y * exp(x) / (exp(x) + 1.0)",
    "logsigmoid_backward": "y * (1.0 - exp(x) / (1.0 + exp(x))) if x < 0 else y * (exp(-x) / (1.0 + exp(-x)))",
    "relu6_backward": "0.0 if (x <= 0 or x >= 6.0) else y",  # none at the edges, as PyTorch's hardtanh
}

# Ops whose result is bool whatever their operands' dtype.
BOOL_OUT = frozenset({"logical_not", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"})

# The steps several optimizers' bodies begin with: the gradient (negated to maximize), its
# weight decay (L2, or decoupled: shrinking the parameter first, as AdamW), Adam's moments.
_GRAD = "grad = -g[i] if maximize else g[i]\n"
_L2_DECAY = """if weight_decay != 0:
    grad = grad + weight_decay * p[i]
"""
_DECOUPLED_DECAY = """if weight_decay != 0:
    if decoupled:
        p[i] = p[i] * (1 - lr * weight_decay)
    else:
        grad = grad + weight_decay * p[i]
"""


def _moments(m, v):
    """Adam's first and second moment updates of arrays m and v."""
    return f"""{m}[i] = {m}[i] + (1 - beta1) * (grad - {m}[i])
{v}[i] = {v}[i] * beta2 + (1 - beta2) * grad * grad
"""


# Fused optimizer updates, in the order of operations of PyTorch's single-tensor
# implementations. Each kernel takes `arrays` (same-length flat arrays, param first),
# then `scalars` (the CUDA kernel takes the length `n` between them); it runs `prelude`
# once, then `body` for each element index `i`. Arithmetic is in float64; the body
# indexes the arrays itself (`p[i]`) rather than working on scalar copies, so a state is
# rounded to its dtype exactly where it is stored and read back (as a float32 buffer
# rounds it), and an array an option leaves unused may alias another (framework.optim
# passes the parameter as SGD's buffer when momentum is 0).
OPTIMIZERS = {
    "sgd": {
        "arrays": ("p", "g", "buf"),
        "scalars": ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "first"),
        "prelude": "",
        "body": """
d = -g[i] if maximize else g[i]
if weight_decay != 0:
    d = d + weight_decay * p[i]
if momentum != 0:
    b = d if first else buf[i] * momentum + (1 - dampening) * d
    buf[i] = b
    d = d + momentum * b if nesterov else b
p[i] -= lr * d
""",
    },
    "adam": {  # Adam and AdamW (decoupled weight decay)
        "arrays": ("p", "g", "m", "v", "vmax"),
        "scalars": ("lr", "beta1", "beta2", "eps", "weight_decay", "decoupled", "amsgrad", "maximize", "step"),
        "prelude": """
bc1 = 1 - beta1 ** step
bc2_sqrt = math.sqrt(1 - beta2 ** step)
step_size = lr / bc1
""",
        "body": _GRAD + _DECOUPLED_DECAY + _moments("m", "v") + """\
if amsgrad:
    if v[i] > vmax[i]:
        vmax[i] = v[i]
    denom = math.sqrt(vmax[i]) / bc2_sqrt + eps
else:
    denom = math.sqrt(v[i]) / bc2_sqrt + eps
p[i] -= step_size * m[i] / denom
""",
    },
    "rmsprop": {
        "arrays": ("p", "g", "square_avg", "grad_avg", "buf"),
        "scalars": ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"),
        "prelude": "",
        "body": _GRAD + _L2_DECAY + """\
square_avg[i] = square_avg[i] * alpha + (1 - alpha) * grad * grad
if centered:
    grad_avg[i] = grad_avg[i] + (1 - alpha) * (grad - grad_avg[i])
    avg = math.sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps
else:
    avg = math.sqrt(square_avg[i]) + eps
if momentum > 0:
    buf[i] = buf[i] * momentum + grad / avg
    p[i] -= lr * buf[i]
else:
    p[i] -= lr * grad / avg
""",
    },
    "adagrad": {  # clr: the step's learning rate after lr_decay
        "arrays": ("p", "g", "state_sum"),
        "scalars": ("clr", "eps", "weight_decay", "maximize"),
        "prelude": "",
        "body": _GRAD + _L2_DECAY + """\
state_sum[i] += grad * grad
p[i] -= clr * grad / (math.sqrt(state_sum[i]) + eps)
""",
    },
    "adadelta": {
        "arrays": ("p", "g", "square_avg", "acc_delta"),
        "scalars": ("lr", "rho", "eps", "weight_decay", "maximize"),
        "prelude": "",
        "body": _GRAD + _L2_DECAY + """\
square_avg[i] = square_avg[i] * rho + (1 - rho) * grad * grad
delta = math.sqrt(acc_delta[i] + eps) / math.sqrt(square_avg[i] + eps) * grad
acc_delta[i] = acc_delta[i] * rho + (1 - rho) * delta * delta
p[i] -= lr * delta
""",
    },
    "adamax": {  # exp_inf: the decayed infinity norm of the gradients (nan propagates, as torch.maximum)
        "arrays": ("p", "g", "exp_avg", "exp_inf"),
        "scalars": ("lr", "beta1", "beta2", "eps", "weight_decay", "maximize", "step"),
        "prelude": """
clr = lr / (1 - beta1 ** step)
""",
        "body": _GRAD + _L2_DECAY + """\
exp_avg[i] = exp_avg[i] + (1 - beta1) * (grad - exp_avg[i])
decayed = exp_inf[i] * beta2
norm = math.fabs(grad) + eps
exp_inf[i] = decayed if decayed > norm or decayed != decayed else norm
p[i] -= clr * exp_avg[i] / exp_inf[i]
""",
    },
    "nadam": {  # grad_coef, avg_coef: the momentum schedule's factors for this step (framework/optim/nadam.py)
        "arrays": ("p", "g", "exp_avg", "exp_avg_sq"),
        "scalars": ("lr", "beta1", "beta2", "eps", "weight_decay", "decoupled", "maximize", "bias_correction2",
                    "grad_coef", "avg_coef"),
        "prelude": "",
        "body": _GRAD + _DECOUPLED_DECAY + _moments("exp_avg", "exp_avg_sq") + """\
denom = math.sqrt(exp_avg_sq[i] / bias_correction2) + eps
p[i] = p[i] + grad_coef * grad / denom
p[i] = p[i] + avg_coef * exp_avg[i] / denom
""",
    },
    "radam": {  # the adaptive step only once the second moment's variance is tractable (rho_t > 5)
        "arrays": ("p", "g", "exp_avg", "exp_avg_sq"),
        "scalars": ("lr", "beta1", "beta2", "eps", "weight_decay", "decoupled", "maximize", "step"),
        "prelude": """
bias_correction1 = 1 - beta1 ** step
bias_correction2 = 1 - beta2 ** step
rho_inf = 2 / (1 - beta2) - 1
rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
rectified = rho_t > 5.0
rect = 0.0
if rectified:
    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
""",
        "body": _GRAD + _DECOUPLED_DECAY + _moments("exp_avg", "exp_avg_sq") + """\
if rectified:
    p[i] -= exp_avg[i] / bias_correction1 * lr * (math.sqrt(bias_correction2) / (math.sqrt(exp_avg_sq[i]) + eps)) * rect
else:
    p[i] -= exp_avg[i] / bias_correction1 * lr
""",
    },
    "asgd": {  # eta, mu: the step's learning rate and averaging weight (framework/optim/asgd.py)
        "arrays": ("p", "g", "ax"),
        "scalars": ("eta", "lambd", "weight_decay", "mu", "maximize"),
        "prelude": "",
        "body": _GRAD + _L2_DECAY + """\
p[i] = p[i] * (1 - lambd * eta)
p[i] = p[i] - eta * grad
if mu != 1:
    ax[i] = ax[i] + (p[i] - ax[i]) * mu
else:
    ax[i] = p[i]
""",
    },
    "rprop": {  # the sign test multiplies in the arrays' dtype, as PyTorch's grad.mul(prev).sign()
        "arrays": ("p", "g", "prev", "step_size"),
        "scalars": ("etaminus", "etaplus", "step_size_min", "step_size_max", "maximize"),
        "prelude": "",
        "body": _GRAD + """\
same = grad * prev[i]
factor = 1.0
if same > 0:
    factor = etaplus
elif same < 0:
    factor = etaminus
size = step_size[i] * factor
if size < step_size_min:
    size = step_size_min
if size > step_size_max:
    size = step_size_max
step_size[i] = size
if same < 0:
    grad = grad * 0
if grad > 0:
    p[i] -= step_size[i]
elif grad < 0:
    p[i] += step_size[i]
prev[i] = grad
""",
    },
}
