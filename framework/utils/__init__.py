"""torch.utils: data loading."""
from framework.utils import data  # noqa: F401
