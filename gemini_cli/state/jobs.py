"""The record of each Batch API job `batch --remote` submitted: what `jobs fetch` needs to
write the job's records from another shell or a later cron run.

Per job, in the state folder's jobs/: `<id>.json`, small (name, model, OUTPUT, input file,
created, the JSON schema to check answers with, fetched), written atomically; and
`<id>.rows.jsonl`, one `[id, line]` per submitted row in input order, written streaming
to a temporary file and renamed into place once the job exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gemini_cli.errors import UsageError
from gemini_cli.state import paths
from gemini_cli.state.atomic import ensure_dir, open_private, write_atomic

FORMAT = "gemini-cli-batch-job"
VERSION = 1


def folder() -> Path:
    return paths.state_dir() / "jobs"


def ident(name: str) -> str:
    """`abc` for `batches/abc` (api/batches.job_name has checked it holds no `/`)."""
    return name.rpartition("/")[2]


def header_path(name: str) -> Path:
    return folder() / f"{ident(name)}.json"


def rows_path(name: str) -> Path:
    return folder() / f"{ident(name)}.rows.jsonl"


def output_key(path: str) -> str:
    """OUTPUT as records compare it: the absolute real path."""
    return os.path.realpath(path)


class RowsWriter:
    """The submitted rows, streamed to a temporary file; `commit(name)` renames it into place."""

    def __init__(self) -> None:
        try:
            ensure_dir(folder())
            self.tmp = folder() / f".rows.{os.urandom(6).hex()}.tmp"
            self.file = os.fdopen(open_private(self.tmp, exclusive=True), "wb")
        except OSError as exc:
            raise UsageError(f"cannot write the job record in {folder()}: {exc.strerror or exc}") from None
        self.count = 0

    def add(self, id: Any, line: int) -> None:
        self.file.write(json.dumps([id, line], ensure_ascii=False).encode("utf-8") + b"\n")
        self.count += 1

    def commit(self, name: str) -> None:
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.tmp, rows_path(name))
        except OSError as exc:
            raise UsageError(f"cannot write the rows of {name} in {folder()}: {exc.strerror or exc}") from None

    def discard(self) -> None:
        self.file.close()
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


def save(record: dict[str, Any]) -> None:
    record = {"format": FORMAT, "version": VERSION, **record}
    write_atomic(header_path(record["name"]), json.dumps(record, ensure_ascii=False, indent=1) + "\n")


def load(name: str) -> dict[str, Any] | None:
    """The record of a job submitted from here, or None."""
    return _read(header_path(name))


def _read(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != FORMAT or not isinstance(record.get("name"), str):
        return None
    if not isinstance(record.get("version"), int) or record["version"] > VERSION:
        raise UsageError(f"{path} was written by a newer gemini-cli (version {record.get('version')}); upgrade")
    return record


def every() -> list[dict[str, Any]]:
    """Every job record, oldest first."""
    try:
        names = sorted(p for p in folder().iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except OSError:
        return []
    found = [record for record in (_read(p) for p in names) if record is not None]
    return sorted(found, key=lambda record: str(record.get("created") or ""))


def for_output(path: str) -> list[dict[str, Any]]:
    key = output_key(path)
    return [record for record in every() if record.get("output") == key]


def pending_for(path: str) -> list[dict[str, Any]]:
    """The jobs submitted for OUTPUT whose results have not been fetched yet."""
    return [record for record in for_output(path) if not record.get("fetched")]


def rows(record: dict[str, Any]) -> Iterator[tuple[Any, int]]:
    """(id, line) of each submitted row, in input order."""
    path = rows_path(record["name"])
    try:
        file = open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read the rows of {record['name']} ({path}): {exc.strerror or exc}") from None
    with file:
        for data in file:
            try:
                id, line = json.loads(data)
            except (ValueError, TypeError):
                raise UsageError(f"{path} is damaged: a line is not [id, line]") from None
            yield id, line


def mark_fetched(record: dict[str, Any], when: str, state: str) -> None:
    save({**record, "fetched": when, "state": state})


def remove(name: str) -> bool:
    """Forget a job; True when there was a record."""
    found = False
    for path in (header_path(name), rows_path(name)):
        try:
            path.unlink()
            found = True
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise UsageError(f"cannot remove {path}: {exc.strerror or exc}") from None
    return found
