"""`where`: the one ternary elementwise kernel, on 3-D views of any strides; a size-1 dim
of cond, a or b is broadcast against out's."""
from kernels.cpu._jit import kernel


@kernel
def where(cond, a, b, out):
    for i in range(out.shape[0]):
        ic, ia, ib = (i if cond.shape[0] != 1 else 0), (i if a.shape[0] != 1 else 0), (i if b.shape[0] != 1 else 0)
        for j in range(out.shape[1]):
            jc, ja, jb = (j if cond.shape[1] != 1 else 0), (j if a.shape[1] != 1 else 0), (j if b.shape[1] != 1 else 0)
            for k in range(out.shape[2]):
                kc, ka, kb = (k if cond.shape[2] != 1 else 0), (k if a.shape[2] != 1 else 0), (k if b.shape[2] != 1 else 0)
                out[i, j, k] = a[ia, ja, ka] if cond[ic, jc, kc] else b[ib, jb, kb]
