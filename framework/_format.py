"""repr of tensors, shaped like PyTorch's: `tensor([[1., 2.]], requires_grad=True)`."""
import numpy as np

from framework import dtypes as _dt


def _float_formatter(values):
    from framework.settings import PRINT
    digits, sci = PRINT["precision"], PRINT["sci_mode"]
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: _special(v) or "nan"
    amax = np.abs(finite).max()
    amin = np.abs(finite[finite != 0]).min() if np.any(finite != 0) else 0.0
    if sci is not True and np.all(finite == np.round(finite)) and amax < 1e8:
        width = max(len(f"{v:.0f}") for v in finite) + 1
        return lambda v: (_special(v) or f"{v:.0f}.").rjust(width)
    automatic = amax >= 1e8 or (amin and amax / amin > 1e3) or amax < 1e-4
    if sci is True or (sci is None and automatic):
        width = max(len(f"{v:.{digits}e}") for v in finite)
        return lambda v: (_special(v) or f"{v:.{digits}e}").rjust(width)
    width = max(len(f"{v:.{digits}f}") for v in finite)
    return lambda v: (_special(v) or f"{v:.{digits}f}").rjust(width)


def _special(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _grad_suffix(t):
    if t.grad_fn is not None:
        return [f"grad_fn=<{t.grad_fn.name()}>"]
    return ["requires_grad=True"] if t.requires_grad else []


def _format_meta(t):
    """A meta tensor has no values: `tensor(..., device='meta', size=(3, 4))`, as PyTorch."""
    extras = [f"device='{t.device}'", f"size={tuple(t.shape)}"]
    if t.dtype is not _dt.get_default_dtype():
        extras.append(f"dtype={t.dtype}")
    return "tensor(..." + "".join(", " + e for e in extras + _grad_suffix(t)) + ")"


def format_tensor(t):
    if t.device.type == "meta":
        return _format_meta(t)
    data = np.asarray(t.device.backend.to_host(t._data))
    if t.dtype._low:  # printed from float32, as PyTorch does (NumPy cannot format bfloat16)
        data = data.astype(np.float32)
    if t.dtype.is_floating_point:
        fmt = _float_formatter(data.reshape(-1)) if data.size else str
        formatter = {"float_kind": fmt}
    elif t.dtype is _dt.bool_:
        width = 4 if data.all() else 5
        formatter = {"bool": lambda v: ("True" if v else "False").rjust(width)}
    else:
        formatter = None
    from framework.settings import PRINT
    threshold = PRINT["threshold"]
    body = np.array2string(data, separator=", ", prefix="tensor(", formatter=formatter,
                           threshold=threshold if threshold != float("inf") else np.iinfo(np.int64).max,
                           edgeitems=PRINT["edgeitems"], max_line_width=PRINT["linewidth"]) \
        if data.size or data.ndim > 1 else "[]"
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    default = (_dt.get_default_dtype(), _dt.int64, _dt.bool_)
    if t.dtype not in default or data.size == 0 and t.dtype is not _dt.get_default_dtype():
        extras.append(f"dtype={t.dtype}")
    extras += _grad_suffix(t)
    if data.size == 0 and data.ndim > 1:
        extras.insert(0, f"size={tuple(data.shape)}")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
