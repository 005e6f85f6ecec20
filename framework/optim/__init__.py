"""torch.optim: optimizers (fused update kernels, or plain tensor ops on a backend without them) and
learning-rate schedulers."""
from framework.optim.algorithms import SGD, Adagrad, Adam, AdamW, RMSprop
from framework.optim.optimizer import Optimizer
from framework.optim import lr_scheduler
