"""DataLoader: batches from a dataset, in order or shuffled, in this process or in
worker processes; default_collate stacks samples into batch tensors.

Over a TensorDataset with the default collate, a batch is one indexing of each
tensor with the batch's indices instead of one __getitem__ per sample."""
import collections
import itertools
import multiprocessing
import numbers

import numpy as np

import framework
from framework.tensor import Tensor
from framework.utils.data._workers import WorkerPool, get_worker_info  # noqa: F401 (public here, as in PyTorch)
from framework.utils.data.dataset import IterableDataset, TensorDataset
from framework.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler


def default_collate(batch):
    """Stack a list of samples the way torch.utils.data.default_collate does."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return framework.stack(batch, 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                            f"found array of dtype {elem.dtype}")
        return framework.from_numpy(np.stack(batch))
    if isinstance(elem, np.generic):
        return framework.tensor(np.array(batch))
    if isinstance(elem, bool):
        return framework.tensor(batch, dtype=framework.bool)
    if isinstance(elem, numbers.Integral):
        return framework.tensor(batch, dtype=framework.int64)
    if isinstance(elem, numbers.Real):
        return framework.tensor(batch, dtype=framework.float64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return type(elem)({k: default_collate([d[k] for d in batch]) for k in elem}) \
            if not isinstance(elem, collections.OrderedDict) else \
            collections.OrderedDict((k, default_collate([d[k] for d in batch])) for k in elem)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(s) != len(elem) for s in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(list(s)) for s in zip(*batch)]
        return transposed if isinstance(elem, list) else tuple(transposed)
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem).__name__}")


def default_convert(data):
    return data


# ----------------------------------------------------------------- DataLoader


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device=""):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. "
                             "let num_workers > 0 to enable multiprocessing.")
        self.dataset, self.num_workers, self.pin_memory = dataset, num_workers, pin_memory
        self.timeout, self.worker_init_fn, self.generator = timeout, worker_init_fn, generator
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.multiprocessing_context = multiprocessing_context
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler option")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                       or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._default_collate = collate_fn is None
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if batch_size is not None or batch_sampler is not None else default_convert)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)

    def __iter__(self):
        if self._iterable:
            return self._iter_iterable()
        keys = iter(self.batch_sampler) if self.batch_sampler is not None else iter(self.sampler)
        if self.num_workers == 0:
            return self._iter_local(keys)
        return self._iter_workers(keys)

    def _fetch_local(self, key):
        if self.batch_sampler is None:
            return self.collate_fn(self.dataset[key])
        if self._default_collate and type(self.dataset) is TensorDataset:
            index = framework.tensor(key, dtype=framework.int64)
            n = len(self.dataset)
            if key and (max(key) >= n or min(key) < -n):
                raise IndexError(f"index {max(key)} is out of range for a TensorDataset of {n} samples")
            return [t[index] for t in self.dataset.tensors]
        return self.collate_fn([self.dataset[i] for i in key])

    def _iter_local(self, keys):
        for key in keys:
            yield self._fetch_local(key)

    def _context(self):
        ctx = self.multiprocessing_context
        if isinstance(ctx, str):
            return multiprocessing.get_context(ctx)
        if ctx is not None:
            return ctx
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("fork" if "fork" in methods else methods[0])

    def _iter_workers(self, keys):
        base_seed = int(framework.randint(0, 2 ** 62, (), generator=self.generator).item())
        pool = WorkerPool(self._context(), self.dataset, self.collate_fn, self.worker_init_fn, base_seed,
                          self.num_workers, self.prefetch_factor, self.timeout)
        try:
            yield from pool.run(keys)
        finally:
            pool.shutdown()

    def _iter_iterable(self):
        it = iter(self.dataset)
        if self.batch_size is None:
            for sample in it:
                yield self.collate_fn(sample)
            return
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)

