"""Bounded reading of a checkpoint file: never read more than the file holds.

Every loader reads through a `Source`: it knows how many bytes the file has left (a
regular file's size, a seekable object's end; None for a pipe or a device such as
/dev/zero), checks a declared length against that *before* reading or allocating,
reads in bounded chunks when the size is unknown, and reads tensor bytes straight
into their destination arrays (`readinto`), so that loading holds each byte once.
"""
import io
import os
import stat

CHUNK = 1 << 24  # bytes per read when the size is unknown, and per copy from a zip entry


def _error(message):
    from framework.io.checkpoint import CheckpointError
    return CheckpointError(message)


class Source:
    """A binary file object read from its current position: `pos` bytes read so far,
    `size` the bytes it had there (None when unknown)."""

    def __init__(self, f, size=None, seekable=False):
        self.f, self.size, self.seekable, self.pos = f, size, seekable, 0
        self.start = f.tell() if seekable else 0
        self.pending = b""  # bytes peeked from a stream that cannot seek back

    def peek(self, n):
        """Up to `n` first bytes, without consuming them."""
        n = n if self.size is None else min(n, self.size - self.pos)
        data = self._raw(n)
        if self.seekable:
            self.f.seek(self.start + self.pos)
        else:
            self.pending = data + self.pending
        return data

    def _raw(self, n):
        """Up to `n` bytes (fewer at the end of the file), in bounded chunks."""
        parts, got = [], 0
        if self.pending:
            parts.append(self.pending[:n])
            self.pending = self.pending[n:]
            got = len(parts[0])
        while got < n:  # an unknown length grows only with what the file really holds
            part = self.f.read(min(CHUNK, n - got))
            if not part:
                break
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    @classmethod
    def open(cls, f):
        """A Source for a file object, finding its size without reading it."""
        seekable = False
        try:
            seekable = bool(f.seekable())
        except (AttributeError, OSError, ValueError):
            pass
        size = None
        try:
            st = os.fstat(f.fileno())
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            pass  # not an OS file: a BytesIO and the like
        else:
            if not stat.S_ISREG(st.st_mode):  # a pipe or a device (/dev/zero): its size means nothing
                return cls(f, None, False)
            if seekable:
                size = st.st_size - f.tell()
        if size is None and seekable:
            try:
                here = f.tell()
                size = f.seek(0, io.SEEK_END) - here
                f.seek(here)
            except (OSError, ValueError):
                seekable = False
        if size is not None and size < 0:
            size = 0
        return cls(f, size, seekable)

    @property
    def left(self):
        return None if self.size is None else self.size - self.pos

    def need(self, n, what):
        """Raise before reading when the file cannot hold `n` more bytes."""
        if n < 0:
            raise _error(f"{what}: negative length {n}")
        if self.size is not None and n > self.size - self.pos:
            raise _error(f"checkpoint is truncated: {what} needs {n} bytes, the file has {self.size - self.pos} "
                         "left")

    def read(self, n, what):
        """Exactly `n` bytes (CheckpointError when the file ends first)."""
        self.need(n, what)
        data = self._raw(n)
        if len(data) != n:
            got = len(data)
            self.pos += got
            raise _error(f"checkpoint is truncated: {what} needs {n} bytes, the file ended after {got}")
        self.pos += n
        return data

    def readinto(self, view, what):
        """Fill the writable byte memoryview `view` from the file."""
        view = memoryview(view).cast("B")
        n = len(view)
        self.need(n, what)
        got = 0
        if self.pending:
            head = self._raw(min(n, len(self.pending)))
            view[:len(head)] = head
            got = len(head)
        readinto = getattr(self.f, "readinto", None)
        while got < n:
            if readinto is not None:
                k = readinto(view[got:min(n, got + CHUNK)])
            else:
                part = self.f.read(min(CHUNK, n - got))
                k = len(part) if part else 0
                view[got:got + k] = part
            if not k:
                break
            got += k
        self.pos += got
        if got != n:
            raise _error(f"checkpoint is truncated: {what} needs {n} bytes, the file ended after {got}")

    def goto(self, pos, what):
        """Move to byte `pos` (from where the Source started)."""
        if pos == self.pos:
            return
        if self.size is not None and pos > self.size:
            raise _error(f"checkpoint is truncated: {what} starts at byte {pos}, the file has {self.size}")
        if self.seekable:
            self.f.seek(self.start + pos)
            self.pos = pos
        elif pos > self.pos:
            while self.pos < pos:
                self.read(min(CHUNK, pos - self.pos), what)
        else:
            raise _error(f"{what} lies before the current position of a stream that cannot seek")

    def at_end(self):
        if self.size is not None:
            return self.pos >= self.size
        return not self.pending and not self.f.read(1)

    def as_seekable(self):
        """A seekable file object positioned at the start (nothing consumed but peeks)."""
        if self.seekable:
            self.f.seek(self.start)
            return self.f
        parts = [self.pending]
        self.pending = b""
        while True:  # a pipe: hold it in memory (bounded by what it holds)
            part = self.f.read(CHUNK)
            if not part:
                break
            parts.append(part)
        return io.BytesIO(b"".join(parts))
