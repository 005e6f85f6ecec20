"""Recurrent layers and cells (LSTM, GRU, Elman RNN) on fused gate kernels.

A layer is one Function per direction (`recurrent_layer`): the input projection of every
time step is one product (x @ W_ih.T, biases folded in), each step one product h @ W_hh.T and
one fused cell kernel (`backend.lstm_cell`, ...). The backward walks the steps back with the
cells' backward kernels and one product per step (dgates @ W_hh), then forms the weight
gradients as three products over the whole sequence (dgates.T @ x, dgates.T @ h_prev, ...),
as cuDNN does, instead of one small product per step.

Rows are PackedSequence's layout: the steps' rows one after another, `batch_sizes[t]` rows at
step t, non-increasing (a padded batch is every step at full size). Sequences that end early
are the last rows of a step; their state at that step is their final state.

The step algebra is written once (`_layer_forward`, `_layer_backward`) over two sets of
primitives: `_Arrays` (backend arrays and the fused kernels: the forward, and the backward
without create_graph) and `_Tensors` (differentiable tensor ops). Under create_graph the
backward recomputes the layer in tensor ops from its saved inputs and runs the same
backward algebra on them, so the gradients it returns are themselves differentiable.
"""
from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.ops._util import wrap
from framework.tensor import Tensor

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ----------------------------------------------------------------- the two sets of primitives


class _Arrays:
    """Backend arrays and fused kernels."""

    def __init__(self, backend):
        self.bk = backend

    def mm_t(self, a, w):
        """a @ w.T (BLAS reads w transposed in place)."""
        return self.bk.matmul(a, self.bk.permute(w, (1, 0)), ())

    def mm(self, a, w):
        return self.bk.matmul(a, w, ())

    def transposed(self, w):
        """w.T laid out for a product per step (the CUDA product would copy a transposed view each time)."""
        return self.bk.contiguous(self.bk.permute(w, (1, 0)))

    def t_mm(self, a, b):
        """a.T @ b: a weight gradient summed over every row."""
        return self.bk.matmul(self.bk.permute(a, (1, 0)), b, ())

    def rows(self, a, lo, hi):
        return self.bk.getitem(a, (slice(lo, hi),))

    def cat(self, arrays):
        return arrays[0] if len(arrays) == 1 else self.bk.cat(arrays, 0)

    def add(self, a, b):
        if a is None or b is None:
            return b if a is None else a
        return self.bk.binary("add", a, b, out_shape=a.shape)

    def add_bias(self, a, b):
        return self.bk.binary("add", a, b, out=a, out_shape=a.shape)  # (a is a fresh product)

    def colsum(self, a):
        return self.bk.reduce("sum", a, (0,), a.dtype)

    def copy(self, a):
        return self.bk.copy(a)

    def lstm(self, xg, hg, c_prev):
        return self.bk.lstm_cell(xg, hg, c_prev)

    def lstm_backward(self, dh, dc, act, c_prev):
        return self.bk.lstm_cell_backward(dh, dc, act, c_prev)

    def gru(self, xg, hg, hb, h_prev):
        return self.bk.gru_cell(xg, hg, hb, h_prev)

    def gru_backward(self, dh, act, h_prev):
        return self.bk.gru_cell_backward(dh, act, h_prev)

    def rnn(self, xg, hg, relu):
        return self.bk.rnn_cell(xg, hg, relu)

    def rnn_backward(self, dh, h, relu):
        return self.bk.rnn_cell_backward(dh, h, relu)


