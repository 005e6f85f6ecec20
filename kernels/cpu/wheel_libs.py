"""Shared libraries that wheels (tbb, mkl) install into `<prefix>/lib`, which is not on the
dynamic loader's path in a virtualenv (nor for a pyenv or conda Python): found by the
distribution's file list, then in the interpreter's prefixes, and loaded by path."""
import fnmatch
import glob
import os
import sys


def installed(distribution):
    try:
        from importlib import metadata
        metadata.distribution(distribution)
        return True
    except Exception:
        return False


def paths(distribution, pattern):
    """Files named like `pattern` (a glob such as "libmkl_rt.so*") that `distribution` installed,
    then those in each prefix's lib folder; the highest version first, each real path once (the
    file list and a prefix often name one library, through a symlink or not)."""
    return list(dict.fromkeys(map(os.path.realpath, _found(distribution, pattern))))


def _found(distribution, pattern):
    try:
        from importlib import metadata
        listed = [f for f in metadata.files(distribution) or () if fnmatch.fnmatch(os.path.basename(str(f)), pattern)]
        yield from sorted((str(f.locate()) for f in listed), reverse=True)
    except Exception:  # the distribution is absent or has no file list
        pass
    for prefix in dict.fromkeys((sys.prefix, sys.exec_prefix, sys.base_prefix)):
        yield from sorted(glob.glob(os.path.join(prefix, "lib", pattern)), reverse=True)
