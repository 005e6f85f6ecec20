"""Every torch.nn activation and its functional against PyTorch, on every device: values and
gradients (random inputs and the edges: boundaries, +-inf, nan), finite differences with double
backward, in-place variants (values, backward through them, the version-counter and leaf errors),
modules (reprs, parameters) and PyTorch's errors."""
import warnings

import numpy as np
import pytest
import torch

import framework
from conftest import SIMULATED
from helpers import check, check_raises, gradcheck, randn
from nn_helpers import check_module

F = "nn.functional"


def _f(name, *args, **kwargs):
    """lambda T, x: T.nn.functional.<name>(x, *args, **kwargs)"""
    return lambda T, x: getattr(T.nn.functional, name)(x, *args, **kwargs)


# name -> function of (library, x); one element-wise activation with its options each
ELEMENTWISE = {
    "relu": _f("relu"),
    "relu6": _f("relu6"),
    "elu": _f("elu"),
    "elu_alpha": _f("elu", 0.4),
    "selu": _f("selu"),
    "celu": _f("celu"),
    "celu_alpha": _f("celu", 1.7),
    "leaky_relu": _f("leaky_relu"),
    "leaky_relu_slope": _f("leaky_relu", 0.2),
    "hardtanh": _f("hardtanh"),
    "hardtanh_range": _f("hardtanh", -0.5, 2.0),
    "hardsigmoid": _f("hardsigmoid"),
    "hardswish": _f("hardswish"),
    "hardshrink": _f("hardshrink"),
    "hardshrink_lambd": _f("hardshrink", 1.1),
    "softshrink": _f("softshrink"),
    "softshrink_lambd": _f("softshrink", 0.25),
    "threshold": _f("threshold", 0.3, -2.0),
    "silu": _f("silu"),
    "mish": _f("mish"),
    "gelu": _f("gelu"),
    "gelu_tanh": _f("gelu", approximate="tanh"),
    "softplus": _f("softplus"),
    "softplus_beta": _f("softplus", 2.0, 1.5),
    "logsigmoid": _f("logsigmoid"),
    "softsign": _f("softsign"),
    "tanhshrink": _f("tanhshrink"),
    "sigmoid": _f("sigmoid"),
    "tanh": _f("tanh"),
    "rrelu_eval": _f("rrelu"),
}

# values at the edges of each rule: branch points, large arguments, infinities, nan
EDGES = np.array([-np.inf, -1000.0, -30.0, -20.5, -3.0, -1.1, -1.0, -0.5, -0.3, -0.0, 0.0, 0.25, 0.3, 0.5, 1.0, 1.1,
                  3.0, 6.0, 20.5, 30.0, 1000.0, np.inf, np.nan])


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_activation_matches_torch(device, name):
    x = randn(3, 5) * 3
    check(ELEMENTWISE[name], x, device=device)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_activation_edges_match_torch(device, name, dtype):
    """Values and gradients where rules branch and overflow; nan and inf propagate as PyTorch's."""
    x = EDGES.astype(dtype)
    if name == "gelu" and dtype == np.float32:  # PyTorch's vectorised float32 erf gives nan at +-inf (scalar: +-1)
        x = x[np.isfinite(x) | np.isnan(x)]
    if name == "sigmoid" and device == "cuda" and SIMULATED:  # (its exp(-x) overflows Python's math.exp there;
        x = x[~(x < -700)]                                    # conftest's SIMULATOR_XFAIL has the diagnosis)
    fn = ELEMENTWISE[name]
    tx = torch.tensor(x, requires_grad=True)
    fx = framework.tensor(x, device=device, requires_grad=True)
    ty, fy = fn(torch, tx), fn(framework, fx)
    ty.backward(torch.ones_like(ty))
    fy.backward(framework.ones_like(fy))
    np.testing.assert_allclose(fy.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg="value")
    np.testing.assert_allclose(fx.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg="grad")


