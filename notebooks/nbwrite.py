"""What each make_*.py ends with: its cells written as a Python 3 notebook beside it."""
import pathlib

import nbformat
from nbformat.v4 import new_notebook


def write(cells, name):
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    nbformat.write(nb, pathlib.Path(__file__).with_name(name))
