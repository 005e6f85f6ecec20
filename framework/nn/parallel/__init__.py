"""torch.nn.parallel: DistributedDataParallel over framework.distributed (MPI)."""
from framework.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