SMOOTH = ["elu", "elu_alpha", "selu", "celu", "celu_alpha", "silu", "mish", "gelu", "gelu_tanh", "softplus",
          "softplus_beta", "logsigmoid", "softsign", "tanhshrink", "leaky_relu_slope", "hardswish"]


@pytest.mark.parametrize("name", SMOOTH)
def test_activation_gradcheck_double_backward(device, name):
    x = randn(2, 3) * 2
    x = np.where(np.abs(x) < 0.1, 0.5, x)  # away from 0, where several rules switch branch
    x = np.where(np.abs(np.abs(x) - 3) < 0.1, 2.0, x)  # and from hardswish's +-3
    gradcheck(ELEMENTWISE[name], x, double=True, device=device)


@pytest.mark.parametrize("name", ["relu6", "hardtanh", "hardsigmoid", "hardshrink", "softshrink", "threshold",
                                  "leaky_relu"])
def test_piecewise_linear_gradcheck(device, name):
    x = np.array([[-2.5, -0.7, 0.45], [0.8, 1.6, 4.0]])
    gradcheck(ELEMENTWISE[name], x, double=True, device=device)


def test_non_contiguous_and_integer_inputs(device):
    x = randn(4, 3) * 3
    for name in ("silu", "elu", "leaky_relu", "gelu", "hardswish", "softplus", "mish"):
        check(lambda T, x: ELEMENTWISE[name](T, x.t()), x, device=device)
    ints = np.array([[-3, -1, 0, 2, 7]])
    for name in ("relu", "relu6", "hardtanh", "threshold", "softsign", "tanhshrink"):
        check(ELEMENTWISE[name], ints, device=device)
    for name in ("silu", "elu", "selu", "leaky_relu", "gelu", "softplus", "mish", "hardswish", "hardsigmoid",
                 "logsigmoid", "softshrink", "hardshrink"):
        msg = check_raises(ELEMENTWISE[name], ints, exc=NotImplementedError, device=device)
        with pytest.raises(NotImplementedError) as theirs:
            ELEMENTWISE[name](torch, torch.tensor(ints))
        assert msg == str(theirs.value).replace("_cpu", "_" + framework.device(device).type)


def test_fused_backward_is_one_node_with_torch_names(device):
    x = framework.randn(3, requires_grad=True, device=device)
    names = {"silu": "SiluBackward0", "elu": "EluBackward0", "selu": "EluBackward0", "celu": "CeluBackward0",
             "leaky_relu": "LeakyReluBackward0", "mish": "MishBackward0", "hardswish": "HardswishBackward0",
             "hardsigmoid": "HardsigmoidBackward0", "gelu": "GeluBackward0", "softplus": "SoftplusBackward0",
             "logsigmoid": "LogSigmoidBackward0", "relu6": "HardtanhBackward0", "hardtanh": "HardtanhBackward0"}
    for name, node in names.items():
        y = getattr(framework.nn.functional, name)(x)
        assert y.grad_fn.name() == node
        assert y.grad_fn.next_functions[0][0] is x._accumulator or y.grad_fn.next_functions[0][0] is not None


# ----------------------------------------------------------------- glu, prelu, rrelu, softmax family


def test_glu(device):
    check(lambda T, x: T.nn.functional.glu(x), randn(3, 4), device=device)
    check(lambda T, x: T.nn.functional.glu(x, 0), randn(4, 3), device=device)
    check(lambda T, x: T.nn.GLU(1)(x), randn(2, 6, 1), device=device)
    gradcheck(lambda T, x: T.nn.functional.glu(x, -1), randn(2, 4), double=True, device=device)
    msg = check_raises(lambda T, x: T.nn.functional.glu(x, 1), randn(2, 5), device=device)
    assert msg == "Halving dimension must be even, but dimension 1 is size 5"
    check_raises(lambda T, x: T.nn.functional.glu(x.sum()), randn(2), device=device)
    check_raises(lambda T, x: T.nn.functional.glu(x, 3), randn(2, 4), exc=IndexError, device=device)


def test_prelu(device):
    check(lambda T, x, w: T.nn.functional.prelu(x, w), randn(2, 3, 4), randn(3), device=device)
    check(lambda T, x, w: T.nn.functional.prelu(x, w), randn(2, 3, 2, 2), randn(1), device=device)
    check(lambda T, x, w: T.nn.functional.prelu(x, w), randn(5), randn(1), device=device)
    check(lambda T, x, w: T.prelu(x, w), randn(4, 2), randn(2), device=device)
    check(lambda T, x, w: x.prelu(w), randn(4, 2), randn(2), device=device)
    gradcheck(lambda T, x, w: T.nn.functional.prelu(x, w), randn(2, 3), randn(3), double=True, device=device)
    check_module(lambda nn: nn.PReLU(), (3, 4), device=device)
    check_module(lambda nn: nn.PReLU(3, init=0.1), (2, 3, 4), device=device)
    for x, w in ((randn(2, 3), randn(2)), (randn(2, 3), randn(1, 3)), (randn(3), randn(3))):
        check_raises(lambda T, x, w: T.nn.functional.prelu(x, w), x, w, device=device)
    msg = check_raises(lambda T, x, w: T.nn.functional.prelu(x, w), randn(2, 3), randn(2), device=device)
    assert msg == "Mismatch of parameter numbers and input channel size. Found parameter numbers = 2 and channel " \
                  "size = 3."


def test_rrelu_training_draws_slopes_and_its_gradient_is_the_slope(device):
    framework.manual_seed(0)
    x = framework.tensor(-np.linspace(1, 2, 400).astype(np.float32), device=device, requires_grad=True)
    y = framework.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    y.backward(framework.ones_like(y))
    slopes = (y / x).detach().cpu().numpy()
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6 and slopes.std() > 0.03
    np.testing.assert_allclose(x.grad.cpu().numpy(), slopes, rtol=1e-5)
    pos = framework.tensor([0.5, 2.0], device=device)
    assert framework.nn.functional.rrelu(pos, training=True).tolist() == [0.5, 2.0]
    m = framework.nn.RReLU(0.1, 0.3).to(device).eval()
    np.testing.assert_allclose(m(framework.tensor([-1.0], device=device)).cpu().numpy(), [-0.2], rtol=1e-6)
    check_raises(lambda T, x: T.nn.functional.rrelu(x, 0.5, 0.1, True), randn(3), device=device)
    check(lambda T, x: T.rrelu(x), randn(3, 2), device=device)


def test_softmax_family(device):
    for name in ("softmax", "log_softmax", "softmin"):
        fn = getattr(framework.nn.functional, name)
        check(lambda T, x: getattr(T.nn.functional, name)(x, 1), randn(2, 3, 4), device=device)
        check(lambda T, x: getattr(T.nn.functional, name)(x, -1, dtype=T.float64), randn(3, 4), device=device)
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name} has been deprecated"):
            fn(framework.randn(2, 3, device=device))
    check(lambda T, x: T.nn.Softmax2d()(x), randn(2, 3, 2, 2), device=device)
    check(lambda T, x: T.nn.Softmax2d()(x), randn(3, 2, 2), device=device)
    check(lambda T, x: T.nn.Softmin(dim=0)(x), randn(3, 2), device=device)
    msg = check_raises(lambda T, x: T.nn.Softmax2d()(x), randn(2, 3), exc=ValueError, device=device)
    assert msg == "Softmax2d: expected input to be 3D or 4D, got 2D instead"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        framework.nn.Softmax()(framework.randn(2, 3, device=device))
    implicit = [w for w in caught if "Implicit dimension" in str(w.message)]
    assert implicit and implicit[0].filename == __file__  # (the stack level points at the caller)


