"""F.pad in every mode and the padding modules, against PyTorch on every device."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import framework
from helpers import check, gradcheck, randn, same_error


# (mode, input shape, pad): every mode for 1 to 3 padded dims, batched and not, negative pads.
PADS = [
    ("constant", (2, 3), (1, 2)),
    ("constant", (5,), (2, 0)),
    ("constant", (1, 2, 3), (1, 1, 2, 0)),
    ("constant", (2, 1, 2, 3, 2), (1, 0, 0, 1, 1, 1, 2, 0)),  # 4 of 5 dims
    ("constant", (2, 4), (-1, 1)),
    ("constant", (3, 4), (-1, 2, 1, -2)),
    ("constant", (2, 3), (-1, -2)),  # only cropping
    ("reflect", (2, 5), (2, 3)),
    ("reflect", (1, 2, 4), (3, 1)),
    ("reflect", (1, 2, 4, 4), (2, 1, 1, 3)),
    ("reflect", (2, 3, 4), (1, 2, 2, 0)),  # unbatched 2-D
    ("reflect", (1, 1, 3, 3, 4), (1, 2, 2, 0, 1, 1)),
    ("reflect", (1, 3, 4), (-1, 3)),
    ("reflect", (1, 3, 5), (2, -3)),
    ("replicate", (2, 4), (3, 1)),
    ("replicate", (1, 2, 4, 4), (2, 1, 1, 3)),
    ("replicate", (2, 3, 3, 2), (0, 2, 3, 1, 1, 1)),  # unbatched 3-D
    ("replicate", (1, 1, 2, 3, 2), (1, 1, 0, 2, 2, 1)),
    ("replicate", (1, 2, 4), (-2, 3)),
    ("circular", (1, 2, 4), (1, 2)),
    ("circular", (2, 4), (2, 3)),  # unbatched
    ("circular", (1, 2, 3, 4), (2, 4, 3, 1)),
    ("circular", (1, 1, 2, 3, 2), (1, 2, 2, 1, 1, 2)),
    ("circular", (1, 2, 5), (-1, 2)),
    ("circular", (1, 2, 5), (2, -1)),
]


@pytest.mark.parametrize("mode, shape, pad", PADS, ids=[f"{m}-{len(s)}d-{p}" for m, s, p in PADS])
def test_pad_matches_torch(device, mode, shape, pad):
    check(lambda T, x: T.nn.functional.pad(x, pad, mode=mode), randn(*shape), device=device)


def test_pad_constant_value_and_dtypes(device):
    check(lambda T, x: T.nn.functional.pad(x, (1, 2, 0, 1), value=-2.5), randn(2, 3), device=device)
    check(lambda T, x: T.nn.functional.pad(x, [1, 1], "constant", 3), randn(1, 6), device=device)
    ints = np.arange(12, dtype=np.int64).reshape(3, 4)
    check(lambda T, x: T.nn.functional.pad(x, (1, 1), value=2.7), ints, device=device)  # the value is cast
    check(lambda T, x: T.nn.functional.pad(x, (2, 1), mode="reflect"), ints, device=device)
    check(lambda T, x: T.nn.functional.pad(x, (1, 1, 1, 0), mode="replicate"), ints.reshape(1, 3, 4).astype(np.uint8),
          device=device)
    check(lambda T, x: T.nn.functional.pad(x, (1, 2), mode="circular"), ints.reshape(1, 3, 4) % 2 == 0,
          device=device)
    check(lambda T, x: T.nn.functional.pad(x, (0, 1), mode="reflect", value=0.0), randn(2, 3), device=device)
    check(lambda T, x: T.nn.functional.pad(x, (1, 1, 2, 2), mode="reflect"), randn(0, 2, 3, 3), device=device)
    check(lambda T, x: T.nn.functional.pad(x, (1, 1)), randn(2, 0, 3), device=device)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck(device, mode):
    gradcheck(lambda T, x: T.nn.functional.pad(x, (2, 1, 1, -1), mode=mode), randn(1, 1, 3, 4), double=True,
              device=device)


@pytest.mark.parametrize("name, args, shape", [
    ("ZeroPad1d", (2,), (1, 2, 3)), ("ZeroPad2d", ((1, 0, 2, 1),), (1, 3, 3)), ("ZeroPad3d", (1,), (1, 1, 2, 2, 2)),
    ("ConstantPad1d", ((1, 2), 3.5), (2, 3)), ("ConstantPad2d", (1, -1.0), (1, 2, 2, 3)),
    ("ConstantPad3d", ((1, 0, 0, 1, 1, 0), 2.0), (1, 2, 2, 2)),
    ("ReflectionPad1d", (2,), (1, 2, 4)), ("ReflectionPad2d", ((1, 2, 2, 0),), (1, 3, 4)),
    ("ReflectionPad3d", (1,), (1, 1, 2, 3, 3)),
    ("ReplicationPad1d", ((3, 1),), (2, 3)), ("ReplicationPad2d", (2,), (1, 1, 2, 3)),
    ("ReplicationPad3d", ((1, 0, 2, 1, 0, 1),), (1, 2, 2, 2)),
    ("CircularPad1d", (2,), (1, 2, 4)), ("CircularPad2d", ((1, 2, 2, 0),), (2, 3, 3)),
    ("CircularPad3d", (1,), (1, 1, 2, 2, 3)),
])
def test_padding_modules(device, name, args, shape):
    check(lambda T, x: getattr(T.nn, name)(*args)(x), randn(*shape), device=device)
    assert repr(getattr(framework.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_padding_module_errors(device):
    same_error(lambda T, x: T.nn.CircularPad2d(1)(x), randn(3, 3), exc=ValueError, device=device)
    same_error(lambda T, x: T.nn.ReflectionPad1d(3)(x), randn(1, 2, 3), device=device)


def test_pad_errors(device):
    x = randn(2, 3, 4)
    same_error(lambda T, x: T.nn.functional.pad(x, (1,)), x, device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1,) * 8), x, device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1, 1), mode="foo"), x, exc=NotImplementedError, device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1, 1), mode="reflect", value=2.0), x, device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1,) * 6, mode="reflect"), x, exc=NotImplementedError,
               device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1, 1), mode="replicate"), randn(4), exc=NotImplementedError,
               device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1, 1, 1, 1), mode="circular"), randn(2, 3),
               exc=NotImplementedError, device=device)
    # reflect: padding at least as large as the input
    same_error(lambda T, x: T.nn.functional.pad(x, (4, 1), mode="reflect"), x, device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1, 1, 0, 3), mode="reflect"), randn(1, 2, 3, 4), device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1, 1, 0, 1, 2, 2), mode="reflect"), randn(1, 2, 2, 3, 4),
               device=device)
    # outputs that would be empty, inputs with empty dims
    same_error(lambda T, x: T.nn.functional.pad(x, (-5, 1), mode="replicate"), x, device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (-3, -1), mode="reflect"), x, device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1, 1), mode="reflect"), randn(2, 0, 5), device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (5, 1), mode="circular"), x, device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (-5, 0)), x, device=device)
    same_error(lambda T, x: T.nn.functional.pad(x, (1.5, 1)), x, exc=TypeError, device=device)


@settings(max_examples=30)
@given(data=st.data())
def test_pad_hypothesis(device, data):
    mode = data.draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]), "mode")
    k = data.draw(st.integers(1, 3), "padded dims")
    batched = mode == "circular" or data.draw(st.booleans(), "batched")
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=k + 1 + batched, max_size=k + 1 + batched),
                            "shape"))
    pad = []
    for n in reversed(shape[-k:]):  # pads that keep at least one element (PyTorch garbles the others)
        top = {"reflect": n - 1, "circular": n}.get(mode, 3)
        lo = data.draw(st.integers(-(n - 1), top))
        kept = n - max(-lo, 0)
        if mode == "circular":  # wrap at most once around what is kept
            hi = data.draw(st.integers(-(kept - max(lo, 1)), kept))
        else:
            hi = data.draw(st.integers(-(kept - 1), top))
        pad += [lo, hi]
    check(lambda T, x: T.nn.functional.pad(x, pad, mode=mode), randn(*shape), device=device)
