"""In-place ops in the graph: run the op out of place, write the result into the
tensor's storage, and move the tensor to the result's place in the graph. An in-place
op through a view also rebases its root base's history (PyTorch's CopySlices).

Every in-place Tensor method (`add_`, `copy_`, `x[i] = v`, ...) goes through `inplace`, and so
must every in-place variant of an out-of-place function f (F.elu(x, inplace=True), F.dropout_,
...): `inplace(x, f)`, never `x.copy_(f(x))`. The latter computes f on x itself, so f's backward
saves x (or a view of it), which the copy then overwrites: backward fails with "modified by an
inplace operation" (as it would in PyTorch for that code), where `inplace` gives f a snapshot."""
from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import can_cast
from framework.tensor import Tensor


def inplace(self, fn, *args):
    """Run `fn(self, *args)` out of place and write the result into self's storage.

    When the graph is being recorded the op sees a snapshot of self's old value,
    and self takes over the result's place in the graph, as PyTorch's in-place
    ops do."""
    recording = grad_mode.state.enabled and (self._requires_grad or any(
        isinstance(a, Tensor) and a._requires_grad for a in args))
    positions = None
    if recording:
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if self._base is not None:  # checked before anything is written
            positions = _view_positions(self)
        old = Tensor._make(self.device.backend.copy(self._data), self.dtype, self.device)
        old.grad_fn, old._output_nr, old._requires_grad = self.grad_fn, self._output_nr, self._requires_grad
        result = fn(old, *args)
    else:
        result = fn(self, *args)
    if result.dtype is not self.dtype and not can_cast(result.dtype, self.dtype):
        raise RuntimeError(f"result type {result.dtype.name.capitalize()} can't be cast to the desired output "
                           f"type {self.dtype.name.capitalize()}")
    if result._data.shape != self._data.shape:
        raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                           f"{list(result.shape)}")
    self.device.backend.copy_(self._data, result._data)
    self._version_box[0] += 1
    if positions is not None:
        _rebase_history(self, result, positions)
    elif recording:
        node = result.grad_fn
        self.grad_fn, self._output_nr, self._requires_grad = node, result._output_nr, True
        if node is not None and any(t is result for t in node._saved):
            # The op saved its output: from now on that output *is* self, at this version.
            node._saved = tuple(self if t is result else t for t in node._saved)
            node._saved_versions = tuple(self._version_box[0] if t is self else v
                                         for t, v in zip(node._saved, node._saved_versions))
    return self


def _root(view):
    root = view._base
    while root._base is not None:
        root = root._base
    return root


def _view_positions(view):
    """The flat indices into its root base of a view's elements, as an int64 tensor (for
    _rebase_history); the errors PyTorch gives where that history cannot be built."""
    root = _root(view)
    if root.grad_fn is None and root._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    positions = root.device.backend.view_positions(view._data, root._data)
    if positions is None:
        raise RuntimeError("in-place modification of a view of a non-contiguous tensor while recording gradients "
                           "is not supported; make the base contiguous first")
    return Tensor._make(positions, _dt.int64, root.device)


class CopySlices(Function):
    """A root base after an in-place op wrote `result` through one of its views: its old
    value outside the view's elements, `result` inside (PyTorch's CopySlices). The memory
    already holds the new value; the view is replayed as a gather of the root's elements at
    `positions`, so views of any strides work."""

    @staticmethod
    def forward(ctx, root_old, result, positions):
        ctx.shape = root_old.shape
        ctx.save_for_backward(positions)
        return Tensor._make(root_old._data, root_old.dtype, root_old.device)

    @staticmethod
    def backward(ctx, g):
        (positions,) = ctx.saved_tensors
        g_root = g_result = None
        if ctx.needs_input_grad[0]:
            from framework.ops.creation import ones
            with grad_mode.no_grad():
                keep = ones(g.numel(), dtype=g.dtype, device=g.device)
                keep[positions.reshape(-1)] = 0
            g_root = g * keep.reshape(ctx.shape)
        if ctx.needs_input_grad[1]:
            g_result = g.reshape(-1)[positions]
        return g_root, g_result, None


def _rebase_history(view, result, positions):
    """After `result` was written into `view`: the root base becomes a CopySlices of its old
    self and `result`, and the view a view (a gather) of that new root."""
    root = _root(view)
    root_old = Tensor._make(root._data, root.dtype, root.device)
    root_old.grad_fn, root_old._output_nr, root_old._requires_grad = root.grad_fn, root._output_nr, root._requires_grad
    new_root = CopySlices.apply(root_old, result, positions)
    root.grad_fn, root._output_nr, root._requires_grad = new_root.grad_fn, 0, True
    replayed = root.reshape(-1)[positions]
    view.grad_fn, view._output_nr, view._requires_grad = replayed.grad_fn, 0, True
