"""RNN, LSTM, GRU and their cells against PyTorch on copied weights: outputs, final states,
and the gradients of the input, the initial states and every weight, on every device; the
fused cell kernels and the layer Function by finite differences (first and second order);
PyTorch's errors for bad arguments."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import framework
from framework.ops import rnn as F_rnn
from helpers import assert_same, check, check_raises, gradcheck, randn

ATOL, RTOL = 1e-5, 1e-4


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: framework.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _tensors(out):
    """Every tensor of a module's result, in order (a PackedSequence gives its data)."""
    if isinstance(out, (framework.nn.utils.rnn.PackedSequence, torch.nn.utils.rnn.PackedSequence)):
        return [out.data]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    return [out]


def _pack(lib, seqs, enforce_sorted):
    return lib.nn.utils.rnn.pack_sequence(seqs, enforce_sorted=enforce_sorted)


def compare(make, x, *states, device, packed=None, train=False, dtype=np.float32, atol=ATOL, rtol=RTOL):
    """Run make(nn) of both libraries on copied weights: x a padded input array, or with
    packed=(lengths, enforce_sorted) the sequences x[:length, i] packed; states are arrays (an
    LSTM's (h0, c0) when there are two). Compares outputs, states and every gradient."""
    theirs = make(torch.nn)
    ours = make(framework.nn)
    if dtype == np.float64:
        theirs, ours = theirs.double(), ours.double()
    _copy_weights(ours, theirs)
    ours.to(device)
    theirs.train(train)
    ours.train(train)
    arrays = [x.astype(dtype)] + [s.astype(dtype) for s in states]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    f_in = [framework.tensor(a, device=device, requires_grad=True) for a in arrays]

    def call(lib, module, inputs):
        data, *hidden = inputs
        if packed is not None:
            lengths, enforce_sorted = packed
            data = _pack(lib, [data[:n, i] for i, n in enumerate(lengths)], enforce_sorted)
        if not hidden:
            return module(data)
        return module(data, tuple(hidden) if len(hidden) == 2 else hidden[0])

    out_t, out_f = _tensors(call(torch, theirs, t_in)), _tensors(call(framework, ours, f_in))
    assert len(out_t) == len(out_f)
    for i, (o, t) in enumerate(zip(out_f, out_t)):
        assert_same(o, t, atol, rtol, f"output {i}")
    seeds = [randn(*t.shape).astype(dtype) for t in out_t]
    torch.autograd.backward(out_t, [torch.tensor(s) for s in seeds])
    framework.autograd.backward(out_f, [framework.tensor(s, device=device) for s in seeds])
    for i, (a, b) in enumerate(zip(f_in, t_in)):
        assert_same(a.grad, b.grad, atol * 10, rtol * 10, f"grad of input {i}")
    theirs_params = dict(theirs.named_parameters())
    names = [n for n, _ in ours.named_parameters()]
    assert names == list(theirs_params), "parameter names and order"
    for name, p in ours.named_parameters():
        assert_same(p.grad, theirs_params[name].grad, atol * 10, rtol * 10, f"grad of {name}")
    return ours, theirs


T_, B_, I_, H_ = 3, 2, 3, 2  # tiny: the CUDA simulator runs every thread in Python

MODULES = {
    "rnn_tanh_h0": (lambda nn: nn.RNN(I_, H_), [(T_, B_, I_), (1, B_, H_)]),
    "rnn_relu_2layers_nobias": (lambda nn: nn.RNN(I_, 4, 2, nonlinearity="relu", bias=False), [(T_, B_, I_)]),
    "rnn_bidirectional_batch_first": (lambda nn: nn.RNN(I_, H_, 2, batch_first=True, bidirectional=True),
                                      [(B_, T_, I_), (4, B_, H_)]),
    "lstm_h0_c0": (lambda nn: nn.LSTM(I_, H_), [(T_, B_, I_), (1, B_, H_), (1, B_, H_)]),
    "lstm_2layers_bidirectional": (lambda nn: nn.LSTM(I_, H_, 2, bidirectional=True),
                                   [(T_, B_, I_), (4, B_, H_), (4, B_, H_)]),
    "lstm_proj_batch_first_bidirectional": (
        lambda nn: nn.LSTM(I_, 4, 2, proj_size=2, batch_first=True, bidirectional=True),
        [(B_, T_, I_), (4, B_, 2), (4, B_, 4)]),
    "lstm_nobias": (lambda nn: nn.LSTM(I_, H_, bias=False), [(T_, B_, I_)]),
    "lstm_dropout_eval": (lambda nn: nn.LSTM(I_, H_, 2, dropout=0.5), [(T_, B_, I_)]),
    "gru_h0": (lambda nn: nn.GRU(I_, H_), [(T_, B_, I_), (1, B_, H_)]),
    "gru_2layers_bidirectional_batch_first": (lambda nn: nn.GRU(I_, H_, 2, batch_first=True, bidirectional=True),
                                              [(B_, T_, I_)]),
    "gru_nobias": (lambda nn: nn.GRU(I_, H_, bias=False), [(T_, B_, I_), (1, B_, H_)]),
    "rnn_unbatched": (lambda nn: nn.RNN(I_, H_, 2), [(T_, I_), (2, H_)]),
    "lstm_unbatched": (lambda nn: nn.LSTM(I_, 3, proj_size=2, bidirectional=True), [(T_, I_), (2, 2), (2, 3)]),
    "gru_unbatched_batch_first": (lambda nn: nn.GRU(I_, H_, batch_first=True), [(T_, I_)]),
    "lstm_one_step": (lambda nn: nn.LSTM(I_, H_), [(1, B_, I_)]),
}


@pytest.mark.parametrize("name", MODULES)
def test_module_matches_pytorch(name, device):
    make, shapes = MODULES[name]
    compare(make, *[randn(*s) for s in shapes], device=device)


PACKED = {  # (make, lengths, enforce_sorted, state shapes)
    "rnn_unsorted": (lambda nn: nn.RNN(I_, H_), (2, 3, 1), False, [(1, 3, H_)]),
    "lstm_sorted": (lambda nn: nn.LSTM(I_, H_), (3, 2, 2), True, []),
    "lstm_bidirectional_unsorted_h0": (lambda nn: nn.LSTM(I_, H_, 2, bidirectional=True), (1, 3, 2), False,
                                       [(4, 3, H_), (4, 3, H_)]),
    "lstm_proj_unsorted": (lambda nn: nn.LSTM(I_, 3, proj_size=1, bidirectional=True), (2, 1, 3), False, []),
    "gru_bidirectional_unsorted": (lambda nn: nn.GRU(I_, H_, bidirectional=True), (2, 3, 3), False,
                                   [(2, 3, H_)]),
    "gru_one_sequence": (lambda nn: nn.GRU(I_, H_, 2), (3,), True, []),
}


@pytest.mark.parametrize("name", PACKED)
def test_packed_sequence_matches_pytorch(name, device):
    make, lengths, enforce_sorted, shapes = PACKED[name]
    x = randn(max(lengths), len(lengths), I_)
    compare(make, x, *[randn(*s) for s in shapes], device=device, packed=(lengths, enforce_sorted))


def test_float64(device):
    compare(lambda nn: nn.GRU(I_, H_, bidirectional=True), randn(T_, B_, I_), randn(2, B_, H_), device=device,
            dtype=np.float64, atol=1e-10, rtol=1e-9)
    compare(lambda nn: nn.LSTM(I_, H_), randn(T_, B_, I_), device=device, dtype=np.float64, atol=1e-10, rtol=1e-9)


