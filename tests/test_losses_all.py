"""Every torch.nn loss and its options against PyTorch on every device: values, gradients,
finite differences (float64) and PyTorch's errors for bad input."""
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, const, gradcheck, randn, synchronize

rng = np.random.default_rng(7)
F = lambda T: T.nn.functional  # noqa: E731

x54 = randn(5, 4)
y54 = randn(5, 4)
z54 = randn(5, 4)
PROB54 = np.clip(np.abs(x54) / 3, 0.05, 0.95).astype(np.float32)  # a probability whatever the shared RNG gave
TARGET54 = np.clip(np.abs(y54) / 3, 0.0, 1.0).astype(np.float32)  # (BCE refuses a target above 1)
cls5 = rng.integers(0, 4, 5)
cls5_ignore = np.array([0, -100, 3, 1, 2])
cls0 = np.array(cls5[0])
w4 = np.abs(randn(4)) + 0.5
signs5 = np.array([1.0, -1.0, 1.0, -1.0, 0.0], np.float32)
x2345 = randn(2, 3, 2, 2)
t245 = rng.integers(0, 3, (2, 2, 2))
x233 = randn(2, 3, 3)
t23 = rng.integers(0, 3, (2, 3))
probs54 = np.abs(randn(5, 4))
probs54 = (probs54 / probs54.sum(1, keepdims=True)).astype(np.float32)
labels54 = np.array([[3, 0, -1, 1], [0, 1, 2, 3], [1, -1, -1, -1], [-1, 0, 0, 0], [2, 2, -1, 0]])

REDUCTIONS = ["mean", "sum", "none"]

