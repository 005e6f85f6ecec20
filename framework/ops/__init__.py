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
# ---- math breadth: pointwise math, scans, sorts, structure, contractions
from framework.ops.math import (acos, acosh, addcdiv, addcmul, aminmax, arccos, arccosh, arcsin, arcsinh, arctan,
                                arctan2, arctanh, asin, asinh, atan, atan2, atanh, copysign, cosh, count_nonzero, cross,
                                deg2rad, diff, digamma, erfc, erfinv, exp2, float_power, fmax, fmin, frac, heaviside,
                                hypot, i0, isneginf, isposinf, isreal, lgamma, log2, log10, logaddexp, logaddexp2,
                                logit, mvlgamma, nan_to_num, nanmean, nansum, nextafter, polygamma, rad2deg, signbit,
                                sinc, sinh, tan, trapezoid, trapz, xlogy)
from framework.ops.scan import cummax, cummin, cumprod, cumsum, cumulative_trapezoid, logcumsumexp
from framework.ops.sort import (argsort, bincount, bucketize, histc, isin, kthvalue, median, mode, msort, nanmedian,
                                nanquantile, quantile, searchsorted, sort, topk, unique, unique_consecutive)
from framework.ops.structure import (atleast_1d, atleast_2d, atleast_3d, block_diag, cartesian_prod, combinations,
                                     diag, diag_embed, diagflat, diagonal, meshgrid, roll, rot90, take_along_dim,
                                     trace, tril, tril_indices, triu, triu_indices)
from framework.ops.linalg import cdist, einsum, kron, tensordot
from framework.ops.math import corrcoef, cov, dist, fix, frexp, histogram, ldexp, positive, vander
from framework.ops.structure import diagonal_scatter, pdist
from framework.ops.activation import (celu, celu_, hardshrink, prelu, relu_, rrelu, rrelu_, selu, selu_,  # noqa: E501
                                    threshold, threshold_)
from framework.ops.rnn import gru_cell, lstm_cell, rnn_relu_cell, rnn_tanh_cell
# ---- numeric, spectral, top-level linear algebra and control flow
from framework.ops.numeric import (binomial, bitwise_left_shift, bitwise_right_shift, gcd, gradient, histogramdd,
                                   igamma, igammac, lcm, poisson, renorm)
from framework.ops.spectral import (bartlett_window, blackman_window, hamming_window, hann_window, istft,
                                    kaiser_window, stft)
from framework.ops.linalg_top import (adjoint, eig, geqrf, lstsq, lu, lu_solve, matrix_rank, orgqr, ormqr,
                                      pca_lowrank, solve, svd_lowrank, symeig)
from framework.ops.control_flow import cond, while_loop
from framework.ops.scatter_family import (as_strided, as_strided_, as_strided_copy, as_strided_scatter,  # noqa: E501
                                          empty_strided, fill, index_copy, index_fill, index_put, index_put_,
                                          index_reduce, is_signed, masked_scatter, put, scatter_reduce,
                                          select_scatter, slice_scatter, split_with_sizes, split_with_sizes_copy,
                                          unravel_index, unsafe_chunk, unsafe_split, unsafe_split_with_sizes)
