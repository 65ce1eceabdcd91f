"""Opening user-given files for reading, safely: only regular files, never a FIFO or a device.

Opening a FIFO for reading blocks until someone writes to it, and reading a device such as
``/dev/zero`` never ends: a config, replay or save named by a user must be a regular file, and
this is checked before a single byte is read. Imports nothing of the package, so every layer may
use it.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class NotRegularFileError(OSError):
    """A path names something other than a regular file (a FIFO, a device, a directory...)."""


def _refuse_unless_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise NotRegularFileError(f"not a regular file: it is {kind}; give the path of a file")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``open(path, "rb")`` for a regular file (symbolic links followed); anything else raises
    :class:`NotRegularFileError` (an ``OSError``) without blocking.

    The path is checked before it is opened, and the opened descriptor again (opened
    non-blocking, so a FIFO swapped in between cannot hang the caller either)."""
    _refuse_unless_regular(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        _refuse_unless_regular(os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file ``path``, refusing (``OSError``) one larger than ``limit``."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise OSError(f"the file is {size:,} bytes, more than the {limit:,} allowed here")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"the file grew past the {limit:,} bytes allowed here while it was read")
    return data
