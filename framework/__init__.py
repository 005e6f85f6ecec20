"""A JIT-compiled deep-learning array framework: PyTorch's API on Numba kernels.

`import framework as torch` and the usual tensor, autograd, nn and optim code runs.
"""
from framework import dtypes as _dtypes
from framework.dtypes import get_default_dtype, set_default_dtype
from framework.device import device, get_default_device, set_default_device
from framework.tensor import Size, Tensor
from framework import _methods  # noqa: F401  (binds ops as Tensor methods)
from framework.ops import *  # noqa: F401,F403
from framework.random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from framework.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from framework import autograd
from framework.autograd.grad_mode import is_inference, is_inference_mode_enabled
from framework.autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled

dtype = _dtypes.dtype
float32 = float = _dtypes.float32
float64 = double = _dtypes.float64
int64 = long = _dtypes.int64
int32 = int = _dtypes.int32
int16 = short = _dtypes.int16
int8 = _dtypes.int8
uint8 = _dtypes.uint8
float16 = half = _dtypes.float16
bfloat16 = _dtypes.bfloat16
bool = _dtypes.bool_
complex64 = cfloat = _dtypes.complex64
complex128 = cdouble = _dtypes.complex128

from framework.legacy_types import CPU as _legacy_cpu_types
globals().update(_legacy_cpu_types)

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def is_floating_point(input):
    return input.dtype.is_floating_point


def result_type(tensor1, tensor2):
    return _dtypes.result_type(tensor1, tensor2)


def promote_types(type1, type2):
    return _dtypes.promote_types(type1, type2)


def can_cast(from_, to):
    from framework.ops._util import can_cast as _can_cast
    return _can_cast(from_, to)


from framework.ops.conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,  # noqa: E402
                                conv_transpose3d)
from framework.ops.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,  # noqa: E402
                                   avg_pool1d, avg_pool2d, max_pool1d, max_pool1d_with_indices, max_pool2d,
                                   max_pool3d)
from framework.ops.resample import (channel_shuffle, channel_shuffle as native_channel_shuffle,  # noqa: E402
                                    pixel_shuffle, pixel_unshuffle)
from framework import nn, optim  # noqa: E402  (torch.nn and torch.optim are attributes too)
from framework.nn._torch_level import *  # noqa: E402,F401,F403  (torch.batch_norm, torch.dropout, ...)
from framework import accelerator, backends, cuda, io, profiler, utils  # noqa: E402
import framework.autograd.profiler  # noqa: E402,F401  (torch.autograd.profiler)
from framework.io import load, save  # noqa: E402
from framework import serialization  # noqa: E402  (torch.serialization: add_safe_globals, ...)
# ---- math breadth: torch.fft, torch.linalg, torch.special (replacing the same-named ops submodules that
# `from framework.ops import *` exposed), complex tensors, and the top-level linear-algebra names
import importlib as _importlib  # noqa: E402
fft, linalg, special = (_importlib.import_module(f"framework.{_name}") for _name in ("fft", "linalg", "special"))
from framework.ops.complex import (abs, absolute, angle, complex, conj, conj_physical, imag, is_complex,  # noqa: E402
                                   is_conj, polar, real, resolve_conj, sgn, view_as_complex, view_as_real)
from framework.linalg import det, inverse, logdet, pinverse, slogdet  # noqa: E402
from framework.linalg import matrix_exp, matrix_power  # noqa: E402
from framework.ops.linalg_compat import (addbmm, addmm, addmv, addr, baddbmm, chain_matmul, cholesky,  # noqa: E402
                                         cholesky_inverse, cholesky_solve, frobenius_norm, inner, lu_unpack,
                                         nuclear_norm, qr, svd, triangular_solve, vdot)
from framework import distributions  # noqa: E402  (torch.distributions)
from framework import func  # noqa: E402  (torch.func)
from framework.func import vmap  # noqa: E402  (torch.vmap)
from framework import distributed  # noqa: E402,F401  (torch.distributed; mpi4py loads on init_process_group)
from framework.nn._distance import cosine_similarity, pairwise_distance  # noqa: E402,F401  (torch.*)
from framework.ops.aliases import *  # noqa: E402,F401,F403  (torch.abs_(x), torch.diagonal_copy(x), ...)
from framework.ops.top_level import *  # noqa: E402,F401,F403  (torch.asarray, torch.range, torch.gcd_, ...)
from framework.settings import *  # noqa: E402,F401,F403  (threads, printing, determinism flags)
from framework.ops.common import *  # noqa: E402,F401,F403  (tile, ravel, normal, multinomial, ...)
from framework.ops.tensor_methods import layout, negative_, strided  # noqa: E402,F401  (Tensor method gaps)
from framework import amp  # noqa: E402  (torch.amp)
from framework import export, onnx  # noqa: E402,F401  (torch.export, torch.onnx; the onnx package loads on use)
from framework.amp.autocast_mode import (autocast, clear_autocast_cache, get_autocast_dtype,  # noqa: E402,F401
                                         is_autocast_cache_enabled, is_autocast_enabled, set_autocast_cache_enabled,
                                         set_autocast_dtype, set_autocast_enabled)
from framework.type_info import (channels_last, channels_last_3d, contiguous_format, finfo, iinfo,  # noqa: E402,F401
                                 memory_format, preserve_format)
from framework._compile import compile  # noqa: E402,F401  (torch.compile: fused kernels, framework/_compile)
from framework import library  # noqa: E402,F401  (torch.library.custom_op)
from framework.ops import out_argument as _out_argument  # noqa: E402
_out_argument.install(globals())  # torch.add(a, b, out=c), ...: last, over every function named above
