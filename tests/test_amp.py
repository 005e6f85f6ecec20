"""framework.amp: autocast's per-op precision against PyTorch's (CPU, bfloat16) and against its
op lists (CUDA, float16); GradScaler step by step against PyTorch's."""
import threading

import numpy as np
import pytest
import torch

import framework

rng = np.random.default_rng(0)
X = rng.standard_normal((2, 4)).astype(np.float32)
W = rng.standard_normal((3, 4)).astype(np.float32)


def F(T):
    return T.nn.functional


OPS = {  # name -> fn(T, x, w, dev)
    "linear": lambda T, x, w, d: F(T).linear(x, w),
    "matmul": lambda T, x, w, d: x @ w.t(),
    "mm": lambda T, x, w, d: T.mm(x, w.t()),
    "bmm": lambda T, x, w, d: T.bmm(x.unsqueeze(0), w.t().unsqueeze(0)),
    "addmm": lambda T, x, w, d: T.addmm(T.zeros(3, device=d), x, w.t()),
    "conv2d": lambda T, x, w, d: F(T).conv2d(x.reshape(1, 1, 2, 4), w.reshape(3, 1, 2, 2), padding=1),
    "softmax": lambda T, x, w, d: T.softmax(F(T).linear(x, w), 1),
    "log_softmax": lambda T, x, w, d: T.log_softmax(F(T).linear(x, w), 1),
    "cross_entropy": lambda T, x, w, d: F(T).cross_entropy(F(T).linear(x, w), T.tensor([0, 2], device=d)),
    "mse_loss": lambda T, x, w, d: F(T).mse_loss(F(T).linear(x, w), T.zeros(2, 3, device=d)),
    "l1_loss": lambda T, x, w, d: F(T).l1_loss(F(T).linear(x, w), T.zeros(2, 3, device=d)),
    "bce_logits": lambda T, x, w, d: F(T).binary_cross_entropy_with_logits(F(T).linear(x, w), T.ones(2, 3, device=d)),
    "layer_norm": lambda T, x, w, d: F(T).layer_norm(F(T).linear(x, w), (3,)),
    "exp": lambda T, x, w, d: F(T).linear(x, w).exp(),
    "sum": lambda T, x, w, d: F(T).linear(x, w).sum(),
    "prod": lambda T, x, w, d: F(T).linear(x, w).prod(),
    "cumsum": lambda T, x, w, d: F(T).linear(x, w).cumsum(0),
    "relu": lambda T, x, w, d: T.relu(F(T).linear(x, w)),
    "add_float32": lambda T, x, w, d: F(T).linear(x, w) + T.ones(3, device=d),
    "float32_only": lambda T, x, w, d: x.sum() * w,
    "pow": lambda T, x, w, d: F(T).linear(x, w) ** 2,
}
CUDA_EXPECTED = {"linear": "float16", "matmul": "float16", "mm": "float16", "bmm": "float16", "addmm": "float16",
                 "conv2d": "float16", "softmax": "float32", "log_softmax": "float32", "cross_entropy": "float32",
                 "mse_loss": "float32", "l1_loss": "float32", "bce_logits": "float32", "layer_norm": "float32",
                 "exp": "float32", "sum": "float32", "prod": "float32", "cumsum": "float32", "relu": "float16",
                 "add_float32": "float32", "float32_only": "float32", "pow": "float32"}


@pytest.mark.parametrize("name", sorted(OPS))
def test_autocast_gives_each_op_torchs_precision(device, name):
    fn = OPS[name]
    x, w = framework.tensor(X, device=device, requires_grad=True), framework.tensor(W, device=device,
                                                                                  requires_grad=True)
    with framework.autocast(device):
        assert framework.is_autocast_enabled(device)
        out = fn(framework, x, w, device)
    assert not framework.is_autocast_enabled(device)
    if device == "cpu":
        tx, tw = torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True)
        with torch.autocast("cpu"):
            expected = fn(torch, tx, tw, "cpu")
        assert str(out.dtype) == str(expected.dtype)
        np.testing.assert_allclose(out.detach().float().numpy(), expected.detach().float().numpy(), rtol=2e-2,
                                   atol=2e-2)
        expected.float().sum().backward()
    else:
        assert str(out.dtype) == "torch." + CUDA_EXPECTED[name]
    out.float().sum().backward()
    assert x.grad.dtype is framework.float32 and w.grad.dtype is framework.float32  # leaves keep their dtype
    if device == "cpu":
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=3e-2, atol=3e-2)


