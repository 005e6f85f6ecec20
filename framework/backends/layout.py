"""Shape arithmetic both backends share (no arrays, no kernels)."""
import math


def c_strides(shape):
    """The strides, in elements, of a C-contiguous array of `shape`."""
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= n
    return tuple(reversed(strides))


class StridedArray:
    """What the backends' own array views (CudaArray, MetaArray) share: NumPy's ndim, size,
    itemsize, and whether the shape, strides (in elements) and dtype make a C-contiguous view."""

    __slots__ = ()

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    def is_contiguous(self):
        return all(st == c for st, c, n in zip(self.strides, c_strides(self.shape), self.shape) if n != 1)


def two_batch_runs(sizes, strides):
    """Batch dims of `sizes` and `strides` merged into two [size, stride] runs, outer first, where
    their strides allow (size-1 dims dropped, a stride-0 run kept stride 0; [1, 0] fills in front),
    or None when they do not merge into two (the caller copies)."""
    merged = []
    for n, st in zip(sizes, strides):
        if n == 1:
            continue
        if merged and merged[-1][1] == st * n:
            merged[-1] = [merged[-1][0] * n, st]
        else:
            merged.append([n, st])
    if len(merged) > 2:
        return None
    return [[1, 0]] * (2 - len(merged)) + merged


def diagonal_view(a, offset, dim1, dim2):
    """(shape, strides, offset) of the view of a's diagonal of dims dim1, dim2 (`offset` above
    the main one), appended as the last dim: for a backend's strided array (metadata only)."""
    n = max(0, min(a.shape[dim1] + min(offset, 0), a.shape[dim2] - max(offset, 0)))
    start = a.offset
    if n:
        start += max(-offset, 0) * a.strides[dim1] + max(offset, 0) * a.strides[dim2]
    keep = [d for d in range(a.ndim) if d not in (dim1, dim2)]
    return (tuple(a.shape[d] for d in keep) + (n,),
            tuple(a.strides[d] for d in keep) + (a.strides[dim1] + a.strides[dim2],), start)


def reduction_runs(dims):
    """Sorted dims grouped into runs of adjacent dims, last run first: a reduction over
    several dims is done one run at a time, each a reduction over the middle axis of
    an (outer, run, inner) view."""
    runs = []
    for d in sorted(dims):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs[::-1]


def basic_view(a, key):
    """a[key] for a key of ints, slices, None and Ellipsis: metadata only, on any array with `shape`,
    `strides` and `offset` in elements and a `view(shape, strides, offset)` (CudaArray, MetaArray)."""
    if not isinstance(key, tuple):
        key = (key,)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > a.ndim:
        raise IndexError(f"too many indices for tensor of dimension {a.ndim}")
    i = key.index(Ellipsis) if Ellipsis in key else len(key)
    key = key[:i] + (slice(None),) * (a.ndim - n_real) + key[i + 1:]  # also pads a key without one
    shape, strides, offset, d = [], [], a.offset, 0
    for k in key:
        if k is None:
            shape.append(1)
            strides.append(0)
            continue
        size, stride = a.shape[d], a.strides[d]
        if isinstance(k, slice):
            start, stop, step = k.indices(size)
            count = max(0, -(-(stop - start) // step))
            offset += start * stride if count else 0
            shape.append(count)
            strides.append(stride * step)
        else:  # an int (Python's or NumPy's)
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {d} with size {size}")
            offset += (int(k) % size) * stride
        d += 1
    return a.view(tuple(shape), tuple(strides), offset)


class AdvancedKey(tuple):
    """An indexing key with index arrays, split the way PyTorch applies it: `basic` (ints,
    slices, None; a view) first, then `advanced` (index arrays, bool masks and full slices)
    over the dims of that view. Dropping the ints first is what keeps x[0, :, idx]'s index
    dims in place, where NumPy would move them to the front."""

    __slots__ = ()

    def __new__(cls, basic, advanced):
        return super().__new__(cls, (basic, advanced))

    @property
    def basic(self):
        return self[0]

    @property
    def advanced(self):
        return self[1]
