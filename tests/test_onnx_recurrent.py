"""framework.onnx.export of nn.LSTM, nn.GRU, nn.RNN (ONNX's LSTM/GRU/RNN operators) and of their
cells, run in onnxruntime against the framework (atol 1e-5), with dynamic batch and sequence
axes run at other sizes, and a char-level LSTM language model end to end."""
import io

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed (pip install 'framework[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed (pip install 'framework[onnx]')")

import framework  # noqa: E402
import framework.nn as nn  # noqa: E402
import framework.onnx  # noqa: E402

from test_onnx import _run  # noqa: E402  (export, check, run in onnxruntime, compare)


class Wrap(nn.Module):
    """A recurrent module's outputs flattened: (output, h_n[, c_n]); h0 (and c0) as inputs when given."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, *state):
        if isinstance(self.rnn, nn.LSTM):
            out, (h, c) = self.rnn(x, tuple(state) if state else None)
            return out, h, c
        if isinstance(self.rnn, nn.LSTMCell):
            return self.rnn(x, tuple(state) if state else None)
        return self.rnn(x, *state)


def _state(module, batch):
    """h0 (and c0) of the right sizes, random."""
    d = 2 if module.bidirectional else 1
    h = framework.randn(module.num_layers * d, batch, module.proj_size or module.hidden_size)
    return (h, framework.randn(module.num_layers * d, batch, module.hidden_size)) if module.mode == "LSTM" else (h,)


CONFIGS = {
    "one_layer": {}, "two_layers": {"num_layers": 2}, "bidirectional": {"bidirectional": True},
    "two_layers_bidirectional": {"num_layers": 2, "bidirectional": True}, "no_bias": {"bias": False},
    "batch_first": {"batch_first": True}, "dropout_in_eval": {"num_layers": 2, "dropout": 0.5},
    "everything": {"num_layers": 2, "bidirectional": True, "batch_first": True, "bias": False},
}
KINDS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN, "rnn_relu": lambda *a, **k: nn.RNN(
    *a, nonlinearity="relu", **k)}


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("with_state", [False, True], ids=["no_h0", "h0"])
def test_recurrent_layers(kind, config, with_state):
    framework.manual_seed(0)
    module = KINDS[kind](3, 4, **CONFIGS[config])
    x = framework.randn(2, 5, 3) if module.batch_first else framework.randn(5, 2, 3)
    proto = _run(Wrap(module), [x, *(_state(module, 2) if with_state else ())])
    ops = {n.op_type for n in proto.graph.node}
    assert {"lstm": "LSTM", "gru": "GRU"}.get(kind, "RNN") in ops


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_dynamic_batch_and_sequence_length(kind):
    framework.manual_seed(1)
    module = KINDS[kind](3, 4, num_layers=2, bidirectional=True)
    axes = {"in0": {0: "seq", 1: "batch"}, "in1": {1: "batch"}}
    inputs = [framework.randn(4, 2, 3), *_state(module, 2)]
    if kind == "lstm":
        axes["in2"] = {1: "batch"}
    others = [[framework.randn(t, b, 3), *_state(module, b)] for t, b in ((7, 3), (1, 1), (9, 5))]
    proto = _run(Wrap(module), inputs, axes=axes, others=others)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert (dims[0].dim_param, dims[1].dim_param) == ("seq", "batch")


def test_batch_first_dynamic_axes():
    framework.manual_seed(2)
    module = nn.GRU(3, 4, batch_first=True)
    _run(Wrap(module), [framework.randn(2, 3, 3)], axes={"in0": {0: "batch", 1: "seq"}},
         others=[[framework.randn(5, 8, 3)], [framework.randn(1, 1, 3)]])


def test_unbatched_input():
    framework.manual_seed(3)
    _run(Wrap(nn.LSTM(3, 4, num_layers=2)), [framework.randn(5, 3)])
    _run(Wrap(nn.GRU(3, 4, bidirectional=True)), [framework.randn(5, 3), framework.randn(2, 4)])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_float64_is_valid_onnx(kind):
    """(onnxruntime's LSTM, GRU and RNN kernels are float32 only: the model is checked, not run.)"""
    model = Wrap(KINDS[kind](3, 4, bidirectional=True).double()).eval()
    proto = framework.onnx.export(model, (framework.randn(5, 2, 3).double(),)).model_proto
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_lstm_with_proj_size_is_refused_clearly():
    with pytest.raises(framework.onnx.UnsupportedOperatorError, match="proj_size"):
        framework.onnx.export(Wrap(nn.LSTM(3, 4, proj_size=2)).eval(), (framework.randn(5, 2, 3),))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_state", [False, True], ids=["no_h0", "h0"])
def test_cells(cell, bias, with_state):
    framework.manual_seed(5)
    module = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn_tanh": nn.RNNCell,
              "rnn_relu": lambda *a, **k: nn.RNNCell(*a, nonlinearity="relu", **k)}[cell](3, 4, bias=bias)
    state = ()
    if with_state:
        state = (framework.randn(2, 4), framework.randn(2, 4)) if cell == "lstm" else (framework.randn(2, 4),)
    axes = {f"in{i}": {0: "batch"} for i in range(1 + len(state))}
    _run(Wrap(module), [framework.randn(2, 3), *state], axes=axes,
         others=[[framework.randn(5, 3), *(framework.randn(5, 4) for _ in state)]])


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_opsets(opset):
    framework.manual_seed(6)
    model = Wrap(nn.GRUCell(3, 4)).eval()
    f = io.BytesIO()
    framework.onnx.export(model, (framework.randn(2, 3),), f, opset_version=opset)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    x = framework.randn(2, 3)
    np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0], model(x).detach().numpy(),
                               atol=1e-5)