# name -> (fn(T, *inputs), inputs): every loss, each option PyTorch has
CASES = {
    "l1": (lambda T, x, y: F(T).l1_loss(x, y), (x54, y54)),
    "l1_broadcast": (lambda T, x, y: F(T).l1_loss(x, y[0]), (x54, y54)),
    "l1_weight": (lambda T, x, y, w: F(T).l1_loss(x, y, weight=w), (x54, y54, const(np.abs(z54)))),
    "mse": (lambda T, x, y: F(T).mse_loss(x, y), (x54, y54)),
    "mse_weight": (lambda T, x, y, w: F(T).mse_loss(x, y, weight=w, reduction="sum"), (x54, y54, const(np.abs(z54)))),
    "huber": (lambda T, x, y: F(T).huber_loss(x, y, delta=0.5), (x54, y54)),
    "huber_weight": (lambda T, x, y, w: F(T).huber_loss(x, y, weight=w), (x54, y54, const(np.abs(z54)))),
    "smooth_l1": (lambda T, x, y: F(T).smooth_l1_loss(x, y, beta=0.3), (x54, y54)),
    "smooth_l1_beta0": (lambda T, x, y: F(T).smooth_l1_loss(x, y, beta=0.0), (x54, y54)),
    "soft_margin": (lambda T, x, y: F(T).soft_margin_loss(x, y.sign()), (x54, const(y54))),
    "bce": (lambda T, x, y: F(T).binary_cross_entropy(x.sigmoid(), y.sigmoid()), (x54, y54)),
    "bce_weight": (lambda T, x, y, w: F(T).binary_cross_entropy(x.sigmoid(), y.sigmoid(), weight=w), (x54, y54,
                                                                                                    const(w4))),
    "bce_logits": (lambda T, x, y: F(T).binary_cross_entropy_with_logits(x * 3, y.sigmoid()), (x54, y54)),
    "bce_logits_weights": (lambda T, x, y, w, p: F(T).binary_cross_entropy_with_logits(
        x, y.sigmoid(), weight=w, pos_weight=p), (x54, y54, const(np.abs(z54)), const(w4))),
    "kl_batchmean": (lambda T, x, y: F(T).kl_div(x.log_softmax(1), y.softmax(1), reduction="batchmean"),
                     (x54, y54)),
    "kl_zero_target": (lambda T, x, y: F(T).kl_div(x.log_softmax(1), y.relu(), reduction="sum"), (x54, y54)),
    "kl_log_target": (lambda T, x, y: F(T).kl_div(x.log_softmax(1), y.log_softmax(1), log_target=True,
                                                  reduction="sum"), (x54, y54)),
    "gaussian_nll": (lambda T, x, y, v: F(T).gaussian_nll_loss(x, y, v.abs() + 0.1), (x54, y54, z54)),
    "gaussian_nll_full_homoscedastic": (lambda T, x, y, v: F(T).gaussian_nll_loss(x, y, v[:, 0].abs(), full=True,
                                                                                  eps=0.5), (x54, y54, z54)),
    "gaussian_nll_scalar_var": (lambda T, x, y: F(T).gaussian_nll_loss(x, y, 0.7, reduction="sum"), (x54, y54)),
    "poisson_nll": (lambda T, x, y: F(T).poisson_nll_loss(x, y.abs() * 3), (x54, y54)),
    "poisson_nll_full": (lambda T, x, y: F(T).poisson_nll_loss(x, y.abs() * 3, full=True, reduction="sum"),
                         (x54, y54)),
    "poisson_nll_linear": (lambda T, x, y: F(T).poisson_nll_loss(x.abs(), y.abs(), log_input=False, eps=0.1),
                           (x54, y54)),
    "cross_entropy": (lambda T, x, t: F(T).cross_entropy(x, t), (x54, cls5)),
    "cross_entropy_all": (lambda T, x, t, w: F(T).cross_entropy(x, t, weight=w, label_smoothing=0.2),
                          (x54, cls5_ignore, const(w4))),
    "cross_entropy_kdim": (lambda T, x, t: F(T).cross_entropy(x, t, label_smoothing=0.1, ignore_index=1),
                           (x2345, t245)),
    "cross_entropy_3d": (lambda T, x, t, w: F(T).cross_entropy(x, t, weight=w), (x233, t23, const(w4[:3]))),
    "cross_entropy_unbatched": (lambda T, x, t: F(T).cross_entropy(x, t, label_smoothing=0.3), (x54[0], cls0)),
    "cross_entropy_probs": (lambda T, x, p, w: F(T).cross_entropy(x, p, weight=w, label_smoothing=0.1),
                            (x54, probs54, const(w4))),
    "cross_entropy_probs_kdim": (lambda T, x: F(T).cross_entropy(x, x.detach().softmax(1)), (x2345,)),
    "nll": (lambda T, x, t: F(T).nll_loss(x.log_softmax(1), t), (x54, cls5)),
    "nll_weight_ignore": (lambda T, x, t, w: F(T).nll_loss(x, t, weight=w, ignore_index=3), (x54, cls5, const(w4))),
    "nll_kdim": (lambda T, x, t: F(T).nll_loss(x, t, ignore_index=2), (x2345, t245)),
    "nll_byte_target": (lambda T, x, t: F(T).nll_loss(x, t.byte()), (x54, cls5)),
    "multilabel_soft_margin": (lambda T, x, y, w: F(T).multilabel_soft_margin_loss(x, (y > 0).float(), weight=w),
                               (x54, y54, const(w4))),
    "multilabel_margin": (lambda T, x, t: F(T).multilabel_margin_loss(x, t), (x54, labels54)),
    "multilabel_margin_1d": (lambda T, x, t: F(T).multilabel_margin_loss(x, t), (x54[0], labels54[0])),
    "multi_margin": (lambda T, x, t: F(T).multi_margin_loss(x, t), (x54, cls5)),
    "multi_margin_p2_weight": (lambda T, x, t, w: F(T).multi_margin_loss(x, t, p=2, margin=0.6, weight=w),
                               (x54, cls5, const(w4))),
    "multi_margin_1d": (lambda T, x, t: F(T).multi_margin_loss(x, t), (x54[0], cls0)),
    "cosine_embedding": (lambda T, a, b, t: F(T).cosine_embedding_loss(a, b, t, margin=0.2), (x54, y54,
                                                                                             const(signs5))),
    "cosine_embedding_1d": (lambda T, a, b: F(T).cosine_embedding_loss(a, b, T.tensor(-1.0, device=a.device)),
                            (x54[0], y54[0])),
    "margin_ranking": (lambda T, a, b, t: F(T).margin_ranking_loss(a[:, 0], b[:, 0], t, margin=0.3),
                       (x54, y54, const(signs5))),
    "hinge_embedding": (lambda T, x, t: F(T).hinge_embedding_loss(x[:, 0], t, margin=0.5), (x54, const(signs5))),
    "triplet": (lambda T, a, p, n: F(T).triplet_margin_loss(a, p, n), (x54, y54, z54)),
    "triplet_p1_swap": (lambda T, a, p, n: F(T).triplet_margin_loss(a, p, n, p=1, swap=True, margin=0.5),
                        (x54, y54, z54)),
    "triplet_p3_eps": (lambda T, a, p, n: F(T).triplet_margin_loss(a, p, n, p=3, eps=1e-3), (x54, y54, z54)),
    "triplet_1d": (lambda T, a, p, n: F(T).triplet_margin_loss(a, p, n), (x54[0], y54[0], z54[0])),
    "triplet_distance": (lambda T, a, p, n: F(T).triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda u, v: 1 - F(T).cosine_similarity(u, v), swap=True), (x54, y54, z54)),
    "triplet_distance_default": (lambda T, a, p, n: F(T).triplet_margin_with_distance_loss(a, p, n, margin=2.0),
                                 (x54, y54, z54)),
    "linear_cross_entropy": (lambda T, x, w, b, t: F(T).linear_cross_entropy(x, w, t, linear_bias=b,
                                                                             label_smoothing=0.1),
                             (x54, randn(3, 2, 4), randn(3, 2), rng.integers(0, 3, (5, 2)))),
    "linear_cross_entropy_probs": (lambda T, x, w, p: F(T).linear_cross_entropy(x, w, p, reduction="sum"),
                                   (x54, randn(4, 4), probs54)),
}

@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_torch(device, name):
    fn, inputs = CASES[name]
    check(fn, *inputs, device=device)


# name -> (fn(T, reduction, *inputs), inputs): compared under every reduction
REDUCIBLE = {
    "l1": (lambda T, r, x, y: F(T).l1_loss(x, y, reduction=r), (x54, y54)),
    "mse": (lambda T, r, x, y: F(T).mse_loss(x, y, reduction=r), (x54, y54)),
    "huber": (lambda T, r, x, y: F(T).huber_loss(x, y, reduction=r), (x54, y54)),
    "smooth_l1": (lambda T, r, x, y: F(T).smooth_l1_loss(x, y, reduction=r), (x54, y54)),
    "soft_margin": (lambda T, r, x, y: F(T).soft_margin_loss(x, y, reduction=r), (x54, const(np.sign(y54)))),
    "bce": (lambda T, r, x, y, w: F(T).binary_cross_entropy(x.sigmoid(), y.sigmoid(), weight=w, reduction=r),
            (x54, y54, const(w4))),
    "bce_logits": (lambda T, r, x, y, p: F(T).binary_cross_entropy_with_logits(x, y.sigmoid(), pos_weight=p,
                                                                              reduction=r), (x54, y54, const(w4))),
    "kl": (lambda T, r, x, y: F(T).kl_div(x.log_softmax(1), y.softmax(1), reduction=r), (x54, y54)),
    "gaussian_nll": (lambda T, r, x, y, v: F(T).gaussian_nll_loss(x, y, v.abs() + 0.1, reduction=r),
                     (x54, y54, z54)),
    "poisson_nll": (lambda T, r, x, y: F(T).poisson_nll_loss(x, y.abs(), reduction=r), (x54, y54)),
    "cross_entropy": (lambda T, r, x, t, w: F(T).cross_entropy(x, t, weight=w, label_smoothing=0.2, reduction=r),
                      (x54, cls5_ignore, const(w4))),
    "cross_entropy_kdim": (lambda T, r, x, t: F(T).cross_entropy(x, t, ignore_index=1, reduction=r), (x2345, t245)),
    "cross_entropy_unbatched": (lambda T, r, x, t: F(T).cross_entropy(x, t, reduction=r), (x54[0], cls0)),
    "cross_entropy_probs": (lambda T, r, x, p: F(T).cross_entropy(x, p, label_smoothing=0.1, reduction=r),
                            (x54, probs54)),
    "nll_kdim": (lambda T, r, x, t, w: F(T).nll_loss(x, t, weight=w, reduction=r), (x2345, t245, const(w4[:3]))),
    "multilabel_soft_margin": (lambda T, r, x, y: F(T).multilabel_soft_margin_loss(x, (y > 0).float(), reduction=r),
                               (x54, y54)),
    "multilabel_margin": (lambda T, r, x, t: F(T).multilabel_margin_loss(x, t, reduction=r), (x54, labels54)),
    "multilabel_margin_1d": (lambda T, r, x, t: F(T).multilabel_margin_loss(x, t, reduction=r),
                             (x54[0], labels54[0])),
    "multi_margin": (lambda T, r, x, t, w: F(T).multi_margin_loss(x, t, weight=w, reduction=r),
                     (x54, cls5, const(w4))),
    "multi_margin_1d": (lambda T, r, x, t: F(T).multi_margin_loss(x, t, reduction=r), (x54[0], cls5[:1])),
    "cosine_embedding": (lambda T, r, a, b, t: F(T).cosine_embedding_loss(a, b, t, reduction=r),
                         (x54, y54, const(signs5))),
    "margin_ranking": (lambda T, r, a, b, t: F(T).margin_ranking_loss(a[:, 0], b[:, 0], t, reduction=r),
                       (x54, y54, const(signs5))),
    "hinge_embedding": (lambda T, r, x, t: F(T).hinge_embedding_loss(x, t[:, None], reduction=r),
                        (x54, const(signs5))),
    "triplet": (lambda T, r, a, p, n: F(T).triplet_margin_loss(a, p, n, swap=True, reduction=r), (x54, y54, z54)),
    "triplet_distance": (lambda T, r, a, p, n: F(T).triplet_margin_with_distance_loss(a, p, n, reduction=r),
                         (x54, y54, z54)),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_reduction(device, reduction):
    for name in sorted(REDUCIBLE):
        fn, inputs = REDUCIBLE[name]
        check(lambda T, *a: fn(T, reduction, *a), *inputs, device=device)


MODULES = {
    "L1Loss": (lambda T: T.nn.L1Loss(reduction="sum"), (x54, y54)),
    "MSELoss": (lambda T: T.nn.MSELoss(), (x54, y54)),
    "HuberLoss": (lambda T: T.nn.HuberLoss(delta=0.4), (x54, y54)),
    "SmoothL1Loss": (lambda T: T.nn.SmoothL1Loss(beta=0.5, reduction="none"), (x54, y54)),
    "SoftMarginLoss": (lambda T: T.nn.SoftMarginLoss(), (x54, const(np.sign(y54)))),
    "KLDivLoss": (lambda T: T.nn.KLDivLoss(reduction="batchmean", log_target=True), (x54, y54)),
    "GaussianNLLLoss": (lambda T: T.nn.GaussianNLLLoss(full=True), (x54, y54, np.abs(z54))),
    "PoissonNLLLoss": (lambda T: T.nn.PoissonNLLLoss(log_input=False, full=True), (np.abs(x54), np.abs(y54) * 2)),
    "CrossEntropyLoss": (lambda T: T.nn.CrossEntropyLoss(ignore_index=1, label_smoothing=0.1), (x54, cls5)),
    "NLLLoss": (lambda T: T.nn.NLLLoss(reduction="sum"), (x54, cls5)),
    "MultiLabelSoftMarginLoss": (lambda T: T.nn.MultiLabelSoftMarginLoss(), (x54, const((y54 > 0) * 1.0))),
    "MultiLabelMarginLoss": (lambda T: T.nn.MultiLabelMarginLoss(), (x54, labels54)),
    "MultiMarginLoss": (lambda T: T.nn.MultiMarginLoss(p=2, margin=0.5), (x54, cls5)),
    "CosineEmbeddingLoss": (lambda T: T.nn.CosineEmbeddingLoss(margin=0.1), (x54, y54, const(signs5))),
    "MarginRankingLoss": (lambda T: T.nn.MarginRankingLoss(margin=0.2), (x54[:, 0], y54[:, 0], const(signs5))),
    "HingeEmbeddingLoss": (lambda T: T.nn.HingeEmbeddingLoss(margin=2.0), (x54[:, 0], const(signs5))),
    "TripletMarginLoss": (lambda T: T.nn.TripletMarginLoss(margin=0.5, p=1.5, swap=True), (x54, y54, z54)),
    "TripletMarginWithDistanceLoss": (lambda T: T.nn.TripletMarginWithDistanceLoss(margin=0.5), (x54, y54, z54)),
    "BCELoss": (lambda T: T.nn.BCELoss(reduction="sum"), (PROB54, const(TARGET54))),
    "CTCLoss": (lambda T: T.nn.CTCLoss(blank=4, zero_infinity=True), (randn(4, 2, 5), np.array([[1, 2], [3, 3]]),
                                                                       (4, 2), (2, 2))),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_loss_modules(device, name):
    make, inputs = MODULES[name]
    check(lambda T, *a: make(T)(*a), *inputs, device=device)
    assert type(make(framework)).__name__ == type(make(torch)).__name__ == name


def test_linear_cross_entropy_module(device):
    def run(T, x, t):
        m = T.nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True, ignore_index=1)
        with T.no_grad():
            m.linear.weight.copy_(T.tensor(np.linspace(-1, 1, 24, dtype=np.float32).reshape(6, 4)))
            m.linear.bias.copy_(T.tensor(np.linspace(0, 1, 6, dtype=np.float32)))
        return m.to(x.device)(x, t)
    check(run, x54, rng.integers(0, 3, (5, 2)), device=device)
    assert repr(framework.nn.LinearCrossEntropyLoss(4, 3)) == repr(torch.nn.LinearCrossEntropyLoss(4, 3))
    for bad in ((lambda T: T.nn.LinearCrossEntropyLoss(4, 3, weight=T.ones(2))),
                (lambda T: T.nn.LinearCrossEntropyLoss(4, 3, label_smoothing=2.0))):
        for lib in (torch, framework):
            with pytest.raises(RuntimeError):
                bad(lib)


def test_module_constructor_errors():
    for lib in (torch, framework):
        with pytest.raises(ValueError):
            lib.nn.MultiMarginLoss(p=3)
        with pytest.raises(ValueError):
            lib.nn.MultiMarginLoss(weight=lib.ones(2, 2))
    for lib in (torch, framework):
        with pytest.raises(ValueError):
            lib.nn.TripletMarginLoss(margin=0)
        with pytest.raises(ValueError):
            lib.nn.TripletMarginWithDistanceLoss(margin=-1.0)
        with pytest.raises(TypeError):
            lib.nn.HuberLoss(delta="1")
    with pytest.warns(UserWarning, match="size_average and reduce"):
        assert framework.nn.L1Loss(size_average=False).reduction == "sum"
    assert framework.nn.MSELoss(reduce=False).reduction == torch.nn.MSELoss(reduce=False).reduction == "none"
    with pytest.warns(FutureWarning):
        framework.nn.NLLLoss2d()


GRADCHECK = ["l1", "mse", "huber", "smooth_l1", "soft_margin", "bce_weight", "bce_logits_weights", "kl_batchmean",
             "kl_log_target", "gaussian_nll", "poisson_nll_full", "cross_entropy_all", "cross_entropy_kdim",
             "cross_entropy_probs", "nll_weight_ignore", "multilabel_soft_margin", "multilabel_margin",
             "multi_margin_p2_weight", "cosine_embedding", "margin_ranking", "hinge_embedding", "triplet_p3_eps",
             "triplet_distance"]


@pytest.mark.parametrize("name", GRADCHECK)
def test_loss_gradcheck(device, name):
    fn, inputs = CASES[name]
    inputs = [a[:3] if isinstance(a, np.ndarray) and a.ndim and a.shape[0] == 5 else a for a in inputs]
    fixed = {i: a.array for i, a in enumerate(inputs) if isinstance(a, const)}  # bound, not differentiated
    free = [a for a in inputs if not isinstance(a, const)]

    def f(T, *args):
        args, full, device = list(args), [], args[0].device
        for i in range(len(inputs)):
            if i in fixed:
                a = fixed[i]
                a = a[:3] if a.ndim and a.shape[0] == 5 else a
                full.append(T.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a, device=device))
            else:
                full.append(args.pop(0))
        return fn(T, *full)
    gradcheck(f, *free, device=device)


