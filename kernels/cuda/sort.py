"""Sorting and searching along the rows of a contiguous (rows, n) buffer, one thread per row
(a per-row merge sort for now; a block-wide sort is the next step on a real GPU). Orders
and comparisons as kernels/cpu/sort.py."""
from numba import cuda


@cuda.jit(device=True, inline=True)
def _before(x, y, descending):
    if descending:
        return x > y or (x != x and y == y)
    return x < y or (y != y and x == x)


@cuda.jit(cache=True)
def sort_rows(a, values, indices, scratch, rows, n, descending):
    """Stable merge sort of each row of `a` into values and indices; `scratch` holds rows * n
    int64 (the merge's second buffer)."""
    r = cuda.grid(1)
    while r < rows:
        base = r * n
        for i in range(n):
            indices[base + i] = i
        width = 1
        in_indices = True  # which buffer holds the current runs
        while width < n:
            for lo in range(0, n, 2 * width):
                mid = min(lo + width, n)
                hi = min(lo + 2 * width, n)
                i, j, t = lo, mid, lo
                while t < hi:
                    if in_indices:
                        si = indices[base + i] if i < mid else 0
                        sj = indices[base + j] if j < hi else 0
                    else:
                        si = scratch[base + i] if i < mid else 0
                        sj = scratch[base + j] if j < hi else 0
                    take_right = i >= mid or (j < hi and _before(a[base + sj], a[base + si], descending))
                    chosen = sj if take_right else si
                    if take_right:
                        j += 1
                    else:
                        i += 1
                    if in_indices:
                        scratch[base + t] = chosen
                    else:
                        indices[base + t] = chosen
                    t += 1
            in_indices = not in_indices
            width *= 2
        if not in_indices:
            for i in range(n):
                indices[base + i] = scratch[base + i]
        for i in range(n):
            values[base + i] = a[base + indices[base + i]]
        r += cuda.gridsize(1)


@cuda.jit(cache=True)
def searchsorted_rows(seq, vals, out, seq_rows, n, rows, k, right):
    """out[r, c] = the insertion point of vals[r, c] in row r of seq (its only row when
    seq_rows == 1), as the CPU kernel."""
    e = cuda.grid(1)
    while e < rows * k:
        r = e // k
        base = (r if seq_rows != 1 else 0) * n
        v = vals[e]
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) >> 1
            s = seq[base + mid]
            if (not (s > v)) if right else (not (s >= v)):
                lo = mid + 1
            else:
                hi = mid
        out[e] = lo
        e += cuda.gridsize(1)


@cuda.jit(cache=True)
def mode_sorted_rows(values, indices, mode_values, mode_indices, rows, n):
    """Per row of ascending `values`: the most frequent value (smallest on ties) and the largest
    of its original indices."""
    r = cuda.grid(1)
    while r < rows and n > 0:
        base = r * n
        best_count, best_start, best_end = 0, 0, 0
        start = 0
        for i in range(1, n + 1):
            if i == n or values[base + i] != values[base + start]:
                if i - start > best_count:
                    best_count, best_start, best_end = i - start, start, i
                start = i
        mode_values[r] = values[base + best_start]
        last = indices[base + best_start]
        for i in range(best_start, best_end):
            if indices[base + i] > last:
                last = indices[base + i]
        mode_indices[r] = last
        r += cuda.gridsize(1)
