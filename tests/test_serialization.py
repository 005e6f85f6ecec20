"""framework.save of any object (plain data in the framework's format, anything else as a
PyTorch zip pickle), framework.load's weights_only (PyTorch 2.6+ semantics, its message),
framework.serialization's allow-list, and pickle/deepcopy of tensors and modules; checked
against PyTorch reading our files and us reading its files."""
import collections
import copy
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

import framework
from framework.io import CheckpointError
from framework.io.torch_compat import UnpicklingRefused
from framework.serialization import (add_safe_globals, clear_safe_globals, get_safe_globals,
                                     get_unsafe_globals_in_checkpoint, safe_globals)


class LeNet(framework.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = framework.nn.Conv2d(1, 2, 3)
        self.pool = framework.nn.MaxPool2d(2)
        self.fc = framework.nn.Linear(8, 3)
        self.bn = framework.nn.BatchNorm1d(3)

    def forward(self, x):
        return self.bn(framework.relu(self.fc(framework.flatten(self.pool(self.conv1(x)), 1))))


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


class Config(collections.OrderedDict):
    pass


Pair = collections.namedtuple("Pair", "a b")


@pytest.fixture(autouse=True)
def _no_allow_list_leaks():
    clear_safe_globals()
    yield
    clear_safe_globals()


def _bytes(obj, **kw):
    buf = io.BytesIO()
    framework.save(obj, buf, **kw)
    return buf.getvalue()


def _load(data, **kw):
    return framework.load(io.BytesIO(data), **kw)


def _x(device):
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    return framework.tensor(x, device=device)


def test_whole_module_and_optimizer_round_trip(device):
    net = LeNet().to(device)
    opt = framework.optim.Adam(net.parameters(), lr=0.01)
    net(_x(device)).sum().backward()
    opt.step()
    data = _bytes({"model": net, "opt": opt, "epoch": 3})
    assert data[:4] == b"PK\x03\x04"  # a PyTorch zip, not our no-pickle format
    back = _load(data, weights_only=False)
    net2, opt2 = back["model"], back["opt"]
    assert type(net2) is LeNet and back["epoch"] == 3 and net2.conv1.weight.device == net.conv1.weight.device
    for (k, a), (_, b) in zip(net.state_dict().items(), net2.state_dict().items()):
        assert a.dtype == b.dtype and np.array_equal(a.cpu().numpy(), b.cpu().numpy()), k
    assert isinstance(net2.fc.weight, framework.nn.Parameter) and net2.fc.weight.requires_grad
    assert opt2.param_groups[0]["params"][0] is net2.conv1.weight  # the pickle's sharing is kept
    net.eval(), net2.eval()
    assert np.allclose(net(_x(device)).detach().cpu().numpy(), net2(_x(device)).detach().cpu().numpy())
    for o, n in ((opt, net), (opt2, net2)):  # both go on training the same way
        n.train()
        o.zero_grad()
        n(_x(device)).sum().backward()
        o.step()
    assert np.allclose(net.fc.weight.detach().cpu().numpy(), net2.fc.weight.detach().cpu().numpy())


def test_weights_only_refuses_a_pickled_object_with_pytorchs_message():
    data = _bytes({"model": LeNet()})
    with pytest.raises(pickle.UnpicklingError) as info:
        _load(data)
    text = str(info.value)
    assert isinstance(info.value, CheckpointError) and isinstance(info.value, UnpicklingRefused)
    assert text.startswith("Weights only load failed. This file can still be loaded")
    assert "GLOBAL tests.test_serialization.LeNet was not an allowed global by default" in text or \
        "GLOBAL test_serialization.LeNet was not an allowed global by default" in text
    assert "torch.serialization.add_safe_globals([" in text and "safe_globals([" in text
    # PyTorch says the same of the same file
    with pytest.raises(pickle.UnpicklingError) as theirs:
        torch.load(io.BytesIO(data))
    assert text.split("WeightsUnpickler error:")[0] == str(theirs.value).split("WeightsUnpickler error:")[0]
    with pytest.raises(RuntimeError, match="Can not safely load weights when explicit pickle_module"):
        _load(data, pickle_module=pickle)


def test_blocked_modules_and_builtins_read_as_in_pytorch(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))
    for payload, words in ((Evil(), "whose module posix is blocked"),
                           (collections.Counter, "Unsupported global: GLOBAL collections.Counter")):
        data = _bytes({"x": payload})
        if payload is collections.Counter:  # (the class itself is a global: Counter is allowed...)
            assert _load(data) == {"x": collections.Counter}
            continue
        with pytest.raises(UnpicklingRefused, match=words):
            _load(data)
        with pytest.raises(pickle.UnpicklingError, match=words):
            torch.load(io.BytesIO(data))
    with safe_globals([os.system]):  # never, even allow-listed
        with pytest.raises(UnpicklingRefused, match="blocked"):
            _load(_bytes(Evil()))


