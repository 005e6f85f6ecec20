"""DataLoader workers that die or fail in awkward ways: the main process raises, within
seconds, instead of hanging (as PyTorch does)."""
import os
import signal
import time

import pytest

import framework
from framework.utils.data import DataLoader, Dataset, get_worker_info


class Killed(Dataset):
    """Sample 5 kills its worker, as the kernel's OOM killer would."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        if i == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return framework.tensor([float(i)])


class TwoArgError(Exception):
    def __init__(self, code, detail):  # cannot be rebuilt from one message
        super().__init__(f"{code}: {detail}")


class RaisesTwoArg(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        raise TwoArgError(7, "disk on fire")


class Unpicklable(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return lambda: i  # a batch that cannot travel back to the main process


class Slow(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(30)
        return i


def _first_error(loader):
    start = time.monotonic()
    with pytest.raises(Exception) as info:
        list(loader)
    return info.value, time.monotonic() - start


def test_a_worker_killed_mid_batch_raises_in_the_main_process():
    err, took = _first_error(DataLoader(Killed(), batch_size=2, num_workers=2))
    assert isinstance(err, RuntimeError) and "exited unexpectedly" in str(err), err
    assert took < 60  # (a hang guard, not a speed test: the old loader waited for ever)


def test_an_exception_that_cannot_be_rebuilt_becomes_a_runtime_error():
    err, took = _first_error(DataLoader(RaisesTwoArg(), batch_size=2, num_workers=2))
    assert isinstance(err, RuntimeError) and "TwoArgError" in str(err) and "disk on fire" in str(err), err
    assert took < 60  # (a hang guard, not a speed test: the old loader waited for ever)


def test_a_batch_that_cannot_be_pickled_is_an_error_not_a_hang():
    err, took = _first_error(DataLoader(Unpicklable(), batch_size=None, num_workers=1))
    assert "pickle" in str(err).lower() or "Can't" in str(err), err
    assert took < 60  # (a hang guard, not a speed test: the old loader waited for ever)


def test_timeout_is_honoured():
    err, took = _first_error(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=1))
    assert isinstance(err, RuntimeError) and "timed out after 1 seconds" in str(err)
    assert took < 60


def test_worker_errors_keep_their_type_and_say_where():
    class Broken(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            raise KeyError("missing sample")
    with pytest.raises(KeyError, match="in DataLoader worker process"):
        list(DataLoader(Broken(), batch_size=2, num_workers=2))


class Which(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return framework.tensor([i, info.id, info.num_workers])


def test_worker_info_and_order():
    batches = list(DataLoader(Which(), batch_size=2, num_workers=3))
    assert [b[:, 0].tolist() for b in batches] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert {int(b[0, 1]) for b in batches} == {0, 1, 2} and all(int(b[0, 2]) == 3 for b in batches)
    assert get_worker_info() is None