def test_gumbel_softmax(device):
    framework.manual_seed(0)
    logits = framework.tensor(np.log([[0.7, 0.2, 0.1]] * 300, dtype=np.float32), device=device, requires_grad=True)
    soft = framework.nn.functional.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).detach().cpu().numpy(), 1, rtol=1e-5)
    hard = framework.nn.functional.gumbel_softmax(logits, hard=True)
    h = hard.detach().cpu().numpy()
    assert set(np.unique(h)) <= {0.0, 1.0} and np.all(h.sum(-1) == 1)
    assert abs(h[:, 0].mean() - 0.7) < 0.1  # samples follow the softmax of the logits
    (hard * framework.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0


# ----------------------------------------------------------------- in-place


INPLACE = {  # name -> (in-place call, out-of-place reference)
    "relu": (lambda T, y: T.nn.functional.relu(y, inplace=True), _f("relu")),
    "relu_": (lambda T, y: T.nn.functional.relu_(y), _f("relu")),
    "torch.relu_": (lambda T, y: T.relu_(y), _f("relu")),
    "relu6": (lambda T, y: T.nn.functional.relu6(y, inplace=True), _f("relu6")),
    "elu": (lambda T, y: T.nn.functional.elu(y, 0.7, inplace=True), _f("elu", 0.7)),
    "elu_": (lambda T, y: T.nn.functional.elu_(y), _f("elu")),
    "selu_": (lambda T, y: T.nn.functional.selu_(y), _f("selu")),
    "torch.selu_": (lambda T, y: T.selu_(y), _f("selu")),
    "celu_": (lambda T, y: T.nn.functional.celu_(y, 1.3), _f("celu", 1.3)),
    "leaky_relu": (lambda T, y: T.nn.functional.leaky_relu(y, inplace=True), _f("leaky_relu")),
    "leaky_relu_": (lambda T, y: T.nn.functional.leaky_relu_(y, 0.2), _f("leaky_relu", 0.2)),
    "hardtanh_": (lambda T, y: T.nn.functional.hardtanh_(y, -0.5, 0.5), _f("hardtanh", -0.5, 0.5)),
    "threshold_": (lambda T, y: T.nn.functional.threshold_(y, 0.1, 20.0), _f("threshold", 0.1, 20.0)),
    "rrelu_": (lambda T, y: T.nn.functional.rrelu_(y), _f("rrelu")),
    "silu": (lambda T, y: T.nn.functional.silu(y, inplace=True), _f("silu")),
    "mish": (lambda T, y: T.nn.functional.mish(y, inplace=True), _f("mish")),
    "hardswish": (lambda T, y: T.nn.functional.hardswish(y, inplace=True), _f("hardswish")),
    "hardsigmoid": (lambda T, y: T.nn.functional.hardsigmoid(y, inplace=True), _f("hardsigmoid")),
    "dropout_eval": (lambda T, y: T.nn.functional.dropout(y, 0.5, False, inplace=True), lambda T, x: x * 1),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_values_and_backward(device, name):
    """y = x * w; act_(y); the same values, and gradients for x and w, as PyTorch (the op must not
    overwrite a tensor its own or an earlier backward needs: y * w saved x and w, not y)."""
    call, _ = INPLACE[name]

    def fn(T, x, w):
        y = x * w
        out = call(T, y)
        assert out is y
        return y * 2
    check(fn, randn(3, 4) * 2, randn(4), device=device)


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_matches_out_of_place_and_bumps_version(device, name):
    call, ref = INPLACE[name]
    x = randn(2, 5) * 2
    t = framework.tensor(x, device=device)
    before = t._version
    call(framework, t)
    assert t._version > before or name == "dropout_eval"  # (eval dropout leaves its input alone)
    np.testing.assert_allclose(t.cpu().numpy(), ref(torch, torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_inplace_modules_train_as_torch(device):
    """The reported case: in-place LeakyReLU, ELU, SiLU and Dropout inside a model train."""
    for act in ("LeakyReLU", "ELU", "SiLU", "ReLU", "ReLU6", "Hardswish", "Mish", "SELU", "CELU", "Hardtanh",
                "Hardsigmoid"):
        check_module(lambda nn: nn.Sequential(nn.Linear(3, 4), getattr(nn, act)(inplace=True), nn.Linear(4, 2)),
                     (5, 3), device=device)
    check_module(lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.0, inplace=True), nn.Linear(4, 2)),
                 (5, 3), device=device)
    framework.manual_seed(0)
    lin = framework.nn.Linear(3, 4).to(device)
    x = framework.randn(5, 3, device=device)
    y = framework.nn.Dropout(0.5, inplace=True)(lin(x))
    y.sum().backward()
    kept = (y != 0).float()
    np.testing.assert_allclose(lin.bias.grad.cpu().numpy(), (kept * 2).sum(0).cpu().numpy(), rtol=1e-6)


def test_inplace_errors_match_torch(device):
    def on_leaf(T, x):
        return T.nn.functional.relu(x.requires_grad_(), inplace=True)
    msg = check_raises(on_leaf, randn(3), device=device)
    assert msg == "a leaf Variable that requires grad is being used in an in-place operation."

    def overwrite_saved(T, x):  # exp saves its output; relu_ overwrites it
        y = x.requires_grad_().exp()
        T.nn.functional.elu_(y)
        y.sum().backward()
    msg = check_raises(overwrite_saved, randn(3), device=device)
    assert "modified by an inplace operation" in msg

    for op, what in (("leaky_relu_", "leakyReLu"), ("elu_", "elu")):  # a negative slope or alpha
        def negative_slope(T, x, op=op):
            y = x.requires_grad_() * 1
            getattr(T.nn.functional, op)(y, -0.5)
            y.sum().backward()
        msg = check_raises(negative_slope, randn(3), device=device)
        assert msg.startswith(f"In-place {what} backward calculation is triggered with a negative slope")


def test_inplace_through_a_view(device):
    def fn(T, x):
        y = x * 1
        T.nn.functional.silu(y[:, 1:], inplace=True)
        T.nn.functional.leaky_relu_(y[0], 0.3)
        return y
    check(fn, randn(3, 4), device=device)


# ----------------------------------------------------------------- modules


MODULES = {
    "Threshold": (lambda nn: nn.Threshold(0.1, 20.0), (2, 3)),
    "ReLU": (lambda nn: nn.ReLU(), (2, 3)),
    "RReLU_eval": (lambda nn: nn.RReLU(0.1, 0.2), (2, 3)),
    "Hardtanh": (lambda nn: nn.Hardtanh(-2.0, 0.5), (2, 3)),
    "ReLU6": (lambda nn: nn.ReLU6(), (2, 3)),
    "Sigmoid": (lambda nn: nn.Sigmoid(), (2, 3)),
    "Hardsigmoid": (lambda nn: nn.Hardsigmoid(), (2, 3)),
    "Tanh": (lambda nn: nn.Tanh(), (2, 3)),
    "SiLU": (lambda nn: nn.SiLU(), (2, 3)),
    "Mish": (lambda nn: nn.Mish(), (2, 3)),
    "Hardswish": (lambda nn: nn.Hardswish(), (2, 3)),
    "ELU": (lambda nn: nn.ELU(0.5), (2, 3)),
    "CELU": (lambda nn: nn.CELU(0.5), (2, 3)),
    "SELU": (lambda nn: nn.SELU(), (2, 3)),
    "GLU": (lambda nn: nn.GLU(), (2, 4)),
    "GELU": (lambda nn: nn.GELU("tanh"), (2, 3)),
    "Hardshrink": (lambda nn: nn.Hardshrink(0.3), (2, 3)),
    "LeakyReLU": (lambda nn: nn.LeakyReLU(0.1), (2, 3)),
    "LogSigmoid": (lambda nn: nn.LogSigmoid(), (2, 3)),
    "Softplus": (lambda nn: nn.Softplus(0.5, 10.0), (2, 3)),
    "Softshrink": (lambda nn: nn.Softshrink(0.3), (2, 3)),
    "PReLU": (lambda nn: nn.PReLU(), (2, 3)),
    "Softsign": (lambda nn: nn.Softsign(), (2, 3)),
    "Tanhshrink": (lambda nn: nn.Tanhshrink(), (2, 3)),
    "Softmin": (lambda nn: nn.Softmin(1), (2, 3)),
    "Softmax": (lambda nn: nn.Softmax(0), (2, 3)),
    "Softmax2d": (lambda nn: nn.Softmax2d(), (1, 2, 2, 2)),
    "LogSoftmax": (lambda nn: nn.LogSoftmax(1), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(device, name):
    make, shape = MODULES[name]
    check_module(make, shape, train=name != "RReLU_eval", device=device)


REPRS = ["Threshold(0.1, 20.0)", "Threshold(0.1, 20, inplace=True)", "ReLU()", "ReLU(inplace=True)", "RReLU()",
         "RReLU(0.1, 0.2, inplace=True)", "Hardtanh()", "Hardtanh(-2.0, 3.0, True)", "ReLU6()", "ReLU6(True)",
         "Sigmoid()", "Hardsigmoid(True)", "Tanh()", "SiLU(True)", "Mish()", "Hardswish(inplace=True)", "ELU()",
         "ELU(0.5, True)", "CELU(2.0)", "SELU(True)", "GLU()", "GLU(0)", "GELU()", "GELU('tanh')", "Hardshrink()",
         "LeakyReLU()", "LeakyReLU(0.2, True)", "LogSigmoid()", "Softplus(2, 5)", "Softshrink(0.1)", "PReLU()",
         "PReLU(3, 0.1)", "Softsign()", "Tanhshrink()", "Softmin()", "Softmin(1)", "Softmax(dim=-1)",
         "Softmax2d()", "LogSoftmax(0)"]


def test_module_reprs_and_parameters_match_torch():
    for spec in REPRS:
        ours, theirs = eval(f"nn.{spec}", {"nn": framework.nn}), eval(f"nn.{spec}", {"nn": torch.nn})
        assert repr(ours) == repr(theirs), spec
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()], spec
    assert framework.nn.PReLU(3, 0.1).weight.tolist() == pytest.approx([0.1] * 3)
    with pytest.raises(AssertionError, match=r"max_val \(0\) must be greater than min_val \(1\)"):
        framework.nn.Hardtanh(1, 0)
    with pytest.warns(FutureWarning, match="min_value"):
        assert framework.nn.Hardtanh(min_value=-2.0).min_val == -2.0


def test_functional_errors_match_torch(device):
    cases = [
        (lambda T, x: T.nn.functional.hardtanh(x, 1.0, 0.0), ValueError, "min_val cannot be greater than max_val"),
        (lambda T, x: T.nn.functional.gelu(x, approximate="fast"), RuntimeError,
         "approximate argument must be either none or tanh."),
        (lambda T, x: T.nn.functional.softshrink(x, -1.0), RuntimeError,
         "lambda must be in range [0, 3.40282e+38] for input dtype Float, but found -1"),
        (lambda T, x: T.nn.functional.celu(x, 0.0), RuntimeError, "ZeroDivisionError: alpha cannot be 0 for CELU"),
        (lambda T, x: T.nn.functional.rrelu(x, 0.4, 0.2), RuntimeError,
         "Lower bound should be less than or equal to the upper bound"),
    ]
    for fn, exc, message in cases:
        assert check_raises(fn, randn(2, 3), exc=exc, device=device) == message


def test_torch_level_names(device):
    check(lambda T, x: T.selu(x), randn(2, 3), device=device)
    check(lambda T, x: T.celu(x, 0.5), randn(2, 3), device=device)
    check(lambda T, x: T.threshold(x, 0.1, 2.0), randn(2, 3), device=device)
    check(lambda T, x: T.hardshrink(x, 0.3), randn(2, 3), device=device)
    check(lambda T, x: x.hardshrink(0.3), randn(2, 3), device=device)
    check(lambda T, x: T.celu_(x * 1), randn(2, 3), device=device)
    check(lambda T, x: T.threshold_(x * 1, 0.0, 1.0), randn(2, 3), device=device)
    check(lambda T, x: T.rrelu_(x * 1), randn(2, 3), device=device)
