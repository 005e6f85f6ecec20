"""framework.distributed over MPI: the rank scripts in tests/distributed_scripts run under the
launcher (framework.distributed.run -> mpirun) on 2 and 3 ranks over loopback and print one
`OK <check>` line per check; these tests start them and read the lines. In-process tests cover
what needs no MPI: the post-accumulate-grad hook DDP relies on (against PyTorch), the sampler,
the launcher's command line and errors before init_process_group."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import framework

pytest.importorskip("mpi4py", reason="framework.distributed needs mpi4py and Open MPI: pip install '.[distributed]'")

SCRIPTS = os.path.join(os.path.dirname(__file__), "distributed_scripts")
DEVICES = os.environ.get("FRAMEWORK_TEST_DEVICES", "cpu,cuda")


def launch(script, ranks, *args, timeout=240):
    """Run a rank script on `ranks` processes through the launcher; (return code, output, seconds)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), os.environ.get("PYTHONPATH")])))
    if "cuda" not in DEVICES:
        env["NUMBA_ENABLE_CUDASIM"] = "0"
        env["FRAMEWORK_DIST_SKIP_CUDA"] = "1"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "framework.distributed.run", "--nproc-per-node", str(ranks),
                           os.path.join(SCRIPTS, script), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, errors="replace")
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - start


COLLECTIVE_CHECKS = ["all_reduce cpu", "async_op cpu", "broadcast cpu", "reduce cpu", "all_gather cpu",
                     "reduce_scatter_tensor cpu", "gather scatter cpu", "send recv cpu", "objects", "new_group",
                     "errors", "DistributedSampler", "SyncBatchNorm", "destroy_process_group"]


@pytest.mark.parametrize("ranks", [2, 3])
def test_collectives_against_numpy(ranks):
    rc, out, _ = launch("collectives.py", ranks)
    assert rc == 0, out
    for check in COLLECTIVE_CHECKS:
        assert f"OK {check}\n" in out, f"{check} did not pass:\n{out}"
    if ranks == 3 and "cuda" in DEVICES and framework.cuda.is_available():
        assert "OK all_reduce cuda\n" in out and "OK send recv cuda\n" in out, out  # staged through host memory


def test_ddp_lenet_equals_single_process():
    rc, out, _ = launch("ddp.py", 2)
    assert rc == 0, out
    for check in ("DDP LeNet 20 steps equals single-process training", "state_dict keys prefixed module.",
                  "no_sync accumulation equals the unsplit step", "find_unused_parameters", "broadcast_buffers"):
        assert f"OK {check}" in out, f"{check} did not pass:\n{out}"


@pytest.mark.parametrize("mode, message", [
    ("raise", "[rank 0] framework.distributed: aborting: rank 1 failed with ValueError: boom on purpose"),
    ("kill", "exited on\nsignal 9"),
    ("timeout", "[rank 0] framework.distributed: all_reduce timed out after 3 s"),
])
def test_a_failing_rank_ends_the_job(mode, message):
    rc, out, seconds = launch("fault.py", 2, mode, timeout=90)
    assert rc != 0, out
    assert "rank 0 finished" not in out
    assert message in " ".join(out.split(" ")), out
    assert seconds < 60, f"the job took {seconds:.0f} s to end"


def test_lenet_example_trains_data_parallel(tmp_path):
    out_file = tmp_path / "lenet.fwt"
    env = dict(os.environ, FRAMEWORK_DIST_SKIP_CUDA="1")
    proc = subprocess.run([sys.executable, "-m", "framework.distributed.run", "--nproc-per-node", "2", "-m",
                           "framework.examples.lenet", "--epochs", "1", "--out", str(out_file)],
                          capture_output=True, text=True, timeout=240, env=env, errors="replace")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("epoch 1: loss") == 1, proc.stdout  # only rank 0 prints
    assert "2 ranks x 32 images per step" in proc.stdout and "predictions identical: True" in proc.stdout
    from framework.examples.lenet import Net
    net = Net()
    net.load_state_dict(framework.load(str(out_file))["model"])  # the checkpoint reloads in one process


