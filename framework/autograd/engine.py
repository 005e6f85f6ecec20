"""The backward engine: reverse-mode differentiation over the recorded graph.

Iterative throughout (an explicit stack for discovery, Kahn's algorithm for
execution), so graphs of any depth work. Gradients for an input are summed,
cast to the input's dtype and reduced to its shape here, once, so backward
rules may return broadcast-shaped gradients.
"""
from framework.autograd import anomaly_mode as _anomaly, grad_mode
from framework.autograd.function import AccumulateGrad, grad_accumulator


def _root_edge(t):
    if t.grad_fn is not None:
        return t.grad_fn, t._output_nr
    if t.requires_grad:
        return grad_accumulator(t), 0
    raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")


def _count_dependencies(roots):
    deps = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _fit(grad, meta):
    """Sum a broadcast gradient back to the input's shape and cast it to the input's dtype."""
    shape, dtype = meta
    if grad._data.shape != shape:
        grad = grad.sum_to_size(shape)
    if grad.dtype is not dtype:
        grad = grad.to(dtype)
    return grad


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None, allow_unused=False):
    """Backpropagate from `tensors`. With `inputs`, return their gradients instead of
    accumulating into `.grad` (autograd.grad); otherwise accumulate into leaves."""
    edges = [_root_edge(t) for t in tensors]
    roots = []
    buffers = {}
    for (node, nr), g in zip(edges, grad_tensors):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * _num_outputs(node)
            roots.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    deps = _count_dependencies(roots)

    captures = None
    results = None
    if inputs is not None:
        captures = {}
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
            node, nr = _root_edge(t)
            captures.setdefault(node, []).append((nr, i))
        results = [None] * len(inputs)

    call_backward = _anomaly.checked(_call_backward) if _anomaly.enabled else _call_backward
    prev_mode = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    try:
        ready = [n for n in roots if deps.get(n, 0) == 0]
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * _num_outputs(node)
            hooks = node._pre_hooks
            if hooks:
                for nr, fns in hooks.items():
                    for fn in list(fns):
                        if grads[nr] is not None:
                            new = fn(grads[nr])
                            if new is not None:
                                grads[nr] = new
            if node._retained:
                _store_retained(node._retained, grads)
            if captures is not None and node in captures:
                for nr, i in captures[node]:
                    results[i] = grads[nr]
            if isinstance(node, AccumulateGrad):
                if captures is None and grads[0] is not None:
                    node.accumulate(grads[0], create_graph)
                    post = getattr(node.variable, "_post_accumulate_grad_hooks", None)
                    if post:  # Tensor.register_post_accumulate_grad_hook
                        for fn in list(post.values()):
                            if fn(node.variable) is not None:
                                raise RuntimeError("Tensor post accumulate grad hooks should return None.")
                continue
            live = grads[0] is not None if len(grads) == 1 else any(g is not None for g in grads)
            outs = call_backward(node, grads) if live else None
            if not retain_graph:
                node._release()
            metas = getattr(node, "_input_meta", None)
            for i, (nxt, nr) in enumerate(node.next_functions):
                if nxt is None:
                    continue
                g = outs[i] if outs is not None and i < len(outs) else None
                if g is not None:
                    if metas is not None:
                        shape, dtype = metas[i]
                        if g._data.shape != shape or g.dtype is not dtype:
                            g = _fit(g, metas[i])
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * _num_outputs(nxt)
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)
            outs = g = grads = None  # drop references, so .grad may take a gradient without copying
    finally:
        grad_mode.state.enabled = prev_mode

    if results is not None:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
    return results


def _store_retained(retained, grads):
    for nr, ref in retained.items():
        t = ref()
        if t is not None and grads[nr] is not None:
            g = grads[nr].detach()
            t.grad = g._detached_owned() if t.grad is None else t.grad + g


def _num_outputs(node):
    meta = getattr(node, "_output_meta", None)
    return len(meta) if meta else 1


def _call_backward(node, grads):
    if node._materialize_grads and any(g is None for g in grads):
        from framework.ops.creation import zeros
        grads = [g if g is not None else zeros(shape, dtype=dtype, device=dev)
                 for g, (shape, dtype, dev) in zip(grads, node._output_meta)]
    outs = type(node).backward(node, *grads)
    if not isinstance(outs, tuple):
        outs = (outs,)
    n_inputs = len(node.next_functions)
    if len(outs) < n_inputs:
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {n_inputs}, got {len(outs)})")
    return outs
