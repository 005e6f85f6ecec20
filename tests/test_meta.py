"""The meta device (framework/backends/meta_backend.py) against PyTorch's meta device.

Every op table of the op tests runs on "meta" in both libraries: outputs' shapes, dtypes and
device, then a backward and the gradients' shapes. Meta is a device of its own, so these
tests take no `device` fixture and compare with a helper of their own (shapes and dtypes:
there are no values). Then whole models built on meta without memory, materialised with
to_empty, and the errors for whatever needs values."""
import gc
import tracemalloc

import numpy as np
import pytest
import torch

import framework
import test_activations
import test_elementwise
import test_losses_all
import test_math_ops
import test_nn_layers
import test_shape
from helpers import const, randn

META = "meta"


# ----------------------------------------------------------------- comparing shapes and dtypes


def _meta_input(lib, a, grad):
    """The array `a` as a meta tensor of lib (only its shape and dtype travel)."""
    if isinstance(a, const):
        return _meta_input(lib, a.array, False)
    if not isinstance(a, np.ndarray):
        return a
    return lib.tensor(a, device=META, requires_grad=grad and a.dtype.kind == "f")


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flatten(x)]
    return [out]


def same_meta(ours, theirs, what):
    """ours is a framework tensor with theirs' shape, dtype and device type (meta)."""
    assert isinstance(ours, framework.Tensor), f"{what}: expected a Tensor, got {type(ours).__name__}"
    assert theirs.device.type == META and ours.device.type == META, f"{what}: on {ours.device}"
    assert str(ours.dtype) == str(theirs.dtype), f"{what}: dtype {ours.dtype} != {theirs.dtype}"
    assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"


def _backward(outs_f, outs_t):
    """Backpropagate a meta seed through every output PyTorch can differentiate."""
    pairs = [(o, t) for o, t in zip(outs_f, outs_t) if isinstance(t, torch.Tensor) and t.requires_grad]
    if not pairs:
        return False
    torch.autograd.backward([t for _, t in pairs], [torch.empty_like(t) for _, t in pairs])
    framework.autograd.backward([o for o, _ in pairs],
                                [framework.empty(o.shape, dtype=o.dtype, device=META) for o, _ in pairs])
    return True


def compare_on_meta(fn, *inputs, grad=True):
    """fn(T, *tensors) on meta inputs in both libraries: outputs, then gradients of the inputs."""
    tt = [_meta_input(torch, a, grad) for a in inputs]
    ft = [_meta_input(framework, a, grad) for a in inputs]
    outs_t, outs_f = _flatten(fn(torch, *tt)), _flatten(fn(framework, *ft))
    assert len(outs_f) == len(outs_t), f"{len(outs_f)} outputs, PyTorch {len(outs_t)}"
    for i, (o, t) in enumerate(zip(outs_f, outs_t)):
        if isinstance(t, torch.Tensor):
            same_meta(o, t, f"output {i}")
        else:
            assert o == t, f"output {i}: {o} != {t}"
    if grad and _backward(outs_f, outs_t):
        for i, (a, b) in enumerate(zip(ft, tt)):
            if isinstance(b, torch.Tensor) and b.requires_grad:
                assert (a.grad is None) == (b.grad is None), f"grad of input {i}: {a.grad} vs {b.grad}"
                if b.grad is not None:
                    same_meta(a.grad, b.grad, f"grad of input {i}")


def refused_by_both(fn, *inputs):
    """PyTorch has no meta kernel for fn (its output size depends on values): ours refuses too."""
    with pytest.raises((NotImplementedError, RuntimeError)):
        fn(torch, *[_meta_input(torch, a, False) for a in inputs])
    with pytest.raises((NotImplementedError, RuntimeError)) as caught:
        fn(framework, *[_meta_input(framework, a, False) for a in inputs])
    return str(caught.value)


# ----------------------------------------------------------------- the op tables

