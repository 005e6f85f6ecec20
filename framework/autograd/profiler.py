"""torch.autograd.profiler: the older spelling of framework.profiler (same recorder)."""
from framework.profiler import EventList, FunctionEvent, FunctionEventAvg, record_function  # noqa: F401
from framework.profiler import profile as _profile


class profile(_profile):
    """torch.autograd.profiler.profile(enabled=True, *, use_cuda=False, record_shapes=False, ...)."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False, **kwargs):
        super().__init__(record_shapes=record_shapes, use_cuda=use_cuda, enabled=enabled, use_device=use_device,
                         **{k: v for k, v in kwargs.items() if k in ("with_flops", "profile_memory", "with_stack",
                                                                      "with_modules", "use_kineto", "use_cpu",
                                                                      "experimental_config", "acc_events",
                                                                      "custom_trace_id_callback")})
