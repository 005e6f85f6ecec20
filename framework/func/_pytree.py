"""Nested Python containers as (leaves, spec), as torch.utils._pytree treats them: tuples,
lists, dicts (in their key order), OrderedDicts and namedtuples are nodes; anything else,
None included, is a leaf. The transforms use it to walk arguments and outputs."""
from collections import OrderedDict


class TreeSpec:
    """The shape of a tree: a node's type, its context (a dict's keys) and its children's specs;
    `type` None for a leaf."""

    __slots__ = ("type", "context", "children", "num_leaves")

    def __init__(self, type_=None, context=None, children=()):
        self.type, self.context, self.children = type_, context, tuple(children)
        self.num_leaves = 1 if type_ is None else sum(c.num_leaves for c in self.children)

    def is_leaf(self):
        return self.type is None

    def __eq__(self, other):
        return isinstance(other, TreeSpec) and (self.type, self.context, self.children) == \
            (other.type, other.context, other.children)

    def __repr__(self):
        if self.type is None:
            return "*"
        inner = ", ".join(map(repr, self.children))
        return f"TreeSpec({self.type.__name__}, {self.context}, [{inner}])"


_LEAF = TreeSpec()


def _children(tree):
    """(type, context, children) of a node, or None for a leaf."""
    t = type(tree)
    if t is tuple or t is list:
        return t, None, list(tree)
    if t is dict or t is OrderedDict:
        return t, list(tree.keys()), list(tree.values())
    if isinstance(tree, tuple) and hasattr(t, "_fields"):  # a namedtuple
        return t, None, list(tree)
    return None


def _rebuild(type_, context, children):
    if type_ is tuple or type_ is list:
        return type_(children)
    if type_ is dict or type_ is OrderedDict:
        return type_(zip(context, children))
    return type_(*children)  # a namedtuple


def tree_flatten(tree):
    node = _children(tree)
    if node is None:
        return [tree], _LEAF
    type_, context, children = node
    leaves, specs = [], []
    for child in children:
        sub, spec = tree_flatten(child)
        leaves += sub
        specs.append(spec)
    return leaves, TreeSpec(type_, context, specs)


def tree_unflatten(leaves, spec):
    leaves = list(leaves)
    if len(leaves) != spec.num_leaves:
        raise ValueError(f"tree_unflatten: expected {spec.num_leaves} leaves, got {len(leaves)}")
    return _unflatten(iter(leaves), spec)


def _unflatten(it, spec):
    if spec.type is None:
        return next(it)
    return _rebuild(spec.type, spec.context, [_unflatten(it, c) for c in spec.children])


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_to_and_flatten(prefix, spec):
    """The leaves of `prefix` (a tree whose leaves may stand for whole subtrees of `spec`)
    repeated over the leaves they stand for; None when it is not a prefix of `spec`."""
    node = _children(prefix)
    if node is None:
        return [prefix] * spec.num_leaves
    if spec.type is None:
        return None
    type_, context, children = node
    if type_ is not spec.type or context != spec.context or len(children) != len(spec.children):
        return None
    result = []
    for child, child_spec in zip(children, spec.children):
        flat = broadcast_to_and_flatten(child, child_spec)
        if flat is None:
            return None
        result += flat
    return result