def _cases():
    """{id: (fn, inputs, grad)} from the op tests' tables, with the inputs those tests use."""
    cases = {}
    for name, (fn, low) in test_elementwise.UNARY.items():
        cases[f"elementwise.UNARY.{name}"] = (fn, (randn(3, 4, low=low),), True)
    for name, fn in test_elementwise.NO_GRAD_UNARY.items():
        cases[f"elementwise.NO_GRAD_UNARY.{name}"] = (fn, (randn(3, 4),), True)
    for name, (fn, x) in test_elementwise.UNARY_LAYOUTS.items():
        cases[f"elementwise.UNARY_LAYOUTS.{name}"] = (fn, (x,), True)
    for name, fn in test_elementwise.BINARY.items():
        cases[f"elementwise.BINARY.{name}"] = (fn, (randn(2, 1, 3), randn(4, 1)), True)
    for name, fn in test_shape.SHAPE_OPS.items():
        cases[f"shape.SHAPE_OPS.{name}"] = (fn, (randn(2, 3, 4),), True)
    for name, (fn, x, _) in test_math_ops.UNARY.items():
        cases[f"math_ops.UNARY.{name}"] = (fn, (x,), True)
    for name, fn in test_math_ops.BINARY.items():
        cases[f"math_ops.BINARY.{name}"] = (fn, (randn(2, 3), randn(3)), True)
    for name, fn in test_math_ops.REDUCTIONS.items():
        cases[f"math_ops.REDUCTIONS.{name}"] = (fn, (randn(3, 4),), True)
    for name, fn in test_math_ops.SCANS.items():
        for dim in (0, -1):
            cases[f"math_ops.SCANS.{name}_{dim}"] = (lambda T, x, fn=fn, dim=dim: fn(T, x, dim), (randn(3, 4),), True)
    for name, fn in test_math_ops.SORTS.items():
        cases[f"math_ops.SORTS.{name}"] = (fn, (randn(3, 5),), True)
    s = np.array([-1.0, 0.0, 0.0, 1.0, np.nan], np.float32)
    v = np.array([-2.0, 0.0, 0.5, 1.0, np.nan, 3.0], np.float32)
    for name, fn in test_math_ops.SEARCHES.items():
        cases[f"math_ops.SEARCHES.{name}"] = (fn, (const(s), const(v)), True)
    x = np.array([3, 1, 2, 3, 1, 1, 0, 2, 2, 3, 3, 1], np.float32)
    for name, fn in test_math_ops.UNIQUES.items():
        cases[f"math_ops.UNIQUES.{name}"] = (fn, (const(x),), True)
    for name, fn in test_math_ops.STRUCTURE.items():
        cases[f"math_ops.STRUCTURE.{name}"] = (fn, (randn(3, 4),), True)
    for name, (eq, shapes) in test_math_ops.EINSUMS.items():
        cases[f"math_ops.EINSUMS.{name}"] = (lambda T, *xs, eq=eq: T.einsum(eq, *xs), [randn(*s) for s in shapes],
                                             True)
    for name, (fn, grad) in test_math_ops.MORE.items():
        cases[f"math_ops.MORE.{name}"] = (fn, (randn(3, 4),), grad)
    for name, fn in test_activations.ELEMENTWISE.items():
        cases[f"activations.ELEMENTWISE.{name}"] = (fn, (randn(3, 5),), True)
    for name, (fn, inputs) in test_losses_all.CASES.items():
        cases[f"losses_all.CASES.{name}"] = (fn, inputs, True)
    return cases


CASES = _cases()

