"""The torch.* (ATen) forms of nn ops: positional signatures, int reduction/mode codes, native_*
normalisations with their statistics, the recurrent layers' flat-parameter forms, and the
batch_norm_* statistics of a synchronised BatchNorm; against PyTorch on every device."""
import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, const, randn


def _ints(*values):
    return const(np.array(values, dtype=np.int64))


def _targets(*shape):
    return const(np.sign(randn(*shape)).astype(np.float32))


# ----------------------------------------------------------------- losses with int reductions

LOSSES = {
    "bce_logits": (lambda T, x, t, r: T.binary_cross_entropy_with_logits(x, t, None, None, r),
                   lambda: (randn(2, 3), const(np.abs(randn(2, 3)) % 1))),
    "bce_logits_weights": (lambda T, x, t, r: T.binary_cross_entropy_with_logits(
        x, t, T.full((3,), 0.5, device=x.device), T.full((3,), 2.0, device=x.device), r),
        lambda: (randn(2, 3), const(np.abs(randn(2, 3)) % 1))),
    "cosine_embedding": (lambda T, a, b, t, r: T.cosine_embedding_loss(a, b, t, 0.1, r),
                         lambda: (randn(3, 4), randn(3, 4), _targets(3))),
    "hinge_embedding": (lambda T, x, t, r: T.hinge_embedding_loss(x, t, 0.5, r), lambda: (randn(2, 3), _targets(2, 3))),
    "kl_div": (lambda T, x, t, r: T.kl_div(x, t, r), lambda: (randn(2, 3), const(np.abs(randn(2, 3))))),
    "kl_div_log_target": (lambda T, x, t, r: T.kl_div(x, t, r, log_target=True), lambda: (randn(2, 3), randn(2, 3))),
    "margin_ranking": (lambda T, a, b, t, r: T.margin_ranking_loss(a, b, t, 0.2, r),
                       lambda: (randn(4), randn(4), _targets(4))),
    "poisson_nll": (lambda T, x, t, r: T.poisson_nll_loss(x, t, True, False, 1e-8, r),
                    lambda: (randn(2, 3), const(np.abs(randn(2, 3)) * 3))),
    "poisson_nll_full": (lambda T, x, t, r: T.poisson_nll_loss(x, t, False, True, 1e-8, r),
                         lambda: (randn(2, 3, low=0.1), const(np.abs(randn(2, 3)) * 3))),
    "triplet_margin": (lambda T, a, p, n, r: T.triplet_margin_loss(a, p, n, 1.0, 2.0, 1e-6, True, r),
                       lambda: (randn(3, 4), randn(3, 4), randn(3, 4))),
}


@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_with_int_reduction(device, name, reduction):
    fn, inputs = LOSSES[name]
    check(lambda T, *xs: fn(T, *xs, reduction), *inputs(), device=device)


def test_loss_defaults_and_unknown_reduction(device):
    check(lambda T, x, t: T.kl_div(x, t), randn(2, 3), const(np.abs(randn(2, 3))), device=device)
    check(lambda T, x, t: T.hinge_embedding_loss(x, t), randn(2, 3), _targets(2, 3), device=device)
    check(lambda T, a, b, t: T.margin_ranking_loss(a, b, t), randn(4), randn(4), _targets(4), device=device)
    check(lambda T, a, p, n: T.triplet_margin_loss(a, p, n), randn(3, 4), randn(3, 4), randn(3, 4), device=device)
    check(lambda T, x, t: T.kl_div(x, t, 7), randn(2, 3), const(np.abs(randn(2, 3))), device=device)  # 7: none


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_ctc_loss(device, reduction):
    log_probs = np.log(np.abs(randn(5, 2, 4)) + 0.1).astype(np.float32)
    check(lambda T, lp, tg: T.ctc_loss(lp.log_softmax(2), tg, [5, 4], [2, 1], 0, reduction, False), log_probs,
          _ints(1, 2, 3), device=device)
    check(lambda T, lp, tg, il, tl: T.ctc_loss(lp.log_softmax(2), tg, il, tl, 3, reduction, True), log_probs,
          const(np.array([[1, 2], [2, 0]])), _ints(5, 5), _ints(2, 1), device=device)


