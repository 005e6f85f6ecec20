"""The remaining layers against PyTorch on every device: Bilinear, distances, EmbeddingBag and
Embedding's options, Identity/Flatten/Unflatten, parameter containers, Buffer, lazy modules."""
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, gradcheck, randn

rng = np.random.default_rng(11)
F = lambda T: T.nn.functional  # noqa: E731

x54 = randn(5, 4)
y54 = randn(5, 4)
weight10 = randn(10, 3)
indices = np.array([1, 2, 4, 5, 4, 3, 2, 9])
offsets = np.array([0, 4, 4, 6])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ----------------------------------------------------------------- bilinear, distances


def test_bilinear(device):
    check(lambda T, a, b, w, bias: F(T).bilinear(a, b, w, bias), randn(3, 4), randn(3, 2), randn(5, 4, 2), randn(5),
          device=device)
    check(lambda T, a, b, w: F(T).bilinear(a, b, w), randn(2, 3, 4), randn(2, 3, 2), randn(5, 4, 2), device=device)
    check(lambda T, a, b, w: F(T).bilinear(a, b, w), randn(4), randn(2), randn(3, 4, 2), device=device)
    gradcheck(lambda T, a, b, w, bias: F(T).bilinear(a, b, w, bias), randn(2, 3), randn(2, 2), randn(2, 3, 2),
              randn(2), device=device)


def test_bilinear_errors(device):
    for a, b, w, bias in [((2, 3), (4,), (5, 3, 4), None), ((2, 3), (3, 4), (5, 3, 4), None),
                          ((2, 2), (2, 4), (5, 3, 4), None), ((2, 3), (2, 5), (5, 3, 4), None),
                          ((2, 3), (2, 4), (5, 3, 4), (4,))]:
        inputs = [randn(*a), randn(*b), randn(*w)] + ([randn(*bias)] if bias else [])
        check_raises(lambda T, *t: F(T).bilinear(*t), *inputs, device=device)


def test_bilinear_module(device):
    for lib in (torch, framework):
        m = lib.nn.Bilinear(4, 3, 2, bias=False)
        assert m.weight.shape == (2, 4, 3) and m.bias is None
        bound = 1 / np.sqrt(4)
        assert float(m.weight.abs().max()) <= bound
    assert repr(framework.nn.Bilinear(4, 3, 2)) == repr(torch.nn.Bilinear(4, 3, 2))
    check(lambda T, a, b: _seeded(T.nn.Bilinear(4, 3, 2), T, a.device)(a, b), randn(5, 4), randn(5, 3),
          device=device)
    with pytest.raises(ValueError):
        framework.nn.Bilinear(0, 3, 2)


def _seeded(module, T, device):
    """module with deterministic parameters (the same values in both libraries), on device."""
    with T.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(T.tensor(np.random.default_rng(i).standard_normal(tuple(p.shape)).astype(np.float32)))
    return module.to(device)


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, float("inf"), 0])
def test_pairwise_distance(device, p):
    check(lambda T, a, b: F(T).pairwise_distance(a, b, p=p), x54, y54, device=device)
    check(lambda T, a, b: T.nn.PairwiseDistance(p=p, eps=1e-3, keepdim=True)(a, b), x54, y54[0], device=device)
    check(lambda T, a, b: F(T).pairwise_distance(a, b, p=p), x54[0], y54[0], device=device)


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, float("inf"), 0])
def test_pdist(device, p):
    rows = np.concatenate([x54[:3], x54[:1]])  # a repeated row: distance 0, gradient 0 as PyTorch's
    check(lambda T, a: F(T).pdist(a, p=p), rows, device=device)


def test_distance_gradcheck(device):
    gradcheck(lambda T, a, b: F(T).pairwise_distance(a, b, p=3), randn(2, 3), randn(2, 3), device=device)
    gradcheck(lambda T, a: F(T).pdist(a, p=1.5), randn(3, 2), device=device)
    gradcheck(lambda T, a, b: F(T).cosine_similarity(a, b, dim=0), randn(3, 2), randn(3, 2), device=device)