def test_autocast_nesting_disabling_dtype_and_decorator():
    x = framework.randn(2, 4)
    with framework.autocast("cpu"):
        with framework.autocast("cpu", enabled=False):
            assert (x @ x.t()).dtype is framework.float32
        with framework.autocast("cpu", dtype=framework.float16):
            assert (x @ x.t()).dtype is framework.float16
        assert (x @ x.t()).dtype is framework.bfloat16

    @framework.autocast("cpu")
    def product(a):
        return a @ a.t()

    assert product(x).dtype is framework.bfloat16
    assert framework.get_autocast_dtype("cpu") is framework.bfloat16
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        framework.autocast("tpu")
    with pytest.warns(UserWarning, match="target dtype is not supported"):
        framework.autocast("cpu", dtype=framework.float64)
    assert framework.amp.is_autocast_available("cpu")


def test_autocast_state_is_per_thread():
    """As PyTorch's: a second thread does not see the first thread's autocast region, default dtype or
    cache flag, and its own region does not leak back."""
    x = framework.randn(2, 4)
    seen = {}

    def other():
        seen["enabled"] = framework.is_autocast_enabled("cpu")
        seen["dtype"] = framework.get_autocast_dtype("cpu")
        seen["cache"] = framework.is_autocast_cache_enabled()
        seen["product"] = (x @ x.t()).dtype
        with framework.autocast("cpu"):
            seen["inside"] = (x @ x.t()).dtype

    previous = framework.get_autocast_dtype("cpu")
    framework.set_autocast_dtype("cpu", framework.float16)
    try:
        with framework.autocast("cpu", cache_enabled=False):
            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
            assert (x @ x.t()).dtype is framework.float16
    finally:
        framework.set_autocast_dtype("cpu", previous)
    assert seen == {"enabled": False, "dtype": framework.bfloat16, "cache": True, "product": framework.float32,
                    "inside": framework.bfloat16}
    assert not framework.is_autocast_enabled("cpu") and framework.is_autocast_cache_enabled()


def test_cuda_grad_scaler_is_disabled_without_a_gpu():
    if framework.cuda.is_available():
        assert framework.amp.GradScaler("cuda").is_enabled()
        assert framework.cuda.amp.GradScaler().is_enabled()
        return
    with pytest.warns(UserWarning, match="CUDA is not available"):
        scaler = framework.amp.GradScaler("cuda")
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0


def _train_with_scaler(lib, steps, poison):
    """A linear model trained with GradScaler('cpu'); step `poison` gets an inf gradient."""
    model = lib.nn.Linear(4, 3)
    with (torch if lib is torch else framework).no_grad():
        model.weight.copy_(lib.tensor(W))
        model.bias.zero_()
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)
    scales = []
    for step in range(steps):
        opt.zero_grad()
        with lib.autocast("cpu"):
            loss = F(lib).mse_loss(model(lib.tensor(X * (step + 1))), lib.zeros(2, 3))
        scaler.scale(loss).backward()
        if step == poison:
            model.bias.grad[0] = float("inf")
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, model.weight.detach().float().numpy(), scaler.state_dict()


def test_grad_scaler_matches_torch_step_by_step():
    ours = _train_with_scaler(framework, 6, poison=3)
    theirs = _train_with_scaler(torch, 6, poison=3)
    assert ours[0] == theirs[0]  # scale: grows every 2 clean steps, halves on the inf step
    np.testing.assert_allclose(ours[1], theirs[1], rtol=2e-2, atol=2e-2)
    assert ours[2] == theirs[2]


def test_grad_scaler_errors_and_state():
    model = framework.nn.Linear(2, 1)
    opt = framework.optim.SGD(model.parameters(), lr=0.1)
    scaler = framework.amp.GradScaler("cpu")
    with pytest.raises(AssertionError, match="_scale is None"):
        scaler.step(opt)
    scaler.scale(model(framework.ones(1, 2)).sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    scaler.update()
    state = scaler.state_dict()
    other = framework.amp.GradScaler("cpu")
    other.load_state_dict(state)
    assert other.state_dict() == state
    assert framework.amp.GradScaler("cpu", enabled=False).state_dict() == {}
