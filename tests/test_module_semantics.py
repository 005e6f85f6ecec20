"""nn.Module and containers behave as PyTorch's where user code relies on it: registration order
(re-assigning keeps a parameter's or child's place), buffers, deletion, _apply/to() keeping
objects, traversal with duplicates, state_dict/load_state_dict (prefix, keep_vars, strict=False,
assign, versions, extra state, user _load_from_state_dict), hooks (forward pre/post with kwargs,
always_call, global, full backward and backward pre, state-dict hooks) and the error messages.
Most tests build the same code with both libraries (`lib` is torch or framework)."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import framework

LIBS = [torch, framework]


def in_both(fn):
    """fn(lib) for each library: results that should be equal."""
    return fn(torch), fn(framework)


def _net(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 2, 3)
            self.bn = nn.BatchNorm2d(2)
            self.fc = nn.Linear(2, 3)
            self.head = nn.Sequential(nn.ReLU(), nn.Linear(3, 1))

        def forward(self, x):
            return self.head(self.fc(self.bn(self.conv1(x)).mean((2, 3))))
    return Net()


def _names(module):
    return ([n for n, _ in module.named_children()], [n for n, _ in module.named_parameters()],
            list(module.state_dict()), [n for n, _ in module.named_modules()], [n for n, _ in module.named_buffers()])


def _error(fn, lib):
    """(type name, message) of the exception fn(lib) raises."""
    with pytest.raises(Exception) as info:
        fn(lib)
    return type(info.value).__name__, str(info.value)


def _same_error(fn):
    theirs, ours = _error(fn, torch), _error(fn, framework)
    assert (ours[0], ours[1].replace("framework.", "torch.")) == theirs


# ----------------------------------------------------------------- registration


def test_reassigning_a_child_or_parameter_keeps_its_place():
    def run(lib):
        net = _net(lib)
        net.conv1 = lib.nn.Conv2d(1, 2, 5)  # (the reported case: it moved to the end)
        net.fc.weight = lib.nn.Parameter(lib.zeros(3, 2))
        net.bn.running_mean = lib.ones(2)
        return _names(net)
    theirs, ours = in_both(run)
    assert ours == theirs
    assert ours[0] == ["conv1", "bn", "fc", "head"]


def test_assignments_that_change_the_kind_move_the_name():
    def run(lib):
        m = lib.nn.Module()
        m.a = lib.nn.Parameter(lib.ones(1))
        m.b = lib.nn.Linear(1, 1)
        m.register_buffer("c", lib.ones(1))
        m.c = lib.nn.Parameter(lib.ones(1))  # buffer -> parameter
        m.e = lib.nn.Linear(1, 1)
        m.e = lib.nn.Parameter(lib.ones(1))  # module -> parameter
        m.b = None                    # a child set to None stays registered
        m.d = lib.nn.Buffer(lib.ones(2), persistent=False)
        return list(m._parameters), list(m._modules), list(m._buffers), list(m.state_dict())
    theirs, ours = in_both(run)
    assert ours == theirs


def test_registration_errors_match_torch():
    m = lambda lib: lib.nn.Linear(2, 2)  # noqa: E731
    _same_error(lambda lib: setattr(m(lib), "weight", lib.ones(2, 2)))
    _same_error(lambda lib: setattr(m(lib), "weight", lib.nn.ReLU()))
    _same_error(lambda lib: m(lib).register_parameter("a.b", None))
    _same_error(lambda lib: m(lib).register_parameter("", None))
    _same_error(lambda lib: m(lib).register_parameter("forward", None))
    _same_error(lambda lib: m(lib).register_parameter("p", lib.ones(1)))
    _same_error(lambda lib: m(lib).register_parameter("p", lib.nn.Parameter(lib.ones(1)) * 2))
    _same_error(lambda lib: m(lib).register_buffer("b", 3))
    _same_error(lambda lib: m(lib).register_buffer("weight", lib.ones(1)))
    _same_error(lambda lib: m(lib).add_module("x.y", lib.nn.ReLU()))
    _same_error(lambda lib: m(lib).add_module("w", 3))
    _same_error(lambda lib: m(lib).add_module("in_features", lib.nn.ReLU()))
    _same_error(lambda lib: m(lib).register_module(3, lib.nn.ReLU()))
    _same_error(lambda lib: setattr(lib.nn.Sequential(lib.nn.ReLU()), "0", 3))
    _same_error(lambda lib: setattr(lib.nn.BatchNorm1d(2), "running_mean", 3))
    _same_error(lambda lib: m(lib).nonexistent)
    _same_error(lambda lib: lib.nn.Module()(1))
    _same_error(lambda lib: lib.nn.Module(3))
    _same_error(lambda lib: lib.nn.Module(x=3))

    def before_init(lib):
        class Early(lib.nn.Module):
            def __init__(self):
                self.w = lib.nn.Parameter(lib.ones(1))
        Early()
    _same_error(before_init)


def test_buffers_persistent_and_delattr():
    def run(lib):
        m = lib.nn.Linear(2, 2)
        m.register_buffer("kept", lib.ones(2))
        m.register_buffer("scratch", lib.zeros(2), persistent=False)
        m.register_buffer("empty", None)
        names = ([n for n, _ in m.named_buffers()], list(m.state_dict()))
        del m.scratch, m.bias
        m.register_module("child", lib.nn.ReLU())
        del m.child
        m.plain = 3
        del m.plain
        return names + ([n for n, _ in m.named_buffers()], list(m.state_dict()), list(m._modules), hasattr(m, "plain"))
    theirs, ours = in_both(run)
    assert ours == theirs
    _same_error(lambda lib: delattr(lib.nn.Linear(1, 1), "nothing"))


def test_submodule_parameter_buffer_lookup():
    def run(lib):
        net = _net(lib)
        found = [type(net.get_submodule("head.1")).__name__, tuple(net.get_parameter("head.1.weight").shape),
                 tuple(net.get_buffer("bn.running_var").shape), net.get_submodule("") is net]
        net.set_submodule("head.0", lib.nn.Tanh())
        found.append(type(net.head[0]).__name__)
        return found
    theirs, ours = in_both(run)
    assert ours == theirs
    for target in ("head.2", "fc.weight.x", "nothing"):
        _same_error(lambda lib: _net(lib).get_submodule(target))
    for target in ("bn.running_mean", "fc.nothing", "fc"):
        _same_error(lambda lib: _net(lib).get_parameter(target))
    for target in ("bn.weight", "bn.nothing"):
        _same_error(lambda lib: _net(lib).get_buffer(target))
    _same_error(lambda lib: _net(lib).set_submodule("", lib.nn.ReLU()))
    _same_error(lambda lib: _net(lib).set_submodule("head.7", lib.nn.ReLU(), strict=True))


def test_traversal_with_shared_modules_and_parameters():
    def run(lib):
        shared = lib.nn.Linear(2, 2)
        net = lib.nn.Sequential(shared, lib.nn.ReLU(), shared)
        net.extra = lib.nn.Parameter(shared.weight.data) if lib is torch else lib.nn.Parameter(shared.weight)
        net.tied = shared.weight
        return ([n for n, _ in net.named_modules()], [n for n, _ in net.named_modules(remove_duplicate=False)],
                [n for n, _ in net.named_parameters()], [n for n, _ in net.named_parameters(remove_duplicate=False)],
                [n for n, _ in net.named_parameters(prefix="model", recurse=False)], list(net.state_dict()),
                [n for n, _ in net.named_children()], len(list(net.parameters())))
    theirs, ours = in_both(run)
    assert ours == theirs


# ----------------------------------------------------------------- modes, grads, device and dtype


def test_train_eval_apply_zero_grad_requires_grad():
    def run(lib):
        net = _net(lib)
        order = []
        net.apply(lambda m: order.append(type(m).__name__))

        class Frozen(lib.nn.BatchNorm2d):
            def train(self, mode=True):  # an override is honoured for children too
                return super().train(False)
        net.bn = Frozen(2)
        net.train()
        modes = [m.training for m in net.modules()]
        net(lib.randn(2, 1, 4, 4)).sum().backward()
        net.zero_grad(set_to_none=False)
        zeroed = [float(p.grad.abs().sum()) for p in net.parameters()]
        net.zero_grad()
        none = [p.grad is None for p in net.parameters()]
        net.requires_grad_(False)
        return order, modes, zeroed, none, [p.requires_grad for p in net.parameters()]
    theirs, ours = in_both(run)
    assert ours == theirs
    _same_error(lambda lib: lib.nn.Linear(1, 1).train("yes"))


def test_to_and_apply_keep_parameter_objects_and_convert_grads(device):
    net = _net(framework)
    params = list(net.parameters())
    net(framework.randn(2, 1, 4, 4)).sum().backward()
    grads = [p.grad for p in params]
    net.to(device, framework.float64)
    assert all(a is b for a, b in zip(params, net.parameters()))
    assert all(p.dtype == framework.float64 and p.device.type == device for p in net.parameters())
    assert all(p.grad.dtype == framework.float64 and p.grad.device.type == device for p in net.parameters())
    assert net.bn.num_batches_tracked.dtype == framework.int64 and net.bn.running_mean.device.type == device
    np.testing.assert_allclose(params[0].grad.cpu().numpy(), grads[0].numpy(), rtol=1e-6)
    net.to(dtype=framework.float32).cpu()
    assert params[0].dtype == framework.float32 and params[0].device.type == "cpu"
    _same_error(lambda lib: lib.nn.Linear(1, 1).to(lib.int64))
    seen = []
    net._apply(lambda t: seen.append(tuple(t.shape)) or t)  # every parameter, its gradient, every buffer
    assert len(seen) == 2 * len(list(net.parameters())) + len(list(net.buffers()))


def test_deepcopy_and_pickle_keep_structure_and_values():
    nn = framework.nn
    for net, x in ((_net(framework), framework.randn(2, 1, 4, 4)),
                   (nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU()), framework.randn(4, 2))):
        clones = [copy.deepcopy(net)] + ([pickle.loads(pickle.dumps(net))] if type(net) is nn.Sequential else [])
        for clone in clones:
            assert _names(clone) == _names(net)
            first, theirs = next(clone.parameters()), next(net.parameters())
            assert isinstance(first, nn.Parameter) and first is not theirs
            np.testing.assert_array_equal(first.detach().numpy(), theirs.detach().numpy())
            np.testing.assert_allclose(clone.eval()(x).detach().numpy(), net.eval()(x).detach().numpy())


# ----------------------------------------------------------------- state dict


def test_state_dict_prefix_keep_vars_destination_and_metadata():
    def run(lib):
        net = _net(lib)
        sd = net.state_dict(prefix="model.", keep_vars=True)
        dest = OrderedDict()
        out = net.state_dict(destination=dest, prefix="p.")
        return (list(sd), type(sd["model.fc.weight"]).__name__, sd["model.fc.weight"].requires_grad, out is dest,
                list(dest), dict(net.state_dict()._metadata), net.state_dict()["fc.weight"].requires_grad)
    theirs, ours = in_both(run)
    assert ours == theirs


def test_load_state_dict_strict_false_assign_and_errors():
    def run(lib):
        src, dst = _net(lib), _net(lib)
        state = src.state_dict()
        state.pop("fc.bias")
        state["extra.weight"] = lib.ones(1)
        result = dst.load_state_dict(state, strict=False)
        equal = bool((dst.fc.weight == src.fc.weight).all())
        w = dst.fc.weight
        dst.load_state_dict(src.state_dict(), assign=True)
        return (result.missing_keys, result.unexpected_keys, repr(dst.load_state_dict(src.state_dict())), equal,
                dst.fc.weight is w, type(dst.fc.weight).__name__, dst.fc.weight.requires_grad)
    theirs, ours = in_both(run)
    assert ours == theirs

    def bad(lib, change):
        net = _net(lib)
        state = net.state_dict()
        change(lib, state)
        net.load_state_dict(state)
    for change in (lambda lib, s: s.pop("fc.bias"), lambda lib, s: s.update(unknown=lib.ones(1)),
                   lambda lib, s: s.update({"fc.weight": lib.ones(2, 2)}), lambda lib, s: s.update({"fc.bias": 3}),
                   lambda lib, s: (s.pop("bn.weight"), s.update({"head.1.weight": lib.ones(5)}))):
        _same_error(lambda lib: bad(lib, change))
    _same_error(lambda lib: _net(lib).load_state_dict([1, 2]))


def test_failed_load_changes_nothing():
    net = _net(framework)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    state = {k: v + 1 for k, v in net.state_dict().items()}
    state["fc.weight"] = framework.ones(9)
    with pytest.raises(RuntimeError, match="size mismatch for fc.weight"):
        net.load_state_dict(state)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k].numpy(), err_msg=k)


def test_extra_state_versions_and_custom_load_from_state_dict():
    def run(lib):
        class Counter(lib.nn.Module):
            _version = 3

            def __init__(self):
                super().__init__()
                self.count = 0
                self.lin = lib.nn.Linear(1, 1)

            def get_extra_state(self):
                return {"count": self.count}

            def set_extra_state(self, state):
                self.count = state["count"]

            def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
                # a user migration: an old key name becomes the new one
                old = prefix + "old_scale"
                if old in state_dict:
                    state_dict[prefix + "lin.weight"] = state_dict.pop(old)
                super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing, unexpected, errors)

        a = Counter()
        a.count = 7
        sd = a.state_dict()
        b = Counter()
        b.load_state_dict(sd)
        c = Counter()
        renamed = OrderedDict((k.replace("lin.weight", "old_scale"), v) for k, v in sd.items())
        return (list(sd), b.count, sd._metadata[""]["version"], repr(c.load_state_dict(renamed)),
                float(c.lin.weight.sum()) == float(a.lin.weight.sum()))
    theirs, ours = in_both(run)
    assert ours == theirs


def test_state_dict_and_load_hooks():
    def run(lib):
        log = []
        m = lib.nn.Linear(2, 1)
        m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: log.append(("pre", prefix, keep_vars)))

        def post(mod, sd, prefix, meta):
            sd[prefix + "note"] = lib.ones(1)
        m.register_state_dict_post_hook(post)
        keys = list(m.state_dict(prefix="x."))

        def load_pre(mod, sd, prefix, meta, strict, missing, unexpected, errors):
            sd.pop(prefix + "note", None)
            log.append(("load_pre", prefix))

        def load_post(mod, incompatible):
            log.append(("load_post", list(incompatible.missing_keys)))
            incompatible.missing_keys.clear()
        m.register_load_state_dict_pre_hook(load_pre)
        m.register_load_state_dict_post_hook(load_post)
        result = m.load_state_dict({"weight": lib.ones(1, 2), "note": lib.ones(1)})
        return keys, log, repr(result)
    theirs, ours = in_both(run)
    assert ours == theirs


# ----------------------------------------------------------------- forward hooks


def test_forward_hooks_kwargs_prepend_always_call_and_handles():
    def run(lib):
        log = []

        class Scale(lib.nn.Module):
            def forward(self, x, scale=1.0, fail=False):
                if fail:
                    raise ValueError("forward failed")
                return x * scale
        m = Scale()
        h1 = m.register_forward_pre_hook(lambda mod, args: log.append("pre") or (args[0] + 1,))
        m.register_forward_pre_hook(lambda mod, args, kwargs: (log.append(("pre_kw", dict(kwargs))),
                                                                (args, {**kwargs, "scale": 3.0}))[1],
                                    with_kwargs=True)
        m.register_forward_pre_hook(lambda mod, args: log.append("first"), prepend=True)
        m.register_forward_hook(lambda mod, args, out: log.append("post") or out + 100)
        m.register_forward_hook(lambda mod, args, kwargs, out: log.append(("post_kw", kwargs["scale"])),
                                with_kwargs=True)
        always = m.register_forward_hook(lambda mod, args, out: log.append(("always", out)), always_call=True)
        first = float(m(lib.ones(1), scale=2.0))
        h1.remove()
        with pytest.raises(ValueError):
            m(lib.ones(1), fail=True)
        always.remove()
        with m.register_forward_hook(lambda mod, args, out: out * 0):
            zero = float(m(lib.ones(1)))
        after = float(m(lib.ones(1)))
        return first, zero, after, log
    theirs, ours = in_both(run)
    assert ours == theirs
    _same_error(lambda lib: (lambda m: (m.register_forward_pre_hook(lambda mod, a, k: 3, with_kwargs=True),
                                        m(lib.ones(1))))(lib.nn.ReLU()))


def test_global_forward_hooks():
    log = []
    pre = framework.nn.modules.module.register_module_forward_pre_hook(lambda m, args: log.append(type(m).__name__))
    post = framework.nn.modules.module.register_module_forward_hook(lambda m, args, out: out * 2)
    try:
        out = framework.nn.Sequential(framework.nn.Identity())(framework.ones(1))
    finally:
        pre.remove()
        post.remove()
    assert log == ["Sequential", "Identity"] and float(out) == 4.0
    assert float(framework.nn.Identity()(framework.ones(1))) == 1.0


# ----------------------------------------------------------------- backward hooks


def _grads(t):
    return tuple(None if g is None else np.round(g.detach().cpu().numpy().astype(np.float64), 5).tolist() for g in t)


def test_full_backward_hooks_see_and_replace_gradients(device):
    def run(lib):
        log = []
        dev = device if lib is framework else "cpu"

        class Mix(lib.nn.Module):
            def forward(self, x, y, k):
                return x * y * k, x + 1
        m = Mix()
        m.register_full_backward_pre_hook(lambda mod, gout: (log.append(("pre", _grads(gout))),
                                                             (gout[0] * 2, gout[1]))[1])
        m.register_full_backward_hook(lambda mod, gin, gout: log.append(("hook", _grads(gin), _grads(gout))))
        m.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 0, gin[1], None))
        x = lib.tensor([1.0, 2.0], device=dev, requires_grad=True)
        y = lib.tensor([3.0, 4.0], device=dev, requires_grad=True)
        a, b = m(x, y, 2.0)
        (a.sum() + (b * 5).sum()).backward()
        return log, _grads((x.grad, y.grad))
    theirs, ours = in_both(run)
    assert ours == theirs


def test_backward_hook_when_no_input_requires_grad_and_errors(device):
    def run(lib):
        log = []
        lin = lib.nn.Linear(2, 1).to(device if lib is framework else "cpu")
        lin.register_full_backward_hook(lambda mod, gin, gout: log.append((gin, _grads(gout)[0] is not None)))
        lin(lib.ones(3, 2, device=device if lib is framework else "cpu")).sum().backward()
        return log, lin.weight.grad is not None
    theirs, ours = in_both(run)
    assert ours == theirs

    def wrong_count(lib):
        lin = lib.nn.Linear(2, 1)
        lin.register_full_backward_hook(lambda mod, gin, gout: (gin[0], gin[0]))
        lin(lib.ones(1, 2, requires_grad=True)).sum().backward()
    _same_error(wrong_count)

    def mixed(lib):
        lin = lib.nn.Linear(2, 1)
        lin.register_full_backward_hook(lambda *a: None)
        lin.register_backward_hook(lambda *a: None)
    _same_error(mixed)


# ----------------------------------------------------------------- containers


def test_sequential_and_module_list_operations():
    def run(lib):
        nn = lib.nn
        seq = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
        out = [type(seq[-1]).__name__, type(seq[1:]).__name__, len(seq[::2]), list(seq[1:]._modules)]
        seq.insert(1, nn.Tanh())
        seq.append(nn.Sigmoid())
        popped = seq.pop(0)
        del seq[1:3]
        out += [type(popped).__name__, list(seq._modules), [type(m).__name__ for m in seq]]
        seq += nn.Sequential(nn.Identity())
        out += [len(seq * 2), len(2 * seq), list((seq + nn.Sequential(nn.ReLU()))._modules)]
        seq *= 2
        out.append(len(seq))
        ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
        ml.extend([nn.Identity()])
        ml.insert(1, nn.Sigmoid())
        ml[0] = nn.ELU()
        out += [[type(m).__name__ for m in ml], type(ml.pop(-1)).__name__, len(ml + [nn.ReLU()]), repr(ml)]
        del ml[0]
        out.append(list(ml._modules))
        md = nn.ModuleDict([("a", nn.ReLU()), ("b", nn.Tanh())])
        md.update({"c": nn.Identity()})
        out += [list(md), "b" in md, type(md.pop("a")).__name__, list(md.keys())]
        return out
    theirs, ours = in_both(run)
    assert ours == theirs
    _same_error(lambda lib: lib.nn.Sequential()[0])
    _same_error(lambda lib: lib.nn.Sequential() + [1])
    _same_error(lambda lib: lib.nn.Sequential(lib.nn.ReLU()) * 0)
    _same_error(lambda lib: lib.nn.ModuleList([lib.nn.ReLU()])[3])
    _same_error(lambda lib: lib.nn.ModuleList(3))
    _same_error(lambda lib: lib.nn.ModuleDict([("a",)]))


def test_parameter_list_and_dict():
    def run(lib):
        nn = lib.nn
        pl = nn.ParameterList([lib.ones(2), nn.Parameter(lib.zeros(3))])
        pl.append(lib.ones(1, 2))
        out = [len(pl), [type(p).__name__ for p in pl], [n for n, _ in pl.named_parameters()], repr(pl),
               len(pl[1:])]
        pd = nn.ParameterDict({"b": lib.ones(2), "a": lib.zeros(1)})
        pd["c"] = nn.Parameter(lib.ones(3))
        out += [list(pd), [n for n, _ in pd.named_parameters()], repr(pd), "a" in pd, len(pd)]
        pd.pop("b")
        out += [list(pd.keys()), list((pd | nn.ParameterDict({"z": lib.ones(1)})).keys()),
                pd.get("nothing", 5), pd.setdefault("d", lib.ones(1)).shape[0]]
        return out
    theirs, ours = in_both(run)
    assert ours == theirs
    _same_error(lambda lib: lib.nn.ParameterList([lib.ones(1)])(1))
    _same_error(lambda lib: lib.nn.ParameterDict()[3])
    _same_error(lambda lib: lib.nn.ParameterList().extend(lib.ones(2)))


def test_reprs_of_nested_modules_with_extra_repr():
    def run(lib):
        class Block(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
                self.empty = None

            def extra_repr(self):
                return "line one\nline two"

        class Leaf(lib.nn.Module):
            def extra_repr(self):
                return "k=1"
        return repr(Block()), repr(Leaf()), repr(lib.nn.Module()), repr(lib.nn.ModuleList())
    theirs, ours = in_both(run)
    assert ours == theirs
