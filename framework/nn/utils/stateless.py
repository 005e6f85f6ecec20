"""functional_call: run a module with some of its parameters and buffers replaced by given
tensors for one call (torch.func.functional_call; torch.nn.utils.stateless's deprecated name)."""
import contextlib
import warnings

from framework import Tensor

__all__ = ["functional_call"]


def _owner(module, name):
    """(submodule, attribute) of a dotted name such as 'layer.0.weight'."""
    path, _, attr = name.rpartition(".")
    return module.get_submodule(path), attr


def _swap(module, name, value):
    """Put value in place of module.<name> (a parameter, buffer or plain attribute); return the old one."""
    owner, attr = _owner(module, name)
    for registry in (owner._parameters, owner._buffers):
        if attr in registry:
            old, registry[attr] = registry[attr], value
            return old
    old = owner.__dict__.get(attr)
    object.__setattr__(owner, attr, value)
    return old


def _untie(module, given):
    """Extend `given` to every name tied to a given tensor (one object under several names)."""
    names_of = {}
    for name, tensor in list(module.named_parameters(remove_duplicate=False)) + \
            list(module.named_buffers(remove_duplicate=False)):
        names_of.setdefault(id(tensor), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    out = dict(given)
    for name in given:
        if name in tied:
            values = {id(given[n]) for n in tied[name] if n in given}
            if len(values) > 1:
                raise ValueError(f"functional_call got multiple values for keys {sorted(tied[name])}, which are "
                                 "tied. Consider using tie_weights=False")
            for other in tied[name]:
                out[other] = given[name]
    return out


@contextlib.contextmanager
def _reparametrize_module(module, parameters_and_buffers, tie_weights=False, strict=False):
    values = _untie(module, parameters_and_buffers) if tie_weights else dict(parameters_and_buffers)
    if strict:
        expected = {n for n, _ in module.named_parameters(remove_duplicate=False)} | \
            {n for n, _ in module.named_buffers(remove_duplicate=False)}
        unexpected = sorted(set(values) - expected)
        missing = sorted(expected - set(values))
        errors = []
        if unexpected:
            errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if errors:
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t" + "\n\t".join(errors))
    originals = {}
    try:
        for name, value in values.items():
            originals[name] = _swap(module, name, value)
        yield
    finally:
        for name, value in reversed(list(originals.items())):
            _swap(module, name, value)


def _functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
    for name, value in parameters_and_buffers.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"functional_call: the value for '{name}' must be a Tensor, got {type(value).__name__}")
    kwargs = {} if kwargs is None else kwargs
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights, strict=strict):
        return module(*args, **kwargs)


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """module(*args, **kwargs) with the given tensors standing in for its parameters and buffers."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in a "
                  "future version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