def test_dropout_between_layers(device):
    # p = 1 zeroes every layer's output but the last's in training: deterministic, comparable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda nn: nn.GRU(I_, H_, 3, dropout=1.0), randn(T_, B_, I_), device=device, train=True)
    m = framework.nn.LSTM(I_, H_, 2, dropout=0.5).to(device)
    x = framework.tensor(randn(T_, B_, I_), device=device)
    framework.manual_seed(0)
    a = m(x)[0]
    framework.manual_seed(1)
    b = m(x)[0]
    assert not np.allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy()), "dropout draws no masks"
    m.eval()
    c, d = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(c.detach().cpu().numpy(), d.detach().cpu().numpy())
    m.train()
    m.dropout = 0.0
    np.testing.assert_array_equal(m(x)[0].detach().cpu().numpy(), c.detach().cpu().numpy())


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]), layers=st.integers(1, 2),
       bidirectional=st.booleans(), batch_first=st.booleans(), bias=st.booleans(), proj=st.booleans(),
       steps=st.integers(1, 3), batch=st.integers(1, 3), input_size=st.integers(1, 3), hidden=st.integers(2, 3),
       with_state=st.booleans(), unsorted_lengths=st.none() | st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_hypothesis_configurations(kind, layers, bidirectional, batch_first, bias, proj, steps, batch, input_size,
                                   hidden, with_state, unsorted_lengths, device):
    proj_size = 1 if proj and kind == "LSTM" else 0
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    if kind == "LSTM":
        make = lambda nn: nn.LSTM(input_size, hidden, proj_size=proj_size, **kwargs)  # noqa: E731
    elif kind == "GRU":
        make = lambda nn: nn.GRU(input_size, hidden, **kwargs)  # noqa: E731
    else:
        make = lambda nn: nn.RNN(input_size, hidden, nonlinearity="relu" if kind == "RNN_RELU" else "tanh",  # noqa
                                 **kwargs)
    if unsorted_lengths is not None:
        batch, steps = len(unsorted_lengths), max(unsorted_lengths)
    n_states = layers * (2 if bidirectional else 1)
    states = []
    if with_state:
        states = [randn(n_states, batch, proj_size or hidden)] + ([randn(n_states, batch, hidden)]
                                                                  if kind == "LSTM" else [])
    if unsorted_lengths is not None:
        compare(make, randn(steps, batch, input_size), *states, device=device, packed=(unsorted_lengths, False))
    else:
        x = randn(batch, steps, input_size) if batch_first else randn(steps, batch, input_size)
        compare(make, x, *states, device=device)


def test_zero_batch(device):
    for make in (lambda nn: nn.LSTM(I_, H_, bidirectional=True), lambda nn: nn.GRU(I_, H_, batch_first=True)):
        theirs, ours = make(torch.nn), make(framework.nn).to(device)
        shape = (0, T_, I_) if ours.batch_first else (T_, 0, I_)
        out_t = _tensors(theirs(torch.zeros(shape)))
        out_f = _tensors(ours(framework.zeros(shape, device=device)))
        for o, t in zip(out_f, out_t):
            assert tuple(o.shape) == tuple(t.shape)


# ----------------------------------------------------------------- cells

CELLS = {
    "rnn_cell_tanh": (lambda nn: nn.RNNCell(I_, H_), [(B_, I_), (B_, H_)]),
    "rnn_cell_relu_nobias": (lambda nn: nn.RNNCell(I_, H_, bias=False, nonlinearity="relu"), [(B_, I_), (B_, H_)]),
    "rnn_cell_no_hx": (lambda nn: nn.RNNCell(I_, H_), [(B_, I_)]),
    "rnn_cell_unbatched": (lambda nn: nn.RNNCell(I_, H_), [(I_,), (H_,)]),
    "lstm_cell": (lambda nn: nn.LSTMCell(I_, H_), [(B_, I_), (B_, H_), (B_, H_)]),
    "lstm_cell_nobias_no_hx": (lambda nn: nn.LSTMCell(I_, H_, bias=False), [(B_, I_)]),
    "lstm_cell_unbatched": (lambda nn: nn.LSTMCell(I_, H_), [(I_,), (H_,), (H_,)]),
    "gru_cell": (lambda nn: nn.GRUCell(I_, H_), [(B_, I_), (B_, H_)]),
    "gru_cell_nobias": (lambda nn: nn.GRUCell(I_, H_, bias=False), [(B_, I_), (B_, H_)]),
    "gru_cell_unbatched_no_hx": (lambda nn: nn.GRUCell(I_, H_), [(I_,)]),
}


@pytest.mark.parametrize("name", CELLS)
def test_cell_matches_pytorch(name, device):
    make, shapes = CELLS[name]
    compare(make, *[randn(*s) for s in shapes], device=device)


