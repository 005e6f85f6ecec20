import numpy as np
import pytest
import torch

import framework
from framework.autograd import Function
from helpers import check, gradcheck, randn


def both(fn, device):
    """Run fn(T, dev) on both libraries (PyTorch on its CPU, framework on `device`) and compare
    the returned lists of numbers/tensors."""
    a, b = fn(torch, "cpu"), fn(framework, device)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, torch.Tensor):
            assert y.device == framework.device(device)
            np.testing.assert_allclose(y.detach().cpu().numpy(), x.detach().numpy(), rtol=1e-5, atol=1e-6)
        else:
            assert x == y


def test_accumulates_and_retains(device):
    def fn(T, dev):
        x = T.tensor([1.0, 2.0, 3.0], requires_grad=True, device=dev)
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        z = (x ** 3).mean()
        z.backward()
        return [x.grad]
    both(fn, device)


def test_second_backward_through_freed_graph_raises():
    for T in (torch, framework):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()


def test_backward_needs_gradient_for_non_scalars(device):
    for T, dev in ((torch, "cpu"), (framework, device)):
        x = T.ones(2, 2, device=dev, requires_grad=True)
        with pytest.raises(RuntimeError, match="scalar"):
            (x * 2).backward()
        (x * 2).backward(T.ones(2, 2, device=dev) * 3)
        assert x.grad.tolist() == [[6.0, 6.0], [6.0, 6.0]]


def test_deep_chain_does_not_recurse():
    x = framework.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_grad_modes():
    x = framework.ones(2, requires_grad=True)
    with framework.no_grad():
        assert not framework.is_grad_enabled()
        y = x * 2
        with framework.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad
    with framework.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    assert framework.is_grad_enabled()
    framework.set_grad_enabled(False)
    assert not framework.is_grad_enabled()
    framework.set_grad_enabled(True)

    @framework.no_grad()
    def f(a):
        return a * 2
    assert f(x).grad_fn is None and (x * 2).grad_fn is not None


def test_only_float_tensors_require_grad():
    for T in (torch, framework):
        with pytest.raises(RuntimeError, match="floating point"):
            T.tensor([1, 2], requires_grad=True)
        with pytest.raises(RuntimeError):
            T.arange(3).requires_grad_()


def test_detach_and_leaf_state():
    x = framework.ones(3, requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf and y.grad_fn is not None
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    d[0] = 5.0  # shares storage
    assert y[0].item() == 5.0
    y2 = x * 3
    y2.detach_()
    assert y2.grad_fn is None and not y2.requires_grad
    with pytest.raises(RuntimeError):
        y.requires_grad = False
    assert y.grad_fn.next_functions[0][0].variable is x


def test_hooks_and_retain_grad(device):
    def fn(T, dev):
        x = T.tensor([1.0, 2.0], requires_grad=True, device=dev)
        y = x * 3
        y.retain_grad()
        y.register_hook(lambda g: g * 2)
        h = x.register_hook(lambda g: g + 1)
        (y * y).sum().backward()
        gx1 = x.grad.clone()
        h.remove()
        x.grad = None
        (x * 1).sum().backward()
        return [gx1, y.grad, x.grad]
    both(fn, device)


def test_version_counter_catches_modified_saved_tensor(device):
    for T, dev in ((torch, "cpu"), (framework, device)):
        x = T.ones(3, device=dev, requires_grad=True)
        y = x * 2
        z = y.exp()  # saves its output
        z.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()
        a = x * 1
        b = a * a  # saves a
        a.mul_(2)
        with pytest.raises(RuntimeError, match="inplace"):
            b.sum().backward()


def test_inplace_on_leaf_raises_and_inplace_graph_is_correct(device):
    x = framework.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.mul_(2)

    def fn(T, x):
        y = x * 2
        y.mul_(x)
        y += 1
        y.clamp_(max=1e3)
        y.exp_()
        return y
    check(fn, randn(4) * 0.3, device=device)
    for T, dev in ((torch, "cpu"), (framework, device)):  # exp_ saved its output, which clamp_ then overwrote
        y = T.ones(2, device=dev, requires_grad=True) * 1
        y.exp_()
        y.clamp_(max=2.0)
        with pytest.raises(RuntimeError, match="inplace"):
            y.sum().backward()


def test_create_graph_higher_order(device):
    def fn(T, dev):
        x = T.tensor([0.5, -1.5, 2.0], requires_grad=True, device=dev)
        y = (x ** 3 + x.sin() * x).sum()
        (g,) = T.autograd.grad(y, x, create_graph=True)
        (g2,) = T.autograd.grad(g.sum(), x, create_graph=True)
        (g3,) = T.autograd.grad(g2.sum(), x)
        return [g, g2, g3]
    both(fn, device)


def test_create_graph_accumulates_graph_into_grad(device):
    x = framework.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gx,) = framework.autograd.grad(x.grad.sum(), x)
    assert gx.tolist() == [6.0, 12.0]


