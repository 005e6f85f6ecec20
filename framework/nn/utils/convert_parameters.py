"""Parameters as one flat vector and back, as torch.nn.utils.convert_parameters."""
from framework import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_device(param, device):
    """The device all parameters share; TypeError when one is elsewhere."""
    if device is not None and param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return param.device


def parameters_to_vector(parameters):
    import framework
    device, flat = None, []
    for p in parameters:
        device = _check_device(p, device)
        flat.append(p.reshape(-1))
    return framework.cat(flat)


def vector_to_parameters(vec, parameters):
    """Each parameter's data becomes its slice of vec (a view, as PyTorch's)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    device, offset = None, 0
    for p in parameters:
        device = _check_device(p, device)
        n = p.numel()
        p.data = vec[offset:offset + n].view_as(p).data
        offset += n
