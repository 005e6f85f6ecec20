"""torch.nn.utils: gradient clipping, flat-vector views of parameters, parametrizations, pruning,
weight and spectral normalisation, conv/linear-batchnorm fusion and functional_call."""
from framework.nn.utils import parametrizations, parametrize, prune, stateless  # noqa: F401
from framework.nn.utils.clip_grad import (clip_grad_norm, clip_grad_norm_, clip_grad_value_,  # noqa: F401
                                          clip_grads_with_norm_, get_total_norm)
from framework.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from framework.nn.utils.fusion import (fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval,  # noqa: F401
                                       fuse_linear_bn_weights)
from framework.nn.utils.init import skip_init  # noqa: F401
from framework.nn.utils.spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401
from framework.nn.utils.weight_norm import remove_weight_norm, weight_norm  # noqa: F401


from framework.nn.utils import rnn  # noqa: E402,F401  (torch.nn.utils.rnn)
