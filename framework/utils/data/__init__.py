"""torch.utils.data: datasets, samplers and the DataLoader."""
from framework.utils.data.dataloader import DataLoader, default_collate, default_convert, get_worker_info
from framework.utils.data.dataset import (ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,
                                          random_split)
from framework.utils.data.sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                                          SubsetRandomSampler, WeightedRandomSampler)
from framework.utils.data.distributed import DistributedSampler
