import gzip
import os
import pickle
import struct

import numpy as np
import pytest
import torch

import framework
from framework import datasets, transforms as T


def _write_idx(path, array, gz=False):
    codes = {np.dtype(np.uint8): 0x08}
    head = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = head + array.tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("cls,gz", [(datasets.MNIST, False), (datasets.FashionMNIST, True)])
def test_idx_datasets_from_files_we_write(tmp_path, cls, gz):
    raw = tmp_path / cls.__name__ / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    ext = ".gz" if gz else ""
    _write_idx(raw / f"t10k-images-idx3-ubyte{ext}", images, gz)
    _write_idx(raw / f"t10k-labels-idx1-ubyte{ext}", labels, gz)
    ds = cls(tmp_path, train=False, transform=T.ToTensor())
    assert len(ds) == 5
    img, label = ds[2]
    assert label == 4 and img.shape == (1, 28, 28) and img.dtype == framework.float32
    assert np.allclose(img.numpy()[0], images[2] / 255.0)
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        cls(tmp_path, train=True)
    with pytest.raises(RuntimeError, match="network"):
        cls(tmp_path, train=True, download=True)


def test_corrupt_idx_is_a_clear_error(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((2, 4, 4), np.uint8))
    with open(raw / "t10k-labels-idx1-ubyte", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"\x01\x02")  # claims 5 labels, holds 2
    with pytest.raises(ValueError, match="bytes"):
        datasets.MNIST(tmp_path, train=False)


def test_cifar10_from_batches_we_write(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, (4, 3072)).astype(np.uint8)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": data, "labels": [0, 9, 2, 3], "batch_label": "testing batch 1 of 1"}, f)
    ds = datasets.CIFAR10(tmp_path, train=False)
    img, label = ds[1]
    assert label == 9 and img.shape == (32, 32, 3)
    assert np.array_equal(img[:, :, 0], data[1, :1024].reshape(32, 32))
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        datasets.CIFAR10(tmp_path, train=True)


def test_cifar_loader_refuses_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": Evil(), "labels": []}, f)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        datasets.CIFAR10(tmp_path, train=False)
    assert not (tmp_path / "pwned").exists()


def test_digits_split_and_tutorial_input():
    train = datasets.Digits(train=True)
    test = datasets.Digits(train=False)
    assert len(train) + len(test) == 1797 and len(test) == 359
    prep = T.Compose([T.ToTensor(), T.Resize(32), T.Normalize((0.5,), (0.5,))])
    img, label = datasets.Digits(train=False, transform=prep)[0]
    assert img.shape == (1, 32, 32) and 0 <= label <= 9 and -1.0 <= img.min().item() and img.max().item() <= 1.0


def test_transforms_match_torch():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (7, 9, 3)).astype(np.uint8)
    x = T.ToTensor()(img)
    ref = torch.from_numpy(img).permute(2, 0, 1).float() / 255
    assert np.allclose(x.numpy(), ref.numpy())
    norm = T.Normalize((0.5, 0.4, 0.3), (0.2, 0.3, 0.4))(x)
    assert np.allclose(norm.numpy(), ((ref - torch.tensor([0.5, 0.4, 0.3])[:, None, None])
                                      / torch.tensor([0.2, 0.3, 0.4])[:, None, None]).numpy(), atol=1e-6)
    for size in (16, (5, 4), (14, 18)):
        ours = T.Resize(size)(x)
        h, w = (size, int(size * 9 / 7)) if isinstance(size, int) else size
        theirs = torch.nn.functional.interpolate(ref[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        assert ours.shape == theirs.shape and np.allclose(ours.numpy(), theirs.numpy(), atol=1e-5)
    padded = T.Pad((1, 2))(x)
    assert padded.shape == (3, 11, 11) and padded[:, 0].abs().sum().item() == 0
    assert T.Pad(1, padding_mode="edge")(x)[:, 0, 1:-1].tolist() == x[:, 0].tolist()
    framework.manual_seed(0)
    crop = T.RandomCrop(5, padding=2)(x)
    assert crop.shape == (3, 5, 5)
    flipped = T.RandomHorizontalFlip(p=1.0)(x)
    assert np.array_equal(flipped.numpy(), x.numpy()[:, :, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(x) is x
    composed = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2)])(img)
    assert np.allclose(composed.numpy(), 2 * ref.numpy())
    with pytest.raises(ValueError):
        T.RandomCrop(20)(x)
    with pytest.raises(TypeError):
        T.Lambda(3)
