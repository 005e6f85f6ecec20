"""Numba @cuda.jit kernels, with the same op names and meanings as kernels.cpu.

Imported only by framework.backends.cuda, so a machine without CUDA never loads
numba.cuda. Arrays are flat device buffers; views are (offset, strides) read
through small int64 `meta` arrays that stay on the device."""
