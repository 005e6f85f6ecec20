"""bilinear: y = x1^T A x2 + b over the last dims, as two products (no (N, out, in1, in2) tensor)."""
__all__ = ["bilinear"]


def bilinear(input1, input2, weight, bias=None):
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    for i in range(input1.ndim - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: got {input1.shape[i]} "
                               f"and {input2.shape[i]}")
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {weight.shape[1] if weight.ndim > 1 else weight.shape[0]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {weight.shape[2]}")
    out_features, in1, in2 = weight.shape
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_features):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[0]} but expected "
                           f"{out_features}")
    # x1 @ A_o for every o at once: (*, in1) @ (in1, out * in2), then the dot with x2
    left = input1 @ weight.permute(1, 0, 2).reshape(in1, out_features * in2)
    out = (left.reshape(tuple(input1.shape[:-1]) + (out_features, in2)) * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias
