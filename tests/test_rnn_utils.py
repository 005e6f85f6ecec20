"""nn.utils.rnn against PyTorch on every device: padding, packing and unpacking (values, index
tensors and gradients), PackedSequence's API, and PyTorch's errors for bad lengths."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import framework
from helpers import check, check_raises, randn


def R(T):
    return T.nn.utils.rnn


def _packed_fields(p):
    return (p.data, p.batch_sizes) + tuple(t for t in (p.sorted_indices, p.unsorted_indices) if t is not None)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (2,), (2, 1)])
def test_pad_sequence(batch_first, side, trailing, device):
    seqs = [randn(3, *trailing), randn(1, *trailing), randn(4, *trailing)]
    check(lambda T, a, b, c: R(T).pad_sequence([a, b, c], batch_first=batch_first, padding_value=-2.5,
                                               padding_side=side), *seqs, device=device)


def test_pad_sequence_other_inputs(device):
    check(lambda T, a: R(T).pad_sequence([a]), randn(2, 3), device=device)  # one sequence
    check(lambda T, a: R(T).pad_sequence(a), randn(2, 3), device=device)  # a tensor: its rows are the sequences
    check(lambda T, a, b: R(T).pad_sequence((a, b), True), randn(2, 3), randn(0, 3), device=device)  # empty one
    check(lambda T, a, b: R(T).pad_sequence([a, b]), np.arange(3), np.arange(2), device=device)  # integers


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", [((4, 2, 2), True), ((2, 4, 1), False), ((1, 1, 3), False),
                                                    ((3,), True)])
def test_pack_padded_sequence(batch_first, lengths, enforce_sorted, device):
    shape = (len(lengths), 4, 2) if batch_first else (4, len(lengths), 2)
    check(lambda T, x: _packed_fields(R(T).pack_padded_sequence(x, list(lengths), batch_first, enforce_sorted)),
          randn(*shape), device=device)
    # lengths as a CPU tensor, input with no trailing dims
    check(lambda T, x: _packed_fields(R(T).pack_padded_sequence(x, T.tensor(lengths), batch_first, enforce_sorted)),
          randn(*shape[:2]), device=device)


@pytest.mark.parametrize("batch_first_in,batch_first_out", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("total_length", [None, 6])
def test_pad_packed_sequence(batch_first_in, batch_first_out, total_length, device):
    lengths = [2, 4, 1]
    shape = (3, 4, 2) if batch_first_in else (4, 3, 2)

    def fn(T, x):
        packed = R(T).pack_padded_sequence(x, lengths, batch_first_in, enforce_sorted=False)
        return R(T).pad_packed_sequence(packed, batch_first_out, padding_value=7.0, total_length=total_length)
    check(fn, randn(*shape), device=device)


def test_pack_and_unpack_sequence(device):
    seqs = [randn(2, 3), randn(4, 3), randn(1, 3)]
    check(lambda T, a, b, c: _packed_fields(R(T).pack_sequence([a, b, c], enforce_sorted=False)), *seqs,
          device=device)
    check(lambda T, a, b, c: R(T).unpack_sequence(R(T).pack_sequence([a, b, c], enforce_sorted=False)), *seqs,
          device=device)
    check(lambda T, a, b: R(T).unpack_sequence(R(T).pack_sequence([a, b])), randn(3), randn(3), device=device)


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence(batch_first, device):
    shape = (3, 4, 2) if batch_first else (4, 3, 2)
    # (x * 1: PyTorch transposes its argument in place, which a leaf that requires grad refuses)
    check(lambda T, x: R(T).unpad_sequence(x * 1, T.tensor([4, 1, 3]), batch_first), randn(*shape), device=device)


def test_unpad_sequence_leaves_its_input_alone(device):
    x = framework.tensor(randn(4, 3, 2), device=device)
    R(framework).unpad_sequence(x, framework.tensor([4, 1, 3]))
    assert tuple(x.shape) == (4, 3, 2)


@settings(max_examples=20, deadline=None)
@given(lengths=st.lists(st.integers(1, 4), min_size=1, max_size=4), batch_first=st.booleans(),
       total=st.integers(0, 2), value=st.sampled_from([0.0, -1.0]))
def test_hypothesis_round_trip(lengths, batch_first, total, value, device):
    steps = max(lengths)
    shape = (len(lengths), steps, 2) if batch_first else (steps, len(lengths), 2)

    def fn(T, x):
        packed = R(T).pack_padded_sequence(x, lengths, batch_first, enforce_sorted=False)
        return _packed_fields(packed) + R(T).pad_packed_sequence(packed, batch_first, value, steps + total)
    check(fn, randn(*shape), device=device)


def test_packed_sequence_api(device):
    data = framework.tensor(randn(5, 2), device=device)
    sizes = framework.tensor([2, 2, 1])
    p = R(framework).PackedSequence(data, sizes)
    assert p.sorted_indices is None and p.unsorted_indices is None and p.data is data and p.batch_sizes is sizes
    assert isinstance(p, tuple) and p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    d, b, s, u = p
    assert d is data and b is sizes
    assert p.to(device) is p and p.to(framework.float32) is p
    q = R(framework).PackedSequence(data, sizes, framework.tensor([1, 0], device=device))
    np.testing.assert_array_equal(q.unsorted_indices.cpu().numpy(), [1, 0])
    r = q.to(framework.float64)
    assert r.data.dtype == framework.float64 and r.batch_sizes is sizes and type(r) is type(q)
    np.testing.assert_array_equal(r.sorted_indices.cpu().numpy(), [1, 0])
    assert q.double().data.dtype == framework.float64 and q.float().data.dtype == framework.float32
    moved = q.cpu()
    assert moved.data.device.type == "cpu" and moved.sorted_indices.device.type == "cpu"
    assert moved.is_cuda is False and moved.is_pinned() is False
    assert R(framework).PackedSequence((data, sizes)).batch_sizes is sizes
    assert repr(p).startswith("PackedSequence(data=tensor(")
    if framework.device(device).type == "cuda":
        with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
            R(framework).PackedSequence(data, sizes.to(device))
        assert q.is_cuda and q.cuda() is q


def test_invert_permutation(device):
    check(lambda T, p: R(T).invert_permutation(p), np.array([2, 0, 3, 1]), device=device)
    assert R(framework).invert_permutation(None) is None


BAD = {
    "unsorted_lengths": (lambda T, x: R(T).pack_padded_sequence(x, [2, 3, 1]), (3, 3, 2), RuntimeError),
    "lengths_count": (lambda T, x: R(T).pack_padded_sequence(x, [3, 2]), (3, 3, 2), RuntimeError),
    "zero_length": (lambda T, x: R(T).pack_padded_sequence(x, [3, 2, 0]), (3, 3, 2), RuntimeError),
    "zero_length_unsorted": (lambda T, x: R(T).pack_padded_sequence(x, [0, 3, 2], enforce_sorted=False), (3, 3, 2),
                             RuntimeError),
    "lengths_2d": (lambda T, x: R(T).pack_padded_sequence(x, [[3, 2, 1]]), (3, 3, 2), RuntimeError),
    "empty_batch": (lambda T, x: R(T).pack_padded_sequence(x, []), (3, 0, 2), RuntimeError),
    "total_length": (lambda T, x: R(T).pad_packed_sequence(R(T).pack_padded_sequence(x, [3, 1]), total_length=2),
                     (3, 2, 2), ValueError),
    "pad_empty_list": (lambda T, x: R(T).pad_sequence([]), (1,), RuntimeError),
    "pad_side": (lambda T, x: R(T).pad_sequence([x], padding_side="middle"), (2, 3), RuntimeError),
    "pad_not_iterable": (lambda T, x: R(T).pad_sequence(5), (1,), RuntimeError),
    "pad_trailing": (lambda T, x, y: R(T).pad_sequence([x, y]), [(2, 3), (2, 4)], RuntimeError),
    "pad_0d": (lambda T, x: R(T).pad_sequence([x[0, 0], x[0, 1]]), (2, 3), RuntimeError),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input(name, device):
    fn, shapes, exc = BAD[name]
    shapes = shapes if isinstance(shapes, list) else [shapes]
    message = check_raises(fn, *[randn(*s) for s in shapes], exc=exc, device=device)
    try:
        fn(torch, *[torch.tensor(randn(*s)) for s in shapes])
    except exc as e:
        if name not in ("pad_0d", "empty_batch"):  # (PyTorch's internal wording there is an assert's)
            assert message == str(e)


def test_lengths_beyond_the_input_are_refused(device):
    """PyTorch reads past the input here; we refuse, naming the lengths."""
    x = framework.tensor(randn(3, 2, 2), device=device)
    with pytest.raises(RuntimeError, match=r"a length \(5\) exceeds the input's sequence length \(3\)"):
        R(framework).pack_padded_sequence(x, [5, 1])