def test_bilinear(device):
    check(lambda T, a, b, w, bias: T.bilinear(a, b, w, bias), randn(2, 3), randn(2, 4), randn(5, 3, 4), randn(5),
          device=device)
    check(lambda T, a, b, w: T.bilinear(a, b, w), randn(3), randn(4), randn(2, 3, 4), device=device)
    check_raises(lambda T, a, b, w: T.bilinear(a, b, w), randn(2, 3), randn(2, 4), randn(5, 4, 4), device=device)


# ----------------------------------------------------------------- embeddings


def test_embedding(device):
    idx = const(np.array([[0, 2], [3, 2]]))
    check(lambda T, w, i: T.embedding(w, i), randn(4, 3), idx, device=device)
    check(lambda T, w, i: T.embedding(w, i, 2), randn(4, 3), idx, device=device)
    check(lambda T, w, i: T.embedding(w, i, -1, True), randn(4, 3), idx, device=device)
    check(lambda T, w, i: T.embedding(w, i, 2, True, False), randn(4, 3), idx, device=device)
    check_raises(lambda T, w, i: T.embedding(w, i.float()), randn(4, 3), idx, device=device)


@pytest.mark.parametrize("padding_idx", [None, 4, -1])
@pytest.mark.parametrize("mode", [0, 1, 2])
def test_embedding_bag(device, mode, padding_idx):
    indices, offsets = _ints(1, 2, 4, 5, 4, 3), _ints(0, 2, 2)
    check(lambda T, w, i, o: T.embedding_bag(w, i, o, False, mode, False, None, False, padding_idx), randn(10, 3),
          indices, offsets, device=device)
    check(lambda T, w, i, o: T.embedding_bag(w, i, o, False, mode, False, None, True, padding_idx), randn(10, 3),
          indices, _ints(0, 2, 2, 6), device=device)


def test_embedding_bag_defaults_and_weights(device):
    check(lambda T, w, i, o: T.embedding_bag(w, i, o), randn(6, 2), _ints(1, 2, 4, 5), _ints(0, 1), device=device)
    check(lambda T, w, i, o, p: T.embedding_bag(w, i, o, False, 0, False, p), randn(6, 2), _ints(1, 2, 4, 5),
          _ints(0, 1), randn(4), device=device)
    check_raises(lambda T, w, i, o: T.embedding_bag(w, i, o, False, 1, False, T.ones(4, device=w.device)),
                 randn(6, 2), _ints(1, 2, 4, 5), _ints(0, 1), exc=(NotImplementedError, RuntimeError), device=device)


def test_embedding_renorm_(device):
    ours = framework.tensor(randn(5, 3) * 3, device=device)
    theirs = torch.tensor(ours.cpu().numpy())
    out = framework.embedding_renorm_(ours, framework.tensor([0, 2, 2], device=device), 1.0, 2.0)
    torch.embedding_renorm_(theirs, torch.tensor([0, 2, 2]), 1.0, 2.0)
    assert out is ours
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6)


# ----------------------------------------------------------------- convolution, padding, sampling


def test_constant_pad_nd(device):
    check(lambda T, x: T.constant_pad_nd(x, [1, 2]), randn(2, 3), device=device)
    check(lambda T, x: T.constant_pad_nd(x, [1, 0, -1, 2], 1.5), randn(2, 3), device=device)
    check(lambda T, x: T.constant_pad_nd(x, (0, 1, 1, 1, 1, 0), -2), randn(2, 3, 2), device=device)
    check(lambda T, x: T.constant_pad_nd(x, [1, 1], 7), _ints(1, 2, 3), device=device)
    check_raises(lambda T, x: T.constant_pad_nd(x, [1]), randn(2, 3), device=device)


