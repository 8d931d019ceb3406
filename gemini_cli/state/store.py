"""Conversation files on disk: atomic writes, 0600/0700, a lock, and a fast history list.

Layout of the conversations folder (root):
  <id>.json        one conversation each (format in conversation.py, read by loader.py)
  .index.json      cache for list(): file -> (mtime_ns, size, summary); safe to delete
  .sessions.json   conversation files outside root (--session FILE) and the last one used
Files beginning with "." are not conversations; temp files are ".<name>.<hex>.tmp".
Locks live in <state dir>/locks/ (locks.py), never beside a conversation file.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any, Iterator

from gemini_cli.state.atomic import ensure_dir, write_atomic  # noqa: F401  (write_atomic: also store.write_atomic)
from gemini_cli.state.conversation import Conversation, now_iso
from gemini_cli.state.loader import CorruptConversation, NewerVersion, conversation_from_dict
from gemini_cli.errors import GeminiCliError, UsageError
from gemini_cli.state.locks import LockTimeout, lock  # noqa: F401  (also store.lock, store.LockTimeout)
from gemini_cli.state.paths import conversations_dir

INDEX_NAME = ".index.json"
SESSIONS_NAME = ".sessions.json"
INDEX_FORMAT = "gemini-cli.index"
SESSIONS_FORMAT = "gemini-cli.sessions"
REGISTRY_LOCK_TIMEOUT = 10.0


# -- files ------------------------------------------------------------------------------


def dumps(conv: Conversation) -> bytes:
    try:
        return (json.dumps(conv.to_dict(), indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (e.g. from undecodable argv) cannot be UTF-8; \u-escape instead.
        return (json.dumps(conv.to_dict(), indent=1) + "\n").encode("ascii")


def read_json(path: Path) -> Any:
    """Parse a conversation file; every way it can fail becomes a UsageError naming path."""
    try:
        with open(path, "rb") as file:
            if stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raw = file.read()
            else:  # a device or pipe (/dev/zero) has no size: read up to the bound of `history list`
                raw = file.read(MAX_LIST_READ + 1)
                if len(raw) > MAX_LIST_READ:
                    raise UsageError(f"conversation file {path} is not a regular file and sends over "
                                     f"{MAX_LIST_READ >> 20} MiB (stopped reading there)")
    except FileNotFoundError:
        raise UsageError(f"conversation file {path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"conversation file {path} is a folder, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read conversation file {path}: {exc.strerror or exc}") from None
    if not raw.strip():
        raise CorruptConversation(path, "the file is empty")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptConversation(path, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise CorruptConversation(path, f"{exc.msg}: line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise CorruptConversation(path, "nested too deeply") from None


def load(path: str | os.PathLike[str]) -> Conversation:
    """Read a conversation. Never writes: a corrupt file is reported and left as it is."""
    path = Path(path)
    return conversation_from_dict(read_json(path), source=path)


def save(path: str | os.PathLike[str], conv: Conversation) -> None:
    conv.updated = now_iso()
    write_atomic(path, dumps(conv))


def delete_file(path: Path, timeout: float = 10.0) -> Path:
    """Delete a conversation file, waiting for its lock."""
    with lock(path, timeout):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise UsageError(f"cannot delete {path}: {exc.strerror or exc}") from None
    return path


# -- the conversations folder -------------------------------------------------------------


# `history list` reads at most this much of one file: a hostile or runaway conversation
# (a 1.9 GB file took 5.8 GB to parse) is listed by its name, not parsed.
MAX_LIST_READ = 64 * 1024 * 1024


def _too_large(path: Path, size: int) -> dict[str, Any]:
    return _marker(path, f"<too large to list: {size / 1024 / 1024:.0f} MiB>",
                   f"conversation file {path} is larger than {MAX_LIST_READ >> 20} MiB; not read for the list")


def _summary_of(path: Path) -> dict[str, Any]:
    """A list entry for one file; an unreadable file gets a marker instead of an error."""
    try:
        return {**load(path).summary(), "error": None}
    except NewerVersion as exc:
        title = f"<written by newer gemini-cli: format version {exc.version}>"
        return _marker(path, title, exc.message)
    except CorruptConversation as exc:
        return _marker(path, f"<corrupt: {exc.problem}>", exc.message)
    except UsageError as exc:  # vanished or unreadable since the scan
        return _marker(path, "<unreadable>", exc.message)


def _marker(path: Path, title: str, error: str) -> dict[str, Any]:
    when = ""
    with contextlib.suppress(OSError):
        when = _iso_from_ns(path.stat().st_mtime_ns)
    return {"id": path.stem, "title": title, "created": when, "updated": when, "model": "",
            "turns": 0, "mode": "", "error": error}


_SUMMARY_KEYS = frozenset({"id", "title", "created", "updated", "model", "turns", "mode", "error"})


_SUMMARY_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str, "title": (str, type(None)), "created": str, "updated": str, "model": (str, type(None)),
    "turns": int, "mode": str}


def _good_entry(e: Any) -> bool:
    """[mtime_ns, size, summary] with every summary key list() and its callers use, each of
    its type: a corrupt entry is re-read from its file, never trusted (a list as title...)."""
    return (isinstance(e, list) and len(e) == 3 and isinstance(e[0], int) and isinstance(e[1], int)
            and isinstance(e[2], dict) and _SUMMARY_KEYS <= e[2].keys()
            and all(isinstance(e[2][key], kind) and not isinstance(e[2][key], bool) for key, kind in _SUMMARY_TYPES.items())
            and isinstance(e[2]["error"], (str, type(None))))


def _iso_from_ns(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + ".%03dZ" % (ns // 1_000_000 % 1000)


class ConversationStore:
    """The conversations folder, plus files elsewhere that were used with --session."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root) if root is not None else conversations_dir()
        self.index_path = self.root / INDEX_NAME
        self.sessions_path = self.root / SESSIONS_NAME

    def new_path(self, conv: Conversation) -> Path:
        return self.root / f"{conv.id}.json"

    # -- listing --------------------------------------------------------------------

    def list(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Summaries (id, path, title, created, updated, model, turns, mode, error), newest first.

        Only files whose (mtime_ns, size) changed since the last call are parsed; the
        rest come from .index.json. A file whose mtime is not older than the index
        itself is re-read anyway: it may have changed again within the same clock tick.
        """
        cached, index_mtime = self._read_index()
        entries: dict[str, list[Any]] = {}
        changed = False
        for key, path, st in self._files():
            hit = cached.get(key)
            if hit and hit[0] == st.st_mtime_ns and hit[1] == st.st_size and st.st_mtime_ns < index_mtime:
                entries[key] = hit
                continue
            # stat was taken before reading, so a write racing this parse shows up next time
            summary = _too_large(path, st.st_size) if st.st_size > MAX_LIST_READ else _summary_of(path)
            entries[key] = [st.st_mtime_ns, st.st_size, summary]
            changed = True
        if changed or cached.keys() != entries.keys():
            self._write_index(entries)
        result = [dict(e[2], path=str(self._path_for(k))) for k, e in entries.items()]
        result.sort(key=lambda s: (s["updated"], s["id"]), reverse=True)
        return result if limit is None else result[: max(limit, 0)]

    def _files(self) -> Iterator[tuple[str, Path, os.stat_result]]:
        """(index key, path, stat) of every conversation: file name in root, absolute path outside."""
        try:
            with os.scandir(self.root) as it:
                for entry in it:
                    if entry.name.endswith(".json") and not entry.name.startswith("."):
                        with contextlib.suppress(OSError):
                            if entry.is_file():
                                yield entry.name, Path(entry.path), entry.stat()
        except FileNotFoundError:
            pass
        for external in self._read_sessions()["external"]:
            with contextlib.suppress(OSError):  # gone: dropped silently
                st = os.stat(external)
                if not self._in_root(Path(external)):
                    yield external, Path(external), st

    def _path_for(self, key: str) -> Path:
        return Path(key) if os.path.isabs(key) else self.root / key

    def _read_index(self) -> tuple[dict[str, builtins.list[Any]], int]:  # `list` here: the method
        """The cache and its mtime; anything wrong with it means starting from empty."""
        try:
            with open(self.index_path, "rb") as f:
                mtime = os.fstat(f.fileno()).st_mtime_ns
                data = json.loads(f.read())
            entries = data["entries"]
            if data.get("format") != INDEX_FORMAT or data.get("version") != 1 or not isinstance(entries, dict):
                return {}, 0
            return {k: e for k, e in entries.items() if _good_entry(e)}, mtime
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return {}, 0

    def _write_index(self, entries: dict[str, builtins.list[Any]]) -> None:
        if not self.root.is_dir():
            return  # nothing but external sessions: do not create the folder just for a cache
        data = {"format": INDEX_FORMAT, "version": 1, "entries": entries}
        with contextlib.suppress(GeminiCliError):  # a cache that cannot be written is only slower
            write_atomic(self.index_path, json.dumps(data, ensure_ascii=False, separators=(",", ":")), durable=False)

    # -- lookup -----------------------------------------------------------------------

    def find(self, id_or_prefix: str) -> Path:
        """The file of the conversation with this id, or the only one whose id starts with it."""
        wanted = id_or_prefix.strip().lower()
        if not wanted:
            raise UsageError("no conversation id given")
        summaries = self.list()
        exact = [s for s in summaries if s["id"].lower() == wanted]
        matches = exact or [s for s in summaries if s["id"].lower().startswith(wanted)]
        if not matches:
            raise UsageError(f"no conversation matches {id_or_prefix!r} (see `gemini-cli history list`)")
        if len(matches) > 1:
            matches.sort(key=lambda s: (s["id"], s["path"]))
            listing = "\n".join(f"  {s['id']}  {s['title']}  ({s['path']})" for s in matches[:20])
            more = f"\n  ... and {len(matches) - 20} more" if len(matches) > 20 else ""
            raise UsageError(f"{id_or_prefix!r} matches {len(matches)} conversations; give more of the id:\n{listing}{more}")
        return Path(matches[0]["path"])

    def delete(self, id_or_prefix: str, timeout: float = 10.0) -> Path:
        """Delete a conversation file (and its lock sidecar); returns the path deleted."""
        return delete_file(self.find(id_or_prefix), timeout)

    def search(self, text: str) -> builtins.list[dict[str, Any]]:
        """Summaries of conversations whose user or model text contains text (any case)."""
        needle = text.casefold()
        # Cheap pre-filter on the raw bytes when JSON would store the needle unescaped.
        raw_ok = needle.isascii() and needle.isprintable() and '"' not in needle and "\\" not in needle
        found = []
        for summary in self.list():
            if summary["error"]:
                continue
            path = Path(summary["path"])
            try:
                if raw_ok and needle.encode() not in path.read_bytes().lower():
                    continue
                if load(path).contains_text(text):
                    found.append(summary)
            except (OSError, UsageError):
                continue  # changed under us; a search skips it rather than failing
        return found

    # -- sessions outside root, last used ---------------------------------------------

    def _in_root(self, path: Path) -> bool:
        return Path(os.path.realpath(path)).parent == Path(os.path.realpath(self.root))

    def _read_sessions(self) -> dict[str, Any]:
        try:
            data = json.loads(self.sessions_path.read_bytes())
            external = data["external"]
            last = data.get("last_used")
            if data.get("format") == SESSIONS_FORMAT and isinstance(external, list):
                return {"external": [p for p in external if isinstance(p, str) and os.path.isabs(p)],
                        "last_used": last if isinstance(last, str) else None}
        except (OSError, ValueError, KeyError, TypeError):
            pass  # missing or damaged: start over (it only lists extra files)
        return {"external": [], "last_used": None}

    def remember(self, path: str | os.PathLike[str]) -> None:
        """Record path as the most recently used conversation; list() includes it from now on
        if it lies outside root, until the file is gone."""
        path = os.path.abspath(path)
        with lock(self.sessions_path, REGISTRY_LOCK_TIMEOUT):
            data = self._read_sessions()
            external = [p for p in data["external"] if p != path and os.path.exists(p)]
            if not self._in_root(Path(path)):
                external.insert(0, path)
            new = {"external": external, "last_used": path}
            if new != data:
                write_atomic(self.sessions_path, json.dumps(
                    {"format": SESSIONS_FORMAT, "version": 1, **new}, indent=1, ensure_ascii=False) + "\n", durable=False)

    def last_used(self) -> Path | None:
        """The conversation used most recently, else the newest by updated, else None."""
        last = self._read_sessions()["last_used"]
        if last and os.path.isfile(last):
            return Path(last)
        newest = next((s for s in self.list() if not s["error"]), None)
        return Path(newest["path"]) if newest else None