_NO_KERNEL = "PyTorch has no meta kernel for {}: its output's size depends on the values"
# Entries PyTorch refuses on meta, and why; test_pytorch_still_refuses keeps the list honest.
TORCH_REFUSES = {
    **{f"math_ops.UNIQUES.{n}": _NO_KERNEL.format("unique") for n in
       ("unique", "unique_all", "unique_dim0", "unique_dim1", "unique_consecutive", "unique_consecutive_dim")},
    "math_ops.UNIQUES.bincount": _NO_KERNEL.format("bincount"),
    "math_ops.UNIQUES.bincount_weights": _NO_KERNEL.format("bincount"),
    "math_ops.MORE.histogram": _NO_KERNEL.format("histogram"),
    "math_ops.MORE.histogram_edges_weights": _NO_KERNEL.format("histogram"),
    "math_ops.STRUCTURE.combinations": "PyTorch's combinations calls masked_select, which has no meta kernel",
    "math_ops.STRUCTURE.combinations_replacement": "PyTorch's combinations calls masked_select (no meta kernel)",
    "math_ops.MORE.cov": "PyTorch's cov calls aten::equal, which has no meta kernel",
    "math_ops.MORE.cov_weights": "PyTorch's cov calls aten::equal, which has no meta kernel",
    "math_ops.MORE.corrcoef": "PyTorch's corrcoef calls cov, which calls aten::equal (no meta kernel)",
    "losses_all.CASES.gaussian_nll": "PyTorch's gaussian_nll_loss checks var >= 0 with .item()",
    "losses_all.CASES.gaussian_nll_full_homoscedastic": "PyTorch's gaussian_nll_loss checks var >= 0 with .item()",
    "losses_all.CASES.nll_byte_target": "PyTorch's meta gather takes int32/int64 indices only (its CPU nll_loss, "
                                        "as ours, takes uint8 targets)",
}
# Entries whose forward PyTorch runs on meta but not the backward (compared forward only).
TORCH_REFUSES_BACKWARD = {
    **{f"losses_all.CASES.{n}": _NO_KERNEL.format("multi_margin_loss_backward")
       for n in ("multi_margin", "multi_margin_1d", "multi_margin_p2_weight")},
    **{f"losses_all.CASES.{n}": _NO_KERNEL.format("multilabel_margin_loss_backward")
       for n in ("multilabel_margin", "multilabel_margin_1d")},
}
# Ops above the backends that read values PyTorch's meta kernels never read (an argument check,
# a range taken from the data); they raise "no data" on meta where PyTorch runs. Strict: a fix
# turns them into passes that must be moved out of here.
OURS_READS_VALUES = {}  # ops whose value checks raise on meta where PyTorch's meta kernels do not (none now)


def _table_case(case):
    if case in OURS_READS_VALUES:
        return pytest.param(case, marks=pytest.mark.xfail(strict=True, raises=NotImplementedError,
                                                          reason=OURS_READS_VALUES[case]))
    return case


@pytest.mark.parametrize("case", [_table_case(c) for c in sorted(set(CASES) - set(TORCH_REFUSES))])
def test_op_tables_on_meta(case):
    fn, inputs, grad = CASES[case]
    compare_on_meta(fn, *inputs, grad=grad and case not in TORCH_REFUSES_BACKWARD)


@pytest.mark.parametrize("case", sorted(TORCH_REFUSES))
def test_pytorch_still_refuses(case):
    fn, inputs, _ = CASES[case]
    with pytest.raises((NotImplementedError, RuntimeError)):
        fn(torch, *[_meta_input(torch, a, False) for a in inputs])


@pytest.mark.parametrize("case", sorted(TORCH_REFUSES_BACKWARD))
def test_pytorch_still_refuses_the_backward(case):
    fn, inputs, _ = CASES[case]
    out = fn(torch, *[_meta_input(torch, a, True) for a in inputs])
    with pytest.raises(NotImplementedError):
        out.backward(torch.empty_like(out))


def _meta_module(lib, make):
    module = make(lib.nn).to(META)
    assert all(p.device.type == META for p in module.parameters())
    return module


