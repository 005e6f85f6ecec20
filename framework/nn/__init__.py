"""torch.nn: Module, layers, losses, init, functional and utils, on the public tensor API."""
from framework.nn.parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa: F401
from framework.nn.modules import *  # noqa: F401,F403
from framework.nn import functional, init, utils  # noqa: E402
from framework.nn import parallel  # noqa: E402,F401  (torch.nn.parallel: DistributedDataParallel)
from framework.nn.modules.attention import MultiheadAttention
from framework.nn.modules.transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                                              TransformerEncoder, TransformerEncoderLayer)