# ----------------------------------------------------------------- in-process


def test_post_accumulate_grad_hook_matches_pytorch(device):
    def run(T, dev):
        w = T.tensor([1.0, 2.0, 3.0], requires_grad=True, device=dev)
        b = T.tensor([0.5], requires_grad=True, device=dev)
        seen = []
        hw = w.register_post_accumulate_grad_hook(lambda p: seen.append(("w", p.grad.tolist())))
        b.register_post_accumulate_grad_hook(lambda p: seen.append(("b", p.grad.tolist())))
        b.register_post_accumulate_grad_hook(lambda p: p.grad.mul_(10) and None)  # may change it in place
        ((w * w).sum() + (w * b).sum()).backward()
        ((w * 2).sum()).backward()  # accumulates: the hook sees the sum
        hw.remove()
        (w.sum() * b).sum().backward()
        return seen, w.grad.tolist(), b.grad.tolist()
    got, want = run(framework, device), run(torch, "cpu")
    assert got[0] == want[0] and np.allclose(got[1], want[1]) and np.allclose(got[2], want[2])
    for T in (framework, torch):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            T.zeros(2).register_post_accumulate_grad_hook(print)
        x = T.zeros(2, requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda p: p.grad)
        with pytest.raises(RuntimeError, match="should return None"):
            x.sum().backward()
        with pytest.raises(RuntimeError, match="non-leaf"):
            (T.zeros(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(print)


def test_no_default_group():
    import framework.distributed as dist
    import torch.distributed as tdist
    assert dist.is_available() and not dist.is_initialized()
    for lib in (dist, tdist):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            lib.get_rank()
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            lib.all_reduce(lib.ReduceOp and (framework.ones(2) if lib is dist else torch.ones(2)))
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("carrier-pigeon")
    assert {op.name for op in dist.ReduceOp} >= {"SUM", "AVG", "PRODUCT", "MIN", "MAX"}
    assert framework.distributed is dist and framework.nn.parallel.DistributedDataParallel


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (2, 5, False), (12, 4, False)])
def test_distributed_sampler_matches_pytorch(n, replicas, drop_last):
    from framework.utils.data.distributed import DistributedSampler
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    shuffled = []
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        s = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=5, drop_last=drop_last)
        s.set_epoch(3)
        shuffled += list(s)
        assert len(list(s)) == len(theirs)
    assert set(shuffled) == set(range(n)) or drop_last
    for bad in (replicas, -1):
        with pytest.raises(ValueError, match="Invalid rank"):
            DistributedSampler(range(n), replicas, bad)


def test_launcher_command_line(tmp_path, capsys):
    from framework.distributed import run
    assert os.access(run.find_mpirun(), os.X_OK)
    hostfile = tmp_path / "hosts"
    hostfile.write_text("node1 slots=2\nnode2 slots=2\n")
    assert run.main(["--dry-run", "--nnodes", "2", "--nproc-per-node", "2", "--hostfile", str(hostfile), "-m",
                     "pkg.train", "--lr", "0.1"]) == 0
    line = capsys.readouterr().out
    assert " -n 4 " in line and "ppr:2:node" in line and f"--hostfile {hostfile}" in line
    assert line.rstrip().endswith("framework.distributed._bootstrap -m pkg.train --lr 0.1")
    for bad in (["--node-rank", "1", "x.py"], ["--nnodes", "2", "x.py"]):
        with pytest.raises(SystemExit) as info:
            run.main(bad)
        assert info.value.code == 2
    from framework.distributed._bootstrap import torchrun_environment
    env = torchrun_environment({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4",
                                "OMPI_COMM_WORLD_LOCAL_RANK": "1", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"})
    assert env == {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
