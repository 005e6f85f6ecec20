"""Process-wide switches as PyTorch's: threads, print options, determinism, matmul precision."""
import numpy as np
import pytest
import torch

import framework

X = np.array([[1.123456, -2.5, 3e-3], [4.0, 5.5, 6.25]], np.float32)


@pytest.mark.parametrize("options", [dict(precision=2), dict(sci_mode=True), dict(precision=6, sci_mode=False),
                                     dict(profile="short"), dict(linewidth=20)])
def test_printoptions_print_as_pytorch(options):
    try:
        framework.set_printoptions(**options)
        torch.set_printoptions(**options)
        for data in (X, X[:1, :2] * 1000, np.arange(6.0, dtype=np.float32)):
            assert repr(framework.tensor(data)) == repr(torch.tensor(data))
    finally:
        framework.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(framework.tensor(X)) == repr(torch.tensor(X))
    with pytest.raises(ValueError, match="Invalid profile"):
        framework.set_printoptions(profile="long")


def test_threads():
    before = framework.get_num_threads()
    try:
        framework.set_num_threads(1)
        assert framework.get_num_threads() == 1
        assert framework.ones(1000, 100).sum().item() == 100000  # the parallel kernels still run
    finally:
        framework.set_num_threads(before)
    assert framework.get_num_threads() == before
    for bad, message in ((0, "positive integer"), (-1, "positive integer"), (2.5, "expects an int")):
        for lib in (framework, torch):
            with pytest.raises(RuntimeError, match=message):
                lib.set_num_threads(bad)
    framework.set_num_interop_threads(3)
    assert framework.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="positive integer"):
        framework.set_num_interop_threads(0)


def test_determinism_and_matmul_precision_flags():
    assert framework.are_deterministic_algorithms_enabled() is torch.are_deterministic_algorithms_enabled()
    assert framework.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == 0
    try:
        for lib in (framework, torch):
            lib.use_deterministic_algorithms(True, warn_only=True)
        assert framework.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == 1
        assert framework.is_deterministic_algorithms_warn_only_enabled()
        for lib in (framework, torch):
            lib.set_deterministic_debug_mode("error")
        assert framework.are_deterministic_algorithms_enabled() and framework.get_deterministic_debug_mode() == 2
        for lib in (framework, torch):
            with pytest.raises(TypeError, match="must be bool"):
                lib.use_deterministic_algorithms(1)
    finally:
        for lib in (framework, torch):
            lib.use_deterministic_algorithms(False)
    assert framework.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    try:
        framework.set_float32_matmul_precision("high")
        assert framework.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="no effect"):
            framework.set_float32_matmul_precision("fastest")
        assert framework.get_float32_matmul_precision() == "high"
    finally:
        framework.set_float32_matmul_precision("highest")
