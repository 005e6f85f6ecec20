"""Top-level names PyTorch has for what Tensor methods already do: the in-place functions
(`torch.abs_(x)` is `x.abs_()`) and the `*_copy` forms of the view ops (a new tensor
instead of a view; differentiable like the view). Listed by name, so each is greppable and
the set is fixed whatever torch is installed."""
import framework

# torch.<name>(input, *args) == input.<name>(*args), in place
INPLACE = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
    "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_",
    "detach_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "i0_", "ldexp_",
    "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "rad2deg_", "reciprocal_", "round_",
    "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_",
)

# torch.<view>_copy(input, *args) == a copy of torch.<view>(input, *args) (a tuple of copies for split/unbind)
COPIES = ("detach", "diagonal", "expand", "narrow", "permute", "select", "split", "squeeze", "t", "transpose",
          "unbind", "unsqueeze", "view_as_complex", "view_as_real", "view")


def _inplace(name):
    def fn(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`input.{name}(...)`, as torch.{name}."
    return fn


def _copy(view):
    def fn(input, *args, **kwargs):
        op = getattr(framework, view, None)
        out = op(input, *args, **kwargs) if op is not None else getattr(input, view)(*args, **kwargs)
        return tuple(t.clone() for t in out) if isinstance(out, (tuple, list)) else out.clone()
    fn.__name__ = fn.__qualname__ = f"{view}_copy"
    fn.__doc__ = f"torch.{view}(...) as a new tensor, not a view."
    return fn


def detach(input):
    return input.detach()


def get_device(input):
    return input.get_device()


__all__ = list(INPLACE) + [f"{v}_copy" for v in COPIES] + ["detach", "get_device"]
globals().update({name: _inplace(name) for name in INPLACE})
globals().update({f"{v}_copy": _copy(v) for v in COPIES})
