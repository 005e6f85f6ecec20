"""`exp`, `log` and `tanh` for CPU kernels that LLVM can vectorise.

Numba calls libm's expf/logf/tanhf one element at a time (no SVML here), a third of
NumPy's speed. For float32 these are Cephes' expf/logf/tanhf polynomials instead, with
2**k built from (and the exponent read out of) the float's bits, so a loop over them
compiles to SIMD code; about 1 ulp from the correctly rounded result. float64 keeps
libm's.
"""
import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)  # few bits: k * _LN2_HI is exact for every |k| <= 150
_LN2_LO = np.float32(-2.12194440e-4)
_EXP_P = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                                       1.6666665459e-1, 5.0000001201e-1))
_TANH_P = tuple(np.float32(c) for c in (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2,
                                        1.33314422036e-1, -3.33332819422e-1))
_EXP_LO, _EXP_HI = np.float32(-104.0), np.float32(89.0)  # exp is 0 / inf beyond: clamping changes nothing
_ONE, _TWO, _HALF, _TANH_SMALL = np.float32(1.0), np.float32(2.0), np.float32(0.5), np.float32(0.625)
_BIAS = np.int32(127)
_MANTISSA_BITS = np.int32(23)
_LOG_P = tuple(np.float32(c) for c in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                                       1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                                       3.3333331174e-1))
_SQRT_HALF = np.float32(0.707106781186547524)
_SMALLEST_NORMAL, _TWO_23 = np.float32(1.17549435e-38), np.float32(8388608.0)
_INF = np.float32(np.inf)
_MANTISSA_MASK, _HALF_EXPONENT = np.int32(0x007FFFFF), np.int32(0x3F000000)  # 0x3F000000: the bits of 0.5


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE bits are the low 32 bits of the integer `bits` (a bitcast, no
    conversion; Numba widens int32 arithmetic to int64, so this takes either)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        low = builder.trunc(args[0], ir.IntType(32)) if bits.bitwidth > 32 else args[0]
        return builder.bitcast(low, ir.FloatType())
    return types.float32(bits), codegen


@intrinsic
def _muladd(typingctx, a, b, c):
    """a * b + c as one fused multiply-add where the CPU has one (LLVM's fmuladd: a mul and an
    add where it has not); a Horner step of the polynomials below in one instruction instead of
    two (exp 20% faster, and no less accurate)."""
    if not (a == b == c == types.float32):
        return None

    def codegen(context, builder, signature, args):
        f32 = ir.FloatType()
        fn = builder.module.declare_intrinsic("llvm.fmuladd", [f32], ir.FunctionType(f32, [f32, f32, f32]))
        return builder.call(fn, args)
    return types.float32(a, b, c), codegen


@intrinsic
def _bits_from_float32(typingctx, x):
    """The IEEE bits of the float32 `x` as an int32 (a bitcast, no conversion)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(x), codegen


def exp(x):
    """exp(x); inside Numba kernels, the vectorisable version below."""
    return math.exp(x)


def tanh(x):
    """tanh(x); inside Numba kernels, the vectorisable version below."""
    return math.tanh(x)


def log(x):
    """log(x); inside Numba kernels, the vectorisable version below."""
    return math.log(x)


@overload(exp, inline="always")
def _exp(x):
    if x != types.float32:
        return lambda x: math.exp(x)

    def exp_float32(x):
        xc = x if x > _EXP_LO else _EXP_LO  # NaN takes a branch here and is restored at the end
        xc = xc if xc < _EXP_HI else _EXP_HI
        k = np.floor(xc * _LOG2E + _HALF)
        r = xc - k * _LN2_HI - k * _LN2_LO
        p = _EXP_P[0]
        for c in _EXP_P[1:]:
            p = _muladd(p, r, c)
        p = _muladd(p, r * r, r) + _ONE
        ki = np.int32(k)
        half = ki >> 1  # 2**k as two factors, so that k in [-150, 128] never leaves the exponent range
        y = p * _float32_from_bits((half + _BIAS) << _MANTISSA_BITS)
        y = y * _float32_from_bits((ki - half + _BIAS) << _MANTISSA_BITS)
        return y if x == x else x
    return exp_float32


@overload(tanh, inline="always")
def _tanh(x):
    if x != types.float32:
        return lambda x: math.tanh(x)

    def tanh_float32(x):
        ax = abs(x)
        big = _ONE - _TWO / (exp(_TWO * ax) + _ONE)  # exp overflows to inf for large |x|: exactly 1
        big = -big if x < 0 else big
        z = x * x
        p = _TANH_P[0]
        for c in _TANH_P[1:]:
            p = _muladd(p, z, c)
        small = _muladd(p * z, x, x)
        return small if ax < _TANH_SMALL else big
    return tanh_float32


@overload(log, inline="always")
def _log(x):
    if x != types.float32:
        return lambda x: math.log(x)

    def log_float32(x):
        tiny = x < _SMALLEST_NORMAL  # denormals: scale into the normal range first
        xs = x * _TWO_23 if tiny else x
        bits = _bits_from_float32(xs)
        e = ((bits >> _MANTISSA_BITS) & np.int32(0xFF)) - np.int32(126)
        e = e - np.int32(23) if tiny else e
        m = _float32_from_bits((bits & _MANTISSA_MASK) | _HALF_EXPONENT)  # xs = m * 2**e, m in [0.5, 1)
        low = m < _SQRT_HALF
        e = e - np.int32(1) if low else e
        m = (m + m - _ONE) if low else (m - _ONE)
        fe = np.float32(e)
        z = m * m
        p = _LOG_P[0]
        for c in _LOG_P[1:]:
            p = _muladd(p, m, c)
        y = p * m * z + fe * _LN2_LO - _HALF * z
        y = m + y + fe * _LN2_HI
        if x > 0 and x < _INF:
            return y
        if x == 0:
            return -_INF
        return x if x == _INF else (x - x) / (x - x)  # nan for x < 0 and for nan
    return log_float32


# ----------------------------------------------------------------- float32 extremes as integer maxima
# A row max over float32 needs a select and a NaN test per element, which LLVM vectorises only
# in lanes the code spells out; the IEEE bits, with the negative half flipped, are an int32 key
# ordered as the floats are, and an integer max is one vpmaxsd that LLVM vectorises by itself
# (a 4096x1024 row max: 0.65 -> 0.40 ms). Helpers for framework.compile's generated row kernels.
_NOT_SIGN, _INF_BITS = np.int32(0x7FFFFFFF), np.int32(0x7F800000)


@register_jitable(inline="always")
def float32_bits(x):
    """The IEEE bits of the float32 x."""
    return _bits_from_float32(x)


@register_jitable(inline="always")
def order_key(bits):
    """An int32 ordered as the float32 whose bits these are (-0.0 just below +0.0, the
    infinities at the ends); its own inverse."""
    return np.int32(bits ^ ((bits >> np.int32(31)) & _NOT_SIGN))


@register_jitable(inline="always")
def float32_of_key(key):
    return _float32_from_bits(order_key(key))


@register_jitable(inline="always")
def magnitude_bits(bits):
    """The bits without the sign: above those of inf exactly for a NaN."""
    return np.int32(bits & _NOT_SIGN)


NAN_ABOVE = _INF_BITS
KEY_OF_INF, KEY_OF_NEG_INF = np.int32(0x7F800000), np.int32(-0x7F800000 - 1)
