"""Values where a careless scalar rule goes silently wrong: infinities and nan through rules
written as `x * 0`, integer division by zero, integer powers, exact integer quotients.
Each is compared with PyTorch on every device."""
import numpy as np
import pytest
import torch

import framework

SPECIAL = np.array([-np.inf, -2.5, -1.0, -0.0, 0.0, 0.5, 3.0, np.inf, np.nan], np.float32)


def _same(ours, theirs):
    np.testing.assert_array_equal(ours.detach().cpu().numpy(), theirs.detach().numpy())
    assert str(ours.dtype) == str(theirs.dtype)


@pytest.mark.parametrize("op", ["relu", "sign", "floor", "ceil", "round", "trunc", "abs", "neg", "sigmoid", "tanh"])
def test_unary_on_infinities_and_nan(device, op):
    ours, theirs = getattr(framework.tensor(SPECIAL, device=device), op)(), getattr(torch.tensor(SPECIAL), op)()
    if op in ("sigmoid", "tanh"):  # (transcendental: within an ulp)
        np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=2e-7)
    else:
        _same(ours, theirs)


@pytest.mark.parametrize("op", ["relu", "floor", "ceil", "round", "trunc", "sign"])
def test_zero_gradients_stay_zero_under_inf_and_nan_upstream(device, op):
    x_np = np.array([-1.0, -np.inf, 0.0, 2.0], np.float32)
    g_np = np.array([np.inf, np.nan, np.inf, 1.0], np.float32)
    x, t = framework.tensor(x_np, device=device, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    getattr(x, op)().backward(framework.tensor(g_np, device=device))
    getattr(t, op)().backward(torch.tensor(g_np))
    _same(x.grad, t.grad)


def test_pow_zero_exponent_gradient_is_zero(device):
    x = framework.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x ** 0).backward(framework.tensor([np.inf, 1.0], device=device))
    assert x.grad.cpu().tolist() == [0.0, 0.0]


@pytest.mark.parametrize("expr", ["a // 0", "a % 0", "a // b0", "a % b0", "T.div(a, 0, rounding_mode='trunc')",
                                  "T.fmod(a, 0)", "T.fmod(a, b0)", "T.remainder(a, b0)",
                                  "T.div(a, b0, rounding_mode='floor')"])
def test_integer_division_by_zero_raises_on_the_cpu(expr):
    a_np, b0_np = np.array([5, -3]), np.array([1, 0])
    for T in (framework, torch):
        a, b0 = T.tensor(a_np), T.tensor(b0_np)
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            eval(expr)


def test_float_division_by_zero_is_inf_and_nan(device):
    a_np = np.array([5.0, -3.0, 0.0], np.float32)
    for expr in ("a // 0", "a % 0", "a / 0"):
        _same(eval(expr, {"a": framework.tensor(a_np, device=device)}), eval(expr, {"a": torch.tensor(a_np)}))


def test_integer_powers(device):
    base = np.array([2, 1, -1, 3, 0, -1, 0, -2])
    for T in (framework, torch):
        with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
            T.tensor(base) ** -1
    exps = np.array([-1, -1, -3, 2, 0, -2, -1, -2])
    _same(framework.tensor(base, device=device) ** framework.tensor(exps, device=device),
          torch.tensor(base) ** torch.tensor(exps))


@pytest.mark.parametrize("divisor", [2, -2, 3, "tensor"])
def test_integer_trunc_division_is_exact(device, divisor):
    a_np = np.array([7, -7, 6, -6, 0, 2 ** 60 + 1, -(2 ** 60) - 1])
    b_np = np.array([2, -2, 3, -3, 5, 3, 7])

    def run(T, dev):
        a = T.tensor(a_np, device=dev) if T is framework else T.tensor(a_np)
        b = divisor if divisor != "tensor" else (T.tensor(b_np, device=dev) if T is framework else T.tensor(b_np))
        return T.div(a, b, rounding_mode="trunc"), T.fmod(a, b)
    for ours, theirs in zip(run(framework, device), run(torch, None)):
        _same(ours, theirs)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -0.5, -1, -2, 1.5, 0])
def test_pow_by_constants(device, exponent):
    x = np.abs(np.random.default_rng(0).standard_normal(20).astype(np.float32)) + 0.1
    # (the CUDA simulator runs kernels on Python floats, where 1.0 / 0.0 raises: zero only on real targets)
    x[:3] = [0.0 if device == "cpu" or exponent > 0 else 2.0, np.inf, 1.0]
    ours = framework.tensor(x, device=device) ** exponent
    theirs = torch.tensor(x) ** exponent
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=2e-7)


def test_lerp_rounds_like_torchs_fused_multiply_add(device):
    """Bit for bit: PyTorch's lerp is an FMA in one of two forms picked by |weight| < 0.5; the
    optimizers' lerp_ then track PyTorch's exactly."""
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(4000).astype(np.float32), rng.standard_normal(4000).astype(np.float32)
    w = (rng.random(4000) * 3 - 1.5).astype(np.float32)
    for weight in [0.3, 0.7, -0.7, 1.3, 0.5, w]:
        theirs = torch.lerp(torch.tensor(a), torch.tensor(b), torch.tensor(weight) if isinstance(weight, np.ndarray)
                            else weight)
        wt = framework.tensor(weight, device=device) if isinstance(weight, np.ndarray) else weight
        ours = framework.lerp(framework.tensor(a, device=device), framework.tensor(b, device=device), wt)
        assert np.array_equal(ours.cpu().numpy(), theirs.numpy()), weight if not isinstance(weight, np.ndarray) else "w"


def test_bce_with_logits_gradient_at_zero_logit(device):
    """softplus's gradient at 0 is 1/2 (the composed max(x, 0) + log1p(exp(-|x|)) gave 1)."""
    grads = []
    for lib, dev in ((torch, "cpu"), (framework, device)):
        x = lib.tensor([0.0, 0.0, 2.0], device=dev, requires_grad=True)
        lib.nn.functional.binary_cross_entropy_with_logits(x, lib.tensor([0.2, 1.0, 0.0], device=dev)).backward()
        grads.append(x.grad.cpu().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-7)
