import numpy as np
import pytest

import framework
from helpers import check, check_raises, const, gradcheck, randn, synchronize

rng = np.random.default_rng(3)
logits = randn(6, 4)
targets = rng.integers(0, 4, 6)
targets_ignore = np.array([0, -100, 3, 1, -100, 2])
probs = np.abs(randn(6, 4))
probs = (probs / probs.sum(1, keepdims=True)).astype(np.float32)
weights = np.abs(randn(4)) + 0.5
seg_logits = randn(2, 3, 4, 5)
seg_targets = rng.integers(0, 3, (2, 4, 5))

CASES = {
    "ce": lambda T, x, t: T.nn.functional.cross_entropy(x, t),
    "ce_sum": lambda T, x, t: T.nn.functional.cross_entropy(x, t, reduction="sum"),
    "ce_none": lambda T, x, t: T.nn.functional.cross_entropy(x, t, reduction="none"),
    "ce_smooth": lambda T, x, t: T.nn.functional.cross_entropy(x, t, label_smoothing=0.2),
    "ce_module": lambda T, x, t: T.nn.CrossEntropyLoss()(x, t),
    "nll": lambda T, x, t: T.nn.functional.nll_loss(T.log_softmax(x, 1), t),
    "nll_module_sum": lambda T, x, t: T.nn.NLLLoss(reduction="sum")(T.log_softmax(x, 1), t),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_class_index_losses(device, name):
    check(CASES[name], logits, targets, device=device)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_weight_ignore_index(device, reduction, smoothing):
    check(lambda T, x, t, w: T.nn.functional.cross_entropy(x, t, weight=w, ignore_index=-100, reduction=reduction,
                                                            label_smoothing=smoothing),
          logits, targets_ignore, const(weights), device=device)
    check(lambda T, x, t: T.nn.CrossEntropyLoss(ignore_index=2, reduction=reduction,
                                                label_smoothing=smoothing)(x, t), logits, targets, device=device)
    check(lambda T, x, t: T.nn.functional.nll_loss(x.log_softmax(1), t, reduction=reduction), logits, targets_ignore,
          device=device)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probabilities_and_spatial(device, reduction):
    check(lambda T, x, p: T.nn.functional.cross_entropy(x, p, reduction=reduction), logits, probs, device=device)
    check(lambda T, x, p, w: T.nn.functional.cross_entropy(x, p, weight=w, label_smoothing=0.3,
                                                            reduction=reduction), logits, probs, const(weights),
          device=device)
    check(lambda T, x, t: T.nn.functional.cross_entropy(x, t, reduction=reduction), seg_logits, seg_targets,
          device=device)
    check(lambda T, x, t: T.nn.functional.cross_entropy(x, t, reduction=reduction), logits[0], np.array(targets[0]),
          device=device)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_over_the_threaded_size(device, smoothing):
    """40 rows of 500 classes: the CPU's threaded kernels (past cpu_backend.ROWS_PARALLEL_MIN),
    with class weights and ignored rows; a class out of range still raises before any work."""
    from framework.backends.cpu_backend import ROWS_PARALLEL_MIN
    assert 40 * 500 >= ROWS_PARALLEL_MIN
    rng = np.random.default_rng(3)
    big, classes = randn(40, 500) * 3, rng.integers(0, 500, 40)
    classes[[5, 17]] = -100
    check(lambda T, x, t, w: T.nn.functional.cross_entropy(x, t, weight=w, label_smoothing=smoothing), big, classes,
          const(rng.random(500).astype(np.float32) + 0.5), device=device)
    classes[30] = 500
    with pytest.raises(IndexError, match="out of bounds"):
        framework.nn.functional.cross_entropy(framework.tensor(big, device=device),
                                              framework.tensor(classes, device=device))
        synchronize(device)


def test_cross_entropy_of_no_classes_is_nan_as_in_torch(device):
    """Probability targets over zero classes: PyTorch's mean is the sum over numel / C, 0 / 0."""
    check(lambda T, x, p: T.nn.functional.cross_entropy(x, p), np.zeros((2, 0), np.float32),
          np.zeros((2, 0), np.float32), device=device)


def test_cross_entropy_gradcheck(device):
    gradcheck(lambda T, x, t: T.nn.functional.cross_entropy(x, t, label_smoothing=0.1), logits, targets,
              double=True, device=device)


def test_out_of_range_class_is_a_clear_error(device):
    for bad in (np.array([0, 4, 1, 1, 1, 1]), np.array([0, -1, 1, 1, 1, 1])):
        with pytest.raises(IndexError, match="out of bounds"):
            framework.nn.functional.cross_entropy(framework.tensor(logits, device=device),
                                                  framework.tensor(bad, device=device))
            synchronize(device)  # on cuda the kernel finds the bad class; raised at the next synchronisation
    check_raises(lambda T, x, t: T.nn.functional.cross_entropy(x, t), logits, targets[:5], exc=ValueError,
                 device=device)


REGRESSION = {
    "mse": lambda T, x, y: T.nn.functional.mse_loss(x, y),
    "mse_sum": lambda T, x, y: T.nn.MSELoss(reduction="sum")(x, y),
    "l1": lambda T, x, y: T.nn.L1Loss()(x, y),
    "l1_none": lambda T, x, y: T.nn.functional.l1_loss(x, y, reduction="none"),
    "smooth_l1": lambda T, x, y: T.nn.SmoothL1Loss(beta=0.5)(x, y),
    "smooth_l1_default": lambda T, x, y: T.nn.functional.smooth_l1_loss(x, y),
    "huber": lambda T, x, y: T.nn.HuberLoss(delta=0.7)(x, y),
    "bce": lambda T, x, y: T.nn.BCELoss()(x.sigmoid(), y.sigmoid()),
    "bce_weight": lambda T, x, y: T.nn.functional.binary_cross_entropy(x.sigmoid(), (y > 0).float(),
                                                                       weight=y.abs().detach(), reduction="sum"),
    "bce_logits": lambda T, x, y: T.nn.BCEWithLogitsLoss()(x, y.sigmoid()),
    "bce_logits_pos": lambda T, x, y: T.nn.BCEWithLogitsLoss(
        pos_weight=T.tensor([1.0, 2.0, 0.5, 3.0], device=x.device))(x, y.sigmoid()),
    "kl": lambda T, x, y: T.nn.KLDivLoss(reduction="batchmean")(x.log_softmax(1), y.softmax(1)),
    "kl_log_target": lambda T, x, y: T.nn.functional.kl_div(x.log_softmax(1), y.log_softmax(1), reduction="sum",
                                                            log_target=True),
}


@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_losses(device, name):
    check(REGRESSION[name], randn(5, 4) * 2, randn(5, 4) * 2, device=device)


@pytest.mark.parametrize("name", ["mse", "smooth_l1", "huber", "bce", "bce_logits", "kl"])
def test_losses_gradcheck(device, name):
    gradcheck(REGRESSION[name], randn(3, 4), randn(3, 4), device=device)


def test_loss_bad_input(device):
    check_raises(lambda T, x, y: T.nn.functional.binary_cross_entropy(x, y), randn(3) + 5, np.ones(3, np.float32),
                 device=device)
    check_raises(lambda T, x, y: T.nn.functional.binary_cross_entropy_with_logits(x, y), randn(3), randn(4),
                 exc=ValueError, device=device)
    with pytest.raises(ValueError):
        framework.nn.MSELoss(reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fused_cross_entropy_gradcheck_and_double_backward(device, reduction):
    """The common case (2-D logits, class indices) runs fused kernels; its create_graph path
    rebuilds the gradient from differentiable ops."""
    gradcheck(lambda T, x, t: T.nn.functional.cross_entropy(x, t, reduction=reduction, ignore_index=2), logits,
              targets, double=True, device=device)
    check(lambda T, x, t: T.nn.functional.cross_entropy(x, t, ignore_index=1, reduction=reduction), logits, targets,
          device=device)
    check_raises(lambda T, x, t: T.nn.functional.cross_entropy(x, t.int(), reduction=reduction), logits, targets,
                 device=device)
    all_ignored = np.full(6, -100)
    check(lambda T, x, t: T.nn.functional.cross_entropy(x, t, reduction=reduction), logits, all_ignored, device=device)
