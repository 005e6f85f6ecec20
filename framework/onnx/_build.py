"""The ONNX model of an ExportedProgram: inputs, initializers, converted nodes, outputs."""
import numpy as np
from onnx import helper

from framework.export._graph import Ref, Sym, iter_refs
from framework.onnx import _recurrent
from framework.onnx._convert import CONVERTERS, Builder, UnsupportedOp, onnx_dtype

CONVERTERS = {**CONVERTERS, **_recurrent.CONVERTERS}


def _dims(shape):
    return [s.is_symbol() or str(s) if isinstance(s, Sym) else s for s in shape]


def _array(t):
    t = t.detach().cpu()
    if t.dtype.name == "bfloat16":
        raise RuntimeError("ONNX export: bfloat16 weights are not supported; convert the model to float32 first")
    return np.ascontiguousarray(t.numpy())


def build_model(ep, opset, input_names, output_names, dynamic_axes, export_params, keep_initializers_as_inputs):
    from framework.onnx import UnsupportedOperatorError
    graph = ep.graph
    b = Builder(graph, opset)
    b.used = {r.name for n in graph.nodes for r in n.refs()} | {r.name for r in iter_refs(graph.output)}

    user = [name for name, kind in graph.placeholders if kind == "input"]
    order = [r.name for r in iter_refs(ep._inputs[0])] + [r.name for v in ep._inputs[1].values()
                                                          for r in iter_refs(v)]
    user = [n for n in order if n in user]
    if input_names is not None and len(input_names) > len(user):
        raise ValueError(f"input_names has {len(input_names)} names for {len(user)} tensor inputs")
    inputs, initializers_as_inputs = [], []
    for i, name in enumerate(user):
        onnx_name = input_names[i] if input_names is not None and i < len(input_names) else name
        b.names[name] = onnx_name
        meta = graph.meta[name]
        for d, s in enumerate(meta.shape):
            if isinstance(s, Sym) and s.is_symbol():
                b.symbol_source.setdefault(s.is_symbol(), (onnx_name, d))
        inputs.append(helper.make_tensor_value_info(onnx_name, onnx_dtype(meta.dtype), _dims(meta.shape)))
    for name, kind in graph.placeholders:
        if kind == "input" or name not in b.used:
            continue
        target = ep._targets.get(name, name)
        value = ep.state_dict.get(target) if target in ep.state_dict else ep.constants[target]
        array = _array(value)
        if not export_params:
            inputs.append(helper.make_tensor_value_info(target, onnx_dtype(value.dtype), list(array.shape)))
        else:
            from onnx import numpy_helper
            b.initializers.append(numpy_helper.from_array(array, target))
            if keep_initializers_as_inputs:
                initializers_as_inputs.append(helper.make_tensor_value_info(target, onnx_dtype(value.dtype),
                                                                            list(array.shape)))
        b.names[name] = target

    for node in graph.nodes:
        convert = CONVERTERS.get(node.op)
        where = f" (called at {node.source})" if node.source else ""
        if convert is None:
            raise UnsupportedOperatorError(f"ONNX export: the op {node.op}{where} has no ONNX mapping")
        try:
            outs = convert(b, node, *node.args)
        except UnsupportedOp as exc:
            raise UnsupportedOperatorError(f"ONNX export: {exc}{where} has no ONNX mapping") from None
        outs = [outs] if isinstance(outs, str) else outs
        for name, out in zip(node.outputs, outs):
            if name and out is not None:
                b.names[name] = out

    refs = list(iter_refs(graph.output))
    if any(not isinstance(v, Ref) for v in _leaves(graph.output)):
        raise UnsupportedOperatorError("ONNX export: the model returns non-tensor values; ONNX outputs are tensors")
    if output_names is not None and len(output_names) > len(refs):
        raise ValueError(f"output_names has {len(output_names)} names for {len(refs)} outputs")
    outputs = []
    for i, r in enumerate(refs):
        out_name = output_names[i] if output_names is not None and i < len(output_names) else r.name
        if out_name in {o.name for o in outputs}:
            raise ValueError(f"output name {out_name!r} is used twice")
        b.nodes.append(helper.make_node("Identity", [b.names[r.name]], [out_name], name=b.fresh("n_output")))
        meta = graph.meta[r.name]
        dims = _dims(meta.shape)
        for axis, label in (dynamic_axes.get(out_name, {}).items() if isinstance(dynamic_axes.get(out_name), dict)
                            else ()):
            dims[axis] = str(label)
        outputs.append(helper.make_tensor_value_info(out_name, onnx_dtype(meta.dtype), dims))

    onnx_graph = helper.make_graph(b.nodes, "main_graph", inputs + initializers_as_inputs, outputs,
                                   initializer=b.initializers)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(onnx_graph, opset_imports=opsets, producer_name="framework",
                              ir_version=helper.find_min_ir_version_for(opsets))
    return model


def _leaves(tree):
    if type(tree) in (tuple, list):
        for v in tree:
            yield from _leaves(v)
    elif isinstance(tree, dict):
        for v in tree.values():
            yield from _leaves(v)
    else:
        yield tree