def test_cosine_similarity(device):
    check(lambda T, a, b: F(T).cosine_similarity(a, b), x54, y54, device=device)
    check(lambda T, a, b: T.nn.CosineSimilarity(dim=0, eps=1e-3)(a, b), x54, y54[:, :1], device=device)
    zeros = np.zeros((3, 4), np.float32)  # norms clamped to eps, gradient through the unclamped norm
    check(lambda T, a, b: F(T).cosine_similarity(a, b, dim=1), zeros, y54[:3], device=device)
    check(lambda T, a, b: F(T).cosine_similarity(a, b, dim=-1), randn(2, 3, 4), randn(3, 4), device=device)


def test_distance_errors(device):
    check_raises(lambda T, a, b: F(T).cosine_similarity(a, b), np.ones(3, np.int64), np.ones(3, np.int64),
                 device=device)
    check_raises(lambda T, a, b: F(T).cosine_similarity(a, b, dim=1), x54[0], y54[0], exc=IndexError, device=device)
    check_raises(lambda T, a: F(T).pdist(a), randn(2, 3, 2), device=device)
    check_raises(lambda T, a: F(T).pdist(a), np.ones((2, 3), np.int64), device=device)
    check_raises(lambda T, a: F(T).pdist(a, p=-1), x54, device=device)
    check_raises(lambda T, a, b: F(T).pairwise_distance(a, b), x54, y54[:, :3], device=device)
    check(lambda T, a: F(T).pdist(a), x54[:1], device=device)  # one row: no pair


# ----------------------------------------------------------------- embeddings

BAGS = {
    "sum": lambda T, w, i, o: F(T).embedding_bag(i, w, o, mode="sum"),
    "mean": lambda T, w, i, o: F(T).embedding_bag(i, w, o),
    "max": lambda T, w, i, o: F(T).embedding_bag(i, w, o, mode="max"),
    "padding_mean": lambda T, w, i, o: F(T).embedding_bag(i, w, o, padding_idx=4),
    "padding_max": lambda T, w, i, o: F(T).embedding_bag(i, w, o, mode="max", padding_idx=-6),
    "padding_sum": lambda T, w, i, o: F(T).embedding_bag(i, w, o, mode="sum", padding_idx=2),
    "last_offset": lambda T, w, i, o: F(T).embedding_bag(i, w, T.cat([o, T.tensor([8], device=o.device)]),
                                                         include_last_offset=True, mode="sum"),
    "module": lambda T, w, i, o: T.nn.EmbeddingBag.from_pretrained(w, freeze=False, mode="max")(i, o),
    "int32": lambda T, w, i, o: F(T).embedding_bag(i.int(), w, o.int(), mode="sum"),
}


@pytest.mark.parametrize("name", sorted(BAGS))
def test_embedding_bag(device, name):
    check(BAGS[name], weight10, indices, offsets, device=device)


def test_embedding_bag_forms(device):
    psw = randn(8)
    check(lambda T, w, i, o, p: F(T).embedding_bag(i, w, o, mode="sum", per_sample_weights=p), weight10, indices,
          offsets, psw, device=device)
    check(lambda T, w, i: F(T).embedding_bag(i, w, mode="max"), weight10, indices.reshape(2, 4), device=device)
    check(lambda T, w, i, p: T.nn.EmbeddingBag.from_pretrained(w, mode="sum", freeze=False)(i, per_sample_weights=p),
          weight10, indices.reshape(4, 2), psw.reshape(4, 2), device=device)
    check(lambda T, w, i, o: F(T).embedding_bag(i, w, o, max_norm=1.0), weight10, indices, offsets, grad=False,
          device=device)
    gradcheck(lambda T, w, p: F(T).embedding_bag(T.tensor([1, 0, 2, 2], device=w.device), w,
                                                 T.tensor([0, 1], device=w.device), mode="sum", per_sample_weights=p),
              randn(3, 2), randn(4), device=device)
    gradcheck(lambda T, w: F(T).embedding_bag(T.tensor([1, 0, 2, 2], device=w.device), w,
                                              T.tensor([0, 3], device=w.device), mode="mean"), randn(3, 2),
              device=device)


