"""Notebooks run top to bottom without error from their own folder, as Jupyter and
nbconvert run them (nothing on PYTHONPATH: `perf` and `framework` come from the install),
and are committed with their outputs (`python notebooks/build.py` regenerates them)."""
import pathlib
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ["01_quickstart.ipynb", "02_performance.ipynb", "03_char_lm.ipynb", "04_compile.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_from_its_own_folder(name, tmp_path, monkeypatch):
    monkeypatch.setenv("QUICKSTART_EPOCHS", "2")
    monkeypatch.setenv("PERF_QUICK", "1")
    monkeypatch.setenv("CHAR_LM_STEPS", "12")
    monkeypatch.setenv("COMPILE_QUICK", "1")
    monkeypatch.setenv("FRAMEWORK_CACHE", str(tmp_path / "cache"))  # compiled kernels: not the user's cache
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    folder = tmp_path / "notebooks"  # a copy of the folder: running must not need the checkout's root
    shutil.copytree(ROOT / "notebooks", folder, ignore=shutil.ignore_patterns("*.py"))
    nb = nbformat.read(folder / name, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_are_committed_with_their_results(name):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code), "run python notebooks/build.py"
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for cell in code for o in cell.get("outputs", [])), "a notebook shows at least one plot"

