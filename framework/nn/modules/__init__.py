from framework.nn.modules.activation import (ELU, GELU, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish,
                                             ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softmin, Softplus, Tanh)
from framework.nn.modules.container import ModuleDict, ModuleList, ParameterList, Sequential
from framework.nn.modules.layers import (AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, Embedding,
                                         Flatten, Identity, Linear, MaxPool2d, Unflatten)
from framework.nn.modules.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                                       MSELoss, NLLLoss, SmoothL1Loss)
from framework.nn.modules.module import Module
from framework.nn.modules.normalization import (BatchNorm1d, BatchNorm2d, Dropout, Dropout2d, GroupNorm, LayerNorm)
