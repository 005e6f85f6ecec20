"""Random numbers drawn on the device, counter-based: element i of a draw is
SplitMix64(key + i), so a draw needs no state on the device, only a fresh 64-bit key
from the host generator (no copy to the GPU). Conversions to floats and integers are
separate kernels, so the hash lives in one place."""
import math

from numba import cuda, float64, int64, uint64

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_MIX1 = uint64(0xBF58476D1CE4E5B9)
_MIX2 = uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = uint64(30), uint64(27), uint64(31)


@cuda.jit(cache=True)
def random_bits(out, n, key):
    i = cuda.grid(1)
    while i < n:
        z = key + uint64(i + 1) * _GOLDEN
        z = (z ^ (z >> _S30)) * _MIX1
        z = (z ^ (z >> _S27)) * _MIX2
        out[i] = z ^ (z >> _S31)
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def bits_to_uniform(bits, out, n, shift, scale):
    """Uniform [0, 1) from the top 64 - shift bits (24 for float32, 53 for float64: exact)."""
    i = cuda.grid(1)
    while i < n:
        out[i] = float64(bits[i] >> shift) * scale
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def bits_to_normal(bits, out, n, shift, scale):
    """Standard normal by Box-Muller from bits[2i] (in (0, 1]) and bits[2i + 1]."""
    i = cuda.grid(1)
    while i < n:
        u1 = (float64(bits[2 * i] >> shift) + 1.0) * scale
        u2 = float64(bits[2 * i + 1] >> shift) * scale
        out[i] = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        i += cuda.gridsize(1)


@cuda.jit(cache=True)
def bits_to_integers(bits, out, n, low, span):
    """low + bits mod span."""
    i = cuda.grid(1)
    while i < n:
        out[i] = low + int64(bits[i] % span)
        i += cuda.gridsize(1)
