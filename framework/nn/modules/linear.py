"""Identity, Linear, Bilinear (LazyLinear: lazy.py), as torch.nn.modules.linear."""
import math

import framework
from framework.nn import functional as F, init
from framework.nn.modules.module import Module
from framework.nn.parameter import Parameter

__all__ = ["Identity", "Linear", "Bilinear"]


class Identity(Module):
    """Returns its input; takes (and ignores) any arguments, as PyTorch's."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


def fan_in_uniform_(tensor, weight):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of weight's fan-in: PyTorch's bias initialisation."""
    fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    init.uniform_(tensor, -bound, bound)


def weight_and_bias(module, weight_shape, bias_features, bias, device, dtype):
    """module.weight of weight_shape and module.bias of bias_features (None where not `bias`),
    uninitialised: the parameters of Linear, Bilinear and the convolutions."""
    module.weight = Parameter(framework.empty(*weight_shape, device=device, dtype=dtype))
    if bias:
        module.bias = Parameter(framework.empty(bias_features, device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def kaiming_reset_(module):
    """Linear's and the convolutions' reset_parameters: weight kaiming-uniform (a = sqrt(5)), the
    bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    init.kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        fan_in_uniform_(module.bias, module.weight)


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        weight_and_bias(self, (out_features, in_features), out_features, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        kaiming_reset_(self)

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise RuntimeError(f"Linear expected input with last dimension {self.in_features} (shape "
                               f"[*, {self.in_features}]), but got input of shape {list(input.shape)}")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """y = x1^T A x2 + b with A of shape (out_features, in1_features, in2_features)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        weight_and_bias(self, (out_features, in1_features, in2_features), out_features, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={self.in1_features})")
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
