import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import framework
from helpers import broadcastable, check, check_raises, gradcheck, randn

UNARY = {
    "neg": (lambda T, x: -x, None),
    "abs": (lambda T, x: x.abs(), None),
    "exp": (lambda T, x: x.exp(), None),
    "log": (lambda T, x: x.log(), 0.1),
    "log1p": (lambda T, x: x.log1p(), 0.1),
    "expm1": (lambda T, x: x.expm1(), None),
    "sqrt": (lambda T, x: x.sqrt(), 0.1),
    "rsqrt": (lambda T, x: x.rsqrt(), 0.1),
    "sin": (lambda T, x: x.sin(), None),
    "cos": (lambda T, x: x.cos(), None),
    "tanh": (lambda T, x: x.tanh(), None),
    "sigmoid": (lambda T, x: x.sigmoid(), None),
    "relu": (lambda T, x: x.relu(), None),
    "erf": (lambda T, x: x.erf(), None),
    "reciprocal": (lambda T, x: x.reciprocal(), 0.5),
    "square": (lambda T, x: x.square(), None),
    "clamp": (lambda T, x: x.clamp(-0.5, 0.5), None),
    "clamp_min": (lambda T, x: x.clamp(min=0.1), None),
    "clip_max": (lambda T, x: T.clip(x, max=0.3), None),
    "pow_scalar": (lambda T, x: x ** 3, None),
    "pow_frac": (lambda T, x: x ** 0.5, 0.1),
    "rpow": (lambda T, x: 2 ** x, None),
    "F.softmax": (lambda T, x: T.softmax(x, -1), None),
    "F.log_softmax": (lambda T, x: T.log_softmax(x, 0), None),
}
NO_GRAD_UNARY = {
    "sign": lambda T, x: x.sign(),
    "floor": lambda T, x: x.floor(),
    "ceil": lambda T, x: x.ceil(),
    "round": lambda T, x: x.round(),
    "trunc": lambda T, x: x.trunc(),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_backward(device, name):
    fn, low = UNARY[name]
    check(fn, randn(3, 4, low=low), device=device)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradcheck(device, name):
    fn, low = UNARY[name]
    x = randn(2, 3, low=low)
    if name in ("relu", "abs", "clamp", "clamp_min", "clip_max"):
        x = x + np.sign(x) * 0.05  # keep away from kinks
    gradcheck(fn, x, double=name not in ("relu", "clamp", "clamp_min", "clip_max", "abs"), device=device)


@pytest.mark.parametrize("name", sorted(NO_GRAD_UNARY))
def test_piecewise_constant(device, name):
    x = randn(3, 4) * 3
    x[0, 0], x[0, 1] = 2.5, -1.5  # round half to even
    check(NO_GRAD_UNARY[name], x, device=device)


UNARY_LAYOUTS = {
    "transposed": (lambda T, x: x.t().exp(), randn(3, 4)),
    "int64": (lambda T, x: x.exp(), np.arange(6).reshape(2, 3)),
    "int32_sqrt": (lambda T, x: x.sqrt(), np.arange(6, dtype=np.int32)),
    "int_abs": (lambda T, x: x.abs(), np.arange(-3, 3)),
    "sigmoid_extremes": (lambda T, x: x.sigmoid(), np.array([-1000.0, 1000.0, 0.0], np.float32)),
}


@pytest.mark.parametrize("name", sorted(UNARY_LAYOUTS))
def test_unary_on_non_contiguous_and_ints(device, name):
    fn, x = UNARY_LAYOUTS[name]
    check(fn, x, device=device)


BINARY = {
    "add": lambda T, x, y: x + y,
    "sub": lambda T, x, y: x - y,
    "mul": lambda T, x, y: x * y,
    "div": lambda T, x, y: x / y,
    "pow": lambda T, x, y: x.abs() ** y,
    "maximum": lambda T, x, y: T.maximum(x, y),
    "minimum": lambda T, x, y: T.minimum(x, y),
    "remainder": lambda T, x, y: x % y,
    "add_alpha": lambda T, x, y: T.add(x, y, alpha=2),
    "sub_alpha": lambda T, x, y: T.sub(x, y, alpha=0.5),
    "where": lambda T, x, y: T.where(x > 0, x, y),
    "lerp": lambda T, x, y: T.lerp(x, y, 0.3),
}

@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=broadcastable())
def test_binary_broadcasting(device, name, shapes):
    a, b = shapes
    x, y = randn(*a), randn(*b)
    if name in ("div", "remainder"):
        y = np.where(np.abs(y) < 0.3, 1.0, y).astype(np.float32)
    check(BINARY[name], x, y, device=device)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradcheck(device, name):
    x, y = randn(2, 3), randn(3)
    if name in ("div", "remainder"):
        y = np.abs(y) + 0.5
    gradcheck(BINARY[name], x, y, double=name not in ("maximum", "minimum", "remainder", "where"), device=device)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**", "//", "%"])
