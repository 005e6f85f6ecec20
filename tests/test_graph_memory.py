"""After backward (without retain_graph) a graph keeps nothing alive that only its
backward needed: keeping the losses of a training loop for logging must not keep their
activations (PyTorch frees saved tensors the same way)."""
import gc
import weakref

import numpy as np
import pytest

import framework
import framework.nn.functional as F

OPS = {
    "mul": lambda h: h * h,
    "mul_scalar": lambda h: h * 3.0,
    "rmul_scalar": lambda h: 3.0 * h,
    "div": lambda h: h / (h * h + 1),
    "rdiv": lambda h: 2.0 / (h * h + 1),
    "pow": lambda h: h ** 2,
    "rpow": lambda h: 2.0 ** h,
    "pow_tensor": lambda h: (h * h + 1) ** h,
    "maximum": lambda h: framework.maximum(h, h * 0.5),
    "remainder": lambda h: h % 0.7,
    "exp_tanh_sigmoid": lambda h: h.exp() + h.tanh() + h.sigmoid() + h.relu(),
    "sum_mean_var": lambda h: h.sum() + h.mean(0).sum() + h.var(1).sum(),
    "softmax": lambda h: F.log_softmax(h, 1) + F.softmax(h, 0),
    "matmul": lambda h: h @ h.t(),
    "linear": lambda h: F.linear(h, h, h[:, 0]),
    "index": lambda h: h[framework.tensor([0, 2])] * h[:2, 1:2],
    "where_clamp": lambda h: framework.where(h > 0, h, h * 2).clamp(-1, 1),
    "layer_norm": lambda h: F.layer_norm(h, (h.shape[1],)),
    "cross_entropy": lambda h: F.cross_entropy(h, framework.tensor([0, 1, 2, 3])),
    "conv_pool": lambda h: F.max_pool2d(F.conv2d(h.reshape(1, 1, 4, 6), h[:2, :4].reshape(2, 1, 2, 2)), 2),
}


@pytest.mark.parametrize("name", list(OPS))
def test_backward_frees_what_only_backward_needed(name):
    x = framework.tensor(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32), requires_grad=True)
    h = x * 1.5  # an intermediate: only the graph may keep it
    loss = OPS[name](h).sum()
    alive = weakref.ref(h)
    del h
    loss.backward()
    gc.collect()
    assert alive() is None, f"{name}: the graph still holds an intermediate after backward"
    assert loss.grad_fn is not None and x.grad is not None
