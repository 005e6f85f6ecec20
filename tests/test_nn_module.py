import copy

import numpy as np
import pytest
import torch

import framework
from framework import nn


def lenet(nn_mod, F):
    class Net(nn_mod.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn_mod.Conv2d(1, 6, 5)
            self.pool = nn_mod.MaxPool2d(2, 2)
            self.conv2 = nn_mod.Conv2d(6, 16, 5)
            self.bn = nn_mod.BatchNorm2d(16)
            self.fc1 = nn_mod.Linear(16 * 5 * 5, 120)
            self.fc2 = nn_mod.Linear(120, 84)
            self.fc3 = nn_mod.Linear(84, 10)
            self.head = nn_mod.Sequential(nn_mod.ReLU(), nn_mod.Dropout(0.1))

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.bn(self.conv2(x))))
            x = x.flatten(1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
    return Net()


def test_state_dict_keys_and_repr_match_torch():
    ours, theirs = lenet(nn, framework.nn.functional), lenet(torch.nn, torch.nn.functional)
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    for m in (nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False, groups=1, dilation=2), nn.LayerNorm(4),
              nn.GroupNorm(2, 4), nn.Embedding(10, 3, padding_idx=0), nn.LeakyReLU(0.2), nn.GELU(),
              nn.Softmax(dim=1), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.2),
              nn.ConvTranspose2d(3, 2, 3, stride=2, output_padding=1), nn.BatchNorm1d(5), nn.ELU(),
              nn.Softplus(), nn.CrossEntropyLoss(), nn.ReLU(inplace=True)):
        assert repr(m) == repr(_torch_twin(m)), repr(m)


def _torch_twin(m):
    """The same module built by PyTorch, from our module's repr arguments."""
    name, _, args = repr(m).partition("(")
    return eval(f"torch.nn.{name}({args[:-1]})", {"torch": torch})


def test_shared_parameters_counted_once_and_registration():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    m = nn.Module()
    m.w = nn.Parameter(framework.ones(2))
    m.register_buffer("stat", framework.zeros(2))
    m.register_buffer("tmp", framework.zeros(1), persistent=False)
    m.child = nn.Linear(2, 2)
    m.add_module("other", nn.ReLU())
    assert set(m.state_dict()) == {"w", "stat", "child.weight", "child.bias"}
    assert [n for n, _ in m.named_buffers()] == ["stat", "tmp"]
    assert len(list(m.children())) == 2 and len(list(m.modules())) == 3
    m.w = None
    assert "w" not in m.state_dict()
    with pytest.raises(TypeError):
        m.child = 3
    with pytest.raises(KeyError):
        m.register_buffer("a.b", framework.zeros(1))
    del m.child
    assert "child.weight" not in m.state_dict()


def test_load_state_dict_strict_errors_leave_model_unchanged():
    net = lenet(nn, framework.nn.functional)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    good = {k: v * 0 + 1 for k, v in net.state_dict().items()}
    bad = dict(good)
    del bad["fc3.bias"]
    bad["extra.weight"] = framework.zeros(1)
    bad["fc1.weight"] = framework.zeros(5, 5)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(bad)
    msg = str(e.value)
    assert "Missing key(s)" in msg and "fc3.bias" in msg and "Unexpected key(s)" in msg and "extra.weight" in msg
    assert "size mismatch for fc1.weight" in msg
    for k, v in net.state_dict().items():
        assert np.array_equal(v.numpy(), before[k].numpy()), k
    partial = {k: v for k, v in good.items() if k != "fc3.bias"}
    partial["extra"] = framework.zeros(1)
    missing, unexpected = net.load_state_dict(partial, strict=False)
    assert missing == ["fc3.bias"] and unexpected == ["extra"]
    assert net.fc1.weight.sum().item() == net.fc1.weight.numel()
    assert repr(net.load_state_dict(good)) == "<All keys matched successfully>"


def test_train_eval_zero_grad_requires_grad_apply():
    net = lenet(nn, framework.nn.functional)
    assert net.training and net.bn.training
    net.eval()
    assert not net.training and not net.bn.training and not net.head[1].training
    net.train()
    out = net(framework.randn(2, 1, 32, 32)).sum()
    out.backward()
    assert net.fc1.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert net.fc1.weight.grad.abs().sum().item() == 0
    net.zero_grad()
    assert net.fc1.weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and "Conv2d" in seen


