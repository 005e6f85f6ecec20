"""Top-level in-place functions (torch.abs_(x)) and *_copy view ops against PyTorch, on every
device: same values, in place where PyTorch is, copies where PyTorch copies, gradients."""
import numpy as np
import pytest
import torch

import framework
from framework.ops.aliases import COPIES, INPLACE
from helpers import check

X = np.array([[0.2, 0.5, 0.7], [0.3, 0.45, 0.6]], np.float32)  # inside every function's domain
ARGS = {"clamp_": (0.3,), "clamp_max_": (0.3,), "clamp_min_": (0.3,), "clip_": (0.3, 0.6), "fill_": (2.0,),
        "ldexp_": (torch.tensor(2.0),), "xlogy_": (0.5,), "addmv_": "matrix"}
SHIFT = {"acosh_": 1.5, "arccosh_": 1.5}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_functions(device, name):
    args = ARGS.get(name, ())
    x = X + SHIFT.get(name, 0.0)
    if args == "matrix":  # addmv_(input, mat, vec): input += mat @ vec
        m, v = np.ones((3, 2), np.float32), np.ones(2, np.float32)
        ours = framework.tensor(x[0], device=device)
        result = framework.addmv_(ours, framework.tensor(m, device=device), framework.tensor(v, device=device))
        theirs = torch.addmv_(torch.tensor(x[0]), torch.tensor(m), torch.tensor(v))
    else:
        ours = framework.tensor(x, device=device)
        our_args = tuple(framework.tensor(a.numpy(), device=device) if isinstance(a, torch.Tensor) else a
                         for a in args)
        result = getattr(framework, name)(ours, *our_args)
        theirs = getattr(torch, name)(torch.tensor(x), *args)
    assert result is ours  # in place, returning its input
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


COPY_ARGS = {"diagonal": (), "expand": ((2, 2, 3),), "narrow": (1, 1, 2), "permute": ((1, 0),), "select": (0, 1),
             "split": (1,), "squeeze": (), "t": (), "transpose": (0, 1), "unbind": (), "unsqueeze": (0,),
             "view": ((3, 2),), "detach": ()}


@pytest.mark.parametrize("view", [v for v in COPIES if v in COPY_ARGS])
def test_copy_forms_match_and_do_not_alias(device, view):
    args = COPY_ARGS[view]
    grad = view != "detach"
    check(lambda T, x: getattr(T, f"{view}_copy")(x, *args), X, device=device, grad=grad)
    x = framework.tensor(X, device=device)
    out = getattr(framework, f"{view}_copy")(x, *args)
    x.fill_(9.0)  # the copy does not see its source change
    first = out[0] if isinstance(out, tuple) else out
    assert not np.any(first.cpu().numpy() == 9.0)


def test_complex_view_copies(device):
    pairs = np.stack([X, -X], -1)
    check(lambda T, x: T.view_as_real_copy(T.view_as_complex_copy(x)), pairs, device=device, grad=False)


def test_detach_and_get_device(device):
    x = framework.ones(2, device=device, requires_grad=True)
    assert not framework.detach(x).requires_grad
    assert framework.get_device(x) == x.get_device()
