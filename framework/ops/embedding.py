"""EmbeddingBag: one kernel reduces each bag of rows (sum, mean or max); the backward is
composed of index ops (index_select, index_add), so it is differentiable in the incoming
gradient and every index it reads is checked by the kernels that read it."""
from framework.autograd.function import Function
from framework.ops._util import wrap

MODES = {"sum": 0, "mean": 1, "max": 2}


class EmbeddingBag(Function):
    @staticmethod
    def forward(ctx, weight, indices, offsets, num_bags, per_sample_weights, mode, padding_idx, scale_grad_by_freq):
        b = weight.device.backend
        psw = None if per_sample_weights is None else per_sample_weights._data
        out, bag_of, bag_size, max_indices = b.embedding_bag(weight._data, indices._data, offsets._data, num_bags,
                                                             psw, MODES[mode], padding_idx)
        i64 = indices.long().dtype
        ctx.mode, ctx.scale_grad_by_freq, ctx.num_embeddings = mode, scale_grad_by_freq, weight.shape[0]
        ctx.bag_of, ctx.bag_size, ctx.max_indices = (wrap(a, i64, weight.device) for a in (bag_of, bag_size,
                                                                                          max_indices))
        ctx.save_for_backward(weight, indices, per_sample_weights)
        return wrap(out, weight.dtype, weight.device)

    @staticmethod
    def backward(ctx, g):
        weight, indices, psw = ctx.saved_tensors
        indices = indices.long()
        gw = gpsw = None
        if ctx.mode == "max":
            if ctx.needs_input_grad[0]:
                gw = _max_weight_grad(g, ctx.max_indices, ctx.num_embeddings)
            return gw, None, None, None, None, None, None, None
        kept = ctx.bag_of >= 0
        bags = ctx.bag_of.clamp(min=0)
        rows = g.index_select(0, bags)  # (n, D): each index's bag gradient
        if ctx.needs_input_grad[0]:
            coef = kept.to(g.dtype)
            if psw is not None:
                coef = coef * psw
            if ctx.mode == "mean":
                coef = coef / ctx.bag_size.index_select(0, bags).clamp(min=1).to(g.dtype)
            if ctx.scale_grad_by_freq:
                coef = coef / _frequencies(indices, ctx.num_embeddings, g).index_select(0, indices)
            gw = g.new_zeros(weight.shape).index_add(0, indices, rows * coef.unsqueeze(1))
        if psw is not None and ctx.needs_input_grad[4]:
            gpsw = (weight.index_select(0, indices) * rows).sum(1) * kept.to(g.dtype)
        return gw, None, None, None, gpsw, None, None, None


def _frequencies(indices, num_embeddings, like):
    """How often each row is indexed (as like's dtype)."""
    ones = like.new_ones(indices.shape[0])
    return like.new_zeros(num_embeddings).index_add(0, indices, ones)


def _max_weight_grad(g, max_indices, num_embeddings):
    """Each output element's gradient to the weight element its max came from."""
    from framework.ops.creation import arange
    d = g.shape[1]
    valid = max_indices >= 0
    positions = (max_indices.clamp(min=0) * d + arange(d, device=g.device)).reshape(-1)
    flat = g.new_zeros(num_embeddings * d).index_add(0, positions, (g * valid.to(g.dtype)).reshape(-1))
    return flat.reshape(num_embeddings, d)


def embedding_bag(weight, indices, offsets, num_bags, per_sample_weights, mode, padding_idx, scale_grad_by_freq):
    """The (num_bags, D) bags of 1-D indices; arguments checked by framework.nn._sparse."""
    return EmbeddingBag.apply(weight, indices, offsets, num_bags, per_sample_weights, mode, padding_idx,
                              scale_grad_by_freq)
