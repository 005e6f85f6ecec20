"""SparseAdam: Adam for sparse gradients (embeddings), updating only the rows a gradient touches.

This framework has no sparse tensors, so every gradient is dense, and step() raises
PyTorch's error for a dense gradient ("SparseAdam does not support dense gradients, please
consider Adam instead"); construction, options and state dicts behave as PyTorch's."""
from framework.autograd import enable_grad, no_grad
from framework.optim._elementwise import check_betas, check_lr
from framework.optim.optimizer import Optimizer


class SparseAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        check_lr(lr)
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        sparse = [[i, j] for i, group in enumerate(self.param_groups) for j, p in enumerate(group["params"])
                  if getattr(p, "is_sparse", False)]
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors")

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None and not getattr(p.grad, "is_sparse", False):
                        raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam "
                                           "instead")
        return loss