def test_embedding_bag_scale_grad_by_freq(device):
    """The documented semantics (each row's gradient over its frequency in the batch), as
    F.embedding computes it; PyTorch's CPU embedding_bag divides some rows by other rows' counts."""
    idx = indices.reshape(2, 4)
    w = framework.tensor(weight10, device=device, requires_grad=True)
    F(framework).embedding_bag(framework.tensor(idx, device=device), w, mode="sum", scale_grad_by_freq=True).sum() \
        .backward()
    tw = torch.tensor(weight10, requires_grad=True)
    F(torch).embedding(torch.tensor(idx), tw, scale_grad_by_freq=True).sum().backward()
    np.testing.assert_allclose(w.grad.cpu().numpy(), tw.grad.numpy(), rtol=1e-6)


def test_embedding_bag_errors(device):
    bad = [
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([1, 4], device=w.device)), RuntimeError),  # offsets[0]
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([0, 9], device=w.device)), RuntimeError),  # past the end
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([0, 5, 3], device=w.device)), RuntimeError),  # decreasing
        (lambda T, w, i: F(T).embedding_bag(i.reshape(2, 4), w, T.tensor([0, 2], device=w.device)), ValueError),
        (lambda T, w, i: F(T).embedding_bag(i, w), ValueError),
        (lambda T, w, i: F(T).embedding_bag(i.reshape(2, 2, 2), w), ValueError),
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([[0, 4]], device=w.device)), ValueError),
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([0, 4], device=w.device), mode="min"), ValueError),
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([0, 4], device=w.device), mode="max",
                                            scale_grad_by_freq=True), ValueError),
        (lambda T, w, i: F(T).embedding_bag(i, w[0], T.tensor([0, 4], device=w.device)), ValueError),
        (lambda T, w, i: F(T).embedding_bag(i.float(), w, T.tensor([0, 4], device=w.device)), RuntimeError),
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([0, 4], device=w.device), per_sample_weights=w[0, :1]),
         ValueError),
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([0, 4], device=w.device),
                                            per_sample_weights=i.float()), NotImplementedError),
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([0, 4], device=w.device), mode="sum",
                                            per_sample_weights=i.double()), RuntimeError),
        (lambda T, w, i: F(T).embedding_bag(i, w, T.tensor([0, 4], device=w.device), padding_idx=10), RuntimeError),
        (lambda T, w, i: F(T).embedding_bag(i * 2, w, T.tensor([0, 4], device=w.device)), RuntimeError),  # index 18
        (lambda T, w, i: F(T).embedding_bag(i - 2, w, T.tensor([0, 4], device=w.device)), RuntimeError),  # index -1
    ]
    for fn, exc in bad:
        check_raises(fn, weight10, indices, exc=exc, device=device)


def test_embedding_options(device):
    idx = indices.reshape(2, 4)
    check(lambda T, w, i: F(T).embedding(i, w, padding_idx=2, scale_grad_by_freq=True), weight10, idx, device=device)
    check(lambda T, w, i: F(T).embedding(i, w, padding_idx=-1), weight10, idx, device=device)
    check(lambda T, w, i: F(T).embedding(i, w.detach().clone(), max_norm=1.5, norm_type=1.0), weight10, idx,
          grad=False, device=device)
    check(lambda T, w, i: T.nn.Embedding.from_pretrained(w, freeze=False, max_norm=2.0, scale_grad_by_freq=True)(i),
          weight10, idx, device=device)
    # max_norm renormalises the rows it looks up, in place
    for lib in (torch, framework):
        w = lib.tensor(weight10 * 3, device=device if lib is framework else "cpu")
        F(lib).embedding(lib.tensor(idx, device=w.device), w, max_norm=1.0)
        looked_up = w[lib.tensor(idx.reshape(-1), device=w.device)]
        assert float(looked_up.norm(dim=1).max()) <= 1.0 + 1e-5
        assert float(w[0].norm()) > 1.0  # (row 0 was not looked up)


