from framework.nn.modules.activation import (CELU, ELU, GELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                                             LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, RReLU,
                                             Sigmoid, SiLU, Softmax, Softmax2d, Softmin, Softplus, Softshrink, Softsign,
                                             Tanh, Tanhshrink, Threshold)
from framework.nn.modules.container import ModuleDict, ModuleList, Sequential
from framework.nn.modules.parameter_containers import ParameterDict, ParameterList
from framework.nn.modules.layers import Embedding, Flatten, Identity, Linear, Unflatten
from framework.nn.modules.linear import Bilinear
from framework.nn.modules.sparse import EmbeddingBag
from framework.nn.modules.distance import CosineSimilarity, PairwiseDistance
from framework.nn.modules.lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d,
                                      LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d,
                                      LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear,
                                      LazyModuleMixin)
from framework.nn.modules.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from framework.nn.modules.pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d,
                                          AdaptiveMaxPool2d, AdaptiveMaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d,
                                          FractionalMaxPool2d, FractionalMaxPool3d, LPPool1d, LPPool2d, LPPool3d,
                                          MaxPool1d, MaxPool2d, MaxPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d)
from framework.nn.modules.fold import Fold, Unfold
from framework.nn.modules.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                                       MSELoss, NLLLoss, SmoothL1Loss)
from framework.nn.modules.loss import (CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss, HingeEmbeddingLoss,
                                       MarginRankingLoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss,
                                       MultiMarginLoss, NLLLoss2d, PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss,
                                       TripletMarginWithDistanceLoss, LinearCrossEntropyLoss, LinearCrossEntropyOptions)
from framework.nn.modules.adaptive import AdaptiveLogSoftmaxWithLoss
from framework.nn.modules.module import Module
from framework.nn.modules.dropout import (AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d,
                                          FeatureAlphaDropout)
from framework.nn.modules.normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, CrossMapLRN2d, GroupNorm,
                                                InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LayerNorm,
                                                LocalResponseNorm, RMSNorm, SyncBatchNorm)
from framework.nn.modules.attention import MultiheadAttention
from framework.nn.modules.transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                                              TransformerEncoder, TransformerEncoderLayer)
from framework.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from framework.nn.modules.padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d,
                                          ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                                          ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d,
                                          ZeroPad3d)
from framework.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from framework.nn.modules.pixelshuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle
