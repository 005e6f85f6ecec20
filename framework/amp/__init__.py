"""Automatic mixed precision: `autocast` (ops in bfloat16/float16 or float32 by PyTorch's
lists) and `GradScaler` (loss scaling for float16 gradients)."""
from framework.amp.autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from framework.amp.grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "is_autocast_available"]


class _DeviceAmp:
    """torch.cuda.amp and torch.cpu.amp, PyTorch's older spellings: autocast(enabled, dtype,
    cache_enabled) and GradScaler(...) for one device type."""

    def __init__(self, device_type, default_dtype):
        self._device_type, self._default_dtype = device_type, default_dtype

    def autocast(self, enabled=True, dtype=None, cache_enabled=True):
        return autocast(self._device_type, dtype or self._default_dtype, enabled, cache_enabled)

    def GradScaler(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                   enabled=True):
        return GradScaler(self._device_type, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    custom_fwd = staticmethod(custom_fwd)
    custom_bwd = staticmethod(custom_bwd)
