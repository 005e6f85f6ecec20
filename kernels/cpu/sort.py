"""Sorting and searching along the rows of a contiguous 2-D array (the backend moves the
sorted dim last): a stable merge sort of indices with PyTorch's order (nan after every
number ascending, before every number descending), binary search with PyTorch's
searchsorted comparisons, and the mode of sorted rows."""
import numpy as np

from kernels.cpu._jit import kernel


@kernel(inline="always")
def before(x, y, descending):
    """x sorts strictly before y."""
    if descending:
        return x > y or (x != x and y == y)
    return x < y or (y != y and x == x)


@kernel
def sort_row(row, idx, tmp, descending):
    """idx <- the stable sorting permutation of `row`, by bottom-up merge sort; returns the
    buffer (idx or tmp) that holds it."""
    n = row.shape[0]
    for i in range(n):
        idx[i] = i
    src, dst = idx, tmp
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, t = lo, mid, lo
            while i < mid and j < hi:
                if before(row[src[j]], row[src[i]], descending):
                    dst[t] = src[j]
                    j += 1
                else:
                    dst[t] = src[i]
                    i += 1
                t += 1
            while i < mid:
                dst[t] = src[i]
                i += 1
                t += 1
            while j < hi:
                dst[t] = src[j]
                j += 1
                t += 1
        src, dst = dst, src
        width *= 2
    return src


@kernel
def sort_rows(a, values, indices, descending):
    n = a.shape[1]
    idx = np.empty(n, np.int64)
    tmp = np.empty(n, np.int64)
    for r in range(a.shape[0]):
        order = sort_row(a[r], idx, tmp, descending)
        for i in range(n):
            indices[r, i] = order[i]
            values[r, i] = a[r, order[i]]


@kernel
def searchsorted_rows(seq, vals, out, right):
    """out[r, c] = where vals[r, c] goes in row r of seq (its only row when it has one):
    the first position whose value is >= it (> it with `right`); nan goes last."""
    n = seq.shape[1]
    for r in range(vals.shape[0]):
        rs = r if seq.shape[0] != 1 else 0
        for c in range(vals.shape[1]):
            v = vals[r, c]
            lo, hi = 0, n
            while lo < hi:
                mid = (lo + hi) >> 1
                s = seq[rs, mid]
                if (not (s > v)) if right else (not (s >= v)):
                    lo = mid + 1
                else:
                    hi = mid
            out[r, c] = lo


@kernel
def mode_sorted_rows(values, indices, mode_values, mode_indices):
    """The most frequent value of each row of `values` (sorted ascending; the smallest one on
    ties) and the largest original index (from `indices`) among its occurrences."""
    n = values.shape[1]
    if n == 0:
        return
    for r in range(values.shape[0]):
        best_count, best_start, best_end = 0, 0, 0
        start = 0
        for i in range(1, n + 1):
            if i == n or values[r, i] != values[r, start]:
                if i - start > best_count:
                    best_count, best_start, best_end = i - start, start, i
                start = i
        mode_values[r] = values[r, best_start]
        last = indices[r, best_start]
        for i in range(best_start, best_end):
            if indices[r, i] > last:
                last = indices[r, i]
        mode_indices[r] = last
