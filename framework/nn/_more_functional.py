"""The functional ops defined in their own modules, gathered for framework.nn.functional's one
re-export: losses (_loss), distances (_distance), embeddings (_sparse), bilinear (_linear)."""
from framework.nn._distance import *  # noqa: F401,F403
from framework.nn._distance import __all__ as _distance_all
from framework.nn._linear import *  # noqa: F401,F403
from framework.nn._linear import __all__ as _linear_all
from framework.nn._loss import *  # noqa: F401,F403
from framework.nn._loss import __all__ as _loss_all
from framework.nn._sparse import *  # noqa: F401,F403
from framework.nn._sparse import __all__ as _sparse_all

__all__ = _loss_all + _distance_all + _sparse_all + _linear_all
