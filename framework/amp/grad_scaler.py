"""`GradScaler`: loss scaling, so that small float16 gradients do not flush to zero.

The loss is multiplied by a scale before backward; before the optimizer steps, the gradients
are divided by it, and a step whose gradients hold an inf or nan is skipped and the scale
halved; after `growth_interval` clean steps the scale doubles. PyTorch's API and state_dict.
"""
import math
import warnings
from collections import defaultdict

import framework
from framework.autograd.grad_mode import no_grad


class _State:
    READY, UNSCALED, STEPPED = 0, 1, 2


class GradScaler:
    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = str(device)
        self._enabled = enabled
        if self._device.startswith("cuda") and enabled and not framework.cuda.is_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.")
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
        self._init_scale = float(init_scale)
        self._scale = None  # a 1-element float32 tensor on the device, made on first use
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._init_growth_tracker = 0
        self._growth_tracker = 0
        self._per_optimizer_states = defaultdict(lambda: {"stage": _State.READY, "found_inf": None})

    # ------------------------------------------------------------ scaling
    def _lazy_init(self, device):
        if self._scale is None:
            self._scale = framework.full((), self._init_scale, dtype=framework.float32, device=device)

    def scale(self, outputs):
        """outputs (a tensor, or nested lists/tuples of them) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, framework.Tensor):
            self._lazy_init(outputs.device)
            return outputs * self._scale.to(device=outputs.device, dtype=outputs.dtype)
        if isinstance(outputs, (list, tuple)):
            scaled = [self.scale(o) for o in outputs]
            return type(outputs)(scaled) if isinstance(outputs, list) else tuple(scaled)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _unscale_grads(self, optimizer, inv_scale, allow_fp16):
        found_inf = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if not allow_fp16 and p.grad.dtype is framework.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    p.grad.mul_(inv_scale)
                    if not found_inf and not bool(framework.isfinite(p.grad).all()):
                        found_inf = True
        return found_inf

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale (once per step), noting infs/nans."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == _State.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _State.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = 1.0 / self._scale.item()
        state["found_inf"] = self._unscale_grads(optimizer, inv_scale, False)
        state["stage"] = _State.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """optimizer.step(*args, **kwargs) unless the unscaled gradients hold an inf or nan."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == _State.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _State.READY:
            self.unscale_(optimizer)
        if state["found_inf"] is None:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _State.STEPPED
        return result

    def update(self, new_scale=None):
        """Halve the scale after a skipped step, grow it after growth_interval clean ones."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            value = new_scale.item() if isinstance(new_scale, framework.Tensor) else float(new_scale)
            if isinstance(new_scale, framework.Tensor) and new_scale.numel() != 1:
                raise AssertionError("new_scale should be a 1-element tensor.")
            self._scale.fill_(value)
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values() if s["found_inf"] is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            if any(found):
                self._scale.fill_(self._scale.item() * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale.item() * self._growth_factor
                    if math.isfinite(float(framework.tensor(grown, dtype=framework.float32))):
                        self._scale.fill_(grown)
                    self._growth_tracker = 0
        self._per_optimizer_states = defaultdict(lambda: {"stage": _State.READY, "found_inf": None})

    def _check_scale_growth_tracker(self, name):
        if self._scale is None:
            raise AssertionError(f"Attempted {name} but _scale is None.  This may indicate your script did not use "
                                 "scaler.scale(loss or outputs) earlier in the iteration.")

    # ------------------------------------------------------------ inspection and state
    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale.item()

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = int(new_interval)

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale.fill_(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
