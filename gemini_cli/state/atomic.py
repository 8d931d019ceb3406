"""Writing files all at once (temp file, fsync, rename), private to the user (0600/0700)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gemini_cli.errors import UsageError


def ensure_dir(folder: Path) -> None:
    """Create folder and any missing parents with mode 0700; existing ones are left alone."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for part in reversed(missing):
        try:
            os.mkdir(part, 0o700)
            os.chmod(part, 0o700)  # mkdir's mode is cut by the umask
        except FileExistsError:
            pass  # a concurrent process made it first


def open_private(path: str | os.PathLike[str], *, exclusive: bool) -> int:
    """Open (creating) a file of ours, mode 0600, never through a symbolic link (O_NOFOLLOW):
    a link planted at a lock or temporary file's name in a shared folder would make us create
    or truncate its target. `exclusive` (O_EXCL): the file must not exist yet (temp files).
    Lock and temporary files are all opened here."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_EXCL if exclusive else 0)
    return os.open(path, flags, 0o600)


def write_atomic(path: str | os.PathLike[str], data: bytes | str, durable: bool = True) -> None:
    """Replace path with data all at once: a reader sees the old file or the new, never half.
    durable=False (caches, bookkeeping: losing them loses no conversation) skips the fsyncs.

    Temp file in the same folder (os.replace is atomic only within a filesystem), fsync
    before the rename so a crash cannot leave an empty file, mode 0600. On any failure
    the old file is untouched and the temp file removed. A symlink is followed, so a
    --session file kept elsewhere through a link stays a link.
    """
    path = Path(os.path.realpath(path))
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        ensure_dir(path.parent)
        tmp = path.parent / f".{path.name}.{os.urandom(4).hex()}.tmp"
        fd = open_private(tmp, exclusive=True)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; some filesystems refuse, which is harmless."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