@pytest.mark.parametrize("scalar", [2, 1.5, -3, True])
def test_scalars_on_either_side(device, op, scalar):
    x = randn(3, 4, low=0.5)
    if op == "-" and scalar is True:
        check_raises(lambda T, x: x - True, x, device=device)
        check_raises(lambda T, x: True - x, x, device=device)
        return
    # PyTorch has no derivative for floor division (and its `True ** x` backward asserts)
    grad = op != "//" and not (scalar is True and op == "**")
    check(eval(f"lambda T, x: x {op} {scalar!r}"), x, grad=grad, device=device)
    # nor for a tensor divisor of remainder
    check(eval(f"lambda T, x: {scalar!r} {op} x"), x, atol=1e-4, grad=grad and op != "%", device=device)


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_comparisons_give_bool(device, op):
    x, y = randn(3, 4).round(), randn(4).round()
    check(eval(f"lambda T, x, y: x {op} y"), x, y, device=device)
    check(eval(f"lambda T, x: x {op} 0"), x, device=device)
    check(eval(f"lambda T, x: 0 {op} x"), x, device=device)


def test_logical_ops_on_bool(device):
    a, b = randn(3, 4) > 0, randn(4) > 0
    for fn in (lambda T, x, y: x & y, lambda T, x, y: x | y, lambda T, x, y: x ^ y, lambda T, x, y: ~x,
               lambda T, x, y: T.logical_and(x, y), lambda T, x, y: T.logical_or(x, y),
               lambda T, x, y: T.logical_xor(x, y), lambda T, x, y: T.logical_not(x), lambda T, x, y: x + y,
               lambda T, x, y: x * y):
        check(fn, a, b, device=device)


def test_bitwise_ops_on_ints(device):
    a, b = np.arange(12).reshape(3, 4), np.arange(4)
    for fn in (lambda T, x, y: x & y, lambda T, x, y: x | y, lambda T, x, y: x ^ y, lambda T, x, y: ~x):
        check(fn, a, b, device=device)


DTYPES = [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_]


@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES), st.sampled_from(["+", "*", "/", "<"]),
       st.booleans())
def test_type_promotion_tensors(device, da, db, op, zero_dim):
    x = (np.arange(1, 7).reshape(2, 3) % 3 + 1).astype(da)
    y = np.array(2).astype(db) if zero_dim else (np.arange(3) + 1).astype(db)
    if op == "+" and da == db == np.bool_:
        return
    check(eval(f"lambda T, x, y: x {op} y"), x, y, grad=False, device=device)


@given(st.sampled_from(DTYPES), st.sampled_from([1, 1.5, True, -2]), st.sampled_from(["+", "*", "/", "-"]))
def test_type_promotion_scalars(device, da, scalar, op):
    x = (np.arange(6).reshape(2, 3) % 3).astype(da)
    if da == np.bool_ and (op == "-" or (op == "+" and scalar is True)):
        return
    if op == "-" and scalar is True:
        return
    check(eval(f"lambda T, x: x {op} {scalar!r}"), x, grad=False, device=device)


