"""Where Identity, Flatten, Unflatten, Linear and Embedding used to live; kept so that old imports
work. They are in linear.py, flatten.py and sparse.py (convolutions: conv.py, pooling: pooling.py)."""
from framework.nn.modules.flatten import Flatten, Unflatten  # noqa: F401
from framework.nn.modules.linear import Bilinear, Identity, Linear, fan_in_uniform_ as _fan_in_bias_  # noqa: F401
from framework.nn.modules.sparse import Embedding, EmbeddingBag  # noqa: F401