def test_add_safe_globals_and_the_context_manager_allow_a_user_class():
    data = _bytes({"p": Point(1, framework.ones(2)), "cfg": Config(a=1)})
    assert sorted(get_unsafe_globals_in_checkpoint(io.BytesIO(data))) == sorted(
        [f"{Point.__module__}.Point", f"{Config.__module__}.Config"])
    with pytest.raises(UnpicklingRefused, match="Point"):
        _load(data)
    with safe_globals([Point, Config]):
        assert set(get_safe_globals()) == {Point, Config}
        back = _load(data)
        assert get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == []
    assert get_safe_globals() == []
    assert type(back["p"]) is Point and back["p"].x == 1 and back["p"].y.tolist() == [1.0, 1.0]
    assert type(back["cfg"]) is Config and back["cfg"] == {"a": 1}
    add_safe_globals([(Point, f"{Point.__module__}.Point"), Config])  # (object, "full.path") as in PyTorch
    assert _load(data)["p"].x == 1
    clear_safe_globals()
    assert get_safe_globals() == []
    add_safe_globals([(Point, 5)])
    with pytest.raises(TypeError, match="Expected second item in tuple to be str"):
        _load(data)
    assert framework.serialization.save is framework.save and framework.serialization.load is framework.load


def test_numpy_arrays_are_data_in_our_format_and_pickled_as_numpy_otherwise():
    arrays = {"f": np.arange(6, dtype=np.float32).reshape(2, 3).T, "b": np.array([True, False]),
              "h": np.array(1.5, np.float16), "c": np.array([1 + 2j]), "e": np.zeros((0, 3), np.int8)}
    data = _bytes({"w": framework.ones(2), **arrays})
    assert data[:8] == b"FWCKPT\r\n"  # plain data: our format, loaded without pickle
    back = _load(data)
    for k, a in arrays.items():
        assert type(back[k]) is np.ndarray and back[k].dtype == a.dtype and np.array_equal(back[k], a), k
    # beside an object, arrays are pickled as NumPy pickles them: PyTorch (and weights_only=False)
    # load them as arrays, weights_only=True refuses numpy's globals unless allow-listed, as torch.load
    data = _bytes({"a": arrays["f"], "cfg": Config(k=1)})
    assert _load(data, weights_only=False)["a"].tolist() == arrays["f"].tolist()
    with pytest.raises(UnpicklingRefused, match="numpy"):
        _load(data)
    with pytest.raises(pickle.UnpicklingError, match="numpy"):
        torch.load(io.BytesIO(data))


def test_pytorch_reads_our_pickle_checkpoints(tmp_path):
    w = framework.arange(6.0).reshape(2, 3)
    obj = {"w": w, "wt": w.t(), "row": w[1], "ids": framework.tensor([3, 1, 2]), "h": framework.ones(2).half(),
           "p": framework.nn.Parameter(framework.ones(2)), "frozen": framework.nn.Parameter(framework.zeros(1), False),
           "arr": np.arange(4, dtype=np.int16), "meta": [1, "a", (2.5, None)], "size": framework.Size([2, 3]),
           "dtype": framework.float16, "dev": framework.device("cpu"), "cfg": Config(lr=0.1)}
    framework.save(obj, tmp_path / "ck.pt")
    with zipfile.ZipFile(tmp_path / "ck.pt") as z:
        names = z.namelist()
        assert names[0] == "archive/data.pkl" and "archive/byteorder" in names and "archive/version" in names
        assert "archive/.data/serialization_id" in names
        for info in z.infolist():
            if "/data/" in info.filename:  # storages 64-byte aligned, as torch.save writes them
                assert (info.header_offset + 30 + len(info.filename) + len(info.extra)) % 64 == 0
    t = torch.load(tmp_path / "ck.pt", weights_only=False)
    assert torch.equal(t["w"], torch.arange(6.0).reshape(2, 3)) and torch.equal(t["wt"], t["w"].t())
    assert t["wt"].untyped_storage().data_ptr() == t["w"].untyped_storage().data_ptr()  # views stay views
    assert t["row"].storage_offset() == 3 and t["row"].tolist() == [3.0, 4.0, 5.0]
    assert t["ids"].dtype == torch.int64 and t["h"].dtype == torch.float16
    assert type(t["p"]) is torch.nn.Parameter and t["p"].requires_grad and not t["frozen"].requires_grad
    assert type(t["arr"]) is np.ndarray and t["arr"].dtype == np.int16
    assert t["meta"] == [1, "a", (2.5, None)] and t["size"] == torch.Size([2, 3]) and t["dtype"] is torch.float16
    assert t["dev"] == torch.device("cpu") and type(t["cfg"]) is Config
    # and so do we, with the same sharing
    back = framework.load(tmp_path / "ck.pt", weights_only=False)
    back["w"][0, 1] = 50.0
    assert back["wt"][1, 0].item() == 50.0 and back["p"].requires_grad and back["dtype"] is framework.float16
    # plain containers and tensors in a pickle load with weights_only=True, ours and theirs
    data = _bytes({"w": w, "s": {1, 2}})  # (a set is not in our format: pickled)
    assert _load(data)["s"] == {1, 2} and torch.load(io.BytesIO(data))["w"].tolist() == w.tolist()