class _Tensors:
    """The same primitives in differentiable tensor ops (the cells composed of sigmoid, tanh, ...)."""

    @staticmethod
    def mm_t(a, w):
        return a @ w.mT

    @staticmethod
    def mm(a, w):
        return a @ w

    @staticmethod
    def transposed(w):
        return w.mT

    @staticmethod
    def t_mm(a, b):
        return a.mT @ b

    @staticmethod
    def rows(a, lo, hi):
        return a[lo:hi]

    @staticmethod
    def cat(tensors):
        from framework.ops.shape import cat
        return tensors[0] if len(tensors) == 1 else cat(tensors, 0)

    @staticmethod
    def add(a, b):
        if a is None or b is None:
            return b if a is None else a
        return a + b

    add_bias = add

    @staticmethod
    def colsum(a):
        return a.sum(0)

    @staticmethod
    def copy(a):
        return a.clone()

    @staticmethod
    def lstm(xg, hg, c_prev):
        i, f, g, o = (xg + hg).chunk(4, 1)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        c = f * c_prev + i * g
        return o * c.tanh(), c, (i, f, g, o)

    @staticmethod
    def lstm_backward(dh, dc, act, c_prev):
        from framework.ops.shape import cat
        i, f, g, o = act
        tc = (f * c_prev + i * g).tanh()
        d_c = dh * o * (1 - tc * tc)
        d_c = d_c if dc is None else dc + d_c
        dgates = cat([d_c * g * i * (1 - i), d_c * c_prev * f * (1 - f), d_c * i * (1 - g * g),
                      dh * tc * o * (1 - o)], 1)
        return dgates, d_c * f

    @staticmethod
    def gru(xg, hg, hb, h_prev):
        if hb is not None:
            hg = hg + hb
        xr, xz, xn = xg.chunk(3, 1)
        hr, hz, hn = hg.chunk(3, 1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        return (1 - z) * n + z * h_prev, (r, z, n, hn)

    @staticmethod
    def gru_backward(dh, act, h_prev):
        from framework.ops.shape import cat
        r, z, n, hn = act
        d_n = dh * (1 - z) * (1 - n * n)
        d_z = dh * (h_prev - n) * z * (1 - z)
        d_r = d_n * hn * r * (1 - r)
        return cat([d_r, d_z, d_n], 1), cat([d_r, d_z, d_n * r], 1), dh * z

    @staticmethod
    def rnn(xg, hg, relu):
        s = xg + hg
        return s.relu() if relu else s.tanh()

    @staticmethod
    def rnn_backward(dh, h, relu):
        return dh * (h > 0) if relu else dh * (1 - h * h)


# ----------------------------------------------------------------- one layer, one direction


class _Saved:
    """What a layer's backward reads, per step t (in data order): the cell's saved activations,
    its input state, and (with a projection) the unprojected h."""

    __slots__ = ("x", "weights", "acts", "h_prevs", "c_prevs", "raws")


def _layer_forward(ops, mode, x, h0, c0, weights, batch_sizes, reverse):
    """(out, h_n, c_n, saved): one direction of one layer over the rows of x (see the module doc).
    h0 (and c0, LSTM) hold batch_sizes[0] rows; h_n and c_n the final state of every sequence."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    xg = ops.mm_t(x, w_ih)
    hb = None
    if mode == "GRU":  # b_hh stays apart: r multiplies W_hn h + b_hn
        hb = b_hh
        if b_ih is not None:
            xg = ops.add_bias(xg, b_ih)
    elif b_ih is not None or b_hh is not None:
        xg = ops.add_bias(xg, ops.add(b_ih, b_hh))
    steps = len(batch_sizes)
    offsets = _offsets(batch_sizes)
    s = _Saved()
    s.x, s.weights = x, weights
    s.acts, s.h_prevs, s.c_prevs, s.raws = [None] * steps, [None] * steps, [None] * steps, [None] * steps
    outs, finished_h, finished_c = [None] * steps, [], []
    h, c = h0, c0
    if reverse:
        h, c = ops.rows(h0, 0, batch_sizes[-1]), c0 if c0 is None else ops.rows(c0, 0, batch_sizes[-1])
    live = batch_sizes[-1] if reverse else batch_sizes[0]
    w_hh_t, w_hr_t = ops.transposed(w_hh), None if w_hr is None else ops.transposed(w_hr)
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        bs, lo = batch_sizes[t], offsets[t]
        if bs < live:  # (forward) sequences that ended at the previous step keep their state
            finished_h.append(ops.rows(h, bs, live))
            h = ops.rows(h, 0, bs)
            if c is not None:
                finished_c.append(ops.rows(c, bs, live))
                c = ops.rows(c, 0, bs)
        elif bs > live:  # (reverse) sequences that start here start from h0
            h = ops.cat([h, ops.rows(h0, live, bs)])
            if c is not None:
                c = ops.cat([c, ops.rows(c0, live, bs)])
        live = bs
        s.h_prevs[t], s.c_prevs[t] = h, c
        xt, hg = ops.rows(xg, lo, lo + bs), ops.mm(h, w_hh_t)
        if mode == "LSTM":
            h, c, s.acts[t] = ops.lstm(xt, hg, c)
        elif mode == "GRU":
            h, s.acts[t] = ops.gru(xt, hg, hb, h)
        else:
            h = s.acts[t] = ops.rnn(xt, hg, mode == "RNN_RELU")
        if w_hr is not None:
            s.raws[t] = h
            h = ops.mm(h, w_hr_t)
        outs[t] = h
    h_n = ops.cat([h] + finished_h[::-1])
    c_n = None if c is None else ops.cat([c] + finished_c[::-1])
    return ops.cat(outs), h_n, c_n, s


def _layer_backward(ops, mode, s, dout, dh_n, dc_n, batch_sizes, reverse, needs):
    """The gradients (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr) of _layer_forward, the steps walked
    in the other order; `needs` says which to form (None for the others)."""
    w_ih, w_hh, b_ih, b_hh, w_hr = s.weights
    steps = len(batch_sizes)
    offsets = _offsets(batch_sizes)
    dxg, dhg, dhs = [None] * steps, [None] * steps, [None] * steps
    lstm = mode == "LSTM"
    # the gradient reaching the state a step produced: from the next step it fed, and from h_n
    carry_h, carry_c = (dh_n, dc_n) if reverse else (None, None)
    first_h, first_c = [], []  # (reverse) gradients of h0's rows, as the steps reach them
    live = 0
    for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
        bs, lo = batch_sizes[t], offsets[t]
        if not reverse and bs > live:  # sequences whose last step is t: their h_n / c_n
            carry_h = ops.cat([carry_h, ops.rows(dh_n, live, bs)]) if live else ops.rows(dh_n, 0, bs)
            if lstm:
                carry_c = ops.cat([carry_c, ops.rows(dc_n, live, bs)]) if live else ops.rows(dc_n, 0, bs)
        dh = ops.add(ops.rows(dout, lo, lo + bs), carry_h)
        if w_hr is not None:
            dhs[t] = dh
            dh = ops.mm(dh, w_hr)
        dc_prev = None
        if lstm:
            dxg[t], dc_prev = ops.lstm_backward(dh, carry_c, s.acts[t], s.c_prevs[t])
            dh_prev = ops.mm(dxg[t], w_hh)
        elif mode == "GRU":
            dxg[t], dhg[t], direct = ops.gru_backward(dh, s.acts[t], s.h_prevs[t])
            dh_prev = ops.add(ops.mm(dhg[t], w_hh), direct)
        else:
            dxg[t] = ops.rnn_backward(dh, s.acts[t], mode == "RNN_RELU")
            dh_prev = ops.mm(dxg[t], w_hh)
        if reverse:  # rows beyond the next step's batch started here: theirs is h0's gradient
            nxt = batch_sizes[t + 1] if t + 1 < steps else 0
            if nxt < bs:
                first_h.append(ops.rows(dh_prev, nxt, bs))
                dh_prev = ops.rows(dh_prev, 0, nxt)
                if lstm:
                    first_c.append(ops.rows(dc_prev, nxt, bs))
                    dc_prev = ops.rows(dc_prev, 0, nxt)
        carry_h, carry_c, live = dh_prev, dc_prev, bs
    if reverse:
        carry_h = ops.cat(first_h[::-1])
        carry_c = ops.cat(first_c[::-1]) if lstm else None
    n_x, n_h0, n_c0, n_wih, n_whh, n_bih, n_bhh, n_whr = needs
    dxg_all = ops.cat(dxg)
    dhg_all = ops.cat(dhg) if mode == "GRU" else dxg_all
    db_ih = ops.colsum(dxg_all) if n_bih else None
    if n_bhh:  # (the same sum but for a GRU: summed once, copied so that the two .grad do not alias)
        db_hh = ops.colsum(dhg_all) if db_ih is None or mode == "GRU" else ops.copy(db_ih)
    return (ops.mm(dxg_all, w_ih) if n_x else None,
            carry_h if n_h0 else None,
            carry_c if n_c0 else None,
            ops.t_mm(dxg_all, s.x) if n_wih else None,
            ops.t_mm(dhg_all, ops.cat(s.h_prevs)) if n_whh else None,
            db_ih,
            db_hh if n_bhh else None,
            ops.t_mm(ops.cat(dhs), ops.cat(s.raws)) if n_whr else None)


def _offsets(batch_sizes):
    out, total = [], 0
    for b in batch_sizes:
        out.append(total)
        total += b
    return out


class RecurrentLayer(Function):
    """One direction of one recurrent layer: (out, h_n) or, for LSTM, (out, h_n, c_n)."""
    autocast_op = "rnn"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, mode, reverse, batch_sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        ops = _Arrays(x.device.backend)
        data = lambda t: None if t is None else t._data  # noqa: E731
        out, h_n, c_n, saved = _layer_forward(ops, mode, x._data, h0._data, data(c0),
                                              tuple(data(w) for w in (w_ih, w_hh, b_ih, b_hh, w_hr)),
                                              batch_sizes, reverse)
        ctx.mode, ctx.reverse, ctx.batch_sizes, ctx.saved = mode, reverse, batch_sizes, saved
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
        results = (out, h_n) if c_n is None else (out, h_n, c_n)
        return tuple(wrap(r, x.dtype, x.device) for r in results)

    @staticmethod
    def backward(ctx, dout, dh_n, dc_n=None):
        inputs = ctx.saved_tensors
        needs = ctx.needs_input_grad[3:]
        if grad_mode.state.enabled:  # create_graph: recompute in differentiable ops
            x, h0, c0, *weights = inputs
            saved = _layer_forward(_Tensors, ctx.mode, x, h0, c0, tuple(weights), ctx.batch_sizes, ctx.reverse)[3]
            grads = _layer_backward(_Tensors, ctx.mode, saved, dout, dh_n, dc_n, ctx.batch_sizes, ctx.reverse, needs)
        else:
            x = inputs[0]
            grads = _layer_backward(_Arrays(x.device.backend), ctx.mode, ctx.saved, dout._data, dh_n._data,
                                    None if dc_n is None else dc_n._data, ctx.batch_sizes, ctx.reverse, needs)
            grads = tuple(None if g is None else wrap(g, x.dtype, x.device) for g in grads)
        return (None, None, None) + tuple(grads)

    def _release(self):
        self.saved = None
        super()._release()


def recurrent_layer(mode, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, batch_sizes=None, reverse=False):
    """One direction of one layer over x (rows, input_size) in PackedSequence's layout (a padded
    (T, B, I) input reshaped to (T * B, I) with batch_sizes = [B] * T): (out, h_n[, c_n]).
    c0 is the LSTM's initial cell state (None otherwise), w_hr an LSTM's projection or None."""
    batch_sizes = tuple(int(b) for b in (batch_sizes if batch_sizes is not None else (x.shape[0],)))
    _check_layer(mode, x, h0, c0, (w_ih, w_hh, b_ih, b_hh, w_hr), batch_sizes)
    return RecurrentLayer.apply(mode, bool(reverse), batch_sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)


def _check_layer(mode, x, h0, c0, weights, batch_sizes):
    """Every size the kernels will trust, checked before any of them runs."""
    if mode not in GATES:
        raise ValueError(f"Unrecognized RNN mode: {mode}")
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    for name, t in (("input", x), ("hx", h0), ("weight_ih", w_ih), ("weight_hh", w_hh)):
        if not isinstance(t, Tensor):
            raise TypeError(f"recurrent_layer(): {name} must be a Tensor, not {type(t).__name__}")
    if (mode == "LSTM") != (c0 is not None):
        raise ValueError("recurrent_layer(): an LSTM takes a cell state c0, and only an LSTM")
    if w_hr is not None and mode != "LSTM":
        raise ValueError("recurrent_layer(): only an LSTM has a projection (weight_hr)")
    for t in (h0, c0):
        if t is not None and t.device != x.device:
            raise RuntimeError("Input and hidden tensors are not at the same device, found input tensor at "
                               f"{x.device} and hidden tensor at {t.device}")
    for t in weights:
        if t is not None and t.device != x.device:
            raise RuntimeError("Input and parameter tensors are not at the same device, found input tensor at "
                               f"{x.device} and parameter tensor at {t.device}")
    for t in (h0, c0) + tuple(weights):
        if t is not None and t.dtype is not x.dtype:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_dt.scalar_name(t.dtype)} and "
                               f"{_dt.scalar_name(x.dtype)}")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"recurrent_layer(): expected a floating point input, got {x.dtype}")
    if x.ndim != 2 or w_ih.ndim != 2 or w_hh.ndim != 2:
        raise RuntimeError(f"recurrent_layer(): expected a 2-D input (rows, input_size) and 2-D weights, got input "
                           f"{list(x.shape)}, weight_ih {list(w_ih.shape)}, weight_hh {list(w_hh.shape)}")
    if not batch_sizes or any(b < 0 for b in batch_sizes) or \
            any(b > a for a, b in zip(batch_sizes, batch_sizes[1:])) or (batch_sizes[-1] == 0 and batch_sizes[0]):
        raise RuntimeError(f"recurrent_layer(): batch_sizes must be positive and non-increasing, got "
                           f"{list(batch_sizes)}")
    if sum(batch_sizes) != x.shape[0]:
        raise RuntimeError(f"recurrent_layer(): batch_sizes {list(batch_sizes)} add up to {sum(batch_sizes)} rows, "
                           f"but the input has {x.shape[0]}")
    gate_rows = w_hh.shape[0]
    hidden = gate_rows // GATES[mode]
    out_size = w_hr.shape[0] if w_hr is not None else hidden
    expected = {"weight_ih": (w_ih, (gate_rows, x.shape[1])), "weight_hh": (w_hh, (GATES[mode] * hidden, out_size)),
                "bias_ih": (b_ih, (gate_rows,)), "bias_hh": (b_hh, (gate_rows,)),
                "weight_hr": (w_hr, (out_size, hidden)), "hx": (h0, (batch_sizes[0], out_size)),
                "cx": (c0, (batch_sizes[0], hidden))}
    for name, (t, shape) in expected.items():
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"recurrent_layer(): {name} has shape {list(t.shape)}, expected {list(shape)} "
                               f"(input {list(x.shape)}, hidden size {hidden}, {mode})")


# ----------------------------------------------------------------- cells


class LSTMCellFunction(Function):
    """(h, c) of one LSTM step from the pre-activations xg, hg (rows, 4H) and c_prev."""
    autocast_op = "LSTMCell"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, xg, hg, c_prev):
        h, c, ctx.act = xg.device.backend.lstm_cell(xg._data, hg._data, c_prev._data)
        ctx.save_for_backward(xg, hg, c_prev)
        return wrap(h, xg.dtype, xg.device), wrap(c, xg.dtype, xg.device)

    @staticmethod
    def backward(ctx, dh, dc):
        xg, hg, c_prev = ctx.saved_tensors
        if grad_mode.state.enabled:
            dgates, dc_prev = _Tensors.lstm_backward(dh, dc, _Tensors.lstm(xg, hg, c_prev)[2], c_prev)
            return dgates, dgates, dc_prev
        dgates, dc_prev = xg.device.backend.lstm_cell_backward(dh._data, dc._data, ctx.act, c_prev._data)
        return wrap(dgates, xg.dtype, xg.device), wrap(dgates, xg.dtype, xg.device), wrap(dc_prev, xg.dtype, xg.device)

    def _release(self):
        self.act = None
        super()._release()


class GRUCellFunction(Function):
    """h of one GRU step from xg = W_ih x + b_ih, hg = W_hh h + b_hh (rows, 3H) and h_prev."""
    autocast_op = "GRUCell"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, xg, hg, h_prev):
        h, ctx.act = xg.device.backend.gru_cell(xg._data, hg._data, None, h_prev._data)
        ctx.save_for_backward(xg, hg, h_prev)
        return wrap(h, xg.dtype, xg.device)

    @staticmethod
    def backward(ctx, dh):
        xg, hg, h_prev = ctx.saved_tensors
        if grad_mode.state.enabled:
            return _Tensors.gru_backward(dh, _Tensors.gru(xg, hg, None, h_prev)[1], h_prev)
        grads = xg.device.backend.gru_cell_backward(dh._data, ctx.act, h_prev._data)
        return tuple(wrap(g, xg.dtype, xg.device) for g in grads)

    def _release(self):
        self.act = None
        super()._release()


class RNNCellFunction(Function):
    """tanh(xg + hg) or relu(xg + hg)."""
    autocast_op = "RNNCell"  # (framework/amp/autocast_mode.py)

    @staticmethod
    def forward(ctx, xg, hg, relu):
        h = wrap(xg.device.backend.rnn_cell(xg._data, hg._data, relu), xg.dtype, xg.device)
        ctx.relu = relu
        ctx.save_for_backward(xg, hg)
        ctx.h = h._data
        return h

    @staticmethod
    def backward(ctx, dh):
        xg, hg = ctx.saved_tensors
        if grad_mode.state.enabled:
            d = _Tensors.rnn_backward(dh, _Tensors.rnn(xg, hg, ctx.relu), ctx.relu)
            return d, d, None
        d = wrap(xg.device.backend.rnn_cell_backward(dh._data, ctx.h, ctx.relu), xg.dtype, xg.device)
        return d, d, None

    def _release(self):
        self.h = None
        super()._release()


def _check_cell(name, gates, input, hx, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's checks of a cell's arguments (ATen's check_rnn_cell_forward_*), in its order."""
    for t in (input, w_ih, w_hh) + tuple(hx):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected Tensor arguments, got {type(t).__name__}")
    if w_ih.ndim != 2 or w_hh.ndim != 2:
        raise RuntimeError(f"{name}(): expected 2-D weights, got weight_ih {list(w_ih.shape)} and weight_hh "
                           f"{list(w_hh.shape)}")
    if input.ndim != 2 or input.shape[1] != w_ih.shape[1]:
        got = input.shape[1] if input.ndim > 1 else (input.shape[0] if input.ndim else 1)
        raise RuntimeError(f"input has inconsistent input_size: got {got} expected {w_ih.shape[1]}")
    hidden = w_hh.shape[1]
    for what, t in (("weight_ih", w_ih), ("weight_hh", w_hh)):
        if t.shape[0] != gates * hidden:
            raise RuntimeError(f"{what} first dim must be {gates} * hidden_size = {gates * hidden}, but got "
                               f"{t.shape[0]}")
    for what, t in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if t is not None and tuple(t.shape) != (gates * hidden,):
            raise RuntimeError(f"{what} must have shape [{gates * hidden}] ({gates} * hidden_size), but got "
                               f"{list(t.shape)}")
    for k, h in enumerate(hx):
        if h.ndim == 0 or h.shape[0] != input.shape[0]:
            raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{k} batch size "
                               f"{h.shape[0] if h.ndim else 1}")
        if h.ndim != 2 or h.shape[1] != hidden:
            raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {h.shape[1] if h.ndim > 1 else 1}, "
                               f"expected {hidden}")
    for t in (w_ih, w_hh, b_ih, b_hh) + tuple(hx):
        if t is not None and t.dtype is not input.dtype:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_dt.scalar_name(input.dtype)} and "
                               f"{_dt.scalar_name(t.dtype)}")


def _projections(input, hx, w_ih, w_hh, b_ih, b_hh):
    from framework.ops.linalg import linear
    return linear(input, w_ih, b_ih), linear(hx, w_hh, b_hh)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """torch.lstm_cell: (h, c) of one step from input (N, I) and hx = (h, c), each (N, H)."""
    hx = tuple(hx)
    _check_cell("lstm_cell", 4, input, hx, w_ih, w_hh, b_ih, b_hh)
    xg, hg = _projections(input, hx[0], w_ih, w_hh, b_ih, b_hh)
    return LSTMCellFunction.apply(xg, hg, hx[1])


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """torch.gru_cell: h of one step from input (N, I) and hx (N, H)."""
    _check_cell("gru_cell", 3, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    xg, hg = _projections(input, hx, w_ih, w_hh, b_ih, b_hh)
    return GRUCellFunction.apply(xg, hg, hx)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check_cell("rnn_tanh_cell", 1, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    return RNNCellFunction.apply(*_projections(input, hx, w_ih, w_hh, b_ih, b_hh), False)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check_cell("rnn_relu_cell", 1, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    return RNNCellFunction.apply(*_projections(input, hx, w_ih, w_hh, b_ih, b_hh), True)
