"""Stochastic weight averaging and exponential moving averages of a model's weights, as PyTorch's
torch.optim.swa_utils: AveragedModel (a copy of the model whose parameters are an average of
the model's along training), the averaging functions, SWALR (anneal to a constant SWA learning
rate) and update_bn (recompute batch-norm statistics for the averaged weights)."""
import itertools
import math
import warnings
from copy import deepcopy

import numpy as np

import framework
from framework.autograd import no_grad
from framework.nn import Module
from framework.optim.lr_scheduler import LRScheduler, _format_param
from framework.tensor import Tensor

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn",
           "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _weight(num_averaged):
    """1 / (n + 1) as PyTorch computes it from the long n_averaged buffer (a float32 division)."""
    if isinstance(num_averaged, Tensor):
        return float(np.float32(1) / np.float32(num_averaged.item() + 1))
    return 1 / (num_averaged + 1)


def get_ema_multi_avg_fn(decay=0.999):
    """In-place exponential moving average over lists of tensors: ema = decay ema + (1 - decay) p."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param_list, current_param_list, _):
        if ema_param_list[0].is_floating_point():
            for p_ema, p_model in zip(ema_param_list, current_param_list):
                p_ema.lerp_(p_model, 1 - decay)
        else:
            for p_ema, p_model in zip(ema_param_list, current_param_list):
                p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """In-place running mean over lists of tensors: avg += (p - avg) / (n + 1)."""
    @no_grad()
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        if averaged_param_list[0].is_floating_point():
            weight = _weight(num_averaged)
            for p_avg, p_model in zip(averaged_param_list, current_param_list):
                p_avg.lerp_(p_model, weight)
        else:
            for p_avg, p_model in zip(averaged_param_list, current_param_list):
                p_avg.add_((p_model - p_avg) / (num_averaged + 1))
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """avg_fn(ema, p, n) -> decay ema + (1 - decay) p."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """avg_fn(avg, p, n) -> avg + (p - avg) / (n + 1), the running mean."""
    @no_grad()
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A deep copy of `model` whose parameters (and buffers, with use_buffers) average the
    model's at each update_parameters(model): an equal-weight running mean by default (SWA),
    or what avg_fn (per tensor, returns the new average) or multi_avg_fn (in place, per list
    of tensors of one device and dtype) compute. n_averaged counts the updates."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", framework.tensor(0, dtype=framework.long, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        if self.use_buffers:
            self_param = itertools.chain(self.module.parameters(), self.module.buffers())
            model_param = itertools.chain(model.parameters(), model.buffers())
        else:
            self_param, model_param = self.parameters(), model.parameters()
        averaged, current = [], []
        copy_param = bool(self.n_averaged == 0)
        with no_grad():
            for p_averaged, p_model in zip(self_param, model_param):
                p_model_ = p_model.detach().to(p_averaged.device)
                averaged.append(p_averaged.detach())
                current.append(p_model_)
                if copy_param:
                    p_averaged.detach().copy_(p_model_)
            if self.n_averaged > 0:
                if self.multi_avg_fn is not None or self.avg_fn is None:
                    for (device, _), (group_avg, group_cur) in _group_by_device_and_dtype(averaged, current).items():
                        n_averaged = self.n_averaged.to(device)
                        if self.multi_avg_fn:
                            self.multi_avg_fn(group_avg, group_cur, n_averaged)
                        elif device.type == "cuda":  # PyTorch's foreach devices take the lerp form
                            get_swa_multi_avg_fn()(group_avg, group_cur, n_averaged)
                        else:
                            avg_fn = get_swa_avg_fn()
                            for p_averaged, p_model in zip(group_avg, group_cur):
                                p_averaged.copy_(avg_fn(p_averaged, p_model, n_averaged))
                else:
                    for p_averaged, p_model in zip(averaged, current):
                        n_averaged = self.n_averaged.to(p_averaged.device)
                        p_averaged.detach().copy_(self.avg_fn(p_averaged.detach(), p_model, n_averaged))
            if not self.use_buffers:  # keep the buffers in sync with the model's
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa.detach().copy_(b_model.detach().to(b_swa.device))
            self.n_averaged += 1


def _group_by_device_and_dtype(averaged, current):
    groups = {}
    for a, c in zip(averaged, current):
        key = (str(a.device), str(a.dtype))
        entry = groups.setdefault(key, (a.device, ([], [])))
        entry[1][0].append(a)
        entry[1][1].append(c)
    return {(device, key[1]): lists for key, (device, lists) in groups.items()}


def _batch_norm_types():
    from framework.nn.modules import normalization
    base = getattr(normalization, "_BatchNorm", None)
    if base is not None:
        return (base,)
    return tuple(getattr(framework.nn, n) for n in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")
                 if hasattr(framework.nn, n))


@no_grad()
def update_bn(loader, model, device=None):
    """One pass over `loader` in train mode with cumulative-average batch-norm statistics
    (momentum None), recomputing every batch norm's running mean and variance for the
    model's current (averaged) weights. A batch that is a list or tuple gives its first item."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _batch_norm_types()):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for input in loader:
        if isinstance(input, (list, tuple)):
            input = input[0]
        if device is not None:
            input = input.to(device)
        model(input)
    for bn_module in momenta:
        bn_module.momentum = momenta[bn_module]
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr to its swa_lr over anneal_epochs (cosine or linear), then holds it."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for swa_lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = swa_lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=2)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self):
        return {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
