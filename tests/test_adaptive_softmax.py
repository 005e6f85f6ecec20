"""nn.AdaptiveLogSoftmaxWithLoss, F.conv_tbc and LinearCrossEntropyOptions against PyTorch on
every device: values, gradients, parameter names, errors."""
import numpy as np
import pytest
import torch

import framework
from helpers import check, check_raises, const, gradcheck, randn

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv_tbc(device, pad):
    check(lambda T, x, w, b: T.nn.functional.conv_tbc(x, w, b, pad), randn(5, 2, 3), randn(3, 3, 4), randn(4),
          device=device)


def test_conv_tbc_gradcheck_and_errors(device):
    gradcheck(lambda T, x, w, b: T.nn.functional.conv_tbc(x, w, b, 1), randn(4, 2, 2), randn(2, 2, 3), randn(3),
              device=device)
    for args in [(randn(2, 3), randn(3, 3, 4), randn(4)), (randn(5, 2, 3), randn(3, 4), randn(4)),
                 (randn(5, 2, 3), randn(3, 3, 4), randn(1, 4)), (randn(5, 2, 3), randn(3, 2, 4), randn(4)),
                 (randn(5, 2, 3), randn(3, 3, 4), randn(5))]:
        check_raises(lambda T, x, w, b: T.nn.functional.conv_tbc(x, w, b), *args, device=device)


def _pair(device, head_bias, div_value=2.0, cutoffs=(3, 6)):
    """The same AdaptiveLogSoftmaxWithLoss in both libraries (PyTorch's weights loaded into ours)."""
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, list(cutoffs), div_value=div_value, head_bias=head_bias)
    ours = framework.nn.AdaptiveLogSoftmaxWithLoss(8, 10, list(cutoffs), div_value=div_value, head_bias=head_bias)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({k: framework.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours.to(device), theirs


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(device, head_bias):
    ours, theirs = _pair(device, head_bias)
    x = RNG.standard_normal((6, 8)).astype(np.float32)
    target = np.array([0, 4, 9, 2, 7, 5])  # the shortlist and both clusters
    xo = framework.tensor(x, device=device, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_o, out_t = ours(xo, framework.tensor(target, device=device)), theirs(xt, torch.tensor(target))
    np.testing.assert_allclose(out_o.output.detach().cpu().numpy(), out_t.output.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_o.loss.item(), out_t.loss.item(), rtol=1e-5)
    out_o.loss.backward()
    out_t.loss.backward()
    np.testing.assert_allclose(xo.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    for (name, po), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(po.grad.cpu().numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(ours.log_prob(xo).detach().cpu().numpy(), theirs.log_prob(xt).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert np.array_equal(ours.predict(xo).cpu().numpy(), theirs.predict(xt).numpy())
    one_o, one_t = ours(xo[0], framework.tensor(4, device=device)), theirs(xt[0], torch.tensor(4))
    assert one_o.output.shape == one_t.output.shape == ()
    np.testing.assert_allclose(one_o.loss.item(), one_t.loss.item(), rtol=1e-5)


def test_adaptive_log_softmax_errors(device):
    for cutoffs in ([6, 3], [3, 3], [0, 3], [3, 10], [3, 9.5]):
        for lib in (framework, torch):
            with pytest.raises(ValueError, match="cutoffs should be a sequence of unique, positive integers"):
                lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)
    ours, theirs = _pair(device, False)
    x = RNG.standard_normal((4, 8)).astype(np.float32)
    cases = [(x, np.array([0, 4, 9, 10]), "Target values should be in \\[0, 9\\], but values in range \\[0, 10\\]"),
             (x, np.array([[1]]), "0D or 1D target tensor expected"),
             (x, np.array([1, 2]), "same size in the batch dimension"),
             (x, np.array(1), "0D target tensor expects 1D input tensors")]
    for xi, ti, message in cases:
        for module, lib, dev in ((ours, framework, device), (theirs, torch, "cpu")):
            with pytest.raises(RuntimeError, match=message):
                module(lib.tensor(xi, device=dev), lib.tensor(ti, device=dev))


def test_linear_cross_entropy_options_are_accepted(device):
    options = framework.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
    assert options.batch_chunk_size == 2 and options.chunking_method == "auto"
    with pytest.raises(Exception):  # frozen, as PyTorch's
        options.batch_chunk_size = 3
    check(lambda T, x, w, t: T.nn.functional.linear_cross_entropy(
        x, w, t, options=T.nn.LinearCrossEntropyOptions(batch_chunk_size=2)),
        randn(4, 3), randn(5, 3), const(np.array([0, 4, 2, 1])), device=device)
    with pytest.raises(TypeError, match="LinearCrossEntropyOptions"):
        framework.nn.functional.linear_cross_entropy(framework.ones(2, 3), framework.ones(4, 3),
                                                     framework.tensor([0, 1]), options=3)