def test_cell_sequence_loop(device):
    """The documented use: a cell stepped over a sequence, states carried, one backward."""
    theirs, ours = torch.nn.LSTMCell(I_, H_), framework.nn.LSTMCell(I_, H_)
    _copy_weights(ours, theirs)
    ours.to(device)
    xs = randn(4, B_, I_)
    results = []
    for lib, module in ((torch, theirs), (framework, ours)):
        x = lib.tensor(xs) if lib is torch else framework.tensor(xs, device=device)
        x.requires_grad_(True)
        hx = None
        outs = []
        for t in range(4):
            hx = module(x[t], hx)
            outs.append(hx[0])
        lib.stack(outs).sum().backward()
        results.append((lib.stack(outs), x.grad))
    assert_same(results[1][0], results[0][0], ATOL, RTOL, "outputs")
    assert_same(results[1][1], results[0][1], ATOL * 10, RTOL * 10, "input grad")


FUNCTIONAL_CELLS = {  # torch.lstm_cell and friends: (fn, gates, with c, with biases)
    "lstm_cell": (lambda T, x, h, c, *w: T.lstm_cell(x, (h, c), *w), 4, True, True),
    "lstm_cell_nobias": (lambda T, x, h, c, *w: T.lstm_cell(x, [h, c], *w), 4, True, False),
    "gru_cell": (lambda T, x, h, *w: T.gru_cell(x, h, *w), 3, False, True),
    "gru_cell_nobias": (lambda T, x, h, *w: T.gru_cell(x, h, *w), 3, False, False),
    "rnn_tanh_cell": (lambda T, x, h, *w: T.rnn_tanh_cell(x, h, *w), 1, False, True),
    "rnn_relu_cell": (lambda T, x, h, *w: T.rnn_relu_cell(x, h, *w), 1, False, False),
}


@pytest.mark.parametrize("name", FUNCTIONAL_CELLS)
def test_functional_cell_matches_pytorch(name, device):
    fn, gates, with_c, biases = FUNCTIONAL_CELLS[name]
    arrays = _cell_inputs(gates, with_c=with_c, batch=3, i=4, h=2)
    check(fn, *(arrays if biases else arrays[:-2]), device=device)


# ----------------------------------------------------------------- finite differences (first and second order)

# The second-order checks run on the CPU only: the create_graph backward is the same tensor-op code on
# every device (its ops are tested per device elsewhere), and in the simulator it costs half a minute.
def _second_order(device):
    return framework.device(device).type == "cpu"


def _cell_inputs(gates, with_c=False, batch=2, i=2, h=2):
    arrays = [randn(batch, i), randn(batch, h)] + ([randn(batch, h)] if with_c else [])
    return arrays + [randn(gates * h, i) * 0.5, randn(gates * h, h) * 0.5, randn(gates * h), randn(gates * h)]


def test_gradcheck_lstm_cell(device):
    gradcheck(lambda T, x, h, c, wi, wh, bi, bh: F_rnn.lstm_cell(x, (h, c), wi, wh, bi, bh),
              *_cell_inputs(4, with_c=True), double=_second_order(device), device=device)


def test_gradcheck_gru_cell(device):
    gradcheck(lambda T, x, h, wi, wh, bi, bh: F_rnn.gru_cell(x, h, wi, wh, bi, bh), *_cell_inputs(3),
              double=_second_order(device), device=device)


@pytest.mark.parametrize("cell", ["rnn_tanh_cell", "rnn_relu_cell"])
def test_gradcheck_rnn_cell(cell, device):
    fn = getattr(F_rnn, cell)
    inputs = _cell_inputs(1)
    if cell == "rnn_relu_cell":  # keep pre-activations away from relu's kink
        inputs[4] = inputs[4] + np.sign(inputs[4]) * 2
    gradcheck(lambda T, x, h, wi, wh, bi, bh: fn(x, h, wi, wh, bi, bh), *inputs, double=True, device=device)


LAYERS = {  # mode, batch_sizes, reverse, proj
    "lstm_packed": ("LSTM", (2, 2, 1), False, False),
    "lstm_reverse_proj": ("LSTM", (2, 1, 1), True, True),
    "gru_packed_reverse": ("GRU", (2, 2, 1), True, False),
    "rnn_tanh": ("RNN_TANH", (2, 2), False, False),
}