# 0-size and 0-d inputs, negative dims, non-contiguous and broadcast views
EDGES = {
    "sum_empty": (lambda T, x: x.sum(-1), (randn(0, 3),)),
    "mean_empty_keepdim": (lambda T, x: x.mean(0, keepdim=True), (randn(0, 3),)),
    "softmax_empty": (lambda T, x: T.softmax(x, -2), (randn(2, 0, 3),)),
    "cat_empty": (lambda T, x: T.cat([x[:0], x], 0), (randn(2, 3),)),
    "zero_d": (lambda T, x: (x * 2).exp() + x.sum(), (randn(),)),
    "stack_zero_d": (lambda T, x: T.stack([x, x], -1), (randn(),)),
    "matmul_transposed": (lambda T, x, y: x.t() @ y.transpose(-1, -2), (randn(3, 2), randn(4, 3))),
    "matmul_batched_broadcast": (lambda T, x, y: T.matmul(x, y), (randn(2, 1, 3, 4), randn(5, 4, 2))),
    "matmul_vector": (lambda T, x, y: x @ y, (randn(3), randn(2, 3, 4))),
    "reshape_of_transposed": (lambda T, x: x.transpose(0, 2).reshape(4, -1), (randn(2, 3, 4),)),
    "expanded_add": (lambda T, x, y: x.expand(3, 4) + y[::2], (randn(1, 4), randn(6, 4))),
    "conv2d_empty_batch": (lambda T, x, w: T.nn.functional.conv2d(x, w, padding=1), (randn(0, 2, 5, 5),
                                                                                    randn(3, 2, 3, 3))),
    "argmax_neg_dim": (lambda T, x: x.argmax(-2), (randn(2, 3, 4),)),
    "index_negative": (lambda T, x: x[..., -1, None], (randn(2, 3, 4),)),
    "index_tensor_and_slice": (lambda T, x, i: x[i, 1:], (randn(4, 3), np.array([[0, 3], [1, 1]]))),
    "index_separated": (lambda T, x, i: x[i, :, i], (randn(4, 3, 4), np.array([0, 3, 1]))),
    "max_pool_ceil": (lambda T, x: T.nn.functional.max_pool2d(x, 3, 2, ceil_mode=True), (randn(1, 2, 6, 7),)),
    "fft_rfft2": (lambda T, x: T.fft.irfft2(T.fft.rfft2(x), s=(4, 6)), (randn(2, 4, 6),)),
    "linalg_svd": (lambda T, x: T.linalg.svd(x, full_matrices=False), (randn(2, 4, 3),)),
    "linalg_qr_complete": (lambda T, x: T.linalg.qr(x, mode="complete"), (randn(3, 4),)),
    "linalg_eigh": (lambda T, x: T.linalg.eigh(x @ x.mT), (randn(3, 3),)),
    "embedding_bag": (lambda T, w, i: T.nn.functional.embedding_bag(i, w, T.tensor([0, 2], device=w.device),
                                                                   mode="max"), (randn(10, 3), np.array([1, 2, 4, 5]))),
    "lstm": (lambda T, x: T.nn.LSTM(3, 4, 2, batch_first=True, device=x.device)(x)[0], (randn(2, 5, 3),)),
    "gru_cell": (lambda T, x: T.nn.GRUCell(3, 4, device=x.device)(x), (randn(2, 3),)),
    "sdpa_causal": (lambda T, q: T.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True),
                    (randn(2, 2, 5, 4),)),
    "grid_sample": (lambda T, x, g: T.nn.functional.grid_sample(x, g, align_corners=False),
                    (randn(1, 2, 4, 5), randn(1, 3, 2, 2))),
    "interpolate_bilinear": (lambda T, x: T.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
                             (randn(1, 2, 3, 4),)),
    "cumsum_int": (lambda T, x: x.long().cumsum(0), (randn(3, 2),)),
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edges_on_meta(name):
    fn, inputs = EDGES[name]
    compare_on_meta(fn, *inputs)


LAYERS_TORCH_REFUSES = {
    "BatchNorm2d_cumulative": "momentum=None divides by num_batches_tracked.item(), in both libraries",
}


@pytest.mark.parametrize("name", sorted(LAYERS_TORCH_REFUSES))
def test_layers_refused_by_both(name):
    make, shapes = test_nn_layers.LAYERS[name]
    for lib in (torch, framework):
        module = _meta_module(lib, make)
        with pytest.raises(RuntimeError):  # (NotImplementedError is one)
            module(*[lib.empty(s, device=META) for s in shapes])


