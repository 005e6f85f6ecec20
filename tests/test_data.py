import collections

import numpy as np
import pytest
import torch

import framework
from framework.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                                  RandomSampler, SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                                  WeightedRandomSampler, default_collate, random_split)


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if not 0 <= i < 10:
            raise IndexError(i)
        return {"x": np.full(2, i, np.float32), "y": i * i, "name": f"n{i}"}


class Stream(IterableDataset):
    def __iter__(self):
        return iter(range(7))

    def __len__(self):
        return 7


def test_tensor_dataset_and_errors():
    x, y = framework.arange(10.0).reshape(5, 2), framework.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5 and ds[1][0].tolist() == [2.0, 3.0] and ds[-1][1].item() == 4
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(x, framework.arange(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)


def test_subset_concat_random_split():
    ds = TensorDataset(framework.arange(10))
    sub = Subset(ds, [3, 1])
    assert [s[0].item() for s in sub] == [3, 1]
    cat = ConcatDataset([ds, sub])
    assert len(cat) == 12 and cat[10][0].item() == 3 and cat[-1][0].item() == 1
    with pytest.raises(IndexError):
        cat[12]
    a, b = random_split(ds, [7, 3], generator=framework.Generator().manual_seed(0))
    assert len(a) == 7 and len(b) == 3 and sorted(a.indices + b.indices) == list(range(10))
    a2, _ = random_split(ds, [7, 3], generator=framework.Generator().manual_seed(0))
    assert a2.indices == a.indices
    parts = random_split(ds, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    t_parts = torch.utils.data.random_split(range(11), [0.4, 0.4, 0.2])
    assert [len(p) for p in random_split(TensorDataset(framework.arange(11)), [0.4, 0.4, 0.2])] == \
        [len(p) for p in t_parts]
    with pytest.raises(ValueError):
        random_split(ds, [5, 6])


def test_samplers():
    ds = list(range(10))
    assert list(SequentialSampler(ds)) == ds
    g = framework.Generator().manual_seed(3)
    r = list(RandomSampler(ds, generator=g))
    assert sorted(r) == ds and r != ds
    assert len(list(RandomSampler(ds, replacement=True, num_samples=25))) == 25
    assert sorted(SubsetRandomSampler([2, 5, 7])) == [2, 5, 7]
    w = list(WeightedRandomSampler([0.0, 0.0, 1.0, 0.0], 20))
    assert w == [2] * 20
    assert sorted(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False)) == [0, 1, 2, 3]
    assert list(BatchSampler(SequentialSampler(ds), 4, False)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(BatchSampler(SequentialSampler(ds), 4, True)) == 2
    with pytest.raises(ValueError):
        WeightedRandomSampler([1.0, -1.0], 2)


def test_default_collate_matches_torch():
    samples = [{"a": np.ones(2, np.float32) * i, "b": (i, 1.5 * i, True), "s": f"s{i}"} for i in range(3)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert ours["a"].tolist() == theirs["a"].tolist()
    for o, t in zip(ours["b"], theirs["b"]):
        assert str(o.dtype) == str(t.dtype) and o.tolist() == t.tolist()
    assert ours["s"] == theirs["s"]
    Point = collections.namedtuple("Point", "x y")
    out = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(out, Point) and out.x.tolist() == [1, 3]
    stacked = default_collate([framework.ones(2), framework.zeros(2)])
    assert stacked.shape == (2, 2)


def test_dataloader_batches_shuffle_drop_last_and_generator():
    x, y = framework.arange(20.0).reshape(10, 2), framework.arange(10)
    ds = TensorDataset(x, y)
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 2)
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    order1 = [b[1].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True,
                                                generator=framework.Generator().manual_seed(7))]
    order2 = [b[1].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True,
                                                generator=framework.Generator().manual_seed(7))]
    assert order1 == order2 and sorted(sum(order1, [])) == list(range(10))
    framework.manual_seed(0)
    e1 = [b[1].tolist() for b in DataLoader(ds, batch_size=10, shuffle=True)]
    framework.manual_seed(0)
    assert e1 == [b[1].tolist() for b in DataLoader(ds, batch_size=10, shuffle=True)]
    custom = DataLoader(ds, batch_sampler=[[9, 0], [5]], collate_fn=lambda items: [int(i[1]) for i in items])
    assert list(custom) == [[9, 0], [5]]
    assert [b["y"].tolist() for b in DataLoader(Squares(), batch_size=4, pin_memory=True)][0] == [0, 1, 4, 9]
    unbatched = list(DataLoader(Squares(), batch_size=None))
    assert unbatched[3]["y"] == 9
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(IndexError):
        list(DataLoader(ds, sampler=[11], batch_size=1))


@pytest.mark.parametrize("dataset", ["tensor", "custom"])
def test_workers_load_the_same_batches(dataset):
    ds = TensorDataset(framework.arange(40.0).reshape(20, 2), framework.arange(20)) if dataset == "tensor" \
        else Squares()
    serial = list(DataLoader(ds, batch_size=3))
    parallel = list(DataLoader(ds, batch_size=3, num_workers=2))
    assert len(serial) == len(parallel)
    for a, b in zip(serial, parallel):
        if isinstance(a, dict):
            assert a["y"].tolist() == b["y"].tolist() and a["name"] == b["name"]
        else:
            assert all(u.tolist() == v.tolist() for u, v in zip(a, b))


def test_worker_errors_reach_the_caller():
    class Broken(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            raise ValueError("bad sample")
    with pytest.raises(ValueError, match="bad sample"):
        list(DataLoader(Broken(), batch_size=2, num_workers=2))
