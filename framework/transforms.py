"""Image transforms with torchvision's names and defaults, on NumPy images and tensors."""
import numbers

import numpy as np

import framework
from framework.tensor import Tensor


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"Compose({body}\n)"


class ToTensor:
    """HxW or HxWxC uint8 array -> float32 CxHxW tensor in [0, 1]; float arrays keep their values."""

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            return pic
        arr = np.asarray(pic)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3:
            raise TypeError(f"pic should be 2 or 3 dimensional. Got {arr.ndim} dimensions.")
        chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return framework.from_numpy(chw.astype(np.float32) / np.float32(255))
        return framework.from_numpy(chw.astype(np.float32) if chw.dtype != np.float64 else chw)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = list(mean), list(std), inplace
        if any(s == 0 for s in self.std):
            raise ValueError("std evaluated to zero after conversion to float32, leading to division by zero.")

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor) or not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {type(tensor).__name__}")
        shape = (-1,) + (1,) * (tensor.ndim - 1 - (tensor.ndim > 3))
        mean = framework.tensor(self.mean, dtype=tensor.dtype).reshape(shape)
        std = framework.tensor(self.std, dtype=tensor.dtype).reshape(shape)
        out = (tensor - mean) / std
        return tensor.copy_(out) if self.inplace else out

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


def _as_tensor(img):
    return img if isinstance(img, Tensor) else ToTensor()(img)


class Resize:
    """Resize a (..., H, W) tensor with F.interpolate (int size: the smaller edge, keeping the
    aspect ratio), as torchvision's tensor Resize. `antialias` as torchvision's: True smooths
    when shrinking (bilinear and bicubic); the default None does not, the historical
    behaviour of tensor transforms."""

    _MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=None):
        if isinstance(size, numbers.Integral):
            self.size = int(size)
        elif len(size) == 1:
            self.size = int(size[0])
        else:
            self.size = tuple(size)
        interpolation = getattr(interpolation, "value", interpolation)  # (an InterpolationMode-like enum)
        if interpolation not in self._MODES:
            raise ValueError(f"interpolation {interpolation!r} is not supported (one of {', '.join(self._MODES)})")
        if max_size is not None and not isinstance(self.size, int):
            raise ValueError("max_size should only be passed if size specifies the length of the smaller edge, i.e. "
                             "size should be an int or a sequence of length 1 in torchscript mode.")
        self.interpolation, self.max_size, self.antialias = interpolation, max_size, antialias

    def _target(self, h, w):
        if not isinstance(self.size, int):
            return self.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = self.size, int(self.size * long / short)
        if self.max_size is not None:
            if self.max_size <= self.size:
                raise ValueError(f"max_size = {self.max_size} must be strictly greater than the requested size for "
                                 f"the smaller edge size = {self.size}")
            if new_long > self.max_size:
                new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)

    def __call__(self, img):
        x = _as_tensor(img)
        oh, ow = self._target(*x.shape[-2:])
        lead = x.shape[:-2]
        batch = x.reshape(-1, 1, *x.shape[-2:])
        smooth = bool(self.antialias) and self.interpolation in ("bilinear", "bicubic")
        kw = {} if self.interpolation.startswith("nearest") else {"align_corners": False}
        out = framework.nn.functional.interpolate(batch, size=(oh, ow), mode=self.interpolation, antialias=smooth,
                                                  **kw)
        return out.reshape(*lead, oh, ow)

    def __repr__(self):
        return f"Resize(size={self.size}, interpolation={self.interpolation})"


def _padding(padding):
    if isinstance(padding, numbers.Integral):
        return (padding,) * 4
    padding = tuple(padding)
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    if len(padding) == 4:
        return padding
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")


class Pad:
    """padding: int, (left/right, top/bottom) or (left, top, right, bottom), as torchvision."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")

    def __call__(self, img):
        x = _as_tensor(img)
        left, top, right, bottom = _padding(self.padding)
        mode = {"constant": "constant", "edge": "replicate", "reflect": "reflect"}.get(self.padding_mode)
        if mode is None:
            raise NotImplementedError("symmetric padding is not supported")
        from framework.nn.functional import pad
        if mode == "constant":
            return pad(x, (left, right, top, bottom), value=float(self.fill))
        return pad(x, (left, right, top, bottom), mode=mode)

    def __repr__(self):
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


class RandomCrop:
    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    def __call__(self, img):
        x = _as_tensor(img)
        if self.padding is not None:
            x = Pad(self.padding, self.fill, self.padding_mode)(x)
        th, tw = self.size
        h, w = x.shape[-2:]
        if self.pad_if_needed and (h < th or w < tw):
            x = Pad((max(0, tw - w), max(0, th - h)), self.fill, self.padding_mode)(x)
            h, w = x.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        i = int(framework.randint(0, h - th + 1, (1,)).item())
        j = int(framework.randint(0, w - tw + 1, (1,)).item())
        return x[..., i:i + th, j:j + tw]

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        x = _as_tensor(img)
        if framework.rand(1).item() < self.p:
            return x.flip(-1)
        return x

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class Lambda:
    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"