CONVOLUTIONS = {
    "conv1d": (lambda T, x, w, b: T.convolution(x, w, b, [2], [1], [1], False, [0], 1), (1, 2, 7), (3, 2, 3)),
    "conv2d_groups": (lambda T, x, w, b: T.convolution(x, w, b, [1, 1], [1, 0], [1, 2], False, [0, 0], 2),
                      (2, 4, 5, 5), (4, 2, 3, 2)),
    "conv3d": (lambda T, x, w, b: T.convolution(x, w, b, [1, 1, 1], [0, 0, 0], [1, 1, 1], False, [0, 0, 0], 1),
               (1, 1, 3, 3, 3), (2, 1, 2, 2, 2)),
    "conv_transpose1d": (lambda T, x, w, b: T.convolution(x, w, b, [2], [1], [1], True, [1], 1), (1, 2, 4),
                         (2, 3, 3)),
    "conv_transpose2d": (lambda T, x, w, b: T.convolution(x, w, b, [2, 1], [0, 1], [1, 1], True, [1, 0], 1),
                         (1, 2, 3, 3), (2, 2, 2, 3)),
}


@pytest.mark.parametrize("name", sorted(CONVOLUTIONS))
def test_convolution(device, name):
    fn, x, w = CONVOLUTIONS[name]
    bias = w[1] if "transpose" in name else w[0]
    check(fn, randn(*x), randn(*w), randn(bias), device=device)
    check(lambda T, x, w: fn(T, x, w, None), randn(*x), randn(*w), device=device)


def test_convolution_refuses_unbatched(device):
    check_raises(lambda T, x, w: T.convolution(x, w, None, [1], [0], [1], False, [0], 1), randn(3, 5), randn(2, 3, 2),
                 device=device)


def test_conv_tbc(device):
    check(lambda T, x, w, b: T.conv_tbc(x, w, b), randn(5, 2, 3), randn(2, 3, 4), randn(4), device=device)
    check(lambda T, x, w, b: T.conv_tbc(x, w, b, 1), randn(5, 2, 3), randn(3, 3, 4), randn(4), device=device)
    check_raises(lambda T, x, w, b: T.conv_tbc(x, w, b), randn(5, 2, 3), randn(2, 2, 4), randn(4), device=device)


@pytest.mark.parametrize("interp,padding", [(0, 0), (1, 1), (2, 2), (0, 2)])
def test_grid_sampler_2d(device, interp, padding):
    grid = (randn(1, 2, 3, 2) * 0.8).astype(np.float32)
    for name in ("grid_sampler", "grid_sampler_2d"):
        check(lambda T, x, g: getattr(T, name)(x, g, interp, padding, interp == 1), randn(1, 2, 3, 3), grid,
              device=device)


def test_grid_sampler_3d_and_errors(device):
    grid = (randn(1, 2, 1, 2, 3) * 0.8).astype(np.float32)
    for name in ("grid_sampler", "grid_sampler_3d"):
        check(lambda T, x, g: getattr(T, name)(x, g, 0, 1, False), randn(1, 1, 2, 2, 2), grid, device=device)
    check_raises(lambda T, x, g: T.grid_sampler_2d(x, g, 0, 0, False), randn(1, 1, 2, 2, 2), grid, device=device)
    check_raises(lambda T, x, g: T.grid_sampler_3d(x, g, 0, 0, False), randn(1, 1, 2, 2), randn(1, 2, 2, 2),
                 device=device)


def test_affine_grid_generator(device):
    check(lambda T, th: T.affine_grid_generator(th, [2, 1, 3, 2], False), randn(2, 2, 3), device=device)
    check(lambda T, th: T.affine_grid_generator(th, [1, 1, 2, 2, 3], True), randn(1, 3, 4), device=device)


# ----------------------------------------------------------------- native_* normalisations