@pytest.mark.parametrize("name", LAYERS)
def test_gradcheck_layer(name, device):
    """The layer Function: its kernel backward (first order), and the recomputed differentiable
    backward it falls back to under create_graph (second order)."""
    mode, batch_sizes, reverse, proj = LAYERS[name]
    gates, hidden, i, out = F_rnn.GATES[mode], 2, 2, 1 if proj else 2
    rows, batch = sum(batch_sizes), batch_sizes[0]
    arrays = [randn(rows, i), randn(batch, out), randn(gates * hidden, i) * 0.5, randn(gates * hidden, out) * 0.5,
              randn(gates * hidden), randn(gates * hidden)]
    if mode == "LSTM":
        arrays.insert(2, randn(batch, hidden))
    if proj:
        arrays.append(randn(out, hidden))

    def fn(T, x, h0, *rest):
        c0 = rest[0] if mode == "LSTM" else None
        weights = rest[1:] if mode == "LSTM" else rest
        return F_rnn.recurrent_layer(mode, x, h0, c0, *weights, batch_sizes=batch_sizes, reverse=reverse)
    gradcheck(fn, *arrays, double=_second_order(device), device=device)


def test_double_backward_through_module(device):
    """A gradient penalty: d/dw of |d out / d x|^2 through an LSTM, against PyTorch."""
    theirs, ours = torch.nn.LSTM(I_, H_), framework.nn.LSTM(I_, H_)
    _copy_weights(ours, theirs)
    ours.to(device)
    x = randn(T_, B_, I_)
    grads = []
    for lib, module in ((torch, theirs), (framework, ours)):
        xt = torch.tensor(x, requires_grad=True) if lib is torch else framework.tensor(x, device=device,
                                                                                       requires_grad=True)
        out = module(xt)[0]
        (gx,) = lib.autograd.grad(out.sum(), [xt], create_graph=True)
        (gx * gx).sum().backward()
        grads.append(module.weight_hh_l0.grad)
    assert_same(grads[1], grads[0], 1e-5, 1e-3, "weight_hh_l0.grad of the penalty")


# ----------------------------------------------------------------- module API

def test_state_dict_both_ways(device):
    for make in (lambda nn: nn.LSTM(I_, 4, 2, proj_size=2, bidirectional=True),
                 lambda nn: nn.GRU(I_, H_, 2, bias=False), lambda nn: nn.RNNCell(I_, H_)):
        theirs, ours = make(torch.nn), make(framework.nn)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        # ours -> PyTorch
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        ours.to(device)
        x = randn(T_, B_, I_) if isinstance(ours, framework.nn.RNNBase) else randn(B_, I_)
        out_t, out_f = _tensors(theirs(torch.tensor(x))), _tensors(ours(framework.tensor(x, device=device)))
        for o, t in zip(out_f, out_t):
            assert_same(o, t, ATOL, RTOL, "output after loading our state_dict into PyTorch")


