"""Finite-difference checks of analytical gradients, as torch.autograd.gradcheck."""


def _inputs_needing_grad(inputs):
    from framework.tensor import Tensor
    return [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]


def _flat_outputs(fn, inputs):
    from framework.tensor import Tensor
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.is_floating_point]


def _numerical(fn, inputs, idx, eps):
    """d(outputs)/d(inputs[idx]) by central differences: one Jacobian per output."""
    import numpy as np
    x = inputs[idx]
    # Not under no_grad: the function may itself take gradients (gradgradcheck).
    base = _flat_outputs(fn, inputs)
    jac = [np.zeros((x.numel(), o.numel())) for o in base]
    flat = x.device.backend.to_host(x._data).reshape(-1)
    if not np.shares_memory(flat, x._data):
        raise ValueError("gradcheck needs contiguous CPU inputs")
    for k in range(x.numel()):
        orig = flat[k].item()
        flat[k] = orig + eps
        plus = [o.numpy(force=True).reshape(-1).astype(np.float64) for o in _flat_outputs(fn, inputs)]
        flat[k] = orig - eps
        minus = [o.numpy(force=True).reshape(-1).astype(np.float64) for o in _flat_outputs(fn, inputs)]
        flat[k] = orig
        for j, (p, m) in enumerate(zip(plus, minus)):
            jac[j][k] = (p - m) / (2 * eps)
    return jac


def _analytical(fn, inputs, idx_list):
    """Jacobians by backpropagating each basis vector of each output."""
    import numpy as np
    from framework.autograd import grad
    from framework.ops.creation import zeros_like
    outs = _flat_outputs(fn, inputs)
    jacs = {i: [np.zeros((inputs[i].numel(), o.numel())) for o in outs] for i in idx_list}
    for j, o in enumerate(outs):
        for k in range(o.numel()):
            g = zeros_like(o)
            g._data.reshape(-1)[k] = 1
            if not o.requires_grad:
                continue
            res = grad([o], [inputs[i] for i in idx_list], [g], retain_graph=True, allow_unused=True)
            for i, r in zip(idx_list, res):
                if r is not None:
                    jacs[i][j][:, k] = r.numpy(force=True).reshape(-1)
    return jacs


def gradcheck(func, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_):
    """True when analytical and numerical Jacobians agree; inputs should be float64."""
    import numpy as np
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    idx_list = _inputs_needing_grad(inputs)
    for i in idx_list:
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"gradcheck input {i} is {inputs[i].dtype}, not float64: the check may fail for precision")
    analytical = _analytical(func, inputs, idx_list)
    for i in idx_list:
        numerical = _numerical(func, inputs, i, eps)
        for j, (a, n) in enumerate(zip(analytical[i], numerical)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    raise RuntimeError(f"Jacobian mismatch for output {j} with respect to input {i},\n"
                                       f"numerical:{n}\nanalytical:{a}\n")
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_):
    """gradcheck of the first derivative: checks second-order gradients built with create_graph."""
    from framework.autograd import grad
    from framework.ops.creation import randn
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    idx_list = _inputs_needing_grad(inputs)
    outs = _flat_outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = [randn(o.shape, dtype=o.dtype).requires_grad_() for o in outs]
    n_in = len(inputs)

    def first_derivative(*args):
        xs, gs = args[:n_in], args[n_in:]
        outs = _flat_outputs(func, xs)
        res = grad(outs, [xs[i] for i in idx_list], list(gs), create_graph=True, allow_unused=True)
        return tuple(r for r in res if r is not None)

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
