"""What each rank runs under the launcher: torchrun's environment variables from MPI's, then
the script (or module) as __main__ with its arguments."""
import os
import runpy
import sys


def torchrun_environment(env=os.environ):
    """RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE and GROUP_RANK from Open MPI's (or Slurm's)."""
    sources = (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_NODE_RANK"),
               ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE", "SLURM_NODEID"))
    out = {}
    for keys in sources:
        if keys[0] in env:
            for name, key in zip(("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK"), keys):
                if key in env:
                    out[name] = env[key].split("(")[0]
            break
    return out


def main(argv):
    for name, value in torchrun_environment().items():
        os.environ.setdefault(name, value)
    if argv[:1] == ["-m"]:
        sys.argv = [argv[1]] + argv[2:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(argv)
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
