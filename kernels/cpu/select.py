"""`where`: the one ternary elementwise kernel, on 3-D views of any strides."""
from kernels.cpu._jit import kernel


@kernel
def where(cond, a, b, out):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for k in range(out.shape[2]):
                out[i, j, k] = a[i, j, k] if cond[i, j, k] else b[i, j, k]
