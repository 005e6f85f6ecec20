"""torch.cond and torch.while_loop, with PyTorch's eager semantics: the checks PyTorch makes
on the predicate, the branches and the operands, then plain Python control flow (there is no
graph capture here to keep both branches or the loop symbolic). Gradients flow through the
branch or iterations that ran."""
from framework.tensor import Tensor


def _leaves(tree):
    """The leaves of nested tuples, lists and dicts."""
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in _leaves(item)]
    return [tree]


def cond(pred, true_fn, false_fn, operands=()):
    """true_fn(*operands) if pred else false_fn(*operands); pred a bool or a one-element tensor."""
    if isinstance(pred, (bool, int, float)):
        return true_fn(*operands) if pred else false_fn(*operands)
    if not isinstance(pred, (bool, Tensor)):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
    if pred.numel() != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    if not isinstance(operands, (tuple, list)) or any(not isinstance(t, Tensor) for t in _leaves(operands)):
        raise RuntimeError("Expect operands to be a tuple of possibly nested dict/list/tuple that only consists of "
                           f"tensor leaves, but got {operands}.")
    return true_fn(*operands) if bool(pred) else false_fn(*operands)


def _check_predicate(pred):
    from framework import dtypes
    if isinstance(pred, bool) or (isinstance(pred, Tensor) and pred.shape == () and pred.dtype is dtypes.bool_):
        return bool(pred)
    raise RuntimeError(f"cond_fn must return a boolean scalar tensor or a boolean but got {pred}")


def _unflatten(leaves, like):
    """`leaves` in the nesting of `like` (tuples, lists and dicts)."""
    it = iter(leaves)

    def build(node):
        if isinstance(node, (tuple, list)):
            return type(node)(build(item) for item in node)
        if isinstance(node, dict):
            return {k: build(v) for k, v in node.items()}
        return next(it)
    return build(like)


def while_loop(cond_fn, body_fn, carried_inputs):
    """Runs `carried = body_fn(*carried)` while cond_fn(*carried) holds. The result has the
    structure of body_fn's output (copies of the inputs, as a tuple, when the loop never runs);
    the carried values keep carried_inputs' structure, as PyTorch flattens and rebuilds them."""
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    leaves = _leaves(carried_inputs)
    if any(not isinstance(t, (Tensor, int)) for t in leaves):
        raise AssertionError(f"{tuple(leaves)} can only be of (<class 'torch.Tensor'>, <class 'int'>, "
                             f"<class 'torch.SymInt'>) but got {tuple(type(t) for t in leaves)}")
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list but got {type(carried_inputs)}")
    carried = carried_inputs
    if not _check_predicate(cond_fn(*carried)):
        return tuple(_unflatten([v.clone() if isinstance(v, Tensor) else v for v in leaves], list(carried)))
    while True:
        out = body_fn(*carried)
        out_leaves = _leaves(out)
        if len(out_leaves) != len(leaves):
            raise RuntimeError(f"Expected body_fn_output and carried_inputs to have same number of outputs but got "
                               f"lhs:{out_leaves} and rhs:{leaves}")
        carried = _unflatten(out_leaves, carried_inputs)
        if not _check_predicate(cond_fn(*carried)):
            return out
