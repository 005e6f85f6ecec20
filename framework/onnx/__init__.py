"""framework.onnx.export: a model as an ONNX file, with torch.onnx.export's signature.

    framework.onnx.export(model.eval(), (x,), "model.onnx", input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})

The model is captured by framework.export (the same graph `framework.export.save` writes)
and each op of the graph becomes ONNX nodes (framework/onnx/_convert.py) through the `onnx`
package's helpers; the model is checked with `onnx.checker` before it is written. The
default opset is 18 (17 or later). An op with no ONNX mapping raises an error naming it and
the source line that called it. Needs the `onnx` extra (`pip install framework[onnx]`).
"""
import os

__all__ = ["export", "ONNXProgram", "UnsupportedOperatorError"]

DEFAULT_OPSET = 18
MIN_OPSET = 17


class UnsupportedOperatorError(RuntimeError):
    """An op of the graph has no ONNX mapping."""


class ONNXProgram:
    """The exported model: `.model_proto` (an onnx.ModelProto) and `.save(path)`."""

    def __init__(self, model_proto, exported_program):
        self.model_proto = model_proto
        self.exported_program = exported_program

    def save(self, destination):
        import onnx
        onnx.save(self.model_proto, destination)

    def __repr__(self):
        import onnx
        return f"ONNXProgram(\n{onnx.helper.printable_graph(self.model_proto.graph)}\n)"


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("framework.onnx needs the `onnx` package: pip install 'framework[onnx]' "
                          "(or pip install onnx onnxruntime)") from None
    return onnx


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None, output_names=None,
           opset_version=None, dynamic_axes=None, dynamic_shapes=None, export_params=True,
           keep_initializers_as_inputs=False, do_constant_folding=True, training=None, dynamo=True,
           external_data=False, **ignored):
    """Export `model` (an nn.Module, or an ExportedProgram) run on `args` to ONNX; written to `f`
    (a path or a binary file) when given. Returns an ONNXProgram."""
    onnx = _import_onnx()
    from framework import export as fx
    from framework.nn import Module
    from framework.tensor import Tensor

    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < MIN_OPSET:
        raise ValueError(f"opset_version {opset} is not supported; use {MIN_OPSET} or later")
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    kwargs = dict(kwargs or {})
    if isinstance(model, fx.ExportedProgram):
        ep = model
    else:
        if not isinstance(model, Module):
            raise TypeError(f"framework.onnx.export expects an nn.Module or an ExportedProgram, got "
                            f"{type(model).__name__}")
        if dynamic_shapes is None and dynamic_axes:
            dynamic_shapes = _dynamic_shapes_from_axes(model, args, kwargs, input_names, dynamic_axes)
        ep = fx.export(model, args, kwargs, dynamic_shapes=dynamic_shapes)
    from framework.onnx._build import build_model
    proto = build_model(ep, opset, input_names, output_names, dynamic_axes or {}, export_params,
                        keep_initializers_as_inputs)
    onnx.checker.check_model(proto, full_check=True)
    program = ONNXProgram(proto, ep)
    if f is not None:
        if isinstance(f, (str, os.PathLike)):
            onnx.save(proto, os.fspath(f))
        else:
            f.write(proto.SerializeToString())
    if verbose:
        print(program)
    return program


def _dynamic_shapes_from_axes(model, args, kwargs, input_names, dynamic_axes):
    """torch.onnx's dynamic_axes ({input name: {dim: name}} or {input name: [dims]}) as
    framework.export's dynamic_shapes (one Dim per name)."""
    from framework.export import Dim
    from framework.export import _input_names
    arg_names, _ = _input_names(model, args, kwargs)
    names = list(input_names or []) + arg_names[len(input_names or []):]
    dims, shapes = {}, [None] * len(args)
    for key, axes in dynamic_axes.items():
        if key not in names[:len(args)]:
            continue  # an output's axes: they only name the output's dims
        i = names.index(key)
        if isinstance(axes, dict):
            items = axes.items()
        else:
            items = ((a, f"{key}_dynamic_axes_{j + 1}") for j, a in enumerate(axes))
        spec = {}
        for axis, label in items:
            label = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in str(label))
            if not label or label[0].isdigit():
                label = "d_" + label
            spec[axis] = dims.setdefault(label, Dim(label))
        shapes[i] = spec
    return tuple(shapes) + tuple(None for _ in kwargs)
