"""framework.nn has every public class of torch.nn, and framework.nn.functional every public
function of torch.nn.functional, except the deliberate exclusions below. Prints the coverage
(run with -s, or read the failure message) and what is missing."""
import inspect

import pytest
import torch

import framework

# Names of torch.nn we deliberately leave out, each with its reason.
NN_EXCLUDED = {
    "Container": "deprecated since PyTorch 0.4 (a FutureWarning says to subclass Module instead)",
    "NLLLoss2d": "deprecated alias of NLLLoss, which takes (N, C, H, W) inputs itself",
    "DataParallel": "single-process replication of a module over several GPUs of one machine; a process here "
                    "drives one device, and multi-device training goes through distributed processes",
}

# Names of torch.nn.functional that are not nn functions.
FUNCTIONAL_EXCLUDED = {
    # typing helpers and enums imported into the module
    "Callable": "typing", "Optional": "typing", "Tensor": "the Tensor class, imported for annotations",
    "DType": "typing alias of torch.dtype",
    "ScalingType": "enum of scaled_mm's float8 scaling recipes", "SwizzleType": "enum of scaled_mm's layouts",
    # the __torch_function__ override machinery and internal argument helpers
    "boolean_dispatch": "internal: builds the max_pool *_with_indices dispatchers",
    "has_torch_function": "__torch_function__ protocol", "has_torch_function_unary": "__torch_function__ protocol",
    "has_torch_function_variadic": "__torch_function__ protocol",
    "handle_torch_function": "__torch_function__ protocol",
    "assert_int_or_pair": "internal argument check of fold/unfold",
    # low-precision GPU matrix products (float8 / grouped GEMMs for mixture-of-experts kernels)
    "scaled_mm": "float8 scaled matmul", "scaled_grouped_mm": "float8 grouped matmul",
    "grouped_mm": "grouped GEMM kernel",
}


def _public_classes(module):
    return sorted(n for n, v in vars(module).items() if not n.startswith("_") and inspect.isclass(v))


def _public_functions(module):
    return sorted(n for n, v in vars(module).items()
                  if not n.startswith("_") and callable(v) and not inspect.ismodule(v))


def _report(kind, names, excluded, ours):
    wanted = [n for n in names if n not in excluded]
    missing = [n for n in wanted if not hasattr(ours, n)]
    have = len(wanted) - len(missing)
    print(f"{kind}: {have}/{len(wanted)} ({100 * have / max(len(wanted), 1):.0f}%), {len(excluded)} excluded; "
          f"missing: {missing}")
    return missing


def test_exclusions_name_real_torch_names():
    """The lists above only name things PyTorch has (a stale entry would hide nothing, but mislead)."""
    assert set(NN_EXCLUDED) <= set(_public_classes(torch.nn))
    assert set(FUNCTIONAL_EXCLUDED) <= set(_public_functions(torch.nn.functional))


def test_every_torch_nn_class_and_functional_exists():
    missing = _report("torch.nn classes", _public_classes(torch.nn), NN_EXCLUDED, framework.nn)
    missing += _report("torch.nn.functional functions", _public_functions(torch.nn.functional), FUNCTIONAL_EXCLUDED,
                       framework.nn.functional)
    assert not missing, f"missing from framework.nn / framework.nn.functional: {missing}"
