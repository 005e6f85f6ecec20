"""torch.optim: optimizers (fused update kernels, or plain tensor ops on a backend without them),
learning-rate schedulers and stochastic weight averaging."""
from framework.optim.optimizer import Optimizer
from framework.optim.algorithms import SGD, Adagrad, Adam, AdamW, RMSprop
from framework.optim.adadelta import Adadelta
from framework.optim.adamax import Adamax
from framework.optim.asgd import ASGD
from framework.optim.lbfgs import LBFGS
from framework.optim.nadam import NAdam
from framework.optim.radam import RAdam
from framework.optim.rprop import Rprop
from framework.optim.sparse_adam import SparseAdam
from framework.optim.adafactor import Adafactor
from framework.optim.muon import Muon
from framework.optim import lr_scheduler, swa_utils

__all__ = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "Muon", "NAdam",
           "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam", "lr_scheduler", "swa_utils"]