def test_grad_unused_inputs(device):
    x = framework.ones(2, requires_grad=True, device=device)
    z = framework.ones(2, requires_grad=True, device=device)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="not have been used"):
        framework.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = framework.autograd.grad(y, [x, z], allow_unused=True)
    assert gx.tolist() == [2.0, 2.0] and gz is None
    assert x.grad is None  # grad() never touches .grad


def test_grad_of_non_leaf_and_grad_outputs(device):
    def fn(T, dev):
        x = T.tensor([1.0, 2.0, 3.0], requires_grad=True, device=dev)
        h = x * x
        y = h.sin()
        gh, gx = T.autograd.grad(y, [h, x], grad_outputs=T.tensor([1.0, 0.5, 2.0], device=dev))
        return [gh, gx]
    both(fn, device)


def test_custom_function(device):
    class Cube(Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x ** 3 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return g * 3 * x * x * ctx.k, None

    x = framework.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward0" and y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]
    assert framework.autograd.gradcheck(lambda t: Cube.apply(t, 1.5), (framework.randn(3, dtype=framework.float64,
                                                                                   requires_grad=True),))


def test_multi_output_function_and_unused_output(device):
    def fn(T, dev):
        x = T.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], requires_grad=True, device=dev)
        a, b, c = x.unbind(1)
        v, i = x.max(1)
        (a * 2 + v).sum().backward()
        return [x.grad, i]
    both(fn, device)


def test_mixed_dtype_gradients_are_cast_back(device):
    def fn(T, dev):
        x = T.tensor([1.0, 2.0], requires_grad=True, device=dev)
        y = T.tensor([3.0, 4.0], dtype=T.float64, requires_grad=True, device=dev)
        (x * y).sum().backward()
        return [x.grad, y.grad, str(x.grad.dtype), str(y.grad.dtype)]
    both(fn, device)


def test_grad_is_not_aliased_between_leaves(device):
    a = framework.ones(2, requires_grad=True, device=device)
    b = framework.ones(2, requires_grad=True, device=device)
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.tolist() == [1.0, 1.0]


def test_grad_never_aliases_a_user_gradient_or_another_grad(device):
    x = framework.ones(3, requires_grad=True, device=device)
    g = framework.tensor([1.0, 2.0, 3.0], device=device)
    x.backward(g)
    x.grad.zero_()
    assert g.tolist() == [1.0, 2.0, 3.0]
    a = framework.ones(2, 2, requires_grad=True, device=device)
    b = framework.ones(2, 2, requires_grad=True, device=device)
    (a * 1 + b.t()).sum().backward()
    a.grad.add_(5)
    assert b.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    w = framework.ones(4, requires_grad=True, device=device)
    y = w * 2
    y.retain_grad()
    y.sum().backward()
    w.grad.mul_(10)
    assert y.grad.tolist() == [1.0] * 4 and w.grad.tolist() == [20.0] * 4


