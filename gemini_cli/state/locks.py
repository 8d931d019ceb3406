"""Locks on conversations: first come, first served, kept in the state folder.

<state dir>/locks/ holds, per locked path (named by a hash of its real path):
  <hash>.queue            flocked briefly while tickets are taken or counted
  <hash>.<n>.ticket       one per process waiting for or holding the path; its owner holds
                          an flock on it, so a dead owner's ticket is seen as free and removed
Nothing is ever written beside the user's own files.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
from pathlib import Path
from typing import Any, Callable, Iterator

from gemini_cli.errors import ExitCode, GeminiCliError, NetworkError, UsageError
from gemini_cli.state.atomic import ensure_dir, open_private
from gemini_cli.state.paths import state_dir
# tempfile (~2 ms) and backoff.py (~2 ms) are imported inside the functions that wait or make a
# lock folder: a TAB that lists conversations loads this module and needs neither.


class LockTimeout(GeminiCliError):
    """Another process kept the conversation locked past the timeout.

    Exit 2 (local input error): the design's table has no "busy" code, and the fix is
    local: wait for the other gemini-cli or retry.
    """

    exit_code = ExitCode.USAGE


@contextlib.contextmanager
def lock(path: str | os.PathLike[str], timeout: float, on_wait: Callable[[], None] | None = None,
         what: str = "conversation", max_time: float | None = None) -> Iterator[None]:
    """Hold `path` exclusively for the block (serialises the writers of a conversation).

    A ticket lock in the state folder, nothing beside the user's file: each process takes a
    numbered ticket (a file it holds an flock on, under the folder's queue lock) and proceeds
    when no live ticket is older than its own, so waiting turns go first come, first served.
    The kernel drops a dead process's flock, so its ticket no longer counts and is removed.
    If the path is busy, on_wait() is called once and we poll until `timeout` seconds, or
    --max-time (`max_time`) when that is shorter: then exit 7, as for every other wait.
    """
    folder, key = lock_folder(), hashlib.sha256(os.path.realpath(path).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    with _queue(folder, key) as queue:
        ticket, fd = _take_ticket(folder, key, queue)
    try:
        if max_time is not None and max_time < timeout:
            try:
                _wait_for_turn(folder, key, ticket, f"{what} {path}", max_time, on_wait)
            except LockTimeout:
                raise NetworkError(f"gave up: the --max-time deadline of {max_time:g}s was reached "
                                   f"(waiting for another gemini-cli using {path})") from None
        else:
            _wait_for_turn(folder, key, ticket, f"{what} {path}", timeout, on_wait)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(folder / f"{key}.{ticket:012d}.ticket")
        os.close(fd)


def lock_folder() -> Path:
    """<state dir>/locks, or a private folder in the temp dir when the state dir cannot be
    created (HOME unset or read-only): turns are serialised even then."""
    import tempfile

    try:
        folder = state_dir() / "locks"
        ensure_dir(folder)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    folder = Path(tempfile.gettempdir()) / f"gemini-cli-{os.getuid()}-locks"
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise UsageError(f"cannot create a lock: {folder} is not a private folder of this user")
    return folder


def open_lock_file(path: Path, create: bool = True) -> int:
    """Open a lock, queue or ticket file: the one place lock files are opened.
    create=False: an existing ticket, to test its flock (FileNotFoundError if it is gone)."""
    if not create:
        return os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return open_private(path, exclusive=False)  # never through a planted symbolic link
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"lock file {path} is a symbolic link; refusing to follow it "
                             "(remove it if you did not make it)") from None
        raise UsageError(f"cannot create lock file {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _queue(folder: Path, key: str) -> Iterator[int]:
    """The queue lock: held only while tickets are taken or counted (milliseconds)."""
    fd = open_lock_file(folder / f"{key}.queue")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _tickets(folder: Path, key: str) -> list[int]:
    prefix = f"{key}."
    found = []
    for name in os.listdir(folder):
        if name.startswith(prefix) and name.endswith(".ticket"):
            with contextlib.suppress(ValueError):
                found.append(int(name[len(prefix):-len(".ticket")]))
    return sorted(found)


def _take_ticket(folder: Path, key: str, queue: int) -> tuple[int, int]:
    """The next ticket number, and the descriptor holding its flock (for as long as we wait and hold)."""
    tickets = _tickets(folder, key)
    ticket = (tickets[-1] + 1) if tickets else 1
    fd = open_lock_file(folder / f"{key}.{ticket:012d}.ticket")
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new and unseen (we hold the queue): never busy
    return ticket, fd


def _older_live_ticket(folder: Path, key: str, ticket: int) -> bool:
    """Whether a live process holds a ticket older than ours; dead ones' tickets are removed."""
    with _queue(folder, key):
        for other in _tickets(folder, key):
            if other >= ticket:
                return False
            path = folder / f"{key}.{other:012d}.ticket"
            try:
                fd = open_lock_file(path, create=False)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            finally:
                os.close(fd)
            with contextlib.suppress(OSError):  # its holder is gone (or went without cleaning up)
                os.unlink(path)
    return False


def _wait_for_turn(folder: Path, key: str, ticket: int, path: Any, timeout: float,
                   on_wait: Callable[[], None] | None) -> None:
    from gemini_cli.backoff import Backoff, Deadline

    # Checks back off from 10 ms to 200 ms; the last wait is cut to end at the timeout.
    tries = Backoff(first=0.01, cap=0.2, jitter=0, fit=True, deadline=Deadline(timeout))
    while _older_live_ticket(folder, key, ticket):
        delay = tries.next()
        if delay is None:
            raise LockTimeout(
                f"{path} is in use by another gemini-cli process (waited {timeout:g}s); "
                "retry when it has finished, or wait longer with --lock-timeout"
            )
        if not tries.attempt and on_wait is not None:
            on_wait()
        tries.sleep(delay)