class CharLM(nn.Module):
    """A char-level language model: Embedding -> 2-layer LSTM -> Linear, logits per position."""

    def __init__(self, vocab=11, embed=6, hidden=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=2, batch_first=True, dropout=0.1)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids):
        out, _ = self.lstm(self.embed(ids))
        return self.head(out)


def test_char_level_lstm_language_model_end_to_end(tmp_path):
    """Train a few steps on a tiny corpus, export with dynamic batch and length, save to a file,
    run in onnxruntime: the logits and the greedy next characters agree."""
    framework.manual_seed(7)
    text = "hello world, hello onnx. "
    chars = sorted(set(text))
    ids = framework.tensor([chars.index(c) for c in text])
    model = CharLM(vocab=len(chars))
    opt = framework.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(5):
        batch = framework.stack([ids[i:i + 8] for i in (0, 3, 9)])
        target = framework.stack([ids[i + 1:i + 9] for i in (0, 3, 9)])
        loss = nn.functional.cross_entropy(model(batch).reshape(-1, len(chars)), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    path = tmp_path / "charlm.onnx"
    framework.onnx.export(model, (ids[:8].unsqueeze(0),), str(path), input_names=["ids"], output_names=["logits"],
                          dynamic_axes={"ids": {0: "batch", 1: "length"}, "logits": {0: "batch", 1: "length"}})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for sample in (ids[:8].unsqueeze(0), framework.stack([ids[2:15], ids[5:18], ids[0:13]]), ids[:1].unsqueeze(0)):
        got = sess.run(None, {"ids": sample.numpy()})[0]
        with framework.no_grad():
            want = model(sample).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        assert (got.argmax(-1) == want.argmax(-1)).all()


def test_exported_program_with_a_dynamic_sequence_runs_and_saves(tmp_path):
    """The captured graph itself (framework.export) takes other sequence lengths, before and after save/load."""
    from framework.export import Dim, export, load, save
    framework.manual_seed(8)
    model = Wrap(nn.LSTM(3, 4, num_layers=2, bidirectional=True)).eval()
    ep = export(model, (framework.randn(4, 2, 3),), dynamic_shapes={"x": {0: Dim("seq"), 1: Dim("batch")}})
    assert "'steps': seq" in str(ep.graph)
    save(ep, tmp_path / "lstm.fwp")
    for m in (ep.module(), load(tmp_path / "lstm.fwp").module()):
        x = framework.randn(7, 3, 3)
        for g, w in zip(m(x), model(x)):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-6, atol=1e-6)
