"""DistributedSampler: each rank reads its own 1/num_replicas of the dataset, PyTorch's way."""
import math

import framework
from framework.utils.data.sampler import Sampler


class DistributedSampler(Sampler):
    """Indices `rank, rank + num_replicas, ...` of one permutation (seeded by `seed + epoch`, so every
    rank draws the same one; call `set_epoch` each epoch to reshuffle). Without `drop_last` the
    permutation is padded with its own first indices to a multiple of `num_replicas`, so every rank
    gets as many samples; with it, the tail is dropped instead."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        from framework import distributed as dist
        if num_replicas is None:
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            num_replicas = dist.get_world_size()
        if rank is None:
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch = 0
        self.drop_last = drop_last
        if self.drop_last and len(self.dataset) % self.num_replicas != 0:
            self.num_samples = math.ceil((len(self.dataset) - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(len(self.dataset) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle, self.seed = shuffle, seed

    def __iter__(self):
        if self.shuffle:
            g = framework.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = framework.randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """The epoch, which seeds the shuffle (with `seed`): the same order on every rank, a new one each epoch."""
        self.epoch = epoch
