"""Compare a framework module with the same PyTorch module on copied weights."""
import torch

import framework
from helpers import assert_same, randn


def copy_weights(ours, theirs):
    ours.load_state_dict({k: framework.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def check_module(make, *input_shapes, inputs=None, atol=1e-5, rtol=1e-4, train=True, grad_input=True, device="cpu"):
    """make(nn) builds the module from either library's nn; returns (ours, theirs) after one step,
    ours on `device`."""
    theirs = make(torch.nn)
    ours = make(framework.nn)
    copy_weights(ours, theirs)
    ours.to(device)
    theirs.train(train)
    ours.train(train)
    arrays = inputs if inputs is not None else [randn(*s) for s in input_shapes]
    tin = [torch.tensor(a, requires_grad=grad_input and a.dtype.kind == "f") for a in arrays]
    fin = [framework.tensor(a, device=device, requires_grad=grad_input and a.dtype.kind == "f") for a in arrays]
    out_t, out_f = theirs(*tin), ours(*fin)
    assert_same(out_f, out_t, atol, rtol, "output")
    if out_t.requires_grad:
        up = randn(*out_t.shape)
        out_t.backward(torch.tensor(up))
        out_f.backward(framework.tensor(up, device=device))
        for i, (a, b) in enumerate(zip(fin, tin)):
            if b.requires_grad:
                assert_same(a.grad, b.grad, atol * 10, rtol * 10, f"input grad {i}")
        tp = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            if tp[name].grad is None:
                assert p.grad is None, name
            else:
                assert_same(p.grad, tp[name].grad, atol * 10, rtol * 10, f"grad of {name}")
    for (name, b), (_, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert_same(b, tb, atol, rtol, f"buffer {name}")
    return ours, theirs