def test_untracked_ops_leave_no_node_and_keep_view_semantics(device):
    """Ops with Function.untracked skip the node when nothing records; views still share
    storage and the version counter, and the same ops record when an input requires grad."""
    x = framework.arange(6.0, device=device)
    for y in (x.reshape(2, 3), x.view(3, 2).t(), x.expand(2, 6), framework.cat([x, x]), x.exp(), x.sum(),
              framework.softmax(x, 0)):
        assert y.grad_fn is None and not y.requires_grad
    v = x.view(2, 3)
    x.add_(1)
    assert v._version_box is x._version_box and v[0, 0].item() == 1.0
    w = framework.arange(6.0, device=device, requires_grad=True)
    assert w.reshape(2, 3).grad_fn is not None and framework.cat([w, w]).grad_fn is not None
    with framework.no_grad():
        assert w.reshape(2, 3).grad_fn is None and w.exp().grad_fn is None


VIEW_INPLACE = {
    "column_mul_": lambda T, w, v: _then_use(T, w * 2, lambda y: y[:, 1].mul_(v[:2])),
    "row_add_": lambda T, w, v: _then_use(T, w.sin(), lambda y: y[0].add_(v)),
    "transposed_setitem": lambda T, w, v: _then_use(T, w * 1, lambda y: y.t().__setitem__((2, 1), v[0] * 3)),
    "view_of_view": lambda T, w, v: _then_use(T, w + 0, lambda y: y.view(6)[1:4].mul_(v)),
    "stepped_copy_": lambda T, w, v: _then_use(T, w * 3, lambda y: y[:, ::2].copy_(v[:2].reshape(2, 1))),
    "buffer_without_grad": lambda T, w, v: _then_use(T, T.zeros(2, 3, dtype=w.dtype, device=w.device), lambda y: y[1].copy_(v * w[0])),
}


def _then_use(T, y, op):
    """Run an in-place op through a view of `y`, then use `y` and the view's base."""
    op(y)
    return (y * T.arange(1.0, 7.0, device=y.device).reshape(2, 3)).sum() + y.sum()


@pytest.mark.parametrize("name", sorted(VIEW_INPLACE))
def test_inplace_through_views_rebases_the_history(device, name):
    """PyTorch's CopySlices: an in-place op on a view changes its base's gradient too."""
    check(VIEW_INPLACE[name], randn(2, 3), randn(3), device=device)
    gradcheck(VIEW_INPLACE[name], randn(2, 3), randn(3), double=True, device=device)