def test_cross_entropy_double_backward(device):
    gradcheck(lambda T, x, t: F(T).cross_entropy(x, t, weight=T.tensor([1.0, 2.0, 0.5, 1.5], dtype=T.float64,
                                                                        device=x.device),
                                                 label_smoothing=0.2, ignore_index=0),
              randn(3, 4), np.array([0, 3, 1]), double=True, device=device)
    gradcheck(lambda T, x, t: F(T).nll_loss(x, t, reduction="sum"), randn(3, 4), np.array([2, 3, 1]), double=True,
              device=device)


# ----------------------------------------------------------------- CTC

T_, N_, C_ = 6, 3, 5
ctc_lp = randn(T_, N_, C_)
ctc_padded = np.array([[1, 2, 2], [3, 1, 0], [4, 4, 4]])
ctc_lengths_in = [6, 5, 4]
ctc_lengths_tg = [3, 2, 1]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss(device, reduction):
    check(lambda T, x, t: F(T).ctc_loss(x.log_softmax(2), t, ctc_lengths_in, ctc_lengths_tg, reduction=reduction),
          ctc_lp, ctc_padded, device=device)
    # concatenated targets, lengths as tensors, another blank, an impossible alignment made zero
    check(lambda T, x, t: F(T).ctc_loss(x.log_softmax(2), t, T.tensor([6, 1, 4]), T.tensor([3, 2, 0]), blank=4,
                                        reduction=reduction, zero_infinity=True),
          ctc_lp, np.array([1, 2, 2, 3, 1]), device=device)


