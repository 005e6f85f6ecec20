import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

import framework
from framework.io import CheckpointError


def _all_dtypes():
    return {name: framework.tensor(np.arange(6).reshape(2, 3) % 2, dtype=getattr(framework, name))
            for name in ("float32", "float64", "int64", "int32", "uint8", "bool")}


def test_roundtrip_nested_objects(tmp_path):
    net = framework.nn.Sequential(framework.nn.Linear(3, 2), framework.nn.BatchNorm1d(2))
    opt = framework.optim.Adam(net.parameters(), lr=0.01)
    net(framework.randn(4, 3)).sum().backward()
    opt.step()
    sched = framework.optim.lr_scheduler.StepLR(opt, 2)
    obj = {"net": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "epoch": 7,
           "dtypes": _all_dtypes(), "mixed": [1, 2.5, None, True, "s", (3, float("inf")), {(1, 2): "tuple key"}],
           "nan": float("nan"), "big": 2 ** 62, "param": framework.nn.Parameter(framework.ones(2)),
           "leaf": framework.ones(3, requires_grad=True), "view": framework.arange(6.0).reshape(2, 3).t()}
    path = tmp_path / "ck.fwt"
    framework.save(obj, path)
    back = framework.load(path)
    assert isinstance(back["net"], collections.OrderedDict) and list(back["net"]) == list(net.state_dict())
    for k, v in net.state_dict().items():
        assert back["net"][k].dtype == v.dtype and np.array_equal(back["net"][k].numpy(), v.numpy())
    assert back["optimizer"]["param_groups"] == opt.state_dict()["param_groups"]
    assert set(back["optimizer"]["state"]) == {0, 1, 2, 3}
    assert back["scheduler"]["last_epoch"] == sched.state_dict()["last_epoch"]
    for name, t in _all_dtypes().items():
        assert back["dtypes"][name].dtype == t.dtype and back["dtypes"][name].tolist() == t.tolist()
    assert back["mixed"][:5] == [1, 2.5, None, True, "s"] and back["mixed"][5] == (3, float("inf"))
    assert back["mixed"][6] == {(1, 2): "tuple key"}
    assert np.isnan(back["nan"]) and back["big"] == 2 ** 62 and back["epoch"] == 7
    assert isinstance(back["param"], framework.nn.Parameter) and back["param"].requires_grad
    assert back["leaf"].requires_grad and back["view"].tolist() == obj["view"].tolist()
    buf = io.BytesIO()
    framework.save(obj["dtypes"], buf)
    buf.seek(0)
    assert framework.load(buf)["int32"].tolist() == obj["dtypes"]["int32"].tolist()
    net2 = framework.nn.Sequential(framework.nn.Linear(3, 2), framework.nn.BatchNorm1d(2))
    net2.load_state_dict(back["net"])
    opt2 = framework.optim.Adam(net2.parameters(), lr=0.01)
    opt2.load_state_dict(back["optimizer"])


