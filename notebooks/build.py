"""Regenerates the notebooks from their scripts and executes them in place, so that they
are committed with their results (tables, plots) on the page:

    python notebooks/build.py            # every notebook
    python notebooks/build.py 02         # those whose name contains "02"

Each notebook runs in this folder, as Jupyter runs it; needs the `notebooks` extra.
"""
import pathlib
import runpy
import sys

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
NOTEBOOKS = {"01_quickstart.ipynb": "make_quickstart.py", "02_performance.ipynb": "make_performance.py",
             "03_char_lm.ipynb": "make_char_lm.py", "04_compile.ipynb": "make_compile.py"}


def execute(path, timeout=1800):
    """Execute the notebook at `path` in its own folder; returns it (outputs filled in)."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def main(argv=None):
    wanted = (argv if argv is not None else sys.argv[1:]) or [""]
    for name, script in NOTEBOOKS.items():
        if not any(w in name for w in wanted):
            continue
        runpy.run_path(str(HERE / script), run_name="__main__")
        nbformat.write(execute(HERE / name), HERE / name)
        print(f"executed {name}")


if __name__ == "__main__":
    main()
