"""The CPU's row sums (kernels/cpu/reduce.py): float32 added in vector lanes within blocks, the
blocks' sums in float64, so that speed does not cost the accuracy of a long sum."""
import numpy as np
import pytest

import framework
from kernels.cpu import reduce as rd


@pytest.mark.parametrize("shape", [(2**24 + 5,), (3, 2**22 + 1)])
def test_float32_sums_widen_between_blocks(shape):
    """2**24 copies of 0.001 summed in float32 lanes alone drift by 4e-3, 2**22 by 3e-4 (each
    lane's sum outgrows the addend's precision)."""
    x = np.full(shape, 1e-3, np.float32)
    row = shape[-1] * np.float64(x.flat[0])
    np.testing.assert_allclose(framework.from_numpy(x).sum(-1).numpy(), row, rtol=1e-6)
    assert framework.from_numpy(x).sum().item() == pytest.approx(row * x.size / shape[-1], rel=1e-6)


@pytest.mark.parametrize("dtype, out_dtype", [(np.int8, np.int64), (np.bool_, np.int64), (np.float32, np.float64),
                                              (np.float64, np.float64), (np.complex64, np.complex64)])
def test_row_sum_kernels_accumulate_in_the_output_type(dtype, out_dtype):
    """Integers add in int64 (an int8 row of 10^4 elements overflows int8), and the serial and
    parallel kernels agree over several blocks and a tail."""
    a = (np.random.default_rng(0).standard_normal((3, 3 * rd.SUM_BLOCK + 7)) * 50).astype(dtype)
    serial, parallel = np.empty(3, out_dtype), np.empty(3, out_dtype)
    rd.sum_last.serial(a, serial)
    rd.sum_last(a, parallel)
    np.testing.assert_array_equal(serial, parallel)
    wide = np.complex128 if dtype == np.complex64 else np.float64
    np.testing.assert_allclose(serial, a.astype(wide).sum(1), rtol=1e-6 if out_dtype != np.complex64 else 1e-5)
