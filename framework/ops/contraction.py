"""torch.einsum: parse the equation, take the diagonals of labels repeated in one operand,
sum away labels no one else needs, then contract the operands pairwise, left to right,
with one batched matmul each (batch labels broadcast as matmul's batch dims do). Every
step is a differentiable op, so gradients and double backward come for free."""
import math

from framework.ops._util import broadcast_shapes
from framework.tensor import Tensor

_ELLIPSIS_LABELS = [chr(0x391 + i) for i in range(24)]  # (Greek capitals: never valid user labels)


def _parse(equation, operands):
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError("einsum(): more operands were provided than specified in the equation"
                         if len(operands) > len(terms) else
                         "einsum(): fewer operands were provided than specified in the equation")
    ell = max((op.ndim - len(t.replace("...", "")) for t, op in zip(terms, operands) if "..." in t), default=0)
    expanded = []
    for i, (t, op) in enumerate(zip(terms, operands)):
        for c in t.replace("...", ""):
            if not c.isalpha():
                raise ValueError(f"einsum(): invalid subscript given at index {lhs.index(c)} in the equation string, "
                                 f"subscripts must be in [a-zA-Z]")
        if "..." in t:
            n = op.ndim - len(t.replace("...", ""))
            if n < 0:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(t) - 3}) is more than "
                                   f"the number of dimensions ({op.ndim}) for operand {i}")
            t = t.replace("...", "".join(_ELLIPSIS_LABELS[ell - n:ell]))
        elif len(t) != op.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(t)}) does not match the "
                               f"number of dimensions ({op.ndim}) for operand {i} and no ellipsis was given")
        expanded.append(t)
    if arrow:
        out = rhs.replace("...", "".join(_ELLIPSIS_LABELS[:ell]))
        for c in rhs.replace("...", ""):
            if not c.isalpha():
                raise ValueError("einsum(): invalid subscript given in the equation string, subscripts must be in "
                                 "[a-zA-Z]")
            if rhs.count(c) > 1:
                raise ValueError(f"einsum(): output subscript {c} appears more than once in the output")
            if c not in lhs:
                raise ValueError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                                 f"operand")
    else:  # implicit: the ellipsis dims, then the labels used once, in alphabetical order
        counts = {}
        for t in expanded:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = "".join(_ELLIPSIS_LABELS[:ell]) + "".join(sorted(c for c, k in counts.items()
                                                                 if k == 1 and c not in _ELLIPSIS_LABELS))
    return expanded, out


def _take_diagonals(x, labels):
    """x with each label appearing once (the diagonal of repeated ones)."""
    from framework.ops.structure import diagonal
    while True:
        repeated = next((c for c in labels if labels.count(c) > 1), None)
        if repeated is None:
            return x, labels
        i = labels.index(repeated)
        j = labels.index(repeated, i + 1)
        if x.shape[i] != x.shape[j]:
            raise RuntimeError(f"einsum(): subscript {repeated} is repeated for operand but the sizes don't match, "
                               f"{x.shape[i]} != {x.shape[j]}")
        x = diagonal(x, 0, i, j)  # (the diagonal becomes the last dim)
        labels = labels[:i] + labels[i + 1:j] + labels[j + 1:] + repeated


def _sum_labels(x, labels, drop):
    dims = [i for i, c in enumerate(labels) if c in drop]
    if not dims:
        return x, labels
    return x.sum(dims), "".join(c for c in labels if c not in drop)


def _contract(a, la, b, lb, keep):
    """a (labels la) times b (labels lb), summed over the shared labels not in `keep`."""
    shared = [c for c in la if c in lb]
    batch = [c for c in shared if c in keep]
    summed = [c for c in shared if c not in keep]
    only_a = [c for c in la if c not in lb]
    only_b = [c for c in lb if c not in la]
    size = {}
    for labels, x in ((la, a), (lb, b)):
        for c, n in zip(labels, x.shape):
            if c in size and size[c] != n and 1 not in (size[c], n):
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes (original->remapped): "
                                   f"{list(a.shape)} and {list(b.shape)}")
            size[c] = max(size.get(c, n), n) if n != 1 else size.get(c, n)
    for c in summed:  # a contracted label broadcast in one operand: expand it (sum of the broadcast copies)
        if a.shape[la.index(c)] != size[c]:
            a = a.expand(tuple(size[c] if x == c else n for x, n in zip(la, a.shape)))
        if b.shape[lb.index(c)] != size[c]:
            b = b.expand(tuple(size[c] if x == c else n for x, n in zip(lb, b.shape)))
    pa = a.permute(*[la.index(c) for c in batch + only_a + summed])
    pb = b.permute(*[lb.index(c) for c in batch + summed + only_b])
    nb = len(batch)
    k = math.prod(size[c] for c in summed)
    ma = math.prod(pa.shape[nb:nb + len(only_a)])
    mb = math.prod(pb.shape[nb + len(summed):])
    pa = pa.reshape(tuple(pa.shape[:nb]) + (ma, k))
    pb = pb.reshape(tuple(pb.shape[:nb]) + (k, mb))
    from framework.ops.linalg import matmul
    out = matmul(pa, pb)
    batch_shape = broadcast_shapes(tuple(pa.shape[:nb]), tuple(pb.shape[:nb]))
    shape = batch_shape + tuple(a.shape[la.index(c)] for c in only_a) + tuple(b.shape[lb.index(c)] for c in only_b)
    return out.reshape(shape), "".join(batch + only_a + only_b)


def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for op in operands:
        if not isinstance(op, Tensor):
            raise TypeError(f"einsum(): argument 'operands' must be tuple of Tensors, not {type(op).__name__}")
    terms, out = _parse(equation, operands)
    pairs = [_take_diagonals(x, t) for x, t in zip(operands, terms)]
    # sum labels that appear in one operand only and not in the output, before any product
    for i, (x, labels) in enumerate(pairs):
        others = set(out).union(*(set(t) for j, (_, t) in enumerate(pairs) if j != i))
        pairs[i] = _sum_labels(x, labels, set(labels) - others)
    x, labels = pairs[0]
    for i in range(1, len(pairs)):
        keep = set(out).union(*(set(t) for _, t in pairs[i + 1:]))
        x, labels = _contract(x, labels, *pairs[i], keep)
    x, labels = _sum_labels(x, labels, set(labels) - set(out))
    if labels != out:
        x = x.permute(*[labels.index(c) for c in out])
    return x
