"""Every tensor operation, as functions of tensors. `framework` re-exports them
and `framework._methods` binds them as Tensor methods."""
from framework.ops.conversion import to, type_as
from framework.ops.creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace,
                                    ones, ones_like, rand, rand_like, randint, randint_like, randn, randn_like,
                                    randperm, tensor, zeros, zeros_like)
from framework.ops.elementwise import (abs, absolute, add, allclose, bitwise_and, bitwise_not, bitwise_or,
                                       bitwise_xor, ceil, clamp, clamp_max, clamp_min, clip, cos, div, divide, eq,
                                       equal, erf, exp, expm1, floor, floor_divide, fmod, ge, greater, greater_equal,
                                       gt, isclose, isfinite, isinf, isnan, le, lerp, less, less_equal, log, log1p,
                                       logical_and, logical_not, logical_or, logical_xor, lt, masked_fill, maximum,
                                       minimum, mul, multiply, ne, neg, negative, not_equal, pow, reciprocal,
                                       relu, remainder, round, rsqrt, rsub, sigmoid, sign, sin, sqrt, square, sub,
                                       subtract, tanh, true_divide, trunc, where)
from framework.ops.indexing import (argwhere, gather, index_add, index_select, masked_select, nonzero, scatter, scatter_add,
                                    take)
from framework.ops.linalg import bmm, dot, ger, matmul, mm, mv, outer
from framework.ops.reduction import (all, amax, amin, any, argmax, argmin, log_softmax, logsumexp, max, mean, min,
                                     norm, prod, softmax, std, std_mean, sum, var, var_mean)
from framework.ops.shape import (broadcast_tensors, broadcast_to, cat, chunk, clone, concat, concatenate,
                                 contiguous, expand, flatten, flip, fliplr, flipud, hstack, movedim, narrow, permute,
                                 repeat, reshape, select, split, squeeze, stack, swapaxes, swapdims, t, tensor_split,
                                 transpose, unbind, unflatten, unsqueeze, view, vstack)