def test_to_dtype_keeps_parameter_objects_and_deepcopy():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    w = net[0].weight
    net.double()
    assert net[0].weight is w and w.dtype == framework.float64 and net[1].running_mean.dtype == framework.float64
    assert net[1].num_batches_tracked.dtype == framework.int64
    net.to(framework.float32)
    assert w.dtype == framework.float32
    clone = copy.deepcopy(net)
    with framework.no_grad():
        clone[0].weight.add_(1)
    assert not np.allclose(clone[0].weight.detach().numpy(), net[0].weight.detach().numpy())
    assert isinstance(clone[0].weight, nn.Parameter)
    with pytest.raises(TypeError):
        net.to(framework.int64)


def test_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, inp: calls.append("pre") or (inp[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, inp, out: calls.append("post") or out + 1)
    y = lin(framework.ones(1, 2))
    assert calls == ["pre", "post"]
    assert np.allclose(y.detach().numpy(), lin.bias.detach().numpy() + 1)
    h1.remove()
    h2.remove()
    lin(framework.ones(1, 2))
    assert calls == ["pre", "post"]


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and len(seq[:2]) == 2
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq.state_dict())[-1] == "2.bias"
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    assert len(ml) == 4 and len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md and set(md.state_dict()) == {"a.weight", "a.bias"}
    with pytest.raises(IndexError):
        seq[10]
    seq.insert(1, nn.Tanh())
    del seq[0]
    assert [type(m).__name__ for m in seq] == ["Tanh", "ReLU", "Linear", "Sigmoid"] and list(seq._modules) == \
        ["0", "1", "2", "3"]
    del ml[0]
    ml.insert(0, nn.Identity())
    assert isinstance(ml[0], nn.Identity) and len(ml) == 4 and list(ml._modules) == ["0", "1", "2", "3"]


def test_default_init_distributions():
    framework.manual_seed(0)
    lin = nn.Linear(100, 200)
    bound = 1 / np.sqrt(100)
    w = lin.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound * 5
    conv = nn.Conv2d(4, 8, 3)
    bound = 1 / np.sqrt(36)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound


def test_init_functions():
    from framework.nn import init
    framework.manual_seed(0)
    t = framework.empty(300, 200)
    init.xavier_uniform_(t)
    b = np.sqrt(6 / 500)
    assert abs(t).max().item() <= b and abs(t.std().item() - b / np.sqrt(3)) < 0.01
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    assert abs(t.std().item() - np.sqrt(2 / 300)) < 0.005
    init.trunc_normal_(t, std=1.0, a=-1.0, b=1.5)
    assert t.min().item() >= -1.0 and t.max().item() <= 1.5 and abs(t.mean().item() - 0.13) < 0.03
    init.orthogonal_(t)
    q = t.numpy()
    assert np.allclose(q.T @ q, np.eye(200), atol=1e-4)
    init.constant_(t, 0.5)
    assert t.mean().item() == 0.5
    init.zeros_(t), init.ones_(t)
    init.normal_(t, 2.0, 0.5)
    assert abs(t.mean().item() - 2.0) < 0.02
    init.uniform_(t, -3, -2)
    assert -3 <= t.min().item() and t.max().item() <= -2
    init.xavier_normal_(t, gain=2.0)
    assert abs(t.std().item() - 2 * np.sqrt(2 / 500)) < 0.005
    init.kaiming_uniform_(t, a=0)
    assert abs(t).max().item() <= np.sqrt(6 / 200)


def test_nn_utils():
    from framework.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters
    tw = [torch.nn.Parameter(torch.arange(4.0).reshape(2, 2)), torch.nn.Parameter(torch.ones(3))]
    fw = [nn.Parameter(framework.arange(4.0).reshape(2, 2)), nn.Parameter(framework.ones(3))]
    for ps in (tw, fw):
        for p in ps:
            p.grad = p.detach() * 3
    for norm_type in (2.0, 1.0, float("inf")):
        for ps in (tw, fw):
            for p in ps:
                p.grad = p.detach() * 3
        nt = torch.nn.utils.clip_grad_norm_(tw, 1.5, norm_type)
        nf = clip_grad_norm_(fw, 1.5, norm_type)
        assert np.isclose(nt.item(), nf.item(), rtol=1e-5)
        for a, b in zip(fw, tw):
            assert np.allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5)
    torch.nn.utils.clip_grad_value_(tw, 0.1)
    clip_grad_value_(fw, 0.1)
    assert np.allclose(fw[0].grad.numpy(), tw[0].grad.numpy())
    vec = parameters_to_vector(fw)
    assert vec.tolist() == torch.nn.utils.parameters_to_vector(tw).tolist()
    vector_to_parameters(vec * 2, fw)
    assert fw[1].tolist() == [2.0, 2.0, 2.0]