def test_save_is_atomic_and_never_destroys_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.fwt"
    framework.save({"w": framework.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError)):  # a lambda cannot be pickled
        framework.save({"w": framework.ones(3), "bad": lambda: 1}, path)
    assert path.read_bytes() == before

    def crash(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        framework.save({"w": framework.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ck.fwt"]  # no temporary file left behind


def test_truncated_corrupt_and_foreign_files(tmp_path):
    path = tmp_path / "ck.fwt"
    framework.save({"w": framework.arange(1000.0)}, path)
    data = path.read_bytes()
    for broken, pattern in [(data[:len(data) // 2], "truncated"), (data[:10], "short"),
                            (data[:-100] + bytes(100), "corrupt|checksum"), (b"hello world" * 3, "not a checkpoint")]:
        bad = tmp_path / "bad"
        bad.write_bytes(broken)
        with pytest.raises(CheckpointError, match=pattern):
            framework.load(bad)
    flipped = bytearray(data)
    flipped[40] ^= 0xFF
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError):
        framework.load(bad)
    bad.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        framework.load(bad)
    with pytest.raises(FileNotFoundError):
        framework.load(tmp_path / "missing")


def test_failed_load_state_dict_leaves_model_unchanged(tmp_path):
    net = framework.nn.Linear(3, 2)
    framework.save({"weight": framework.zeros(5, 5), "bias": framework.zeros(2)}, tmp_path / "bad.fwt")
    before = net.weight.detach().clone()
    with pytest.raises(RuntimeError, match="size mismatch"):
        net.load_state_dict(framework.load(tmp_path / "bad.fwt"))
    assert torch.equal(torch.tensor(net.weight.detach().numpy()), torch.tensor(before.numpy()))


def test_loads_real_pytorch_checkpoints(tmp_path):
    tnet = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(2 * 4 * 4, 3))
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9)
    tnet(torch.randn(2, 1, 6, 6)).sum().backward()
    topt.step()
    path = tmp_path / "torch.pt"
    torch.save({"model": tnet.state_dict(), "optimizer": topt.state_dict(), "epoch": 4,
                "extra": [torch.arange(5, dtype=torch.int32), torch.tensor([True, False]),
                          torch.arange(12.0).reshape(3, 4).t(), torch.nn.Parameter(torch.ones(2)), (1, "a")],
                "half": torch.tensor([1.5, 2.0], dtype=torch.float16)}, path)
    back = framework.load(path)
    ours = framework.nn.Sequential(framework.nn.Conv2d(1, 2, 3), framework.nn.BatchNorm2d(2),
                                   framework.nn.Flatten(), framework.nn.Linear(2 * 4 * 4, 3))
    ours.load_state_dict(back["model"])
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    tnet.eval()
    ours.eval()
    assert np.allclose(ours(framework.tensor(x)).detach().numpy(), tnet(torch.tensor(x)).detach().numpy(),
                       atol=1e-5)
    assert back["epoch"] == 4
    ints, bools, transposed, param, pair = back["extra"]
    assert ints.dtype == framework.int32 and ints.tolist() == [0, 1, 2, 3, 4]
    assert bools.tolist() == [True, False] and transposed.tolist() == torch.arange(12.0).reshape(3, 4).t().tolist()
    assert isinstance(param, framework.nn.Parameter) and pair == (1, "a")
    assert back["half"].tolist() == [1.5, 2.0]
    opt = framework.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt.load_state_dict(back["optimizer"])
    assert opt.state_dict()["param_groups"][0]["momentum"] == 0.9


def _malicious_zip(path, payload):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")


def test_malicious_pytorch_checkpoint_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    path = tmp_path / "evil.pt"
    _malicious_zip(path, pickle.dumps({"model": Evil()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing.*system"):
        framework.load(path)
    assert not marker.exists()
    # a real torch.save file whose data.pkl was swapped for the malicious pickle
    torch.save({"a": torch.ones(1)}, tmp_path / "real.pt")
    with zipfile.ZipFile(tmp_path / "real.pt") as z:
        names = z.namelist()
        files = {n: z.read(n) for n in names}
    pkl = [n for n in names if n.endswith("data.pkl")][0]
    files[pkl] = pickle.dumps(Evil(), protocol=2)
    with zipfile.ZipFile(tmp_path / "edited.pt", "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    with pytest.raises(pickle.UnpicklingError):
        framework.load(tmp_path / "edited.pt")
    assert not marker.exists()


def test_map_location(tmp_path):
    framework.save({"w": framework.ones(2)}, tmp_path / "a.fwt")
    assert framework.load(tmp_path / "a.fwt", map_location="cpu")["w"].device == framework.device("cpu")
    assert framework.load(tmp_path / "a.fwt", map_location=lambda t, loc: t * 2)["w"].tolist() == [2.0, 2.0]
    assert framework.load(tmp_path / "a.fwt", map_location={"cpu": "cpu"})["w"].tolist() == [1.0, 1.0]


def test_safetensors_byte_compatible_with_the_package(tmp_path):
    import safetensors.numpy as stn
    arrays = {"weight": np.arange(6, dtype=np.float32).reshape(2, 3), "ids": np.arange(3, dtype=np.int64),
              "mask": np.array([True, False]), "z": np.ones(2, np.float64), "i": np.arange(2, dtype=np.int32),
              "b": np.arange(4, dtype=np.uint8)}
    ours = {k: framework.from_numpy(v) for k, v in arrays.items()}
    path = tmp_path / "m.safetensors"
    framework.io.save_safetensors(ours, path, metadata={"format": "pt"})
    assert path.read_bytes() == stn.save(arrays, metadata={"format": "pt"})
    back = stn.load_file(str(path))
    for k, v in arrays.items():
        assert np.array_equal(back[k], v) and back[k].dtype == v.dtype
    stn.save_file(arrays, str(tmp_path / "theirs.safetensors"))
    loaded = framework.io.load_safetensors(tmp_path / "theirs.safetensors")
    for k, v in arrays.items():
        assert np.array_equal(loaded[k].numpy(), v) and loaded[k].dtype == framework.from_numpy(v).dtype
    assert framework.io.load_safetensors_metadata(path) == {"format": "pt"}
    (tmp_path / "trunc.safetensors").write_bytes(path.read_bytes()[:-5])
    with pytest.raises(CheckpointError):
        framework.io.load_safetensors(tmp_path / "trunc.safetensors")


def test_safetensors_low_precision_and_small_int_dtypes_round_trip_as_themselves(tmp_path):
    """float16, bfloat16, int8 and int16 save as F16, BF16, I8, I16 and load as themselves, byte
    for byte as the safetensors package writes them (PyTorch's tensors for bfloat16)."""
    import safetensors.numpy as stn
    import safetensors.torch as stt
    import torch
    arrays = {"h": np.array([[1.5, -2.0], [65504.0, 6e-8]], np.float16), "i8": np.array([-128, 0, 127], np.int8),
              "i16": np.array([-32768, 7, 32767], np.int16), "scalar": np.array(0.25, np.float16),
              "empty": np.zeros((0, 3), np.int8)}
    ours = {k: framework.from_numpy(v) for k, v in arrays.items()}
    bf = torch.tensor([1.0, -2.5, 3.140625, float("inf"), -0.0], dtype=torch.bfloat16)
    ours["bf"] = framework.tensor(bf.float().tolist()).to(framework.bfloat16)
    path = tmp_path / "low.safetensors"
    framework.io.save_safetensors(ours, path, metadata={"format": "pt"})
    theirs = {**{k: torch.from_numpy(v) for k, v in arrays.items()}, "bf": bf}
    assert path.read_bytes() == stt.save(theirs, metadata={"format": "pt"})
    back = stt.load_file(str(path))
    assert back["bf"].dtype == torch.bfloat16 and torch.equal(back["bf"], bf)
    loaded = framework.io.load_safetensors(path)
    expected = {"h": framework.float16, "i8": framework.int8, "i16": framework.int16, "scalar": framework.float16,
                "empty": framework.int8, "bf": framework.bfloat16}
    for k, dtype in expected.items():
        assert loaded[k].dtype == dtype and tuple(loaded[k].shape) == tuple(ours[k].shape), k
        assert np.array_equal(loaded[k].float().numpy(), ours[k].float().numpy()), k
    stn.save_file({k: v for k, v in arrays.items()}, str(tmp_path / "theirs.safetensors"))
    for k, v in framework.io.load_safetensors(tmp_path / "theirs.safetensors").items():
        assert v.dtype == framework.from_numpy(arrays[k]).dtype and np.array_equal(v.numpy(), arrays[k]), k


def test_safetensors_refuses_dtypes_it_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="complex64"):
        framework.io.save_safetensors({"z": framework.ones(2, dtype=framework.complex64)}, tmp_path / "z.safetensors")
    assert not (tmp_path / "z.safetensors").exists()