def test_embedding_errors(device):
    w = weight10
    check_raises(lambda T, w, i: F(T).embedding(i.float(), w), w, indices, device=device)
    check_raises(lambda T, w, i: F(T).embedding(i, w[0]), w, indices, device=device)
    check_raises(lambda T, w, i: F(T).embedding(i, w, padding_idx=10), w, indices, exc=AssertionError,
                 device=device)
    with pytest.raises(NotImplementedError):
        F(framework).embedding(framework.tensor(indices, device=device), framework.tensor(w, device=device),
                               sparse=True)
    with pytest.raises(NotImplementedError):
        framework.nn.Embedding(10, 3, sparse=True).to(device)(framework.tensor(indices, device=device))
    for lib in (torch, framework):
        with pytest.raises(AssertionError):
            lib.nn.Embedding(10, 3, _weight=lib.ones(3, 3))
        with pytest.raises(AssertionError):
            lib.nn.Embedding.from_pretrained(lib.ones(3))
        with pytest.raises(AssertionError):
            lib.nn.EmbeddingBag(10, 3, padding_idx=-11)


def test_embedding_modules():
    for kwargs in ({}, {"padding_idx": 2, "max_norm": 1.0, "norm_type": 1.0, "scale_grad_by_freq": True}):
        assert repr(framework.nn.Embedding(10, 3, **kwargs)) == repr(torch.nn.Embedding(10, 3, **kwargs))
    for kwargs in ({}, {"mode": "max", "padding_idx": -1, "max_norm": 2.0}):
        assert repr(framework.nn.EmbeddingBag(10, 3, **kwargs)) == repr(torch.nn.EmbeddingBag(10, 3, **kwargs))
    e = framework.nn.Embedding(10, 3, padding_idx=4)
    assert float(e.weight[4].abs().sum()) == 0 and e.weight.requires_grad
    shared = framework.ones(4, 2)
    assert framework.nn.Embedding.from_pretrained(shared).weight.data_ptr() == shared.data_ptr() \
        if hasattr(shared, "data_ptr") else True
    assert not framework.nn.EmbeddingBag.from_pretrained(shared).weight.requires_grad


def test_embedding_bag_training_step(device):
    """The text-classification pattern: EmbeddingBag(mode='mean') + Linear, trained by SGD."""
    framework.manual_seed(0)
    bag = framework.nn.EmbeddingBag(20, 4).to(device)
    head = framework.nn.Linear(4, 3).to(device)
    opt = framework.optim.SGD(list(bag.parameters()) + list(head.parameters()), lr=0.5)
    text = framework.tensor(rng.integers(0, 20, 12), device=device)
    offs = framework.tensor([0, 3, 7], device=device)
    label = framework.tensor([0, 2, 1], device=device)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F(framework).cross_entropy(head(bag(text, offs)), label)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


# ----------------------------------------------------------------- small modules and containers


def test_identity_flatten_unflatten(device):
    check(lambda T, x: T.nn.Identity(3, unused=True)(x), x54, device=device)
    check(lambda T, x: T.nn.Flatten(0, 1)(x), randn(2, 3, 2), device=device)
    check(lambda T, x: T.nn.Unflatten(1, (2, -1))(x), randn(3, 4), device=device)
    check(lambda T, x: T.nn.Unflatten(-1, [2, 2])(x), randn(3, 4), device=device)
    for lib in (torch, framework):
        with pytest.raises(TypeError):
            lib.nn.Unflatten(1, (2.0, 2))
        with pytest.raises(TypeError):
            lib.nn.Unflatten(1, 4)
    for make in (lambda T: T.nn.Flatten(), lambda T: T.nn.Unflatten(1, (2, 2)), lambda T: T.nn.Identity()):
        assert repr(make(framework)) == repr(make(torch))