def test_inplace_ops_match_and_bump_version(device):
    for op in ("add_", "sub_", "mul_", "div_"):
        check(lambda T, x, y: getattr(x.clone(), op)(y), randn(3, 4), randn(4), device=device)
    check(lambda T, x: x.clone().pow_(2), randn(3), device=device)
    check(lambda T, x: x.clone().clamp_(-0.1, 0.1), randn(5), device=device)
    check(lambda T, x: x.clone().zero_(), randn(5), device=device)
    check(lambda T, x: x.clone().fill_(3.5), randn(5), device=device)
    check(lambda T, x, y: x.clone().copy_(y), randn(2, 3), randn(3), device=device)

    def augmented(T, x, y):
        z = x * 1
        z += y
        z *= 2
        z -= 1
        z /= 3
        return z
    check(augmented, randn(3, 4), randn(4), device=device)
    x = framework.zeros(3, device=device)
    v0 = x._version
    x.add_(1)
    x[0] = 5
    assert x._version == v0 + 2
    assert x.tolist() == [5.0, 1.0, 1.0]


def test_inplace_errors(device):
    check_raises(lambda T, x: x.add_(1.5), np.arange(3), device=device)  # float result into an int tensor
    check_raises(lambda T, x, y: x.add_(y), randn(3), randn(2, 3), device=device)  # would need to grow
    check_raises(lambda T, x: T.tensor([1.0], requires_grad=True).add_(1), randn(1), device=device)
    check_raises(lambda T, x: -(x > 0), randn(3), device=device)
    check_raises(lambda T, x: (x > 0) - (x > 0), randn(3), device=device)


def test_broadcast_error_names_both_shapes(device):
    msg = check_raises(lambda T, x, y: x + y, randn(2, 3), randn(4, 3), device=device)
    assert "[2, 3]" in msg and "[4, 3]" in msg


def test_wrong_operand_type_raises_type_error(device):
    check_raises(lambda T, x: x + "a", randn(3), exc=TypeError, device=device)
    check_raises(lambda T, x: x * [object()], randn(3), exc=TypeError, device=device)


def test_double_backward_elementwise(device):
    def fn(T, x):
        y = (x.sin() * x.exp() + x.tanh() * x.sigmoid()) / (1 + x * x)
        (g,) = T.autograd.grad(y.sum(), x, create_graph=True)
        return g
    check(fn, randn(5), device=device)


def test_masked_fill_and_where_scalars(device):
    check(lambda T, x: x.masked_fill(x > 0, -1.0), randn(3, 4), device=device)
    check(lambda T, x: T.where(x > 0, x, 0.0), randn(3, 4), device=device)
    check(lambda T, x: T.where(x > 0, 1.0, x), randn(3, 4), device=device)
    check(lambda T, x: x.masked_fill(x > 0, 2), np.arange(-3, 3), device=device)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "//", "%", "**", "<", "<=", ">", ">=", "==", "!="])
def test_no_graph_fast_paths_match_torch(device, op):
    """Without requires_grad the operators skip the graph machinery: same results."""
    x, y = randn(3, 4), randn(4)
    y = np.where(np.abs(y) < 0.3, 1.0, y).astype(np.float32)
    check(eval(f"lambda T, x, y: x {op} y"), x, y, grad=False, device=device)
    check(eval(f"lambda T, x, y: y {op} x"), x, y, grad=False, device=device)
    check(eval(f"lambda T, x: x {op} 2"), x, grad=False, device=device)
    check(eval(f"lambda T, x: 2.5 {op} x"), x, grad=False, device=device)
    check(eval(f"lambda T, x, y: x {op} y"), np.arange(12).reshape(3, 4) + 1, np.arange(4) + 1, grad=False,
          device=device)
    check(lambda T, x: x.exp().sigmoid().relu(), x, grad=False, device=device)
    check(lambda T, x, y: x @ y, x, randn(4, 2), grad=False, device=device)


