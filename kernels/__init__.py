"""Compiled kernels: plain arrays in, arrays out.

Nothing here imports `framework`: kernels know nothing of Tensor or autograd.
`kernels.scalar` holds the one scalar definition of every elementwise op; each
target (`kernels.cpu`, later `kernels.cuda`) compiles loops around it.
"""
