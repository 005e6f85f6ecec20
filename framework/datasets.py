"""Datasets read from local files or from packages that ship them; nothing is downloaded.

- `Digits`: the 1,797 8x8 handwritten digits shipped inside scikit-learn. For the
  tutorial's 1x32x32 LeNet input use `transforms.Compose([ToTensor(), Resize(32)])`
  (or `Pad(12)` for zero-padding).
- `MNIST`, `FashionMNIST`: IDX files (raw or .gz) in `root/<Name>/raw/` or `root/`.
- `CIFAR10`: the python batches in `root/cifar-10-batches-py/`.

Samples are `(image, label)` with the image a uint8 NumPy array (H, W) or (H, W, C),
as the PIL images of torchvision would be, so `transforms.ToTensor()` applies.
"""
import gzip
import os
import pickle
import struct

import numpy as np

from framework.utils.data import Dataset


class DatasetNotFoundError(FileNotFoundError):
    pass


def _refuse_download(name, expected):
    raise RuntimeError(f"{name}: download=True needs network access, which this framework never uses. Place the "
                       f"files at: {', '.join(expected)}")


class _ImageDataset(Dataset):
    def __init__(self, transform=None, target_transform=None):
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for {type(self).__name__} with {n} samples")
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self):
        return f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}"


class Digits(_ImageDataset):
    """scikit-learn's 8x8 digits as uint8 images (0-16 scaled to 0-255).

    The 1,797 samples are split once, with a fixed seed, into `test_fraction` for
    `train=False` and the rest for `train=True`."""

    classes = [str(i) for i in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False,
                 test_fraction=0.2, seed=0):
        super().__init__(transform, target_transform)
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:
            raise ImportError("Digits needs scikit-learn, which ships the data: pip install scikit-learn") from exc
        digits = load_digits()
        images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
        order = np.random.default_rng(seed).permutation(len(images))
        n_test = int(round(len(images) * test_fraction))
        chosen = order[n_test:] if train else order[:n_test]
        self.data, self.targets = images[chosen], digits.target[chosen].astype(np.int64)
        self.train = train


def _open_maybe_gz(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_idx(path):
    """Read an IDX file (the MNIST format), raw or gzip-compressed, into a NumPy array."""
    with _open_maybe_gz(path) as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    type_code, ndim = raw[2], raw[3]
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if type_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(dtypes[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX data holds {len(raw) - header} bytes, the header {list(shape)} needs "
                         f"{expected}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(_ImageDataset):
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]
    _files = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(transform, target_transform)
        self.root, self.train = os.path.expanduser(str(root)), train
        folders = [os.path.join(self.root, type(self).__name__, "raw"), os.path.join(self.root, type(self).__name__),
                   self.root]
        names = self._files[train]
        candidates = [os.path.join(d, n + ext) for d in folders for n in names[:1] for ext in ("", ".gz")]
        if download:
            _refuse_download(type(self).__name__, candidates)
        paths = []
        for name in names:
            found = [os.path.join(d, name + ext) for d in folders for ext in ("", ".gz")
                     if os.path.isfile(os.path.join(d, name + ext))]
            if not found:
                expected = [os.path.join(folders[0], name + ext) for ext in ("", ".gz")]
                raise DatasetNotFoundError(f"{type(self).__name__} not found: expected {' or '.join(expected)} "
                                           f"(also searched {folders[1]} and {folders[2]})")
            paths.append(found[0])
        self.data = read_idx(paths[0])
        self.targets = read_idx(paths[1]).astype(np.int64)
        if self.data.ndim != 3 or len(self.data) != len(self.targets):
            raise ValueError(f"{type(self).__name__}: images {self.data.shape} and labels {self.targets.shape} "
                             "do not match")


class FashionMNIST(MNIST):
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class _CifarUnpickler(pickle.Unpickler):
    """CIFAR's batches are pickles: rebuild dicts, lists, bytes and NumPy arrays only."""

    _allowed = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar"), ("builtins", "list"), ("builtins", "dict")}

    def find_class(self, module, name):
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"CIFAR batch refers to {module}.{name}, which a data file has no need for; "
                                     "refusing to load it")


class CIFAR10(_ImageDataset):
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    base_folder = "cifar-10-batches-py"

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(transform, target_transform)
        self.root, self.train = os.path.expanduser(str(root)), train
        folder = os.path.join(self.root, self.base_folder)
        names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        paths = [os.path.join(folder, n) for n in names]
        if download:
            _refuse_download("CIFAR10", paths)
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            raise DatasetNotFoundError(f"CIFAR10 not found: missing {', '.join(missing)}")
        data, labels = [], []
        for p in paths:
            with open(p, "rb") as f:
                entry = _CifarUnpickler(f, encoding="latin1").load()
            data.append(np.asarray(entry["data"], np.uint8).reshape(-1, 3, 32, 32))
            labels += list(entry["labels"] if "labels" in entry else entry["fine_labels"])
        self.data = np.ascontiguousarray(np.concatenate(data).transpose(0, 2, 3, 1))  # HWC, as torchvision
        self.targets = np.asarray(labels, np.int64)