def test_inplace_through_a_view_of_a_saved_output_is_caught(device):
    y = framework.ones(2, 3, device=device, requires_grad=True).exp()  # exp saves its output
    y[0].add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_a_view_of_a_leaf_is_refused_before_writing(device):
    w = framework.ones(2, 3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        w[0].mul_(2)
    assert w.detach().cpu().numpy().tolist() == [[1.0] * 3] * 2


def test_grad_runs_only_what_leads_to_its_inputs(device):
    """autograd.grad skips nodes off every path to the inputs (their hooks too, as PyTorch), and
    the framework's ops form only the gradients asked for: a convolution asked for its input's
    gradient computes no weight gradient; a retained graph still gives every gradient later."""
    def fn(T, dev):
        x = T.tensor(np.linspace(-1, 1, 2 * 3 * 5 * 5, dtype=np.float32).reshape(2, 3, 5, 5), requires_grad=True,
                     device=dev)
        w = T.tensor(np.linspace(1, -1, 4 * 3 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 3), requires_grad=True,
                     device=dev)
        other = T.ones(3, requires_grad=True, device=dev)
        seen = []
        side = other.exp()
        side.register_hook(lambda g: seen.append("side"))
        y = T.nn.functional.conv2d(x, w).pow(2).sum() + side.sum()
        (gx,) = T.autograd.grad(y, x, retain_graph=True)
        assert seen == [] and x.grad is None and w.grad is None
        y.backward()
        assert seen == ["side"]
        return [gx, x.grad, w.grad, other.grad]
    both(fn, device)
    x = framework.randn(2, 3, 5, 5, device=device, requires_grad=True)
    w = framework.randn(4, 3, 3, 3, device=device, requires_grad=True)
    for wanted, weight_grads in ((x, 0), (w, 1), ([x, w], 1)):
        y = framework.nn.functional.conv2d(x, w).sum()
        with framework.profiler.profile() as prof:
            framework.autograd.grad(y, wanted)
        names = [e.name for e in prof.events()]
        assert names.count("ConvGradWeight") == weight_grads
        assert names.count("ConvGradInput") == (0 if wanted is w else 1)


def test_users_functions_see_requires_grad_under_grad(device):
    """A user's Function reads needs_input_grad from requires_grad alone, as PyTorch's do, even
    when autograd.grad asks for one input."""
    seen = []

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            a, b = ctx.saved_tensors
            return g * b, g * a

    a = framework.ones(2, requires_grad=True, device=device)
    b = framework.full((2,), 3.0, requires_grad=True, device=device)
    (ga,) = framework.autograd.grad(Mul.apply(a, b).sum(), a)
    assert seen == [(True, True)] and ga.tolist() == [3.0, 3.0]


_SUBSET_CASES = {
    "matmul": (lambda T, a, b: a @ b, [(3, 4), (4, 2)]),
    "linear": (lambda T, x, w, b: T.nn.functional.linear(x, w, b), [(3, 4), (2, 4), (2,)]),
    "conv2d": (lambda T, x, w, b: T.nn.functional.conv2d(x, w, b, padding=1), [(1, 2, 4, 4), (3, 2, 3, 3), (3,)]),
    "pow": (lambda T, a, b: (a * a + 1) ** b, [(3,), (3,)]),
    "where_atan2": (lambda T, a, b: T.where(a > 0, T.atan2(a, b), a * b), [(4,), (4,)]),
    "cat_mul": (lambda T, a, b: T.cat([a * 2, b], 0) * T.cat([b, a], 0), [(2, 3), (2, 3)]),
    "layer_norm": (lambda T, x, w, b: T.nn.functional.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    "attention_float_mask": (lambda T, q, k, v, m: T.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m),
                             [(1, 3, 4), (1, 3, 4), (1, 3, 4), (3, 3)]),
    "grid_sample": (lambda T, x, g: T.nn.functional.grid_sample(x, g.tanh(), align_corners=False),
                    [(1, 2, 3, 3), (1, 2, 2, 2)]),
    "solve": (lambda T, a, b: T.linalg.solve(a + 4 * T.eye(3, dtype=a.dtype, device=a.device), b), [(3, 3), (3, 2)]),
}


@pytest.mark.parametrize("name", sorted(_SUBSET_CASES))
def test_grad_of_each_input_alone_equals_its_share_of_all(device, name):
    """autograd.grad with one input (the others' gradients pruned inside the ops) gives what
    asking for every input gives for that one."""
    fn, shapes = _SUBSET_CASES[name]
    rng = np.random.default_rng(0)
    args = [framework.tensor(rng.standard_normal(s), dtype=framework.float64, device=device, requires_grad=True)
            for s in shapes]
    out = fn(framework, *args)
    weight = framework.tensor(rng.standard_normal(tuple(out.shape)), dtype=framework.float64, device=device)
    loss = (out * weight).sum()
    every = framework.autograd.grad(loss, args, retain_graph=True)
    for i, a in enumerate(args):
        (alone,) = framework.autograd.grad(loss, a, retain_graph=True)
        np.testing.assert_allclose(alone.cpu().numpy(), every[i].cpu().numpy(), rtol=1e-12, atol=1e-12)
