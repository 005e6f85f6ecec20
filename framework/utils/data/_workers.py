"""DataLoader worker processes: one index queue per worker, one result queue, and a main
loop that never waits blindly.

`multiprocessing.Pool` loses a task whose worker dies (SIGKILL, out of memory) and hangs
when a result or an exception cannot be pickled or rebuilt; PyTorch raises in the main
process instead. So workers pickle their results themselves (a failure becomes an error
sent back), exceptions travel as text plus their type (`ExceptionWrapper`), and the main
process polls the result queue with a short timeout, checking that every worker is still
alive."""
import pickle
import queue
import random
import sys
import traceback
from multiprocessing.reduction import ForkingPickler

import numpy as np

import framework

_POLL_S = 0.5  # how often the main process checks its workers while it waits
_worker_state = {}


class WorkerInfo:
    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


def get_worker_info():
    """This worker's WorkerInfo in a DataLoader worker process; None in the main process."""
    return _worker_state.get("info")


class ExceptionWrapper:
    """An exception as its type and formatted traceback, re-raised in the main process as
    PyTorch does: the same type when it can be built from one message, else RuntimeError."""

    def __init__(self, exc_info, where):
        exc_type = exc_info[0]
        try:
            pickle.dumps(exc_type)
        except Exception:  # a class local to a function: only its name travels
            exc_type = None
        self.exc_type, self.type_name = exc_type, exc_info[0].__name__
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.type_name} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is None:
            raise RuntimeError(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # the exception's constructor takes other arguments
            raise RuntimeError(msg) from None
        raise exception


def _fetch(indices):
    """A batch (a list of indices) or, with automatic batching off, one sample."""
    dataset, collate_fn = _worker_state["dataset"], _worker_state["collate_fn"]
    if isinstance(indices, list):
        return collate_fn([dataset[i] for i in indices])
    return collate_fn(dataset[indices])


def _worker_loop(dataset, collate_fn, worker_init_fn, seed, worker_id, num_workers, index_queue, result_queue):
    where = f"in DataLoader worker process {worker_id}"
    try:
        framework.manual_seed(seed)
        np.random.seed(seed % 2 ** 32)
        random.seed(seed)
        _worker_state.update(dataset=dataset, collate_fn=collate_fn,
                             info=WorkerInfo(worker_id, num_workers, seed, dataset))
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        init_error = None
    except BaseException:
        init_error = ExceptionWrapper(sys.exc_info(), where)
    while True:
        try:
            task = index_queue.get()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        task_id, key = task
        try:
            if init_error is not None:
                payload = ForkingPickler.dumps((task_id, None, init_error))
            else:
                payload = ForkingPickler.dumps((task_id, _fetch(key), None))
        except BaseException:  # the dataset, the collate function or pickling the batch failed
            payload = ForkingPickler.dumps((task_id, None, ExceptionWrapper(sys.exc_info(), where)))
        result_queue.put(bytes(payload))


class WorkerPool:
    """num_workers processes fetching keys in order; `run(keys)` yields their batches in the
    sampler's order, with at most prefetch_factor keys per worker in flight."""

    def __init__(self, ctx, dataset, collate_fn, worker_init_fn, base_seed, num_workers, prefetch_factor, timeout):
        self.timeout, self.in_flight = timeout, num_workers * prefetch_factor
        self.result_queue = ctx.Queue()
        self.index_queues = [ctx.Queue() for _ in range(num_workers)]
        self.workers = [ctx.Process(target=_worker_loop, daemon=True,
                                    args=(dataset, collate_fn, worker_init_fn, base_seed + i, i, num_workers,
                                          self.index_queues[i], self.result_queue))
                        for i in range(num_workers)]
        for w in self.workers:
            w.start()

    def run(self, keys):
        sent = received = 0
        ready = {}
        keys = iter(keys)
        exhausted = False
        while True:
            while not exhausted and sent - received < self.in_flight:
                key = next(keys, None)
                if key is None:
                    exhausted = True
                    break
                self.index_queues[sent % len(self.workers)].put((sent, key))
                sent += 1
            if received == sent:
                return
            while received not in ready:
                task_id, data, error = self._next_result()
                ready[task_id] = (data, error)
            data, error = ready.pop(received)
            received += 1
            if error is not None:
                error.reraise()
            yield data

    def _next_result(self):
        waited = 0.0
        while True:
            try:
                return pickle.loads(self.result_queue.get(timeout=_POLL_S))
            except queue.Empty:
                waited += _POLL_S
            dead = [w for w in self.workers if not w.is_alive()]
            if dead:
                pids = ", ".join(str(w.pid) for w in dead)
                codes = ", ".join(str(w.exitcode) for w in dead)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly (exit code(s) {codes})")
            if self.timeout and waited >= self.timeout:
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds")

    def shutdown(self):
        for q in self.index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for w in self.workers:
            w.join(timeout=1.0)
            if w.is_alive():
                w.terminate()
                w.join(timeout=1.0)
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()  # never block exit on data nobody will read
            q.close()
