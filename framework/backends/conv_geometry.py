"""Convolution and pooling geometry shared by the backends: every rank is seen as 3-D.

An (N, C, *spatial) array with 1 to 3 spatial dims is viewed as (N, C, D, H, W) with size-1
leading dims, and each per-dim argument becomes a (D, H, W) triple whose added leading
entries are neutral (kernel 1, stride 1, padding 0, dilation 1): one kernel definition
serves conv1d, conv2d and conv3d (and the pools) with no copy per rank. The helpers are
cached: a training loop asks for the same few geometries every step."""
import functools


def triple(values, fill):
    """A per-dim sequence of 1 to 3 ints as a (D, H, W) triple, led by `fill`."""
    return _triple(tuple(values), fill)


@functools.lru_cache(maxsize=4096)
def _triple(values, fill):
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


def geometry(kernel_size, stride, padding, dilation):
    """(k, s, p, d) triples of kernel size, stride, padding and dilation."""
    return triple(kernel_size, 1), triple(stride, 1), triple(padding, 0), triple(dilation, 1)


def spatial3(shape):
    """The (D, H, W) of an (N, C, *spatial) shape."""
    return _triple(tuple(shape[2:]), 1)


def shape5(shape):
    """An (N, C, *spatial) shape as (N, C, D, H, W)."""
    return tuple(shape[:2]) + spatial3(shape)


def conv_out(size, k, s, p, d):
    """Output length of a convolution (or floor-mode pool) along one dim."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1
