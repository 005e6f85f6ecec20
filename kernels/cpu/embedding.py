"""EmbeddingBag's forward: the rows of each bag (indices[offsets[b]:offsets[b+1]]) summed,
averaged or maxed in one pass, with the bag of every index (for the backward, which
framework.ops.embedding composes of index ops). Indices and offsets are checked here."""
from kernels.cpu._jit import kernel

# error codes (value, position) returned by embedding_bag_forward
BAG_OK, BAG_BAD_INDEX, BAG_FIRST_OFFSET, BAG_LAST_OFFSET, BAG_BAD_OFFSET = 0, 1, 2, 3, 4
MODE_SUM, MODE_MEAN, MODE_MAX = 0, 1, 2


@kernel
def bag_end(offsets, b, n):
    """End of bag b: the next offset, or n after the last one."""
    return offsets[b + 1] if b + 1 < offsets.shape[0] else n


@kernel
def embedding_bag_forward(weight, indices, offsets, num_bags, psw, has_psw, mode, padding_idx, out, bag_of,
                          bag_size, max_indices):
    """out (B, D); bag_of (n,) the bag of each index (-1: padding_idx or in no bag); bag_size (B,)
    the indices counted; max_indices (B, D) the row each max came from (-1 for an empty bag).
    Returns (code, value, position): BAG_OK or the first problem found."""
    n = indices.shape[0]
    v, d = weight.shape
    for k in range(n):
        bag_of[k] = -1
    if num_bags > 0 and offsets[0] != 0:
        return BAG_FIRST_OFFSET, offsets[0], 0
    last = bag_end(offsets, num_bags - 1, n) if num_bags > 0 else 0
    if last > n:
        return BAG_LAST_OFFSET, last, n
    for b in range(num_bags):
        start, end = offsets[b], bag_end(offsets, b, n)
        if start < 0 or start > end or end > n:
            return BAG_BAD_OFFSET, start, b
        for j in range(d):
            out[b, j] = 0
            max_indices[b, j] = -1
        count = 0
        for k in range(start, end):
            idx = indices[k]
            if idx < 0 or idx >= v:
                return BAG_BAD_INDEX, idx, k
            if idx == padding_idx:
                continue
            bag_of[k] = b
            count += 1
            if mode == MODE_MAX:
                for j in range(d):
                    if count == 1 or weight[idx, j] > out[b, j]:
                        out[b, j] = weight[idx, j]
                        max_indices[b, j] = idx
            else:
                s = psw[k] if has_psw else 1.0
                for j in range(d):
                    out[b, j] += weight[idx, j] * s
        bag_size[b] = count
        if mode == MODE_MEAN and count > 0:
            for j in range(d):
                out[b, j] /= count
    return BAG_OK, 0, 0
