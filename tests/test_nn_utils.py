"""torch.nn.utils against PyTorch: parametrize and parametrizations (weight_norm, spectral_norm,
orthogonal), the hook-based weight_norm/spectral_norm, prune, gradient clipping, flat
parameter vectors, batch-norm fusion and functional_call."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.utils.prune  # noqa: F401 (not imported by torch.nn.utils)

import framework
from helpers import check

P = lambda T: T.nn.utils.parametrizations  # noqa: E731
U = lambda T: T.nn.utils  # noqa: E731


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _seeded(module, T, seed=0):
    """The module with the same deterministic parameters in both libraries."""
    rng = np.random.default_rng(seed)
    with T.no_grad():
        for p in module.parameters():
            p.copy_(T.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return module


def _linear(T, i=4, o=3, device="cpu"):
    return _seeded(T.nn.Linear(i, o), T).to(device if T is framework else "cpu")


def _np(t):
    return t.detach().cpu().numpy()


def _both(make, device="cpu"):
    return make(torch, "cpu"), make(framework, device)


# ----------------------------------------------------------------- parametrize


class Symmetric:
    """X -> triu(X) + triu(X, 1)^T (a parametrization written once for both libraries)."""

    @staticmethod
    def module(T):
        class Sym(T.nn.Module):
            def forward(self, x):
                return x.triu() + x.triu(1).transpose(-2, -1)

            def right_inverse(self, a):
                return a.triu()
        return Sym()


def _scale(T, factor):
    class Scale(T.nn.Module):
        def forward(self, x):
            return x * factor

        def right_inverse(self, y):
            return y / factor
    return Scale()


def test_register_parametrization(device):
    pt, fw = _both(lambda T, d: _linear(T, 3, 3, d), device)
    for T, m in ((torch, pt), (framework, fw)):
        T.nn.utils.parametrize.register_parametrization(m, "weight", Symmetric.module(T))
        T.nn.utils.parametrize.register_parametrization(m, "weight", _scale(T, 2.0))
        assert T.nn.utils.parametrize.is_parametrized(m) and T.nn.utils.parametrize.is_parametrized(m, "weight")
        assert not T.nn.utils.parametrize.is_parametrized(m, "bias")
        assert type(m).__name__ == "ParametrizedLinear"
        assert T.nn.utils.parametrize.type_before_parametrizations(m) is T.nn.Linear
    assert list(fw.state_dict()) == list(pt.state_dict())
    np.testing.assert_allclose(_np(fw.weight), _np(pt.weight), atol=1e-6)
    x = np.ones((2, 3), np.float32)
    check(lambda T, x: (fw if T is framework else pt)(x), x, device=device)
    # gradients reach the original
    grads = []
    for T, m in ((torch, pt), (framework, fw)):
        m.zero_grad()
        m(T.tensor(x, device=m.bias.device)).sum().backward()
        grads.append(_np(m.parametrizations.weight.original.grad))
    np.testing.assert_allclose(grads[1], grads[0], atol=1e-5)
    # assignment goes through right_inverse
    target = np.arange(9, dtype=np.float32).reshape(3, 3)
    for T, m in ((torch, pt), (framework, fw)):
        m.weight = T.tensor(target + target.T, device=m.bias.device)
    np.testing.assert_allclose(_np(fw.weight), _np(pt.weight), atol=1e-5)
    np.testing.assert_allclose(_np(fw.parametrizations.weight.original),
                               _np(pt.parametrizations.weight.original), atol=1e-5)


def test_parametrization_cache_and_removal():
    calls = []

    class Counting(framework.nn.Module):
        def forward(self, x):
            calls.append(1)
            return x * 3

    m = _linear(framework)
    framework.nn.utils.parametrize.register_parametrization(m, "weight", Counting())
    calls.clear()
    with framework.nn.utils.parametrize.cached():
        a, b = m.weight, m.weight
    assert len(calls) == 1 and a is b
    m.weight, m.weight
    assert len(calls) == 3
    value = _np(m.weight)
    framework.nn.utils.parametrize.remove_parametrizations(m, "weight")
    assert type(m) is framework.nn.Linear and isinstance(m.weight, framework.nn.Parameter)
    np.testing.assert_allclose(_np(m.weight), value)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"] == [n for n, _ in torch.nn.utils.parametrize
                                                                          .register_parametrization(
        _linear(torch), "weight", _scale(torch, 1.0)).named_parameters()][:1] + ["weight"]
    m2 = _linear(framework)
    original = _np(m2.weight)
    framework.nn.utils.parametrize.register_parametrization(m2, "weight", Counting())
    framework.nn.utils.parametrize.remove_parametrizations(m2, "weight", leave_parametrized=False)
    np.testing.assert_allclose(_np(m2.weight), original)


def test_parametrization_errors():
    for T in (torch, framework):
        class Shrink(T.nn.Module):
            def forward(self, x):
                return x[:1]

        class Retype(T.nn.Module):
            def forward(self, x):
                return x.double()
        for bad in (Shrink(), Retype()):
            with pytest.raises(ValueError):
                T.nn.utils.parametrize.register_parametrization(_linear(T), "weight", bad)
        T.nn.utils.parametrize.register_parametrization(_linear(T), "weight", Shrink(), unsafe=True)
        with pytest.raises(ValueError):
            T.nn.utils.parametrize.register_parametrization(_linear(T), "nothing", Shrink())
        with pytest.raises(ValueError):
            T.nn.utils.parametrize.remove_parametrizations(_linear(T), "weight")
        m = T.nn.utils.parametrize.register_parametrization(_linear(T), "weight", _scale(T, 1.0))
        with pytest.raises(RuntimeError, match="state_dict"):
            import pickle
            pickle.dumps(m)


# ----------------------------------------------------------------- parametrizations


@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_weight_norm_parametrization(device, dim):
    pt, fw = _both(lambda T, d: P(T).weight_norm(_linear(T, 4, 3, d), dim=dim), device)
    assert [n for n, _ in fw.named_parameters()] == [n for n, _ in pt.named_parameters()]
    for name in ("original0", "original1"):
        np.testing.assert_allclose(_np(getattr(fw.parametrizations.weight, name)),
                                   _np(getattr(pt.parametrizations.weight, name)), atol=1e-6)
    check(lambda T, x: (fw if T is framework else pt)(x), np.ones((2, 4), np.float32), device=device)
    grads = []
    for T, m in ((torch, pt), (framework, fw)):
        (m(T.tensor(np.arange(8.0, dtype=np.float32).reshape(2, 4), device=m.bias.device)) ** 2).sum().backward()
        grads.append([_np(m.parametrizations.weight.original0.grad), _np(m.parametrizations.weight.original1.grad)])
    for a, b in zip(*grads):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_spectral_norm_parametrization(device):
    makers = [lambda T: _linear(T, 5, 4), lambda T: _seeded(T.nn.ConvTranspose2d(3, 4, 2), T),
              lambda T: _seeded(T.nn.Conv1d(2, 3, 3), T)]
    for make in makers[:1] if framework.device(device).type == "cuda" else makers:  # (the simulator is slow)
        m = P(framework).spectral_norm(make(framework).to(device), n_power_iterations=3)
        tm = P(torch).spectral_norm(make(torch), n_power_iterations=3)
        assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()]
        for _ in range(20):  # power iterations in training mode converge to the top singular value
            m.weight
        m.eval()
        dim = 1 if "ConvTranspose" in type(tm).__name__ else 0
        mat = np.moveaxis(_np(m.weight), dim, 0).reshape(_np(m.weight).shape[dim], -1)
        assert abs(np.linalg.svd(mat, compute_uv=False)[0] - 1) < 1e-3
        frozen = _np(m.weight)
        np.testing.assert_allclose(_np(m.weight), frozen)  # eval: no iteration
    with pytest.raises(ValueError):
        P(framework).spectral_norm(_linear(framework), n_power_iterations=0)
    with pytest.raises(IndexError):
        P(framework).spectral_norm(_linear(framework), dim=2)
    one_d = framework.nn.Module()
    one_d.w = framework.nn.Parameter(framework.tensor([3.0, 4.0]))
    P(framework).spectral_norm(one_d, "w")
    np.testing.assert_allclose(_np(one_d.w), [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_orthogonal_parametrization(device, orthogonal_map, shape):
    pt, fw = _both(lambda T, d: P(T).orthogonal(_linear(T, shape[1], shape[0], d), orthogonal_map=orthogonal_map),
                   device)
    q = _np(fw.weight)
    small = min(shape)
    np.testing.assert_allclose(q @ q.T if shape[0] <= shape[1] else q.T @ q, np.eye(small), atol=1e-5)
    np.testing.assert_allclose(q, _np(pt.weight), atol=1e-5)
    grads = []
    for T, m in ((torch, pt), (framework, fw)):
        x = T.tensor(np.linspace(-1, 1, 2 * shape[1], dtype=np.float32).reshape(2, shape[1]), device=m.bias.device)
        (m(x) ** 2).sum().backward()
        grads.append(_np(m.parametrizations.weight.original.grad))
    if shape[0] == shape[1]:
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-4, atol=1e-4)
    # (otherwise the base completes the columns with random ones, drawn differently by each library)


def test_orthogonal_without_trivialization_and_assignment(device):
    for om in ("matrix_exp", "cayley", "householder"):
        shape = (3, 3) if om != "householder" else (4, 2)
        pt, fw = _both(lambda T, d: P(T).orthogonal(_linear(T, shape[1], shape[0], d), orthogonal_map=om,
                                                    use_trivialization=False), device)
        grads = []
        for T, m in ((torch, pt), (framework, fw)):
            (m(T.ones(2, shape[1], device=m.bias.device)) ** 2).sum().backward()
            grads.append(_np(m.parametrizations.weight.original.grad))
        np.testing.assert_allclose(_np(fw.weight), _np(pt.weight), atol=1e-5)
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-4, atol=1e-4)
    q = np.linalg.qr(np.random.default_rng(1).standard_normal((4, 4)))[0].astype(np.float32)
    m = P(framework).orthogonal(_linear(framework, 4, 4, device))
    m.weight = framework.tensor(q, device=device)
    np.testing.assert_allclose(_np(m.weight), q, atol=1e-5)
    for T in (torch, framework):
        with pytest.raises(ValueError):
            P(T).orthogonal(T.nn.Linear(3, 3), orthogonal_map="qr")
        m = T.nn.Module()
        m.w = T.nn.Parameter(T.ones(3))
        with pytest.raises(ValueError):
            P(T).orthogonal(m, "w")
        with pytest.raises(NotImplementedError):
            m = P(T).orthogonal(T.nn.Linear(3, 3), use_trivialization=False)
            m.weight = T.eye(3)


# ----------------------------------------------------------------- hook-based weight_norm / spectral_norm


def test_hook_weight_norm(device):
    pt, fw = _both(lambda T, d: U(T).weight_norm(_linear(T, 4, 3, d), dim=1), device)
    assert [n for n, _ in fw.named_parameters()] == [n for n, _ in pt.named_parameters()] == ["bias", "weight_g",
                                                                                             "weight_v"]
    check(lambda T, x: (fw if T is framework else pt)(x), np.ones((2, 4), np.float32), device=device)
    for T, m in ((torch, pt), (framework, fw)):
        with pytest.raises(RuntimeError):
            U(T).weight_norm(m)
        U(T).remove_weight_norm(m)
        assert [n for n, _ in m.named_parameters()] == ["bias", "weight"]
        with pytest.raises(ValueError):
            U(T).remove_weight_norm(m)
    np.testing.assert_allclose(_np(fw.weight), _np(pt.weight), atol=1e-6)


def test_weight_norm_loads_hook_based_checkpoints():
    old = U(framework).weight_norm(_linear(framework, 4, 3))
    new = P(framework).weight_norm(_seeded(framework.nn.Linear(4, 3), framework, seed=9))
    new.load_state_dict(old.state_dict())
    np.testing.assert_allclose(_np(new.weight), _np(old.weight), rtol=1e-6)


def test_hook_spectral_norm(device):
    m = U(framework).spectral_norm(_linear(framework, 5, 4, device), n_power_iterations=2)
    tm = U(torch).spectral_norm(_linear(torch, 5, 4))
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()]
    x = framework.ones(2, 5, device=device)
    for _ in range(20):
        m(x)
    assert abs(np.linalg.svd(_np(m.weight), compute_uv=False)[0] - 1) < 1e-3
    U(framework).remove_spectral_norm(m)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"]
    with pytest.raises(ValueError):
        U(framework).remove_spectral_norm(m)


# ----------------------------------------------------------------- prune


def _conv(T):
    return _seeded(T.nn.Conv2d(2, 4, 3), T)


def test_prune_deterministic_methods():
    prune = lambda T: T.nn.utils.prune  # noqa: E731
    for apply in (lambda T, m: prune(T).l1_unstructured(m, "weight", amount=0.3),
                  lambda T, m: prune(T).l1_unstructured(m, "weight", amount=7),
                  lambda T, m: prune(T).ln_structured(m, "weight", amount=0.5, n=2, dim=0),
                  lambda T, m: prune(T).ln_structured(m, "weight", amount=1, n=1, dim=1),
                  lambda T, m: prune(T).ln_structured(m, "weight", amount=2, n=float("inf"), dim=-1),
                  lambda T, m: prune(T).identity(m, "bias"),
                  lambda T, m: prune(T).custom_from_mask(m, "bias", T.tensor([1.0, 0.0, 1.0, 0.0])),
                  lambda T, m: prune(T).l1_unstructured(m, "weight", 0.2,
                                                        importance_scores=m.weight.detach().flip(0))):
        mods = [apply(T, _conv(T)) for T in (torch, framework)]
        assert [n for n, _ in mods[1].named_parameters()] == [n for n, _ in mods[0].named_parameters()]
        assert [n for n, _ in mods[1].named_buffers()] == [n for n, _ in mods[0].named_buffers()]
        for name, buf in mods[0].named_buffers():
            np.testing.assert_array_equal(_np(dict(mods[1].named_buffers())[name]), _np(buf))
        np.testing.assert_allclose(_np(mods[1].weight), _np(mods[0].weight))
        assert torch.nn.utils.prune.is_pruned(mods[0]) and framework.nn.utils.prune.is_pruned(mods[1])


def test_prune_composition_global_and_remove(device):
    prune = lambda T: T.nn.utils.prune  # noqa: E731
    mods = []
    for T in (torch, framework):
        m = _conv(T).to(device if T is framework else "cpu")
        prune(T).l1_unstructured(m, "weight", amount=0.25)
        prune(T).ln_structured(m, "weight", amount=1, n=1, dim=0)
        prune(T).l1_unstructured(m, "weight", amount=5)
        hook = next(h for h in m._forward_pre_hooks.values() if isinstance(h, prune(T).BasePruningMethod))
        assert isinstance(hook, prune(T).PruningContainer) and len(hook) == 3
        mods.append(m)
    np.testing.assert_array_equal(_np(mods[1].weight_mask), _np(mods[0].weight_mask))
    x = np.ones((1, 2, 4, 4), np.float32)
    check(lambda T, x: (mods[1] if T is framework else mods[0])(x), x, device=device)
    grads = [_np(m.weight_orig.grad) for m in mods]
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-6)  # pruned entries get no gradient
    for T, m in zip((torch, framework), mods):
        prune(T).remove(m, "weight")
        assert [n for n, _ in m.named_parameters()] == ["bias", "weight"] and not prune(T).is_pruned(m)
        with pytest.raises(ValueError):
            prune(T).remove(m, "weight")
    np.testing.assert_allclose(_np(mods[1].weight), _np(mods[0].weight))
    # global: the smallest magnitudes over both layers together
    pairs = []
    for T in (torch, framework):
        a, b = _linear(T, 4, 3), _seeded(T.nn.Linear(3, 2), T, seed=5)
        prune(T).global_unstructured([(a, "weight"), (b, "weight")], pruning_method=prune(T).L1Unstructured,
                                     amount=8)
        pairs.append((_np(a.weight_mask), _np(b.weight_mask)))
    for ours, theirs in zip(pairs[1], pairs[0]):
        np.testing.assert_array_equal(ours, theirs)
    assert sum(int((m == 0).sum()) for m in pairs[1]) == 8


def test_prune_random_methods():
    prune = framework.nn.utils.prune
    m = _conv(framework)
    prune.random_unstructured(m, "weight", amount=0.4)
    assert int((m.weight_mask == 0).sum()) == round(0.4 * 72)
    m = _conv(framework)
    prune.random_structured(m, "weight", amount=2, dim=0)
    kept = (m.weight_mask.sum((1, 2, 3)) != 0).sum()
    assert int(kept) == 2 and set(np.unique(_np(m.weight_mask))) <= {0.0, 1.0}
    mask = framework.ones(3, 3)
    pruned = prune.L1Unstructured(amount=3).prune(framework.tensor(np.arange(9.0).reshape(3, 3)), mask)
    assert int((pruned == 0).sum()) == 3


def test_prune_errors():
    for T in (torch, framework):
        prune = T.nn.utils.prune
        with pytest.raises(TypeError):
            prune.L1Unstructured(amount="a")
        with pytest.raises(ValueError):
            prune.L1Unstructured(amount=1.5)
        with pytest.raises(ValueError):
            prune.L1Unstructured(amount=-1)
        with pytest.raises(ValueError):
            prune.l1_unstructured(_linear(T), "weight", amount=13)
        with pytest.raises(ValueError):
            prune.ln_structured(_linear(T), "bias", amount=1, n=2, dim=0)
        with pytest.raises(IndexError):
            prune.random_structured(_linear(T), "weight", amount=1, dim=2)
        m = _linear(T)
        with pytest.raises(ValueError):  # a failed pruning leaves the module as it was
            prune.l1_unstructured(m, "weight", amount=20)
        assert {n for n, _ in m.named_parameters()} == {"weight", "bias"} and not prune.is_pruned(m)
        with pytest.raises(TypeError):
            prune.global_unstructured([(m, "weight")], pruning_method=prune.LnStructured, amount=1, n=2, dim=0)


# ----------------------------------------------------------------- clipping, vectors


def _with_grads(T, device="cpu"):
    rng = np.random.default_rng(4)
    params = []
    for shape in ((3, 4), (5,), (2, 2, 2)):
        p = T.nn.Parameter(T.tensor(rng.standard_normal(shape).astype(np.float32), device=device))
        p.grad = T.tensor((rng.standard_normal(shape) * 3).astype(np.float32), device=device)
        params.append(p)
    params.append(T.nn.Parameter(T.ones(2, device=device)))  # (no gradient)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, float("inf"), 0])
def test_clip_grad_norm(device, norm_type):
    ours, theirs = _with_grads(framework, device), _with_grads(torch)
    total = U(framework).clip_grad_norm_(ours, 1.5, norm_type=norm_type)
    expected = U(torch).clip_grad_norm_(theirs, 1.5, norm_type=norm_type)
    np.testing.assert_allclose(float(total), float(expected), rtol=1e-5)
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(U(framework).get_total_norm([p.grad for p in ours[:3]], norm_type)),
                               float(U(torch).get_total_norm([p.grad for p in theirs[:3]], norm_type)), rtol=1e-5)


def test_clip_helpers(device):
    ours, theirs = _with_grads(framework, device), _with_grads(torch)
    U(framework).clip_grad_value_(ours, 0.5)
    U(torch).clip_grad_value_(theirs, 0.5)
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(_np(a.grad), _np(b.grad))
    ours, theirs = _with_grads(framework, device), _with_grads(torch)
    U(framework).clip_grads_with_norm_(ours, 1.0, framework.tensor(4.0, device=device))
    U(torch).clip_grads_with_norm_(theirs, 1.0, torch.tensor(4.0))
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-6)
    single = _with_grads(framework, device)[0]
    U(framework).clip_grad_norm_(single, 0.1)  # a single tensor
    assert float(single.grad.norm()) <= 0.1 + 1e-5
    bad = _with_grads(framework, device)
    bad[0].grad[0, 0] = float("nan")
    with pytest.raises(RuntimeError, match="non-finite"):
        U(framework).clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)
    assert float(U(framework).clip_grad_norm_([framework.nn.Parameter(framework.ones(1))], 1.0)) == 0.0
    with pytest.warns(FutureWarning):
        U(framework).clip_grad_norm(_with_grads(framework, device), 1.0)


def test_parameters_vector(device):
    params = [p for p in _with_grads(framework, device)]
    vec = U(framework).parameters_to_vector(params)
    expected = U(torch).parameters_to_vector(_with_grads(torch))
    np.testing.assert_allclose(_np(vec), _np(expected))
    U(framework).vector_to_parameters(vec * 2, params)
    np.testing.assert_allclose(_np(U(framework).parameters_to_vector(params)), _np(expected) * 2)
    for T in (torch, framework):
        with pytest.raises(TypeError):
            U(T).vector_to_parameters([1.0], [T.nn.Parameter(T.ones(1))])


# ----------------------------------------------------------------- fusion, functional_call


def test_fusion(device):
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 5)).astype(np.float32)
    for conv_cls, transpose in (("Conv2d", False), ("ConvTranspose2d", True)):
        conv = _seeded(getattr(framework.nn, conv_cls)(3, 4, 3), framework).to(device).eval()
        bn = _seeded(framework.nn.BatchNorm2d(4), framework, seed=1).to(device).eval()
        with framework.no_grad():
            bn.running_mean.copy_(framework.tensor([0.1, -0.2, 0.3, 0.0], device=device))
            bn.running_var.copy_(framework.tensor([1.5, 0.5, 2.0, 1.0], device=device))
        fused = U(framework).fuse_conv_bn_eval(conv, bn, transpose=transpose)
        inp = framework.tensor(x, device=device)
        np.testing.assert_allclose(_np(fused(inp)), _np(bn(conv(inp))), rtol=1e-4, atol=1e-5)
        assert isinstance(fused.weight, framework.nn.Parameter) and fused is not conv
    linear = _linear(framework, 4, 3, device).eval()
    bn = _seeded(framework.nn.BatchNorm1d(3), framework, seed=1).to(device).eval()
    fused = U(framework).fuse_linear_bn_eval(linear, bn)
    inp = framework.tensor(x[:, 0, 0, :4], device=device)
    np.testing.assert_allclose(_np(fused(inp)), _np(bn(linear(inp))), rtol=1e-4, atol=1e-5)
    w, b = U(framework).fuse_conv_bn_weights(conv.weight, None, bn.running_mean[:1].expand(4), bn.running_var[:1]
                                             .expand(4), 1e-5, None, None, True)
    assert w.shape == conv.weight.shape and b.shape == (4,)
    with pytest.raises(AssertionError, match="eval"):
        U(framework).fuse_linear_bn_eval(linear.train(), bn)


def test_functional_call(device):
    for T in (torch, framework):
        m = _linear(T, 4, 3, device if T is framework else "cpu")
        x = T.ones(2, 4, device=m.bias.device)
        zeros = {"weight": T.zeros(3, 4, device=m.bias.device)}
        call = torch.func.functional_call if T is torch else U(T).stateless.functional_call
        out = call(m, zeros, (x,))
        np.testing.assert_allclose(_np(out), _np(m.bias.expand(2, 3)), rtol=1e-6)
        assert float(m.weight.abs().sum()) > 0  # restored
        with pytest.raises(RuntimeError, match="Missing key"):
            call(m, zeros, x, strict=True)
    # tied weights follow the one given
    shared = framework.nn.Parameter(framework.ones(2, 2))
    net = framework.nn.Sequential(framework.nn.Linear(2, 2, bias=False), framework.nn.Linear(2, 2, bias=False))
    net[0].weight = net[1].weight = shared
    out = U(framework).stateless.functional_call(net, {"0.weight": framework.eye(2)}, framework.ones(1, 2))
    np.testing.assert_allclose(_np(out), [[1.0, 1.0]])
    with pytest.raises(ValueError, match="tied"):
        U(framework).stateless.functional_call(net, {"0.weight": framework.eye(2), "1.weight": framework.ones(2, 2)},
                                               framework.ones(1, 2))
