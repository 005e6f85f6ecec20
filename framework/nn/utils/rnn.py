"""torch.nn.utils.rnn: PackedSequence and the functions that pack, pad and unpad sequences.

Lengths live on the host (as in PyTorch, where `batch_sizes` is always a CPU tensor), so
every reshuffle of rows is computed there as one index and applied as one differentiable
`index_select`: packing, padding and unpacking cost one gather each, whatever the batch."""
from collections import namedtuple
from collections.abc import Iterable

import numpy as np

import framework
from framework import Tensor
from framework import dtypes as _dt

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence_(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    __slots__ = ()


class PackedSequence(PackedSequence_):
    """The rows of a batch of sequences, step after step (`batch_sizes[t]` rows at step t), and the
    permutation that sorted the batch by length (`sorted_indices`, None when it came sorted)."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                                 "created manually. They should be instantiated by functions like pack_sequence and "
                                 "pack_padded_sequences in nn.utils.rnn. "
                                 "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        else:  # PackedSequence((data, batch_sizes), ...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """The data converted as Tensor.to; the indices follow it to its device. `self` when unchanged."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        follow = lambda t: None if t is None else t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, follow(self.sorted_indices), follow(self.unsorted_indices))

    def cuda(self, *args, **kwargs):
        if self.data.is_cuda and not args and not kwargs:
            return self
        kwargs.setdefault("device", args[0] if args else "cuda")
        return self.to(**kwargs)

    def cpu(self, *args, **kwargs):
        return self.to(device="cpu")

    def double(self):
        return self.to(dtype=framework.float64)

    def float(self):
        return self.to(dtype=framework.float32)

    def half(self):
        return self.to(dtype=framework.float16)

    def long(self):
        return self.to(dtype=framework.int64)

    def int(self):
        return self.to(dtype=framework.int32)

    def short(self):
        return self.to(dtype=framework.int16)

    def char(self):
        return self.to(dtype=framework.int8)

    def byte(self):
        return self.to(dtype=framework.uint8)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """The inverse of a 1-D permutation tensor (None for None)."""
    if permutation is None:
        return None
    n = permutation.numel()
    return framework.empty_like(permutation).scatter_(
        0, permutation, framework.arange(n, dtype=permutation.dtype, device=permutation.device))


def _host_lengths(lengths):
    """`lengths` (a list or a CPU integer tensor) as a 1-D int64 NumPy array, PyTorch's checks."""
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1 or lengths.device.type != "cpu":
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.ndim}D "
                               f"{lengths.device} {_dt.scalar_name(lengths.dtype)} tensor")
        return lengths.to(framework.int64).numpy().astype(np.int64)
    arr = np.asarray(lengths)
    if arr.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {arr.ndim}D cpu Long tensor")
    return arr.astype(np.int64)


def _rows(t, index):
    """t's rows at the host int64 `index` (one differentiable gather)."""
    return t.index_select(0, framework.tensor(np.asarray(index, np.int64), device=t.device))


def _with_padding_row(t, value):
    """t (rows, *) with one more row filled with `value`: the row padded positions gather."""
    return framework.cat([t, framework.full((1,) + tuple(t.shape[1:]), value, dtype=t.dtype, device=t.device)])