@pytest.mark.parametrize("training", [True, False])
def test_native_batch_norm(device, training):
    def fn(T, x, w, b):
        rm, rv = T.zeros(3, device=x.device), T.ones(3, device=x.device)
        out = T.native_batch_norm(x, w, b, rm, rv, training, 0.1, 1e-5)
        return out + (rm, rv)
    check(fn, randn(4, 3, 2), randn(3), randn(3), device=device)
    check(lambda T, x: T.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5), randn(4, 3), device=device)


def test_native_batch_norm_statistics_are_not_differentiable(device):
    x = framework.tensor(randn(4, 3), device=device, requires_grad=True)
    out, mean, invstd = framework.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)
    assert out.requires_grad and not mean.requires_grad and not invstd.requires_grad


def test_native_layer_norm(device):
    check(lambda T, x, w, b: T.native_layer_norm(x, [3], w, b, 1e-5), randn(2, 4, 3), randn(3), randn(3),
          device=device)
    check(lambda T, x: T.native_layer_norm(x, (4, 3), None, None, 1e-3), randn(2, 4, 3), device=device)
    check_raises(lambda T, x: T.native_layer_norm(x, [4], None, None, 1e-5), randn(2, 4, 3), device=device)


def test_native_group_norm(device):
    check(lambda T, x, w, b: T.native_group_norm(x, w, b, 2, 4, 3, 2, 1e-5), randn(2, 4, 3), randn(4), randn(4),
          device=device)
    check(lambda T, x: T.native_group_norm(x, None, None, 2, 6, 2, 3, 1e-5), randn(2, 6, 1, 2), device=device)
    check(lambda T, x: T.native_group_norm(x, None, None, 1, 2, 1, 2, 1e-5), randn(1, 2), device=device)
    check_raises(lambda T, x: T.native_group_norm(x, None, None, 2, 4, 3, 3, 1e-5), randn(2, 4, 3), device=device)


def test_native_dropout(device):
    check(lambda T, x: T.native_dropout(x, 0.5, False), randn(2, 3), device=device)
    check(lambda T, x: T.native_dropout(x, 0.0, True), randn(2, 3), device=device)
    check(lambda T, x: T.native_dropout(x, 1.0, None), randn(2, 3), device=device)
    check_raises(lambda T, x: T.native_dropout(x, 1.5, True), randn(2, 3), device=device)
    framework.manual_seed(0)
    x = framework.ones(4000, device=device, requires_grad=True)
    out, mask = framework.native_dropout(x, 0.25, True)
    assert mask.dtype is framework.bool and abs(mask.float().mean().item() - 0.75) < 0.03
    np.testing.assert_allclose(out.detach().cpu().numpy(), mask.cpu().numpy() / 0.75, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), mask.cpu().numpy() / 0.75, rtol=1e-6)


def test_native_norm_is_sparse_only(device):
    check_raises(lambda T, x: T.native_norm(x), randn(3), exc=NotImplementedError, device=device)
    check_raises(lambda T, x: T.native_norm(x, 2, [0], False, None), randn(3), exc=NotImplementedError, device=device)


@pytest.mark.parametrize("pow,dim", [(2, 0), (2, 1), (3, 2), (1, -1), (2, 2)])
def test_norm_except_dim(device, pow, dim):
    check(lambda T, v: T.norm_except_dim(v, pow, dim), randn(2, 3, 4), device=device)


def test_norm_except_dim_defaults(device):
    check(lambda T, v: T.norm_except_dim(v), randn(3, 2), device=device)


# ----------------------------------------------------------------- recurrent layers


def _rnn_params(mode, layers, directions, bias, input_size, hidden, proj=0):
    gates = {"lstm": 4, "gru": 3}.get(mode, 1)
    params = []
    for layer in range(layers):
        for _ in range(directions):
            inp = input_size if layer == 0 else (proj or hidden) * directions
            params += [randn(gates * hidden, inp), randn(gates * hidden, proj or hidden)]
            if bias:
                params += [randn(gates * hidden), randn(gates * hidden)]
            if proj:
                params.append(randn(proj, hidden))
    return params


