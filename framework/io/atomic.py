"""Write a file so that readers see either the old content or the complete new one.

The new content goes to a temporary file beside the target, named
`.<target>.<host>.<pid>.<random>.tmp`, which is fsynced and renamed over the target.
The file gets the permissions `open(path, "w")` would give it, as torch.save's file
has: an existing target keeps its mode, a new one gets 0o666 minus the umask (not
mkstemp's 0o600). A symlink is written through (its target is replaced), as open()
does. A save killed before its rename leaves its temporary file behind; the next save
of the same target removes such files when they were written on this host by a
process that no longer runs (temporary files of live saves are left alone).
"""
import contextlib
import os
import re
import secrets
import socket
import zlib

_HOST = f"{zlib.crc32(socket.gethostname().encode('utf-8', 'replace')):08x}"


def _temp_prefix(base):
    return "." + base[:180] + "."  # room for the suffix within a 255-byte name


def _pid_alive(pid):
    if pid == os.getpid():
        return True  # another thread of this process may be saving
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(directory, base):
    """Remove temporary files of killed saves of `base` in `directory`: ours by name, from
    this host, and whose process is gone. Returns the names removed."""
    if os.name != "posix":  # os.kill(pid, 0) does not probe a process elsewhere
        return []
    pattern = re.compile(re.escape(_temp_prefix(base)) + r"([0-9a-f]{8})\.([0-9]+)\.[0-9a-f]{16}\.tmp")
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        m = pattern.fullmatch(name)
        if m is None or m.group(1) != _HOST or _pid_alive(int(m.group(2))):
            continue
        try:
            os.unlink(os.path.join(directory, name))
            removed.append(name)
        except OSError:
            pass
    return removed


def write_atomically(path, chunks):
    """Write the buffers in `chunks` to a temporary file beside `path`, fsync it, then
    rename it over `path`. If anything fails the temporary file is removed and `path` is
    untouched."""
    with open_atomically(path) as f:
        for chunk in chunks:
            f.write(chunk)


@contextlib.contextmanager
def open_atomically(path):
    """A binary file (a temporary one beside `path`) for the block to write; when the block
    ends normally it is fsynced and renamed over `path`. If anything fails the temporary
    file is removed and `path` is untouched."""
    target = os.path.realpath(os.fspath(path))  # through symlinks, as open(path, "wb") writes
    directory, base = os.path.split(target)
    remove_stale_temporaries(directory, base)
    try:
        mode = os.stat(target).st_mode & 0o777
    except FileNotFoundError:
        mode = None
    tmp = os.path.join(directory, f"{_temp_prefix(base)}{_HOST}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o666)  # the umask applies, as for open(path, "w")
    try:
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            fd = None
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
