"""Batched matrix products of contiguous (batch, n, k) and (batch, k, m) arrays."""
from numba import cuda, float32

TILE = 16


@cuda.jit(cache=True)
def matmul_simple(a, b, out, batch, n, k, m):
    """One thread per output element: float64 and integer products (exact in their dtype)."""
    o = cuda.grid(1)
    while o < batch * n * m:
        p = o // (n * m)
        row = (o // m) % n
        col = o % m
        acc = out[o]
        for q in range(k):
            acc += a[(p * n + row) * k + q] * b[(p * k + q) * m + col]
        out[o] = acc
        o += cuda.gridsize(1)


@cuda.jit(cache=True)
def matmul_tiled(a, b, out, batch, n, k, m):
    """out[p] = a[p] @ b[p] for contiguous float32 (batch, n, k) and (batch, k, m), 16x16 shared
    tiles; launch with (16, 16) threads per block."""
    sa = cuda.shared.array((TILE, TILE), dtype=float32)
    sb = cuda.shared.array((TILE, TILE), dtype=float32)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    tiles_m = (m + TILE - 1) // TILE
    tiles_n = (n + TILE - 1) // TILE
    blk = cuda.blockIdx.x
    while blk < batch * tiles_n * tiles_m:
        p = blk // (tiles_n * tiles_m)
        rem = blk % (tiles_n * tiles_m)
        row = (rem // tiles_m) * TILE + ty
        col = (rem % tiles_m) * TILE + tx
        acc = float32(0)  # (0.0 would make every product-sum float64: a few TFLOP/s at most)
        for t in range((k + TILE - 1) // TILE):
            ka = t * TILE + tx
            kb = t * TILE + ty
            sa[ty, tx] = a[(p * n + row) * k + ka] if row < n and ka < k else float32(0)
            sb[ty, tx] = b[(p * k + kb) * m + col] if kb < k and col < m else float32(0)
            cuda.syncthreads()
            for q in range(TILE):
                acc += sa[ty, q] * sb[q, tx]
            cuda.syncthreads()
        if row < n and col < m:
            out[(p * n + row) * m + col] = acc
        blk += cuda.gridDim.x