def test_pytorch_whole_model_is_refused_by_default_and_loads_as_ours_when_trusted(tmp_path):
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(8, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3))
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9)
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    tnet(torch.tensor(x)).sum().backward()
    topt.step()
    torch.save({"model": tnet, "opt": topt}, tmp_path / "t.pt")
    with pytest.raises(UnpicklingRefused, match="torch.nn.modules.container.Sequential"):
        framework.load(tmp_path / "t.pt")
    assert "torch.nn.modules.conv.Conv2d" in get_unsafe_globals_in_checkpoint(tmp_path / "t.pt")
    back = framework.load(tmp_path / "t.pt", weights_only=False)
    net, opt = back["model"], back["opt"]
    assert type(net) is framework.nn.Sequential and type(net[0]) is framework.nn.Conv2d
    assert type(net[3].weight) is framework.nn.Parameter and type(opt) is framework.optim.SGD
    assert opt.param_groups[0]["params"][0] is net[0].weight
    tnet.eval(), net.eval()
    assert np.allclose(net(framework.tensor(x)).detach().numpy(), tnet(torch.tensor(x)).detach().numpy(), atol=1e-6)


def test_pytorch_classes_we_do_not_have_are_named():
    buf = io.BytesIO()
    torch.save({"q": torch.nn.Identity(), "g": torch.Generator()}, buf)
    with pytest.raises(CheckpointError, match="torch._C.Generator"):
        _load(buf.getvalue(), weights_only=False)


def test_map_location_on_pickled_files(device):
    net = framework.nn.Linear(2, 2)
    data = _bytes({"m": net, "cfg": Config()})
    for loc in (device, framework.device(device), {"cpu": device}):
        back = _load(data, weights_only=False, map_location=loc)
        assert back["m"].weight.device.type == device and back["m"].weight.tolist() == net.weight.tolist()
    seen = []
    back = _load(data, weights_only=False, map_location=lambda t, loc: seen.append(loc) or t)
    assert seen == ["cpu", "cpu"] and back["m"].bias.tolist() == net.bias.tolist()
    with safe_globals([Config, framework.nn.Linear]):
        assert _load(data, map_location=device)["m"].weight.device.type == device


def test_a_failing_pickle_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "ck.pt"
    framework.save({"w": framework.ones(3)}, path)
    before = path.read_bytes()
    for bad in ({"w": framework.ones(3), "f": lambda: 1}, {"w": framework.ones(3), "cfg": Config(f=lambda: 2)}):
        with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
            framework.save(bad, path)
        assert path.read_bytes() == before
        buf = io.BytesIO(b"keep")
        with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
            framework.save(bad, buf)
        assert buf.getvalue() == b"keep"  # nothing written to a file object either
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temporary file left
    framework.save({"cfg": Config(a=1)}, path)  # a pickled save replaces it atomically too
    assert type(framework.load(path, weights_only=False)["cfg"]) is Config


def test_damaged_pickle_zips_raise_checkpoint_error():
    data = bytearray(_bytes({"w": framework.arange(4.0), "cfg": Config(a=1)}))
    with safe_globals([Config]):
        assert _load(bytes(data))["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
        for cut in (10, len(data) // 2, len(data) - 5):
            with pytest.raises(CheckpointError):
                _load(bytes(data[:cut]))
        storage = bytes(data).index(np.arange(4.0, dtype=np.float32).tobytes())
        for where in (70, storage + 1, len(data) - 6):  # the pickle, a storage (CRCs), the directory offset
            bad = bytearray(data)
            bad[where] ^= 0xFF
            with pytest.raises(CheckpointError):
                _load(bytes(bad))


def test_cycles_shared_objects_and_subclasses_are_pickled_faithfully():
    cyclic = {"a": [1]}
    cyclic["self"] = cyclic
    back = _load(_bytes(cyclic), weights_only=False)
    assert back["self"] is back
    shared = [1, 2]
    data = _bytes({"x": shared, "y": shared, "t": Pair(1, 2), "dd": collections.defaultdict(list)})
    with pytest.raises(UnpicklingRefused):
        _load(data)
    back = _load(data, weights_only=False)
    assert back["x"] is back["y"] and back["dd"].default_factory is list


def test_pickle_and_deepcopy_of_tensors_parameters_and_modules(device):
    t = framework.arange(3.0, device=device).requires_grad_()
    p = framework.nn.Parameter(framework.ones(2, device=device), requires_grad=False)
    for copier in (lambda o: pickle.loads(pickle.dumps(o)), copy.deepcopy):
        t2, p2 = copier(t), copier(p)
        assert t2.requires_grad and t2.tolist() == [0.0, 1.0, 2.0] and t2.device == t.device
        assert type(p2) is framework.nn.Parameter and not p2.requires_grad and p2.tolist() == [1.0, 1.0]
        net = LeNet().to(device)
        net2 = copier(net)
        assert type(net2) is LeNet and net2.fc.weight is not net.fc.weight
        assert net2.fc.weight.tolist() == net.fc.weight.tolist() and net2.fc.weight.requires_grad
