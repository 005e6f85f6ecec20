"""The torch.* forms of nn.functional's dropouts and normalisations (torch.batch_norm,
torch.dropout, ...): PyTorch's positional signatures over the same implementations."""
from framework.nn import _dropout, _normalization

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm", "dropout", "dropout_",
           "alpha_dropout", "alpha_dropout_", "feature_dropout", "feature_dropout_", "feature_alpha_dropout",
           "feature_alpha_dropout_"]


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    return _normalization._batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    return _normalization.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum,
                                        eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    return _normalization.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return _normalization.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _normalization.rms_norm(input, normalized_shape, weight, eps)


def _checked(p):
    _dropout._check_p(p)
    return p


def dropout(input, p, train):
    return _dropout._dropout_impl(input, _checked(p), train, False, tuple(input.shape), alpha=False)


def dropout_(input, p, train):
    return _dropout._dropout_impl(input, _checked(p), train, True, tuple(input.shape), alpha=False)


def alpha_dropout(input, p, train):
    return _dropout._dropout_impl(input, _checked(p), train, False, tuple(input.shape), alpha=True)


def alpha_dropout_(input, p, train):
    return _dropout._dropout_impl(input, _checked(p), train, True, tuple(input.shape), alpha=True)


def _feature(input, p, train, inplace, alpha):
    noise = _dropout._feature_noise_shape(input.shape) if train and p not in (0, 1) and input.numel() else ()
    return _dropout._dropout_impl(input, _checked(p), train, inplace, noise, alpha=alpha)


def feature_dropout(input, p, train):
    return _feature(input, p, train, False, False)


def feature_dropout_(input, p, train):
    return _feature(input, p, train, True, False)


def feature_alpha_dropout(input, p, train):
    return _feature(input, p, train, False, True)


def feature_alpha_dropout_(input, p, train):
    return _feature(input, p, train, True, True)
