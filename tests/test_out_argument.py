"""`out=` on torch's functions that take it, against PyTorch: results written into the given
tensors (resized, cast, returned), PyTorch's refusals, and every such function accepting it."""
import inspect
import warnings

import numpy as np
import pytest
import torch

import framework
from framework.ops.out_argument import FUNCTIONS

X = np.array([[1.5, -2.0, 0.5], [3.0, 0.25, -1.0]], np.float32)

CASES = {  # name -> fn(T, x, out) for one output
    "add": lambda T, x, out: T.add(x, 1, alpha=2, out=out),
    "mul": lambda T, x, out: T.mul(x, x, out=out),
    "exp": lambda T, x, out: T.exp(x, out=out),
    "matmul": lambda T, x, out: T.matmul(x, x.t(), out=out),
    "sum_like_mean": lambda T, x, out: T.mean(x, 1, out=out),
    "cat": lambda T, x, out: T.cat([x, x], 0, out=out),
    "where": lambda T, x, out: T.where(x > 0, x, -x, out=out),
    "clamp": lambda T, x, out: T.clamp(x, -1, 1, out=out),
    "cumsum": lambda T, x, out: T.cumsum(x, 1, out=out),
    "arange": lambda T, x, out: T.arange(6, out=out),
    "sum": lambda T, x, out: T.sum(x, 1, keepdim=True, out=out),
    "prod": lambda T, x, out: T.prod(x, 0, out=out),
    "nansum": lambda T, x, out: T.nansum(x, 1, out=out),
    "softmax": lambda T, x, out: T.softmax(x, 1, out=out),
    "log_softmax": lambda T, x, out: T.log_softmax(x, 0, out=out),
}


UNDOCUMENTED_OUT = ("softmax", "log_softmax")  # torch's accept out= (tested above) but their docstrings omit it


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_receives_the_result_like_torch(device, name):
    fn = CASES[name]
    theirs_out = torch.empty(0)
    expected = fn(torch, torch.tensor(X), theirs_out)
    ours_out = framework.empty(0, device=device)
    got = fn(framework, framework.tensor(X, device=device), ours_out)
    assert got is ours_out and expected is theirs_out
    assert tuple(ours_out.shape) == tuple(theirs_out.shape) and str(ours_out.dtype) == str(theirs_out.dtype)
    np.testing.assert_allclose(ours_out.cpu().numpy(), theirs_out.numpy(), rtol=1e-5, atol=1e-6)


def test_out_tuples_casts_resizes_and_refusals(device):
    x = framework.tensor(X, device=device)
    values, indices = framework.empty(0, device=device), framework.empty(0, dtype=framework.int64, device=device)
    result = framework.max(x, 1, out=(values, indices))
    assert result.values is values and result.indices is indices
    np.testing.assert_array_equal(indices.cpu().numpy(), torch.max(torch.tensor(X), 1).indices.numpy())
    as_double = framework.zeros(2, 3, dtype=framework.float64, device=device)
    framework.add(x, 1, out=as_double)  # a float32 result cast into a float64 out, as PyTorch
    np.testing.assert_array_equal(as_double.cpu().numpy(), (X + 1).astype(np.float64))
    with pytest.warns(UserWarning, match="was resized"):
        framework.mul(x, 2, out=framework.zeros(7, device=device))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        framework.add(x, 1, out=framework.zeros(2, 3, dtype=framework.int64, device=device))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        framework.exp(framework.tensor(X, device=device, requires_grad=True), out=framework.empty(0, device=device))
    with pytest.raises(TypeError, match="argument 'out' must be Tensor"):
        framework.exp(x, out=[1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty out is resized silently
        framework.exp(x, out=framework.empty(0, device=device))


def test_every_function_with_out_accepts_it():
    for name in FUNCTIONS:
        fn = getattr(framework, name)
        assert "out" in inspect.signature(fn, follow_wrapped=False).parameters, name
        assert "out" in (getattr(torch, name).__doc__ or "") or name in UNDOCUMENTED_OUT, name
        # the wrapper calls the function it wraps (a wrapper spelled with a function's own name
        # once replaced a function named `fn`: floor, ceil and trunc called themselves)
        assert fn.__globals__.get("_wrapped", fn.__wrapped__) is fn.__wrapped__, name
    x = framework.tensor([1.5, -1.5])
    assert framework.floor(x).tolist() == [1.0, -2.0] and framework.trunc(x, out=framework.empty(2)).tolist() == [1, -1]
    assert (framework.floor.__name__, framework.ceil.__name__) == ("floor", "ceil")


def test_indexing_with_a_range_is_indexing_with_its_list(device):
    x = framework.arange(10.0, device=device)
    np.testing.assert_array_equal(x[range(2, 9, 3)].cpu().numpy(), [2.0, 5.0, 8.0])
    x[range(0, 3)] = 7.0
    np.testing.assert_array_equal(x[:4].cpu().numpy(), [7.0, 7.0, 7.0, 3.0])
