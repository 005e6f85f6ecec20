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


def _needed(roots, captures):
    """The nodes from which a captured node can be reached: all that autograd.grad has to run
    (PyTorch's exec_info). A node off every path to the inputs is skipped (its hooks do not
    run), and the framework's own ops on one are told, through ctx.needs_input_grad, which of
    their inputs lead nowhere, so a convolution asked only for its input's gradient forms no
    weight gradient. Post-order over the graph, iterative like the rest of the engine."""
    needed = {}
    stack = [(node, False) for node in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            needed[node] = node in captures or any(needed.get(nxt, False) for nxt, _ in node.next_functions
                                                   if nxt is not None)
        elif node not in needed:
            needed[node] = False  # (until expanded: its children come off the stack first)
            stack.append((node, True))
            stack.extend((nxt, False) for nxt, _ in node.next_functions if nxt is not None and nxt not in needed)
    return {node for node, on_path in needed.items() if on_path}


_UNSET = object()


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

    needed = None if captures is None else _needed(roots, captures)
    call_backward = _anomaly.checked(_call_backward) if _anomaly.enabled else _call_backward
    prev_mode = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    try:
        ready = [n for n in roots if deps.get(n, 0) == 0]
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * _num_outputs(node)
            if needed is not None and node not in needed:
                continue  # (a root that leads to no input: nothing below it is needed either)
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
            if needed is None:
                outs = call_backward(node, grads) if live else None
            elif live and any(nxt in needed for nxt, _ in node.next_functions):
                outs = _call_pruned(call_backward, node, grads, needed)
            else:
                outs = None  # (a captured node with nothing needed below it)
            if not retain_graph:
                node._release()
            metas = getattr(node, "_input_meta", None)
            for i, (nxt, nr) in enumerate(node.next_functions):
                if nxt is None or (needed is not None and nxt not in needed):
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


def _call_pruned(call_backward, node, grads, needed):
    """The node's backward with ctx.needs_input_grad false for inputs off the path to the
    captured ones (for this call only: a retained graph may be run again in full)."""
    metas = getattr(node, "_input_meta", None)
    if metas is None or not getattr(node, "prunes_inputs", False):
        return call_backward(node, grads)
    state = node.__dict__
    before = state.get("needs_input_grad", _UNSET)
    state["needs_input_grad"] = tuple(meta is not None and nxt in needed
                                      for meta, (nxt, _) in zip(metas, node.next_functions))
    try:
        return call_backward(node, grads)
    finally:
        if before is _UNSET:
            del state["needs_input_grad"]
        else:
            state["needs_input_grad"] = before


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
    if node._materialize_grads:
        for g in grads:  # (a loop, not any(genexpr): this runs for every node)
            if g is None:
                from framework.ops.creation import zeros
                grads = [g if g is not None else zeros(shape, dtype=dtype, device=dev)
                         for g, (shape, dtype, dev) in zip(grads, node._output_meta)]
                break
    outs = type(node).backward(node, *grads)
    if not isinstance(outs, tuple):
        outs = (outs,)
    n_inputs = len(node.next_functions)
    if len(outs) < n_inputs:
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {n_inputs}, got {len(outs)})")
    return outs