def test_parameters_layout_and_init():
    framework.manual_seed(0)  # (the spread check below is statistical: seeded, and on 32+ values only)
    for make in (lambda nn: nn.LSTM(5, 8, 2, proj_size=3, bidirectional=True), lambda nn: nn.GRU(5, 8, bias=False),
                 lambda nn: nn.RNN(5, 8, 3, nonlinearity="relu"), lambda nn: nn.LSTMCell(5, 8),
                 lambda nn: nn.GRUCell(5, 8, bias=False), lambda nn: nn.RNNCell(5, 8)):
        theirs, ours = make(torch.nn), make(framework.nn)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
               [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        assert repr(ours) == repr(theirs)
        bound = 1 / np.sqrt(8)
        for p in ours.parameters():
            v = p.detach().numpy()
            assert v.min() >= -bound and v.max() <= bound and (v.size < 32 or v.std() > bound / 4)
        if isinstance(ours, framework.nn.RNNBase):
            assert ours._flat_weights_names == theirs._flat_weights_names
            assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == \
                   [[tuple(w.shape) for w in ws] for ws in theirs.all_weights]
            assert all(a is b for a, b in zip(ours._flat_weights, ours.parameters()))
            assert ours.flatten_parameters() is None
    assert isinstance(framework.nn.LSTM(2, 3), framework.nn.RNNBase)
    assert isinstance(framework.nn.GRUCell(2, 3), framework.nn.RNNCellBase)
    lstm = framework.nn.LSTM(2, 3, dtype=framework.float64)
    assert all(p.dtype == framework.float64 for p in lstm.parameters())
    assert framework.nn.RNN(2, 3, 1, "relu").nonlinearity == "relu"
    with pytest.warns(UserWarning, match="dropout option adds dropout after all but last recurrent layer"):
        framework.nn.GRU(2, 3, dropout=0.2)


def test_weights_replaced_after_construction(device):
    """Assigning a new Parameter (or loading a state dict) is what the next forward uses."""
    m = framework.nn.GRU(I_, H_).to(device)
    x = framework.tensor(randn(T_, B_, I_), device=device)
    before = m(x)[0].detach().cpu().numpy()
    m.weight_ih_l0 = framework.nn.Parameter(framework.zeros(3 * H_, I_, device=device))
    after = m(x)[0].detach().cpu().numpy()
    assert not np.allclose(before, after)
    assert m._flat_weights[0] is m.weight_ih_l0


# ----------------------------------------------------------------- bad input

def _on(x):
    """The device of x, where a check builds its module (PyTorch's: the CPU)."""
    return x.device


BAD = {  # fn(T, *inputs), input shapes, exception
    "input_size": (lambda T, x: T.nn.LSTM(3, 2).to(_on(x))(x), [(4, 2, 5)], RuntimeError),
    "input_4d": (lambda T, x: T.nn.LSTM(3, 2).to(_on(x))(x), [(4, 2, 3, 1)], ValueError),
    "gru_input_1d": (lambda T, x: T.nn.GRU(3, 2).to(_on(x))(x), [(3,)], ValueError),
    "rnn_input_4d": (lambda T, x: T.nn.RNN(3, 2).to(_on(x))(x), [(1, 4, 2, 3)], ValueError),
    "h0_shape": (lambda T, x, h: T.nn.GRU(3, 2).to(_on(x))(x, h), [(4, 2, 3), (1, 3, 2)], RuntimeError),
    "h0_layers": (lambda T, x, h: T.nn.RNN(3, 2, 2).to(_on(x))(x, h), [(4, 2, 3), (1, 2, 2)], RuntimeError),
    "h0_2d_for_batched": (lambda T, x, h: T.nn.GRU(3, 2).to(_on(x))(x, h), [(4, 2, 3), (2, 2)], RuntimeError),
    "h0_3d_for_unbatched": (lambda T, x, h: T.nn.RNN(3, 2).to(_on(x))(x, h), [(4, 3), (1, 1, 2)], RuntimeError),
    "lstm_c0_shape": (lambda T, x, h, c: T.nn.LSTM(3, 2).to(_on(x))(x, (h, c)), [(4, 2, 3), (1, 2, 2), (1, 2, 3)],
                      RuntimeError),
    "lstm_proj_h0_is_hidden_size": (lambda T, x, h, c: T.nn.LSTM(3, 4, proj_size=2).to(_on(x))(x, (h, c)),
                                    [(4, 2, 3), (1, 2, 4), (1, 2, 4)], RuntimeError),
    "lstm_hx_dims": (lambda T, x, h, c: T.nn.LSTM(3, 2).to(_on(x))(x, (h, c)), [(4, 2, 3), (2, 2), (2, 2)],
                     RuntimeError),
    "lstm_unbatched_hx_dims": (lambda T, x, h, c: T.nn.LSTM(3, 2).to(_on(x))(x, (h, c)),
                               [(4, 3), (1, 1, 2), (1, 1, 2)], RuntimeError),
    "dtype": (lambda T, x: T.nn.GRU(3, 2).to(_on(x))(x.double()), [(4, 2, 3)], ValueError),
    "empty_sequence": (lambda T, x: T.nn.LSTM(3, 2).to(_on(x))(x), [(0, 2, 3)], RuntimeError),
    "packed_input_size": (lambda T, x: T.nn.GRU(2, 2).to(_on(x))(T.nn.utils.rnn.pack_sequence([x])), [(3, 3)],
                          RuntimeError),
    "packed_h0_batch": (lambda T, x, h: T.nn.GRU(3, 2).to(_on(x))(T.nn.utils.rnn.pack_sequence([x]), h),
                        [(3, 3), (1, 2, 2)], RuntimeError),
    "cell_input_size": (lambda T, x: T.nn.LSTMCell(3, 2).to(_on(x))(x), [(2, 4)], RuntimeError),
    "cell_hidden_size": (lambda T, x, h: T.nn.GRUCell(3, 2).to(_on(x))(x, h), [(2, 3), (2, 3)], RuntimeError),
    "cell_batch": (lambda T, x, h, c: T.nn.LSTMCell(3, 2).to(_on(x))(x, (h, c)), [(2, 3), (3, 2), (2, 2)],
                   RuntimeError),
    "cell_c_size": (lambda T, x, h, c: T.nn.LSTMCell(3, 2).to(_on(x))(x, (h, c)), [(2, 3), (2, 2), (2, 5)],
                    RuntimeError),
    "cell_input_3d": (lambda T, x: T.nn.GRUCell(3, 2).to(_on(x))(x), [(2, 2, 3)], ValueError),
    "cell_hidden_3d": (lambda T, x, h: T.nn.RNNCell(3, 2).to(_on(x))(x, h), [(2, 3), (2, 2, 1)], ValueError),
    "cell_hx_3d": (lambda T, x, h: T.nn.LSTMCell(3, 2).to(_on(x))(x, (h, h)), [(2, 3), (2, 2, 1)], ValueError),
    "cell_dtype": (lambda T, x: T.nn.RNNCell(3, 2).to(_on(x))(x.double()), [(2, 3)], RuntimeError),
    "cell_weight_ih_rows": (lambda T, x, h, c, wi, wh: T.lstm_cell(x, (h, c), wi, wh), [(2, 3), (2, 2), (2, 2), (7, 3),
                                                                                      (8, 2)], RuntimeError),
    "cell_weight_hh_cols": (lambda T, x, h, c, wi, wh: T.lstm_cell(x, (h, c), wi, wh), [(2, 3), (2, 2), (2, 2), (8, 3),
                                                                                      (8, 3)], RuntimeError),
    "gru_cell_bias": (lambda T, x, h, wi, wh, bi, bh: T.gru_cell(x, h, wi, wh, bi, bh),
                      [(2, 3), (2, 2), (6, 3), (6, 2), (5,), (6,)], RuntimeError),
    "cell_nonlinearity": (lambda T, x: T.nn.RNNCell(3, 2, nonlinearity="gelu").to(_on(x))(x), [(2, 3)],
                          RuntimeError),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input(name, device):
    fn, shapes, exc = BAD[name]
    check_raises(fn, *[randn(*s) for s in shapes], exc=exc, device=device)


CONSTRUCTOR_ERRORS = {
    "proj_size_ge_hidden": (lambda T: T.nn.LSTM(3, 2, proj_size=2), ValueError),
    "proj_size_negative": (lambda T: T.nn.LSTM(3, 2, proj_size=-1), ValueError),
    "proj_size_for_gru": (lambda T: T.nn.GRU(3, 2, proj_size=1), ValueError),
    "nonlinearity": (lambda T: T.nn.RNN(3, 2, nonlinearity="sigmoid"), ValueError),
    "dropout_range": (lambda T: T.nn.LSTM(3, 2, 2, dropout=1.5), ValueError),
    "dropout_bool": (lambda T: T.nn.LSTM(3, 2, 2, dropout=True), ValueError),
    "hidden_size_zero": (lambda T: T.nn.GRU(3, 0), ValueError),
    "input_size_zero": (lambda T: T.nn.GRU(0, 3), ValueError),
    "num_layers_zero": (lambda T: T.nn.RNN(3, 2, 0), ValueError),
    "input_size_float": (lambda T: T.nn.LSTM(3.0, 2), TypeError),
    "hidden_size_float": (lambda T: T.nn.LSTM(3, 2.0), TypeError),
    "bias_int": (lambda T: T.nn.LSTM(3, 2, bias=1), TypeError),
    "batch_first_int": (lambda T: T.nn.GRU(3, 2, batch_first=0), TypeError),
}


@pytest.mark.parametrize("name", CONSTRUCTOR_ERRORS)
def test_constructor_errors(name, device):
    fn, exc = CONSTRUCTOR_ERRORS[name]
    try:
        fn(torch)
    except exc as e:
        expected = str(e)
    else:
        raise AssertionError("torch did not raise")
    with pytest.raises(exc) as info:
        fn(framework)
    assert str(info.value) == expected


def test_error_messages_match_pytorch(device):
    """The messages of the forward checks are PyTorch's, word for word."""
    for name in ("input_size", "h0_shape", "lstm_c0_shape", "dtype", "empty_sequence", "cell_input_size",
                 "cell_hidden_size", "cell_batch", "h0_2d_for_batched", "lstm_hx_dims", "input_4d",
                 "cell_weight_ih_rows", "cell_weight_hh_cols"):
        fn, shapes, exc = BAD[name]
        arrays = [randn(*s) for s in shapes]
        with pytest.raises(exc) as theirs:
            fn(torch, *[torch.tensor(a) for a in arrays])
        with pytest.raises(exc) as ours:
            fn(framework, *[framework.tensor(a, device=device) for a in arrays])
        assert str(ours.value) == str(theirs.value), name


def test_layer_checks_every_size_before_a_kernel_runs(device):
    """recurrent_layer trusts nothing a caller (or a hand-made PackedSequence) passes."""
    x = framework.tensor(randn(5, 3), device=device)
    h0, c0 = framework.tensor(randn(2, 2), device=device), framework.tensor(randn(2, 2), device=device)
    w_ih, w_hh = framework.tensor(randn(8, 3), device=device), framework.tensor(randn(8, 2), device=device)
    layer = lambda *a, **k: F_rnn.recurrent_layer("LSTM", *a, **k)  # noqa: E731
    assert len(layer(x, h0, c0, w_ih, w_hh, batch_sizes=[2, 2, 1])) == 3
    for sizes in ([2, 2, 2], [2, 3], [1, 2, 2], [2, -1, 4], [2, 0, 3], []):
        with pytest.raises(RuntimeError, match="batch_sizes"):
            layer(x, h0, c0, w_ih, w_hh, batch_sizes=sizes)
    with pytest.raises(RuntimeError, match=r"weight_hh has shape \[8, 3\], expected \[8, 2\]"):
        layer(x, h0, c0, w_ih, framework.tensor(randn(8, 3), device=device), batch_sizes=[2, 2, 1])
    with pytest.raises(RuntimeError, match=r"weight_ih has shape \[8, 2\]"):
        layer(x, h0, c0, framework.tensor(randn(8, 2), device=device), w_hh, batch_sizes=[2, 2, 1])
    with pytest.raises(RuntimeError, match=r"cx has shape \[2, 3\]"):
        layer(x, h0, framework.tensor(randn(2, 3), device=device), w_ih, w_hh, batch_sizes=[2, 2, 1])
    with pytest.raises(RuntimeError, match=r"bias_hh has shape \[4\]"):
        layer(x, h0, c0, w_ih, w_hh, framework.tensor(randn(8), device=device),
              framework.tensor(randn(4), device=device), batch_sizes=[2, 2, 1])
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype, but got Double and Float"):
        layer(x, h0.double(), c0, w_ih, w_hh, batch_sizes=[2, 2, 1])
    with pytest.raises(ValueError, match="cell state"):
        F_rnn.recurrent_layer("GRU", x, h0, c0, framework.tensor(randn(6, 3), device=device),
                              framework.tensor(randn(6, 2), device=device), batch_sizes=[2, 2, 1])
    if framework.device(device).type != "cpu":
        with pytest.raises(RuntimeError, match="Input and parameter tensors are not at the same device"):
            layer(x, h0, c0, w_ih.cpu(), w_hh, batch_sizes=[2, 2, 1])
        with pytest.raises(RuntimeError, match="Input and hidden tensors are not at the same device"):
            layer(x, h0.cpu(), c0, w_ih, w_hh, batch_sizes=[2, 2, 1])
        m = framework.nn.GRU(3, 2)
        with pytest.raises(RuntimeError, match="not at the same device"):
            m(framework.tensor(randn(4, 2, 3), device=device))


def test_backward_frees_the_saved_steps_and_retain_graph_keeps_them(device):
    m = framework.nn.LSTM(I_, H_).to(device)
    x = framework.tensor(randn(T_, B_, I_), device=device, requires_grad=True)
    out = m(x)[0]
    node = out.grad_fn
    while not hasattr(node, "saved"):  # (the output's reshape, then the layer)
        node = node.next_functions[0][0]
    out.sum().backward(retain_graph=True)
    first = x.grad.cpu().numpy().copy()
    assert node.saved is not None
    out.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), 2 * first, rtol=1e-6)
    assert node.saved is None
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.sum().backward()