def test_parameter_list():
    for lib in (torch, framework):
        pl = lib.nn.ParameterList([lib.ones(2), lib.nn.Parameter(lib.zeros(3)), "text"])
        assert len(pl) == 3 and isinstance(pl[0], lib.nn.Parameter) and pl[2] == "text"
        assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
        pl.append(lib.ones(1))
        pl[0] = lib.zeros(4)
        pl += [lib.ones(5)]
        assert [tuple(p.shape) for p in pl.parameters()] == [(4,), (3,), (1,), (5,)]
        assert len(pl[1:3]) == 2 and pl[-1].shape == (5,)
        with pytest.raises(IndexError):
            pl[7]
        with pytest.raises(TypeError):
            pl.extend(lib.ones(2))
        with pytest.raises(RuntimeError):
            pl()
    assert repr(framework.nn.ParameterList([framework.ones(2, 3)])) == repr(torch.nn.ParameterList([torch.ones(2,
                                                                                                             3)]))


def test_parameter_dict():
    for lib in (torch, framework):
        pd = lib.nn.ParameterDict({"b": lib.ones(2), "a": lib.zeros(1)})
        assert list(pd) == ["a", "b"]  # a plain dict's keys are sorted, as PyTorch
        pd["c"] = lib.ones(3)
        pd.update([("d", lib.ones(4))])
        assert isinstance(pd["c"], lib.nn.Parameter) and "d" in pd and len(pd) == 4
        assert [n for n, _ in pd.named_parameters()] == ["a", "b", "c", "d"]
        assert pd.pop("a").shape == (1,) and list(pd.keys()) == ["b", "c", "d"]
        assert pd.popitem()[0] == "d"
        assert pd.get("zz", 5) == 5 and pd.setdefault("e", lib.ones(1)).shape == (1,)
        merged = pd | lib.nn.ParameterDict({"f": lib.ones(1)})
        assert list(merged) == ["b", "c", "e", "f"]
        assert list(pd.copy()) == list(pd) and list(reversed(pd)) == ["e", "c", "b"]
        with pytest.raises(ValueError):
            pd.update([("x", lib.ones(1), 3)])
        pd.clear()
        assert len(pd) == 0
        with pytest.raises(TypeError):
            lib.nn.ParameterDict()[1] = lib.ones(1)
    assert repr(framework.nn.ParameterDict({"w": framework.ones(2, 3)})) == \
        repr(torch.nn.ParameterDict({"w": torch.ones(2, 3)}))


def test_buffer():
    for lib in (torch, framework):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.kept = lib.nn.Buffer(lib.ones(2))
                self.scratch = lib.nn.Buffer(lib.zeros(3), persistent=False)

        net = Net()
        assert [n for n, _ in net.named_buffers()] == ["kept", "scratch"]
        assert list(net.state_dict()) == ["kept"]
        assert isinstance(net.kept, lib.nn.Buffer) and not isinstance(lib.ones(1), lib.nn.Buffer)
        assert type(net.kept) is lib.Tensor


# ----------------------------------------------------------------- lazy modules

