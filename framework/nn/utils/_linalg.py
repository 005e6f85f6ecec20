"""What the orthogonal parametrization needs beyond framework.linalg (matrix_exp, solve):
householder_product composed of differentiable ops (matmul, masks), and QR-based
orthogonalisation and geqrf, which need no gradient (NumPy's LAPACK on the host: they run
once per assignment of the weight)."""
import numpy as np

import framework


def eye_like(x, n, k=None):
    return framework.eye(n, n if k is None else k, dtype=x.dtype, device=x.device)


def tril(x, diagonal=0):
    """The lower triangle (j <= i + diagonal) of the last two dims."""
    n, k = x.shape[-2], x.shape[-1]
    rows = framework.arange(n, device=x.device).unsqueeze(1)
    cols = framework.arange(k, device=x.device)
    return x * (cols <= rows + diagonal).to(x.dtype)


def diagonal(x):
    """The main diagonal of the last two dims, as (..., min(n, k))."""
    n, k = x.shape[-2], x.shape[-1]
    m = min(n, k)
    return (x[..., :m, :m] * eye_like(x, m)).sum(-2)


def householder_product(a, tau):
    """H_0 H_1 ... H_{k-1} (first k columns) with H_i = I - tau_i v_i v_i^T and v_i column i of the
    unit lower-trapezoidal part of A (..., n, k): torch.linalg.householder_product for real A."""
    n, k = a.shape[-2], a.shape[-1]
    v = tril(a, -1) + eye_like(a, n, k)
    q = eye_like(a, n).expand(*a.shape[:-2], n, n)
    for i in range(k):
        vi = v[..., :, i:i + 1]
        q = q - (q @ vi) @ vi.transpose(-2, -1) * tau[..., i:i + 1].unsqueeze(-1)
    return q[..., :, :k]


def make_orthogonal(a):
    """Q of the QR decomposition of A with R's diagonal made positive (Q * sign(diag R))."""
    values = a.detach().cpu().numpy()
    q, r = np.linalg.qr(values)
    signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    return framework.tensor(q * signs[..., None, :], dtype=a.dtype).to(a.device)


def geqrf(a):
    """(A, tau) of LAPACK's geqrf (R above the diagonal, Householder vectors below) for (..., n, k)."""
    values = a.detach().cpu().numpy()
    flat = values.reshape(-1, *values.shape[-2:])
    hs, taus = [], []
    for m in flat:
        h, tau = np.linalg.qr(m, mode="raw")
        hs.append(h.T)
        taus.append(tau)
    shape = values.shape
    h = np.stack(hs).reshape(shape)
    tau = np.stack(taus).reshape(shape[:-2] + (min(shape[-2:]),))
    return (framework.tensor(h, dtype=a.dtype).to(a.device), framework.tensor(tau, dtype=a.dtype).to(a.device))
