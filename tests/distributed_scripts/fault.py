"""Run by tests/test_distributed.py under mpirun: rank 1 fails (argv[1]: raise, kill, timeout)
while rank 0 waits in a collective; the job must end in seconds, not hang."""
import datetime
import os
import signal
import sys
import time

import framework as torch
import framework.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=3 if mode == "timeout" else 60))
rank = dist.get_rank()
if rank == 1:
    if mode == "raise":
        raise ValueError("boom on purpose")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(120)  # timeout: never joins the collective
dist.all_reduce(torch.ones(3))
print("rank 0 finished a collective that rank 1 never joined", flush=True)