LAZY = {
    "LazyLinear": (lambda T: T.nn.LazyLinear(3), (2, 5)),
    "LazyConv1d": (lambda T: T.nn.LazyConv1d(4, 3, padding=1), (2, 3, 5)),
    "LazyConv2d": (lambda T: T.nn.LazyConv2d(4, 2, stride=2, bias=False), (1, 3, 4, 4)),
    "LazyConv3d": (lambda T: T.nn.LazyConv3d(2, 2, groups=1), (1, 2, 3, 3, 3)),
    "LazyConvTranspose1d": (lambda T: T.nn.LazyConvTranspose1d(4, 3, stride=2), (2, 3, 5)),
    "LazyConvTranspose2d": (lambda T: T.nn.LazyConvTranspose2d(2, 2, output_padding=0), (1, 3, 3, 3)),
    "LazyConvTranspose3d": (lambda T: T.nn.LazyConvTranspose3d(2, 2), (1, 2, 2, 2, 2)),
    "LazyBatchNorm1d": (lambda T: T.nn.LazyBatchNorm1d(), (4, 3)),
    "LazyBatchNorm2d": (lambda T: T.nn.LazyBatchNorm2d(momentum=0.2), (2, 3, 2, 2)),
    "LazyBatchNorm3d": (lambda T: T.nn.LazyBatchNorm3d(affine=False), (2, 3, 2, 2, 2)),
    "LazyInstanceNorm1d": (lambda T: T.nn.LazyInstanceNorm1d(affine=True), (2, 3, 4)),
    "LazyInstanceNorm2d": (lambda T: T.nn.LazyInstanceNorm2d(track_running_stats=True), (2, 3, 2, 2)),
    "LazyInstanceNorm3d": (lambda T: T.nn.LazyInstanceNorm3d(), (1, 2, 2, 2, 2)),
}


@pytest.mark.parametrize("name", sorted(LAZY))
def test_lazy_modules(device, name):
    make, shape = LAZY[name]
    ours, theirs = make(framework), make(torch)
    assert repr(ours) == repr(theirs)
    assert ours.has_uninitialized_params() and theirs.has_uninitialized_params()
    ours.to(device)
    x = randn(*shape)
    out = ours(framework.tensor(x, device=device))
    theirs(torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__ == name[4:]  # it became its base class
    assert repr(ours) == repr(theirs)
    for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == tn and p.shape == tp.shape and p.device.type == framework.device(device).type
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    # the same parameters give the same output
    ours.load_state_dict({k: framework.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    check(lambda T, x: (ours if T is framework else theirs)(x), x, device=device)
    assert out.shape == theirs(torch.tensor(x)).shape


def test_lazy_module_load_and_errors():
    src = framework.nn.Sequential(framework.nn.Linear(5, 3), framework.nn.BatchNorm1d(3))
    lazy = framework.nn.Sequential(framework.nn.LazyLinear(3), framework.nn.LazyBatchNorm1d())
    lazy.load_state_dict(src.state_dict())  # placeholders take the loaded shapes, nested too
    assert lazy[0].weight.shape == (3, 5) and lazy[1].running_mean.shape == (3,)
    assert lazy(framework.randn(4, 5)).shape == (4, 3)
    assert type(lazy[0]) is framework.nn.Linear and lazy[0].in_features == 5
    for lib in (torch, framework):
        p = lib.nn.UninitializedParameter()
        with pytest.raises(RuntimeError, match="uninitialized"):
            p.shape
        assert lib.nn.parameter.is_lazy(p) and not lib.nn.parameter.is_lazy(lib.nn.Parameter(lib.ones(1)))
        p.materialize((2, 3))
        assert type(p) is lib.nn.Parameter and p.shape == (2, 3)
        b = lib.nn.UninitializedBuffer()
        b.materialize(4, dtype=lib.float64)
        assert type(b) is lib.Tensor and b.dtype == lib.float64
        conv = lib.nn.LazyConv2d(4, 3, groups=2)
        with pytest.raises(ValueError, match="divisible by groups"):
            conv(lib.ones(1, 3, 4, 4))
        with pytest.raises(RuntimeError, match="Expected 3D"):
            lib.nn.LazyConv2d(4, 3)(lib.ones(4, 4))