@pytest.mark.parametrize("name", sorted(set(test_nn_layers.LAYERS) - set(LAYERS_TORCH_REFUSES)))
def test_layers_on_meta(name):
    make, shapes = test_nn_layers.LAYERS[name]
    theirs, ours = _meta_module(torch, make), _meta_module(framework, make)
    train = name != "Dropout_eval"
    theirs.train(train)
    ours.train(train)
    tin = [torch.empty(s, device=META, requires_grad=True) for s in shapes]
    fin = [framework.empty(s, device=META, requires_grad=True) for s in shapes]
    out_t, out_f = theirs(*tin), ours(*fin)
    same_meta(out_f, out_t, "output")
    out_t.backward(torch.empty_like(out_t))
    out_f.backward(framework.empty(out_f.shape, device=META))
    for i, (a, b) in enumerate(zip(fin, tin)):
        same_meta(a.grad, b.grad, f"input grad {i}")
    tp = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        assert (p.grad is None) == (tp[pname].grad is None), pname
        if p.grad is not None:
            same_meta(p.grad, tp[pname].grad, f"grad of {pname}")
    tb = dict(theirs.named_buffers())
    for bname, b in ours.named_buffers():
        same_meta(b, tb[bname], f"buffer {bname}")


# ----------------------------------------------------------------- whole models: no memory, then materialised


def transformer(lib, device):
    return lib.nn.Transformer(d_model=256, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=1024,
                              dropout=0.0, batch_first=True, device=device)


