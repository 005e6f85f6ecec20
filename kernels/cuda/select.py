"""`where`: the one ternary elementwise kernel, over three broadcast views."""
from numba import cuda


@cuda.jit(cache=True)
def where_strided(cond, a, b, out, meta):
    """out[i] = cond ? a : b, three broadcast views; meta: [ndim, n, shape..., then offset and
    strides for cond, a and b]."""
    ndim = meta[0]
    n = meta[1]
    i = cuda.grid(1)
    while i < n:
        rest = i
        ic = meta[2 + ndim]
        ia = meta[3 + 2 * ndim]
        ib = meta[4 + 3 * ndim]
        for d in range(ndim - 1, -1, -1):
            c = rest % meta[2 + d]
            rest //= meta[2 + d]
            ic += c * meta[3 + ndim + d]
            ia += c * meta[4 + 2 * ndim + d]
            ib += c * meta[5 + 3 * ndim + d]
        out[i] = a[ia] if cond[ic] else b[ib]
        i += cuda.gridsize(1)
