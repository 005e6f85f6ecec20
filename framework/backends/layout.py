"""Shape arithmetic both backends share (no arrays, no kernels)."""


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