def test_float32_exp_and_tanh_are_within_two_ulp_of_the_exact_result(device):
    """The vectorisable polynomials (kernels/cpu/vmath.py) over their whole range, denormal
    results, overflow, infinities and NaN included."""
    # The simulator runs each element in Python: cuda sweeps 100x fewer points (same ranges).
    step = 1 if device == "cpu" else 100
    sweep = np.concatenate([np.linspace(-110, 95, 200001)[::step], np.linspace(-1, 1, 20001)[::step],
                            np.geomspace(1e-38, 1, 2000)[::step // 10 or 1],
                            [0.0, 88.72, 88.73, -87.33, -103.9, -104.5, np.inf, -np.inf, np.nan]]).astype(np.float32)
    sweep = np.concatenate([sweep, -sweep])
    for name in ("exp", "tanh"):
        ours = getattr(framework.tensor(sweep, device=device), name)().cpu().numpy()
        exact = getattr(np, name)(sweep.astype(np.float64))
        with np.errstate(over="ignore"):
            rounded = exact.astype(np.float32)
        assert np.array_equal(np.isnan(ours), np.isnan(exact)), name
        assert np.array_equal(ours[np.isinf(rounded)], rounded[np.isinf(rounded)]), name
        finite = np.isfinite(rounded)
        ulp = np.spacing(np.abs(rounded[finite]))
        assert np.all(np.abs(ours[finite] - exact[finite]) <= 2 * ulp), name


@st.composite
def strided_operands(draw):
    """Two broadcastable operands made as views: transposed, sliced with steps, or expanded."""
    a_shape, b_shape = draw(broadcastable())

    def make(shape):
        kind = draw(st.sampled_from(["plain", "transposed", "stepped", "expanded"]))
        if kind == "transposed" and len(shape) >= 2:
            return randn(*shape[::-1]), lambda t: t.permute(*range(len(shape) - 1, -1, -1))
        if kind == "stepped" and shape:
            return randn(*shape[:-1], 2 * shape[-1]), lambda t: t[..., ::2]
        if kind == "expanded" and shape:
            return randn(*shape[:-1], 1), lambda t: t.expand(*shape)
        return randn(*shape), lambda t: t
    return make(a_shape), make(b_shape)


@settings(max_examples=60)
@given(operands=strided_operands(), op=st.sampled_from(["+", "*", "where", "exp", "add_"]))
def test_elementwise_on_strided_and_broadcast_views(device, operands, op):
    """The strided kernels see merged 3-D views with broadcasting done in the kernel; every
    layout (and an in-place write into a non-contiguous view) against PyTorch."""
    (x, view_x), (y, view_y) = operands

    def fn(T, x, y):
        a, b = view_x(x), view_y(y)
        if op == "where":
            return T.where(a > 0, a, b)
        if op == "exp":
            return (a * 1).exp() + a.exp()
        if op == "add_":  # written in place into a transposed (non-contiguous) tensor
            shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
            zeros = T.zeros(shape[::-1] if shape else (), device=a.device)
            target = zeros.permute(*range(len(shape) - 1, -1, -1)) if shape else zeros
            target.add_(a).add_(b)
            return target
        return eval(f"a {op} b")
    check(fn, x, y, grad=op != "add_", device=device)


@pytest.mark.parametrize("expr", ["x + y", "x * 0.5", "x.exp()", "T.relu(x)", "x > y"])
def test_large_arrays_take_the_parallel_kernels(device, expr):
    from framework.backends.cpu_backend import PARALLEL_MIN
    # An odd size: the threads' chunks do not divide it evenly. The size is the point, so it
    # depends on the device: above the CPU's parallel threshold; on cuda (4 threads per
    # launch in the simulator, grid-stride loops) a few strides and a ragged tail.
    n = PARALLEL_MIN + 3 if device == "cpu" else 4 * 5 + 3
    check(eval(f"lambda T, x, y: {expr}"), randn(n), randn(n), grad=False, device=device)
