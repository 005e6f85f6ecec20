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
    "relu_backward": "y if x > 0 else 0",  # no gradient where x <= 0, even an inf or nan one
    "sigmoid_backward": "y * x * (1.0 - x)",
    "tanh_backward": "y * (1.0 - x * x)",
}

# Ops whose result is bool whatever their operands' dtype.
BOOL_OUT = frozenset({"logical_not", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"})

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
        "body": """
grad = -g[i] if maximize else g[i]
if weight_decay != 0:
    if decoupled:
        p[i] = p[i] * (1 - lr * weight_decay)
    else:
        grad = grad + weight_decay * p[i]
m[i] = m[i] + (1 - beta1) * (grad - m[i])
v[i] = v[i] * beta2 + (1 - beta2) * grad * grad
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
        "body": """
grad = -g[i] if maximize else g[i]
if weight_decay != 0:
    grad = grad + weight_decay * p[i]
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
        "body": """
grad = -g[i] if maximize else g[i]
if weight_decay != 0:
    grad = grad + weight_decay * p[i]
state_sum[i] += grad * grad
p[i] -= clr * grad / (math.sqrt(state_sum[i]) + eps)
""",
    },
    "adadelta": {
        "arrays": ("p", "g", "square_avg", "acc_delta"),
        "scalars": ("lr", "rho", "eps", "weight_decay", "maximize"),
        "prelude": "",
        "body": """
grad = -g[i] if maximize else g[i]
if weight_decay != 0:
    grad = grad + weight_decay * p[i]
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
        "body": """
grad = -g[i] if maximize else g[i]
if weight_decay != 0:
    grad = grad + weight_decay * p[i]
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
        "body": """
grad = -g[i] if maximize else g[i]
if weight_decay != 0:
    if decoupled:
        p[i] = p[i] * (1 - lr * weight_decay)
    else:
        grad = grad + weight_decay * p[i]
exp_avg[i] = exp_avg[i] + (1 - beta1) * (grad - exp_avg[i])
exp_avg_sq[i] = exp_avg_sq[i] * beta2 + (1 - beta2) * grad * grad
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
        "body": """
grad = -g[i] if maximize else g[i]
if weight_decay != 0:
    if decoupled:
        p[i] = p[i] * (1 - lr * weight_decay)
    else:
        grad = grad + weight_decay * p[i]
exp_avg[i] = exp_avg[i] + (1 - beta1) * (grad - exp_avg[i])
exp_avg_sq[i] = exp_avg_sq[i] * beta2 + (1 - beta2) * grad * grad
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
        "body": """
grad = -g[i] if maximize else g[i]
if weight_decay != 0:
    grad = grad + weight_decay * p[i]
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
        "body": """
grad = -g[i] if maximize else g[i]
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