def test_ctc_loss_forms(device):
    check(lambda T, x, t: T.nn.CTCLoss(blank=0)(x.log_softmax(1), t, (6,), (3,)), ctc_lp[:, 0], ctc_padded[0],
          device=device)  # unbatched (T, C)
    check(lambda T, x, t: F(T).ctc_loss(x, t, (6, 5, 4), (3, 2, 1), reduction="none"), ctc_lp, ctc_padded,
          device=device)  # unnormalised log-probs: PyTorch's gradient formula as it is
    check(lambda T, x, t: F(T).ctc_loss(x.log_softmax(2), t, [6, 0, 2], [0, 0, 2], reduction="none"), ctc_lp,
          ctc_padded, device=device)  # empty inputs and targets; too short an input (inf)
    gradcheck(lambda T, x, t: F(T).ctc_loss(x.log_softmax(2), t, [4, 3], [2, 1]), randn(4, 2, 3),
              np.array([[1, 2], [2, 0]]), device=device)


def test_ctc_loss_errors(device):
    lp = ctc_lp
    bad = [
        (lambda T, x, t: F(T).ctc_loss(x, t, [7, 5, 4], [3, 2, 1]), ctc_padded),  # input length > T
        (lambda T, x, t: F(T).ctc_loss(x, t, [6, -1, 4], [3, 2, 1]), ctc_padded),
        (lambda T, x, t: F(T).ctc_loss(x, t, [6, 5, 4], [4, 2, 1]), ctc_padded),  # target length > S
        (lambda T, x, t: F(T).ctc_loss(x, t, [6, 5, 4], [3, -2, 1]), ctc_padded),
        (lambda T, x, t: F(T).ctc_loss(x, t, [6, 5, 4], [3, 2, 1], blank=5), ctc_padded),
        (lambda T, x, t: F(T).ctc_loss(x, t, [6, 5], [3, 2, 1]), ctc_padded),
        (lambda T, x, t: F(T).ctc_loss(x, t, [6, 5, 4], [3, 2]), ctc_padded),
        (lambda T, x, t: F(T).ctc_loss(x, t, [6, 5, 4], [3, 2, 1]), np.array([1, 2, 3, 4])),  # concatenated too short
        (lambda T, x, t: F(T).ctc_loss(x, t, [6, 5, 4], [3, 2, 1]), ctc_padded[:2]),
        (lambda T, x, t: F(T).ctc_loss(x[None], t, [6, 5, 4], [3, 2, 1]), ctc_padded),
        (lambda T, x, t: F(T).ctc_loss(x, t, T.tensor([6.0, 5, 4]), T.tensor([3, 2, 1])), ctc_padded),
    ]
    for fn, targets in bad:
        check_raises(fn, lp, targets, device=device)
    check_raises(lambda T, x, t: F(T).ctc_loss(x, t, [6, 5, 4], [3, 2, 1], reduction="avg"), lp, ctc_padded,
                 exc=ValueError, device=device)
    # a label outside [0, C): PyTorch reads out of bounds; here the kernel refuses it
    with pytest.raises(IndexError, match="out of bounds"):
        F(framework).ctc_loss(framework.tensor(lp, device=device), framework.tensor(np.array([[1, 9, 2]] * 3),
                                                                                     device=device), [6, 5, 4],
                              [3, 2, 1])
        synchronize(device)