def _batch_sizes(lengths):
    """batch_sizes[t] = how many of the (sorted, decreasing) lengths exceed t."""
    steps = int(lengths[0]) if len(lengths) else 0
    return np.array([(lengths > t).sum() for t in range(steps)], np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences of the given lengths."""
    lengths = _host_lengths(lengths)
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = framework.tensor(order.astype(np.int64), device=input.device)
    if input.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{max(input.ndim, 1)}, "
                         f"{max(input.ndim, 1) - 1}], but got 1)")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if input.numel() == 0 or batch == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if len(lengths) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
                           f"(batch_size={batch})")
    if lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if np.any(lengths[1:] > lengths[:-1]):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can "
                           "pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if lengths[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: a length ({int(lengths[0])}) exceeds the input's sequence "
                           f"length ({steps})")
    batch_sizes = _batch_sizes(lengths)
    source = np.arange(batch) if sorted_indices is None else order  # the input's column of each sorted sequence
    # row (t, j) of the packed data is the input's element (t, source[j]), flattened time- or batch-major
    index = np.concatenate([source[:bs] * steps + t if batch_first else t * batch + source[:bs]
                            for t, bs in enumerate(batch_sizes)])
    data = _rows(input.flatten(0, 1), index)
    return PackedSequence(data, framework.tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """(padded (T, B, *) or (B, T, *), lengths): the inverse of pack_padded_sequence, batch in the original order."""
    batch_sizes = sequence.batch_sizes.numpy().astype(np.int64)
    max_len = len(batch_sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, but "
                             f"got total_length={total_length} and max sequence length being {max_len}")
        max_len = total_length
    batch = int(batch_sizes[0])
    lengths = np.array([(batch_sizes > j).sum() for j in range(batch)], np.int64)  # of the sorted sequences
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    unsorted = (np.arange(batch) if sequence.unsorted_indices is None
                else sequence.unsorted_indices.cpu().numpy().astype(np.int64))
    pad = int(batch_sizes.sum())  # the padding row
    t = np.arange(max_len)[:, None]
    j = unsorted[None, :]  # output column b holds the sorted sequence unsorted[b]
    index = np.where(t < lengths[j], offsets[np.minimum(t, len(batch_sizes) - 1)] + j, pad)  # (T, B)
    if batch_first:
        index = index.T
    data = sequence.data
    padded = _rows(_with_padding_row(data, padding_value), index.reshape(-1))
    padded = padded.reshape(index.shape + tuple(data.shape[1:]))
    return padded, framework.tensor(lengths[unsorted])


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences (L_i, *) into (T, B, *) (or (B, T, *)), padded with `padding_value`."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    first = sequences[0]
    if any(s.ndim == 0 for s in sequences):
        raise RuntimeError("pad_sequence: expected sequences of at least one dimension, got a 0-d tensor")
    trailing = tuple(first.shape[1:])
    for s in sequences[1:]:
        if tuple(s.shape[1:]) != trailing:
            for d, (a, b) in enumerate(zip(s.shape[1:], trailing)):
                if a != b:
                    raise RuntimeError(f"The size of tensor a ({b}) must match the size of tensor b ({a}) at "
                                       f"non-singleton dimension {d + 1}")
            raise RuntimeError(f"pad_sequence: sequences of shapes {list(first.shape)} and {list(s.shape)} differ "
                               "beyond their first dimension")
    lengths = np.array([s.shape[0] for s in sequences], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps, pad = int(lengths.max()), int(lengths.sum())
    t = np.arange(steps)[:, None]
    shift = (steps - lengths)[None, :] if padding_side == "left" else 0
    pos = t - shift  # position within its sequence of output step t
    index = np.where((pos >= 0) & (pos < lengths[None, :]), starts[None, :] + pos, pad)  # (T, B)
    if batch_first:
        index = index.T
    rows = framework.cat([s.to(first.dtype) for s in sequences]) if len(sequences) > 1 else first
    out = _rows(_with_padding_row(rows, padding_value), index.reshape(-1))
    return out.reshape(index.shape + trailing)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences padded_sequences[:length] (batch dim 1, or 0 with batch_first).

    Unlike PyTorch's, the input is not transposed in place when batch_first is False."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = _host_lengths(lengths) if isinstance(lengths, Tensor) else np.asarray(lengths, np.int64)
    if len(lengths) != padded_sequences.shape[0]:
        raise ValueError(f"zip() argument 2 is {'longer' if len(lengths) > padded_sequences.shape[0] else 'shorter'} "
                         "than argument 1")
    return [seq[:int(n)] for seq, n in zip(padded_sequences, lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    """pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)."""
    lengths = [v.shape[0] for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences packed in a PackedSequence, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
