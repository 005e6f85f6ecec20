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
