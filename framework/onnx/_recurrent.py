"""The recurrent ops of an exported graph as ONNX's LSTM, GRU and RNN operators.

A captured nn.LSTM, GRU or RNN is one `RecurrentLayer` node per layer and direction
(framework/ops/rnn.py) over rows in PackedSequence's layout, (T * B, I) for a padded batch.
Each becomes one ONNX operator of one direction ("forward" or "reverse") over the (T, B, I)
sequence-first input; stacking the layers, concatenating the directions and the states are the
graph's other nodes. PyTorch's gate order (LSTM i f g o, GRU r z n) becomes ONNX's (LSTM i o f
c, GRU z r h) by a Gather of the weights' rows, so the initializers keep PyTorch's names and
layout; PyTorch's GRU resets after the hidden product (`linear_before_reset=1`). ONNX's LSTM
has no projection: an LSTM with proj_size is refused.

A cell's step (LSTMCell, GRUCell, RNNCell: two Linear nodes, then the fused cell) is composed of
elementwise ops.
"""
import numpy as np

from framework.onnx._convert import UnsupportedOp
from framework.ops.rnn import GATES as _GATES

_ONNX_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}


def _reordered(b, name, mode, hidden):
    """A weight's or bias's rows (gates * hidden, ...) in ONNX's gate order, with the leading
    num_directions axis of 1."""
    order = _ONNX_ORDER[mode]
    if order != tuple(range(len(order))):
        rows = np.concatenate([np.arange(g * hidden, (g + 1) * hidden) for g in order]).astype(np.int64)
        name = b.add("Gather", [name, b.const(rows)], axis=0)
    return b.add("Unsqueeze", [name, b.int_list([0])])


def _bias(b, mode, hidden, b_ih, b_hh, dt):
    """ONNX's B, (1, 2 * gates * hidden): the input and hidden biases, a missing one as zeros."""
    if b_ih is None and b_hh is None:
        return ""
    zeros = lambda: b.const(np.zeros(_GATES[mode] * hidden, dt.np))  # noqa: E731
    parts = [b.names[t.name] if t is not None else zeros() for t in (b_ih, b_hh)]
    return b.add("Concat", [_reordered(b, p, mode, hidden) for p in parts], axis=1)


def _recurrent_layer(b, node, mode, reverse, batch_sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
    """One layer and direction: (output rows, h_n[, c_n]) from ONNX's (Y, Y_h[, Y_c])."""
    if w_hr is not None:
        raise UnsupportedOp("RecurrentLayer of an LSTM with proj_size (ONNX's LSTM has no projection)")
    if type(batch_sizes) is dict:
        batch, steps = batch_sizes["batch"], batch_sizes["steps"]
    elif len(set(batch_sizes)) == 1:
        batch, steps = batch_sizes[0], len(batch_sizes)
    else:
        raise UnsupportedOp("RecurrentLayer over a PackedSequence of unequal lengths")
    hidden = b.meta(w_hh).shape[0] // _GATES[mode]
    dt = b.meta(x).dtype
    xs = b.add("Reshape", [b.names[x.name], b.int_list([steps, batch, b.meta(x).shape[1]])])
    inputs = [xs, _reordered(b, b.names[w_ih.name], mode, hidden), _reordered(b, b.names[w_hh.name], mode, hidden),
              _bias(b, mode, hidden, b_ih, b_hh, dt), "", b.add("Unsqueeze", [b.names[h0.name], b.int_list([0])])]
    attrs = {"hidden_size": hidden, "direction": "reverse" if reverse else "forward"}
    if mode == "LSTM":
        op_type = "LSTM"
        inputs.append(b.add("Unsqueeze", [b.names[c0.name], b.int_list([0])]))
    elif mode == "GRU":
        op_type, attrs["linear_before_reset"] = "GRU", 1
    else:
        op_type, attrs["activations"] = "RNN", ["Relu" if mode == "RNN_RELU" else "Tanh"]
    outs = b.add(op_type, inputs, n_out=3 if mode == "LSTM" else 2, **attrs)
    rows = b.add("Reshape", [outs[0], b.int_list(node.meta[0].shape)])  # (T, 1, B, H): rows t * B + b
    return [rows] + [b.add("Squeeze", [o, b.int_list([0])]) for o in outs[1:]]


def _chunks(b, x, width, n):
    """The ONNX value x's `width` columns in n equal parts."""
    if b.opset >= 18:
        return b.add("Split", [x], n_out=n, axis=1, num_outputs=n)
    return b.add("Split", [x, b.const(np.full(n, width // n, dtype=np.int64))], n_out=n, axis=1)


def _gates(b, xg, hg):
    return b.add("Add", [b.names[xg.name], b.names[hg.name]])


def _lstm_cell(b, node, xg, hg, c_prev):
    """c = sigmoid(f) * c_prev + sigmoid(i) * tanh(g), h = sigmoid(o) * tanh(c)."""
    i, f, g, o = _chunks(b, _gates(b, xg, hg), b.meta(xg).shape[1], 4)
    c = b.add("Add", [b.add("Mul", [b.add("Sigmoid", [f]), b.names[c_prev.name]]),
                      b.add("Mul", [b.add("Sigmoid", [i]), b.add("Tanh", [g])])])
    return [b.add("Mul", [b.add("Sigmoid", [o]), b.add("Tanh", [c])]), c]


def _gru_cell(b, node, xg, hg, h_prev):
    """r, z = sigmoid(x_rz + h_rz), n = tanh(x_n + r * h_n), h = (1 - z) * n + z * h_prev."""
    width = b.meta(xg).shape[1]
    xr, xz, xn = _chunks(b, b.names[xg.name], width, 3)
    hr, hz, hn = _chunks(b, b.names[hg.name], width, 3)
    r, z = b.add("Sigmoid", [b.add("Add", [xr, hr])]), b.add("Sigmoid", [b.add("Add", [xz, hz])])
    n = b.add("Tanh", [b.add("Add", [xn, b.add("Mul", [r, hn])])])
    one = b.scalar(1, b.meta(xg).dtype)
    return b.add("Add", [b.add("Mul", [b.add("Sub", [one, z]), n]), b.add("Mul", [z, b.names[h_prev.name]])])


def _rnn_cell(b, node, xg, hg, relu):
    return b.add("Relu" if relu else "Tanh", [_gates(b, xg, hg)])


CONVERTERS = {"RecurrentLayer": _recurrent_layer, "LSTMCellFunction": _lstm_cell, "GRUCellFunction": _gru_cell,
              "RNNCellFunction": _rnn_cell}
