"""EmbeddingBag's forward on contiguous arrays, one thread per bag (see kernels/cpu/embedding.py).
Bad indices and offsets are recorded in the device error buffer (kernels.cuda.errors)."""
from numba import cuda

from kernels.cuda.errors import record_error

OFFSET_ERROR = 42  # RuntimeError: offsets that do not start at 0, decrease or pass the input's end
BAG_INDEX_ERROR = 43  # RuntimeError: an index outside [0, num_embeddings)


@cuda.jit(cache=True)
def embedding_bag_forward(weight, indices, offsets, n_offsets, num_bags, psw, has_psw, mode, padding_idx, out,
                          bag_of, bag_size, max_indices, n, v, d, errors):
    b = cuda.grid(1)
    while b < num_bags:
        start = offsets[b]
        end = offsets[b + 1] if b + 1 < n_offsets else n
        for j in range(d):
            out[b * d + j] = 0.0
            max_indices[b * d + j] = -1
        count = 0
        if (b == 0 and start != 0) or start < 0 or start > end or end > n:
            record_error(errors, OFFSET_ERROR, start, n, b)
        else:
            for k in range(start, end):
                idx = indices[k]
                if idx < 0 or idx >= v:
                    record_error(errors, BAG_INDEX_ERROR, idx, v, k)
                elif idx != padding_idx:
                    bag_of[k] = b
                    count += 1
                    for j in range(d):
                        w = weight[idx * d + j]
                        if mode == 2:
                            if count == 1 or w > out[b * d + j]:
                                out[b * d + j] = w
                                max_indices[b * d + j] = idx
                        elif has_psw:
                            out[b * d + j] += w * psw[k]
                        else:
                            out[b * d + j] += w
            if mode == 1 and count > 0:
                for j in range(d):
                    out[b * d + j] /= count
        bag_size[b] = count
        b += cuda.gridsize(1)

