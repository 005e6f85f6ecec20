"""torch.optim: optimizers with fused update kernels, and learning-rate schedulers."""
from framework.optim.algorithms import SGD, Adagrad, Adam, AdamW, RMSprop
from framework.optim.optimizer import Optimizer
from framework.optim import lr_scheduler