def resnet(lib, device, width=32):
    """A ResNet-18-style CNN (basic blocks with batch norm and projection shortcuts) in lib."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False, device=device)
            self.bn1 = nn.BatchNorm2d(cout, device=device)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False, device=device)
            self.bn2 = nn.BatchNorm2d(cout, device=device)
            self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False, device=device), nn.BatchNorm2d(cout, device=device))

        def forward(self, x):
            y = lib.relu(self.bn1(self.conv1(x)))
            return lib.relu(self.bn2(self.conv2(y)) + self.shortcut(x))

    w = width
    return nn.Sequential(nn.Conv2d(3, w, 7, 2, 3, bias=False, device=device), nn.BatchNorm2d(w, device=device),
                         nn.ReLU(), nn.MaxPool2d(3, 2, 1), Block(w, w, 1), Block(w, w, 1), Block(w, 2 * w, 2),
                         Block(2 * w, 4 * w, 2), Block(4 * w, 8 * w, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8 * w, 10, device=device))


SRC, TGT, IMAGES = randn(2, 5, 256), randn(2, 4, 256), randn(2, 3, 32, 32)


def _input(lib, array, device, requires_grad=False):
    """`array` as a tensor of lib on device (on meta only its shape and dtype count)."""
    return lib.tensor(array, device=device, requires_grad=requires_grad)


def run_transformer(lib, model, device, grad):
    mask = lib.nn.Transformer.generate_square_subsequent_mask(4, device=device)
    # tgt_is_causal: otherwise both libraries compare the mask with a causal one, which reads values
    return model(_input(lib, SRC, device, grad), _input(lib, TGT, device), tgt_mask=mask, tgt_is_causal=True)


def run_resnet(lib, model, device, grad):
    return model(_input(lib, IMAGES, device, grad))


MODELS = {"transformer": (transformer, run_transformer), "resnet": (resnet, run_resnet)}


def _peak_bytes(build):
    """The peak of Python-tracked memory (NumPy's arrays included) while build() runs, and its result."""
    gc.collect()
    tracemalloc.start()
    try:
        result = build()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_model_built_on_meta_takes_no_memory(name):
    make, _ = MODELS[name]
    make(framework, META)  # (first use: imports and caches)
    peak, model = _peak_bytes(lambda: make(framework, META))
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    assert param_bytes > 3_000_000
    assert all(t.device.type == META for t in list(model.parameters()) + list(model.buffers()))
    assert peak < param_bytes / 20, f"building on meta traced {peak} bytes for {param_bytes} of parameters"
    cpu_peak, _ = _peak_bytes(lambda: make(framework, "cpu"))
    assert cpu_peak > param_bytes  # (the measure sees real parameters)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_model_on_meta_runs_forward_and_backward_as_pytorch(name):
    make, run = MODELS[name]
    ours, theirs = make(framework, META), make(torch, META)
    out_f, out_t = run(framework, ours, META, True), run(torch, theirs, META, True)
    same_meta(out_f, out_t, "output")
    out_f.sum().backward()
    out_t.sum().backward()
    grads_t = {k: p.grad for k, p in theirs.named_parameters()}
    for k, p in ours.named_parameters():
        same_meta(p.grad, grads_t[k], f"grad of {k}")
    for (k, b), (_, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
        same_meta(b, tb, f"buffer {k}")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_to_empty_materialises_a_meta_model(name):
    make, run = MODELS[name]
    model = make(framework, META)
    assert model.to_empty(device="cpu") is model
    assert all(t.device.type == "cpu" for t in list(model.parameters()) + list(model.buffers()))
    assert all(p.requires_grad for p in model.parameters())
    for m in model.modules():  # (MultiheadAttention's is private, in PyTorch too)
        getattr(m, "reset_parameters", getattr(m, "_reset_parameters", lambda: None))()
    model.eval()
    assert np.isfinite(run(framework, model, "cpu", False).detach().numpy()).all()
    torch.manual_seed(0)
    theirs = make(torch, "cpu").eval()
    model.load_state_dict({k: framework.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    with torch.no_grad():
        expected = run(torch, theirs, "cpu", False).numpy()
    np.testing.assert_allclose(run(framework, model, "cpu", False).detach().numpy(), expected, rtol=1e-4, atol=1e-4)


def test_to_meta_and_back_through_to_empty():
    theirs, ours = torch.nn.Linear(3, 2), framework.nn.Linear(3, 2)
    for lib, m in ((torch, theirs), (framework, ours)):
        m.to(META)
        assert m.weight.device.type == META and m.weight.requires_grad
        m.to_empty(device="cpu", recurse=False)
        assert m.weight.device.type == "cpu" and tuple(m.weight.shape) == (2, 3)
    with pytest.raises(TypeError):
        ours.to_empty("cpu")  # (device is keyword-only, as PyTorch's)


def test_empty_like_across_devices():
    for lib in (torch, framework):
        x = lib.empty(2, 3, dtype=lib.float64, device=META)
        y = lib.empty_like(x, device="cpu")
        assert y.device.type == "cpu" and tuple(y.shape) == (2, 3) and y.dtype is lib.float64
        z = lib.empty_like(y, device=META)
        assert z.device.type == META and z.dtype is lib.float64
        for fn in (lib.zeros_like, lib.ones_like, lib.rand_like, lib.randn_like):
            w = fn(x)
            assert w.device.type == META and tuple(w.shape) == (2, 3)


# ----------------------------------------------------------------- metadata, printing and errors


def test_views_and_strides_are_metadata_as_pytorch():
    for fn in (lambda x: x.t(), lambda x: x[1:, ::2], lambda x: x.transpose(0, 1)[1:].reshape(-1),
               lambda x: x.unsqueeze(1).expand(4, 3, 6), lambda x: x.view(2, 2, 6)[:, 1], lambda x: x.diagonal(1),
               lambda x: x.permute(1, 0).contiguous(), lambda x: x.as_strided((2, 2), (1, 6), 3),
               lambda x: x.view(4, 3, 2).permute(2, 0, 1).reshape(2, 12), lambda x: x.reshape(4, 2, 3)[:, 0]):
        t, f = fn(torch.empty(4, 6, device=META)), fn(framework.empty(4, 6, device=META))
        assert (tuple(f.shape), f.stride(), f.storage_offset(), f.is_contiguous()) == \
            (tuple(t.shape), t.stride(), t.storage_offset(), t.is_contiguous())
    x = framework.empty(4, 6, device=META)
    assert x[1:]._base is x and x.view(24).data_ptr() == x.data_ptr()
    with pytest.raises(RuntimeError):  # (a view the strides do not allow, as on any device)
        x.t().view(24)


def test_printing():
    for make in (lambda T: T.empty(3, 4, device=META), lambda T: T.empty((), dtype=T.int64, device=META),
                 lambda T: T.empty(0, device=META), lambda T: T.empty(2, 0, dtype=T.bool, device=META),
                 lambda T: T.empty(2, dtype=T.float64, device=META, requires_grad=True),
                 lambda T: T.empty(2, device=META, requires_grad=True) * 2,
                 lambda T: T.nn.Parameter(T.empty(2, 3, device=META))):
        assert repr(make(framework)) == repr(make(torch))


def test_reading_values_raises_as_pytorch():
    for lib in (torch, framework):
        x = lib.empty(3, 4, device=META)
        for read in (x.tolist, x.cpu, lambda: x.to("cpu"), lambda: x.sum(0).cpu()):
            with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor; no data!"):
                read()
        with pytest.raises(RuntimeError, match="a Tensor with 12 elements cannot be converted to Scalar"):
            x.item()
        for read in (x.sum().item, lambda: float(x.sum()), lambda: bool(x.sum() > 0), lambda: int(x[0, 0])):
            with pytest.raises(RuntimeError):  # (ours: NotImplementedError, a RuntimeError)
                read()


def test_numpy_and_item_errors_match_pytorch_exactly():
    x = framework.empty(3, device=META)
    with pytest.raises(TypeError, match="can't convert meta device type tensor to numpy"):
        x.numpy()
    with pytest.raises(RuntimeError, match="Tensor.item\\(\\) cannot be called on meta tensors"):
        x.sum().item()


def test_is_meta_and_get_device():
    x = framework.empty(2, device=META)
    assert x.is_meta and not framework.empty(2).is_meta
    assert x.get_device() == torch.empty(2, device=META).get_device() == -1


DATA_DEPENDENT = {
    "nonzero": lambda T, x: x.nonzero(),
    "nonzero_as_tuple": lambda T, x: T.nonzero(x, as_tuple=True),
    "argwhere": lambda T, x: T.argwhere(x),
    "where_one_arg": lambda T, x: T.where(x > 0),
    "masked_select": lambda T, x: x.masked_select(x > 0),
    "bool_mask_index": lambda T, x: x[x > 0],
    "unique": lambda T, x: T.unique(x),
    "unique_consecutive": lambda T, x: T.unique_consecutive(x),
    "bincount": lambda T, x: T.bincount(x.long().flatten()),
    "repeat_interleave_tensor": lambda T, x: T.repeat_interleave(x, T.ones(3, dtype=T.int64, device=META), dim=0),
    "lstsq": lambda T, x: T.linalg.lstsq(x, x[:, :2]),
}


@pytest.mark.parametrize("name", sorted(DATA_DEPENDENT))
def test_data_dependent_sizes_are_refused(name):
    message = refused_by_both(DATA_DEPENDENT[name], randn(3, 4))
    assert "meta" in message.lower() or "nonzero" in message or "no data" in message, message


def test_nonzero_message_is_pytorchs():
    with pytest.raises(NotImplementedError, match="The register_meta function for torch.nonzero\\(\\) raises "
                                                  "unimplemented by default"):
        framework.empty(3, device=META).nonzero()


def test_meta_device_and_registry():
    d = framework.device("meta")
    assert d.type == "meta" and d.index is None and str(d) == "meta" and repr(d) == repr(torch.device("meta"))
    for lib in (torch, framework):
        assert str(lib.empty(2, device="meta:0").device) == "meta"
    x = framework.tensor([[1, 2], [3, 4]], device=META)  # (the data is dropped, as PyTorch does)
    assert x.device == d and x.dtype is framework.int64 and tuple(x.shape) == (2, 2)
    assert framework.randperm(5, device=META).dtype is framework.int64
    assert framework.arange(0, 1, 0.25, device=META).shape == (4,)


def test_in_place_ops_fills_and_optimizer_steps_run():
    model = framework.nn.Linear(4, 3, device=META)
    opt = framework.optim.AdamW(model.parameters())
    model(framework.empty(2, 4, device=META)).sum().backward()
    opt.step()
    x = framework.empty(3, device=META)
    x.add_(1).mul_(2).fill_(0).uniform_().normal_()
    x[1:] = 3.0
    x[x > 0] = 1.0  # (a write through a mask needs no size: PyTorch runs it too)
    x[framework.tensor([0, 2], device=META)] += 1
    assert x.device.type == META and x._version > 0
