"""torch.nn: Module, layers, losses, init, functional and utils, on the public tensor API."""
from framework.nn.parameter import Parameter
from framework.nn.modules import *  # noqa: F401,F403
from framework.nn import functional, init, utils  # noqa: E402
