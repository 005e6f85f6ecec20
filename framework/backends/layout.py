"""Shape arithmetic both backends share (no arrays, no kernels)."""


def c_strides(shape):
    """The strides, in elements, of a C-contiguous array of `shape`."""
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= n
    return tuple(reversed(strides))


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