RNNS = [("lstm", 1, 1, True, False, 0), ("lstm", 2, 2, True, True, 0), ("lstm", 1, 2, False, False, 2),
        ("gru", 2, 1, True, False, 0), ("gru", 1, 2, False, True, 0), ("rnn_tanh", 2, 2, True, False, 0),
        ("rnn_relu", 1, 1, False, True, 0)]


@pytest.mark.parametrize("mode,layers,directions,bias,batch_first,proj", RNNS)
def test_recurrent_padded(device, mode, layers, directions, bias, batch_first, proj):
    params = _rnn_params(mode, layers, directions, bias, 3, 4, proj)
    x = randn(2, 3, 3)
    h0 = randn(layers * directions, 2 if batch_first else 3, proj or 4)
    c0 = randn(layers * directions, 2 if batch_first else 3, 4)

    def fn(T, x, h, c, *ps):
        hx = [h, c] if mode == "lstm" else h
        return getattr(T, mode)(x, hx, list(ps), bias, layers, 0.0, True, directions == 2, batch_first)
    check(fn, x, h0, c0, *params, device=device, atol=1e-4)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_recurrent_packed(device, mode):
    params = _rnn_params(mode, 1, 2, True, 3, 2)
    data, batch_sizes = randn(6, 3), const(np.array([3, 2, 1]))

    def fn(T, d, bs, h, c, *ps):
        hx = (h, c) if mode == "lstm" else h
        return getattr(T, mode)(d, bs, hx, tuple(ps), True, 1, 0.0, False, True)
    check(fn, data, batch_sizes, randn(2, 3, 2), randn(2, 3, 2), *params, device=device, atol=1e-4)


def test_recurrent_errors(device):
    params = _rnn_params("gru", 1, 1, True, 3, 4)
    check_raises(lambda T, x, h, *ps: T.gru(x, h, list(ps)[:3], True, 1, 0.0, False, False, False), randn(2, 3, 3),
                 randn(1, 3, 4), *params, device=device)
    check_raises(lambda T, x, h, *ps: T.gru(x, h, list(ps), True, 1, 0.0, False, False, False), randn(2, 3, 3),
                 randn(1, 2, 4), *params, device=device)


# ----------------------------------------------------------------- synchronised batch norm statistics
# PyTorch runs these on CUDA only: they are compared with PyTorch's batch_norm (training) over the whole
# batch, with the batch split over "processes" that each see part of it.


def _split(T, x, sizes):
    return list(x.split(sizes, 0))