def test_ctc_targets_checked_again_in_backward(device):
    """The backward kernel reads the targets again: changed in between, they are checked again."""
    x = framework.tensor(ctc_lp, device=device, requires_grad=True)
    targets = framework.tensor(ctc_padded, device=device)
    loss = F(framework).ctc_loss(x.log_softmax(2), targets, [6, 5, 4], [3, 2, 1])
    targets.data[0, 1] = 7
    with pytest.raises(IndexError, match="out of bounds"):
        loss.backward()
        synchronize(device)


def test_ctc_no_double_backward(device):
    x = framework.tensor(randn(4, 1, 3).astype(np.float64), device=device, requires_grad=True)
    loss = F(framework).ctc_loss(x.log_softmax(2), framework.tensor([[1, 2]], device=device), [4], [2])
    (g,) = framework.autograd.grad(loss, x, create_graph=True)
    with pytest.raises(RuntimeError, match="_ctc_loss_backward"):
        g.sum().backward()


# ----------------------------------------------------------------- errors


ERRORS = [
    # (fn, inputs, exception)
    (lambda T, x, t: F(T).cross_entropy(x, t, reduction="avg"), (x54, cls5), ValueError),
    (lambda T, x, t: F(T).cross_entropy(x, t, weight=T.ones(3, device=x.device)), (x54, cls5), RuntimeError),
    (lambda T, x, t: F(T).cross_entropy(x, t, weight=T.ones(4, dtype=T.float64, device=x.device)), (x54, cls5),
     RuntimeError),
    (lambda T, x, t: F(T).cross_entropy(x, t[:, None]), (x54, cls5), RuntimeError),
    (lambda T, x, t: F(T).cross_entropy(x, t[:3]), (x54, cls5), ValueError),
    (lambda T, x, t: F(T).cross_entropy(x, t.int()), (x54, cls5), RuntimeError),
    (lambda T, x, t: F(T).cross_entropy(x, t, label_smoothing=1.5), (x54, cls5), RuntimeError),
    (lambda T, x, t: F(T).cross_entropy(x, t), (x2345, t245[:, :1]), RuntimeError),
    (lambda T, x, t: F(T).cross_entropy(x, t[:, :, 0]), (x2345, t245), RuntimeError),
    (lambda T, x, t: F(T).cross_entropy(x, t[:, :2]), (x233, t23), RuntimeError),
    (lambda T, x, p: F(T).cross_entropy(x, p, ignore_index=1), (x54, probs54), RuntimeError),
    (lambda T, x, t: F(T).nll_loss(x[0, 0], t[0]), (x54, cls5), ValueError),
    (lambda T, x, t: F(T).cross_entropy(x[0], t[:2]), (x54, cls5), ValueError),
    (lambda T, x, t: F(T).nll_loss(x, t.float()), (x54, cls5), RuntimeError),
    (lambda T, x, t: F(T).nll_loss(x, t, weight=T.ones(5, device=x.device)), (x54, cls5), RuntimeError),
    (lambda T, x, y: F(T).binary_cross_entropy(x.sigmoid(), y[:, :2].sigmoid()), (x54, y54), ValueError),
    (lambda T, x, y: F(T).binary_cross_entropy(x + 2, y.sigmoid()), (np.abs(x54), y54), RuntimeError),
    (lambda T, x, y: F(T).binary_cross_entropy(x.sigmoid(), y.sigmoid(), weight=T.ones(5, device=x.device)),
     (x54, y54), RuntimeError),
    (lambda T, x, y: F(T).binary_cross_entropy_with_logits(x, y[:, :3]), (x54, y54), ValueError),
    (lambda T, x, y: F(T).binary_cross_entropy_with_logits(x, y, pos_weight=T.ones(3, device=x.device)), (x54, y54),
     RuntimeError),
    (lambda T, x, y: F(T).mse_loss(x, y[:, :3]), (x54, y54), RuntimeError),
    (lambda T, x, y: F(T).mse_loss(x, y, weight=y[0]), (x54, y54), ValueError),
    (lambda T, x, y: F(T).l1_loss(x, y, reduction="batchmean"), (x54, y54), ValueError),
    (lambda T, x, y: F(T).smooth_l1_loss(x, y, beta=-1.0), (x54, y54), RuntimeError),
    (lambda T, x, y: F(T).huber_loss(x, y, delta=0.0), (x54, y54), RuntimeError),
    (lambda T, x, y: F(T).kl_div(x, y[:, :3]), (x54, y54), RuntimeError),
    (lambda T, x, y: F(T).soft_margin_loss(x[0], y), (x54, y54), RuntimeError),
    (lambda T, x, t: F(T).multilabel_margin_loss(x, t[0]), (x54, labels54), RuntimeError),
    (lambda T, x, t: F(T).multilabel_margin_loss(x, t.float()), (x54, labels54), RuntimeError),
    (lambda T, x, t: F(T).multilabel_margin_loss(x[None], t[None]), (x54, labels54), RuntimeError),
    (lambda T, x, t: F(T).multilabel_margin_loss(x[:1], t), (x54, np.array([[1, 4, -1, 0]])), RuntimeError),
    (lambda T, x, t: F(T).multilabel_margin_loss(x[:1], t), (x54, np.array([[1, -2, -1, 0]])), RuntimeError),
    (lambda T, x, t: F(T).multi_margin_loss(x, t, p=3), (x54, cls5), ValueError),
    (lambda T, x, t: F(T).multi_margin_loss(x, t[:3]), (x54, cls5), RuntimeError),
    (lambda T, x, t: F(T).multi_margin_loss(x[None], t), (x54, cls5), RuntimeError),
    (lambda T, x, t: F(T).multi_margin_loss(x, t, weight=T.ones(4, 1, device=x.device)), (x54, cls5), ValueError),
    (lambda T, x, t: F(T).multi_margin_loss(x, t, weight=T.ones(3, device=x.device)), (x54, cls5), RuntimeError),
    (lambda T, x, t: F(T).multi_margin_loss(x, t), (x54, np.array([0, 4, 1, 1, 1])), RuntimeError),
    (lambda T, a, b, t: F(T).cosine_embedding_loss(a, b[:, :3], t), (x54, y54, signs5), RuntimeError),
    (lambda T, a, b, t: F(T).cosine_embedding_loss(a, b, t[:, None]), (x54, y54, signs5), RuntimeError),
    (lambda T, a, b, t: F(T).cosine_embedding_loss(a[0], b[0], t[:1]), (x54, y54, signs5), RuntimeError),
    (lambda T, a, b, t: F(T).cosine_embedding_loss(a, b, t[0]), (x54, y54, signs5), RuntimeError),
    (lambda T, a, b, t: F(T).margin_ranking_loss(a[:, 0], b[:, 0], t[:, None]), (x54, y54, signs5), RuntimeError),
    (lambda T, a, p, n: F(T).triplet_margin_loss(a, p[0], n), (x54, y54, z54), RuntimeError),
    (lambda T, a, p, n: F(T).triplet_margin_loss(a, p, n, margin=0), (x54, y54, z54), ValueError),
    (lambda T, a, p, n: F(T).triplet_margin_with_distance_loss(a, p, n, margin=-1.0), (x54, y54, z54), ValueError),
    (lambda T, a, p, n: F(T).triplet_margin_with_distance_loss(a, p, n, reduction="x"), (x54, y54, z54),
     ValueError),
    (lambda T, a, p, n: F(T).triplet_margin_with_distance_loss(a[0], p, n), (x54, y54, z54), RuntimeError),
    (lambda T, x, y, v: F(T).gaussian_nll_loss(x, y, v[:2]), (x54, y54, z54), ValueError),
    (lambda T, x, y, v: F(T).gaussian_nll_loss(x, y, -v.abs()), (x54, y54, z54), ValueError),
    (lambda T, x, y, v: F(T).gaussian_nll_loss(x, y, v.abs(), reduction="x"), (x54, y54, z54), ValueError),
    (lambda T, x, y: F(T).poisson_nll_loss(x, y, reduction="x"), (x54, y54), ValueError),
    (lambda T, x, y: F(T).poisson_nll_loss(x, y[:3]), (x54, y54), RuntimeError),
    (lambda T, x, w, t: F(T).linear_cross_entropy(x[None], w, t), (x54, y54[:3], cls5), RuntimeError),
    (lambda T, x, w, t: F(T).linear_cross_entropy(x, w[0], t), (x54, y54[:3], cls5), RuntimeError),
    (lambda T, x, w, t: F(T).linear_cross_entropy(x, w[:, :3], t), (x54, y54[:3], cls5), RuntimeError),
    (lambda T, x, w, t: F(T).linear_cross_entropy(x, w, t, linear_bias=w[0]), (x54, y54[:3], cls5), RuntimeError),
    (lambda T, x, w, t: F(T).linear_cross_entropy(x[0], w.reshape(3, 1, 4), t[0]), (x54, y54[:3], cls5),
     RuntimeError),
    (lambda T, x, w, p: F(T).linear_cross_entropy(x, w, p, ignore_index=2), (x54, y54, probs54), RuntimeError),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_loss_errors(device, case):
    fn, inputs, exc = ERRORS[case]
    check_raises(fn, *inputs, exc=exc, device=device)


def test_out_of_range_targets(device):
    for fn in (lambda x, t: F(framework).cross_entropy(x, t, weight=framework.ones(4, device=device)),
               lambda x, t: F(framework).cross_entropy(x, t, label_smoothing=0.1),
               lambda x, t: F(framework).nll_loss(x, t)):
        for bad in (np.array([0, 4, 1, 1, 1]), np.array([0, -1, 1, 1, 1])):
            with pytest.raises(IndexError, match="out of bounds"):
                fn(framework.tensor(x54, device=device), framework.tensor(bad, device=device))
                synchronize(device)


def test_targets_checked_again_in_backward(device):
    """The fused backward kernels read the targets again, and check them again."""
    for fn in (lambda x, t: F(framework).nll_loss(x, t), lambda x, t: F(framework).cross_entropy(x, t,
                                                                                              label_smoothing=0.2)):
        x = framework.tensor(x54, device=device, requires_grad=True)
        t = framework.tensor(cls5, device=device)
        loss = fn(x, t)
        t.data[2] = 9  # (bumps no version: the kernel must check)
        with pytest.raises(IndexError, match="out of bounds"):
            loss.backward()
            synchronize(device)


def test_weights_and_targets_that_take_no_gradient(device):
    """PyTorch refuses a class weight (or margin target) that requires grad; so do we."""
    cases = [
        lambda T, x, t, w: F(T).cross_entropy(x, t, weight=w),
        lambda T, x, t, w: F(T).nll_loss(x, t, weight=w),
        lambda T, x, t, w: F(T).multi_margin_loss(x, t, weight=w),
    ]
    for fn in cases:
        tw = torch.tensor(w4, requires_grad=True)
        fw = framework.tensor(w4, device=device, requires_grad=True)
        with pytest.raises(RuntimeError, match="not differentiable"):
            fn(torch, torch.tensor(x54), torch.tensor(cls5), tw)
        with pytest.raises(RuntimeError, match="not differentiable"):
            fn(framework, framework.tensor(x54, device=device), framework.tensor(cls5, device=device), fw)
    with pytest.raises(RuntimeError, match="not differentiable"):
        F(framework).soft_margin_loss(framework.tensor(x54, device=device),
                                      framework.tensor(y54, device=device, requires_grad=True))


def test_unbatched_input_with_a_one_element_target(device):
    """(C,) logits take a 0-d or a (1,) target; PyTorch's backward fails on the latter, so forward only."""
    for reduction in REDUCTIONS:
        check(lambda T, x, t: F(T).cross_entropy(x, t, reduction=reduction), x54[0], cls5[:1], grad=False,
              device=device)


def test_all_rows_ignored_and_empty_batches(device):
    check(lambda T, x, t: F(T).cross_entropy(x, t, weight=T.ones(4, device=x.device), label_smoothing=0.1),
          x54, np.full(5, -100), device=device)  # nan, as PyTorch
    check(lambda T, x, t: F(T).nll_loss(x, t, reduction="sum"), x54[:0], cls5[:0], device=device)
    check(lambda T, x, t: F(T).cross_entropy(x, t, reduction="none"), x54[:0], cls5[:0], device=device)


def test_size_warning():
    with pytest.warns(UserWarning, match="target size"):
        F(framework).mse_loss(framework.ones(3, 1), framework.ones(3))
    with pytest.warns(UserWarning, match="batchmean"):
        F(framework).kl_div(framework.ones(3), framework.ones(3))
