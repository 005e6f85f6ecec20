"""Numba @cuda.jit kernels, with the same op names and meanings as kernels.cpu, one
module per family as there.

Imported only by framework.backends.cuda_backend, so a machine without CUDA never loads
numba.cuda. Arrays are flat device buffers; views are (offset, strides) read
through small int64 `meta` arrays that stay on the device. Launch shapes are the
caller's: every kernel loops (grid-stride or block-stride) so that any grid covers
any size, which also keeps the CUDA simulator's thread count small.

Shared device code is `@cuda.jit(device=True, inline=True)` and may be imported across
modules: a call to a non-inline device function needs a GPU driver to compile to PTX,
which tests/test_cuda_ptx.py checks without one; inlined ones compile. Scalar arithmetic that
the CPU kernels need too is written once, `@shared` (kernels/shared.py), and called from both."""