def _sync_forward(T, x, w, b, rm, rv, sizes, eps=1e-5):
    if T is torch:
        return torch.nn.functional.batch_norm(x, rm, rv, w, b, True, 0.1, eps)
    parts = _split(T, x, sizes)
    stats = [T.batch_norm_stats(p, eps) for p in parts]
    means, invstds = T.stack([s[0] for s in stats]), T.stack([s[1] for s in stats])
    counts = T.tensor([float(p.numel() // p.shape[1]) for p in parts], device=x.device)
    mean, invstd = T.batch_norm_gather_stats_with_counts(x, means, invstds, rm, rv, 0.1, eps, counts)
    return T.cat([T.batch_norm_elemt(p, w, b, mean, invstd, eps) for p in parts])


@pytest.mark.parametrize("sizes", [(4,), (1, 3), (2, 0, 2)])
def test_sync_batch_norm_forward_matches_batch_norm(device, sizes):
    def fn(T, x, w, b):
        rm, rv = T.zeros(3, device=x.device), T.ones(3, device=x.device)
        return _sync_forward(T, x, w, b, rm, rv, sizes), rm, rv
    check(fn, randn(4, 3, 2), randn(3), randn(3), device=device, grad=False)


@pytest.mark.parametrize("sizes", [(4,), (1, 3)])
def test_sync_batch_norm_backward_matches_batch_norm(device, sizes):
    x, w, b, dy = randn(4, 3, 2), randn(3), randn(3), randn(4, 3, 2)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    torch.nn.functional.batch_norm(xt, None, None, wt, bt, True, 0.1, 1e-5).backward(torch.tensor(dy))
    T = framework
    xs, dys = (_split(T, T.tensor(a, device=device), sizes) for a in (x, dy))
    wf = T.tensor(w, device=device)
    stats = [T.batch_norm_stats(p, 1e-5) for p in xs]
    counts = [p.shape[0] * p.shape[2] for p in xs]
    mean, invstd = T.batch_norm_gather_stats_with_counts(
        xs[0], T.stack([s[0] for s in stats]), T.stack([s[1] for s in stats]), None, None, 0.1, 1e-5,
        T.tensor(counts, dtype=T.float32, device=device))
    reduced = [T.batch_norm_backward_reduce(g, p, mean, invstd, wf, True, True, True) for g, p in zip(dys, xs)]
    sum_dy, sum_dy_xmu, grad_w, grad_b = (sum(r[i] for r in reduced) for i in range(4))
    count = T.tensor(counts, dtype=T.int32, device=device)
    dx = T.cat([T.batch_norm_backward_elemt(g, p, mean, invstd, wf, sum_dy, sum_dy_xmu, count)
                for g, p in zip(dys, xs)])
    np.testing.assert_allclose(dx.cpu().numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grad_w.cpu().numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grad_b.cpu().numpy(), bt.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_batch_norm_stats_values(device):
    def fn(T, x):
        if T is framework:
            return T.batch_norm_stats(x, 1e-5)
        return x.mean((0, 2)), (x.var((0, 2), unbiased=False) + 1e-5).rsqrt()
    check(fn, randn(3, 2, 4), device=device)
    check(lambda T, x: T.batch_norm_stats(x, 0.0)[1] if T is framework else T.zeros(2),
          const(np.ones((3, 2), np.float32)), device=device)
    check_raises(lambda T, x: T.batch_norm_stats(x, 1e-5) if T is framework else x.mean(5), randn(3),
                 exc=(RuntimeError, IndexError), device=device)


def test_batch_norm_gather_stats(device):
    def fn(T, m, s, x):
        rm, rv = T.zeros(2, device=x.device), T.ones(2, device=x.device)
        if T is framework:
            mean, invstd = T.batch_norm_gather_stats(x, m, s, rm, rv, 0.1, 1e-5, 3)
            return mean, invstd, rm, rv
        var = (1 / s.square() - 1e-5)
        mean = m.mean(0)
        m2 = ((var + (m - mean).square()) * 3).sum(0)
        return mean, (m2 / 6 + 1e-5).rsqrt(), 0.1 * mean, 0.9 + 0.1 * m2 / 5
    check(fn, randn(2, 2), randn(2, 2, low=0.5), randn(3, 2), device=device, grad=False)


def test_batch_norm_backward_reduce_flags(device):
    def fn(T, g, x, m, s, w):
        if T is framework:
            return [r for r in T.batch_norm_backward_reduce(g, x, m, s, w, True, True, False) if r is not None]
        sum_dy, sum_dy_xmu = g.sum((0, 2)), (g * (x - m[:, None])).sum((0, 2))
        return sum_dy, sum_dy_xmu, sum_dy_xmu * s
    check(fn, randn(2, 3, 2), randn(2, 3, 2), randn(3), randn(3, low=0.5), randn(3), device=device)
    x = framework.tensor(randn(2, 3), device=device)
    out = framework.batch_norm_backward_reduce(x, x, x[0], x[0], None, False, False, True)
    assert out[0] is None and out[1] is None and out[2] is None and out[3].shape == (3,)


def test_batch_norm_update_stats(device):
    def fn(T, x):
        rm, rv = T.zeros(3, device=x.device), T.ones(3, device=x.device)
        return T.batch_norm_update_stats(x, rm, rv, 0.2) + (rm, rv)
    check(fn, randn(4, 3, 2), device=device, grad=False)
    check(lambda T, x: T.batch_norm_update_stats(x, None, None, 0.1), randn(4, 3), device=device, grad=False)
