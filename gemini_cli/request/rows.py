"""`batch` input: rows read one at a time from JSON Lines, plain lines or CSV.

Rows are parsed lazily, so memory does not grow with the input. A row that cannot be
used (bad JSON, a field of the wrong type, a line too long) comes back with `error` set:
the batch records it as failed and goes on. Problems with the input as a whole (an
unknown format, a CSV without the prompt column) raise UsageError before anything is sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from array import array
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator

from gemini_cli.errors import UsageError
from gemini_cli.state.configfile import check
from gemini_cli.state.settings import ROW_KEYS

FORMATS = ("jsonl", "lines", "csv")
MAX_LINE = 32 * 1024 * 1024  # a longer row is a bad row, read past without keeping it
# Per-row settings a JSON row may carry (the settings table's `row`), as in the config file;
# checked by configfile.check.
ROW_SETTINGS = ROW_KEYS


@dataclass
class Row:
    line: int  # where the row starts in INPUT, 1-based
    id: Any  # as given (a string or a number), else the line number
    prompt: str | None = None
    system: str | None = None
    model: str | None = None
    attach: list[str] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)  # template placeholders
    settings: dict[str, Any] = field(default_factory=dict)  # ROW_SETTINGS given by the row
    error: str | None = None  # why the row cannot be sent

    @property
    def key(self) -> str:
        return id_key(self.id)


def id_key(value: Any) -> str:
    """An id as resume and the duplicate check compare it: 7, 7.0 and "7" are the same row
    (as jq's `.id == 7` finds both numbers)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def format_for(name: str | None, path: str | None) -> str:
    """--format, or csv for a .csv file, else jsonl."""
    if name is not None:
        return name
    return "csv" if path is not None and path.lower().endswith(".csv") else "jsonl"


def read_rows(stream: IO[bytes], fmt: str, *, prompt_column: str | None = None,
              id_column: str | None = None, prompt_required: bool = True) -> Iterator[Row]:
    """The rows of a binary stream. A CSV's header is checked now, not at the first row;
    without `prompt_required` (a template makes the prompt) it may lack the prompt column."""
    if fmt == "jsonl":
        return (_json_row(number, data) for number, data in _lines(stream))
    if fmt == "lines":
        return (_text_row(number, data) for number, data in _lines(stream))
    if fmt == "csv":
        return _csv_rows(stream, prompt_column, id_column, prompt_required)
    raise UsageError(f"unknown --format {fmt!r} (one of {', '.join(FORMATS)})")


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes without the line end) for each non-blank line; None for one over MAX_LINE."""
    number = 0
    while True:
        data = stream.readline(MAX_LINE + 1)
        if not data:
            return
        number += 1
        if len(data) > MAX_LINE and not data.endswith(b"\n"):
            while data and not data.endswith(b"\n"):  # skip the rest of the line
                data = stream.readline(1024 * 1024)
            yield number, None
            continue
        data = data.rstrip(b"\r\n")
        if data.strip():
            yield number, data


def _decode(number: int, data: bytes | None) -> tuple[str | None, str | None]:
    if data is None:
        return None, f"line {number}: longer than {MAX_LINE // (1024 * 1024)} MiB"
    try:
        return data.decode("utf-8-sig" if number == 1 else "utf-8"), None
    except UnicodeDecodeError:
        return None, f"line {number}: not UTF-8 text"


def _text_row(number: int, data: bytes | None) -> Row:
    text, error = _decode(number, data)
    return Row(line=number, id=number, prompt=text, error=error)


def _json_row(number: int, data: bytes | None) -> Row:
    text, error = _decode(number, data)
    if error is not None:
        return Row(line=number, id=number, error=error)
    assert text is not None  # _decode gives the text or the error
    try:
        value = json.loads(text)
    except ValueError as exc:
        return Row(line=number, id=number, error=f"line {number}: not valid JSON: {exc}")
    except RecursionError:  # a row nested 100,000 deep: a bad row, not the end of the batch
        return Row(line=number, id=number, error=f"line {number}: not valid JSON: nested too deeply")
    if isinstance(value, str):
        return Row(line=number, id=number, prompt=value)
    if not isinstance(value, dict):
        return Row(line=number, id=number, error=f"line {number}: a row must be a JSON object or string")
    return row_from_object(number, value)


def row_from_object(number: int, value: dict[str, Any]) -> Row:
    """A JSON object row: {"id"?, "prompt", "system"?, "model"?, "attach"?, "params"?, settings?}.
    Other keys are ignored (rows often carry data of their own)."""
    where = f"line {number}"
    row = Row(line=number, id=number)
    try:
        if "id" in value:
            row.id = _id(value["id"], where)
        row.prompt = _optional_str(value, "prompt", where)
        row.system = _optional_str(value, "system", where)
        row.model = _optional_str(value, "model", where)
        attach = value.get("attach") or []
        if not isinstance(attach, list) or not all(isinstance(item, str) and item for item in attach):
            raise UsageError(f"{where}: 'attach' must be a list of file names or URLs")
        if "-" in attach:
            raise UsageError(f"{where}: 'attach' cannot read stdin (-) in a batch")
        row.attach = attach
        params = value.get("params") or {}
        if not isinstance(params, dict) or not all(_scalar(item) for item in params.values()):
            raise UsageError(f"{where}: 'params' must be an object of names to strings or numbers")
        row.params = [(str(name), _text(item)) for name, item in params.items()]
        for key in ROW_SETTINGS:
            if value.get(key) is not None:
                row.settings[key] = check(key, value[key], where)
    except UsageError as exc:
        row.error = exc.message
    return row


def _id(value: Any, where: str) -> Any:
    # NaN and Infinity are not JSON: an id the records could not write back, nor resume by
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value == "" or \
            (isinstance(value, float) and not math.isfinite(value)):
        raise UsageError(f"{where}: 'id' must be a non-empty string or a finite number")
    if isinstance(value, str) and not _utf8(value):  # "\udc00": valid JSON, but no text to write back
        raise UsageError(f"{where}: 'id' is not UTF-8 text (it holds a lone surrogate escape)")
    return value


def check_unique_ids(rows: Iterator[Row], again: Callable[[], Iterator[Row]]) -> None:
    """Refuse (exit 2, naming both lines) two rows with the same id as resume compares them
    (`1` and `"1"` are one row): a record would stand for either. Memory: 8 bytes a row (a
    sorted array of id digests); only a digest seen twice costs `again()`, a second pass."""
    digests = array("q")
    for row in rows:
        if row.error is None:
            digests.append(_digest(row.key))
    if len(digests) < 2:
        return
    ordered = sorted(digests)
    twice = {a for a, b in zip(ordered, ordered[1:], strict=False) if a == b}
    del ordered, digests
    if not twice:
        return
    first: dict[str, int] = {}
    for row in again():
        if row.error is None and _digest(row.key) in twice:
            if row.key in first:
                raise UsageError(f"line {row.line}: the id {json.dumps(row.id, ensure_ascii=False)} is also the id "
                                 f"of line {first[row.key]} (ids must be unique; 1, 1.0 and \"1\" are the same id)")
            first[row.key] = row.line


def unique_ids(rows: Iterator[Row]) -> Iterator[Row]:
    """The rows of a stream that cannot be read twice (stdin): a row whose id an earlier row
    had becomes a bad row naming that line (a dict of id digests to lines, ~100 bytes a row)."""
    seen: dict[int, int] = {}
    for row in rows:
        if row.error is None:
            line = seen.setdefault(_digest(row.key), row.line)
            if line != row.line:
                row.error = (f"line {row.line}: the id {json.dumps(row.id, ensure_ascii=False)} is also the id of "
                             f"line {line} (ids must be unique; 1, 1.0 and \"1\" are the same id)")
        yield row


def _digest(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big",
                          signed=True)


def _optional_str(value: dict[str, Any], key: str, where: str) -> str | None:
    item = value.get(key)
    if item is not None and not isinstance(item, str):
        raise UsageError(f"{where}: '{key}' must be a string")
    return item


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _csv_rows(stream: IO[bytes], prompt_column: str | None, id_column: str | None, prompt_required: bool) -> Iterator[Row]:
    """CSV with a header. The prompt column (default `prompt`) may be absent only with a
    template; the id column (default `id`) is optional unless named. Every other column
    is a template parameter of the same name."""
    csv.field_size_limit(MAX_LINE)
    # surrogateescape: a byte that is not UTF-8 makes its row a bad row (_csv_records), not the batch
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"the CSV header cannot be read: {exc}") from None
    if not header:
        return iter(())
    if not all(_utf8(name) for name in header):
        raise UsageError("the CSV header is not UTF-8 text")
    prompt = prompt_column or "prompt"
    if prompt not in header and (prompt_column is not None or prompt_required):
        raise UsageError(f"the CSV has no column {prompt!r} (--prompt-column); its columns: {', '.join(header)}")
    if id_column is not None and id_column not in header:
        raise UsageError(f"the CSV has no column {id_column!r} (--id-column); its columns: {', '.join(header)}")
    return _csv_records(reader, header, prompt if prompt in header else None, id_column or "id")


def _csv_records(reader: Any, header: list[str], prompt: str | None, id_name: str) -> Iterator[Row]:
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader, None)
        except csv.Error as exc:
            yield Row(line=start, id=start, error=f"line {start}: {exc}")
            start = reader.line_num + 1
            continue
        if record is None:
            return
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue  # a blank line
        if not all(_utf8(cell) for cell in record):
            yield Row(line=line, id=line, error=f"line {line}: not UTF-8 text")
            continue
        if len(record) != len(header):
            yield Row(line=line, id=line, error=f"line {line}: {len(record)} fields, the header has {len(header)}")
            continue
        cells = dict(zip(header, record, strict=True))
        row = Row(line=line, id=cells.get(id_name) or line, prompt=cells.get(prompt) if prompt else None)
        row.params = [(name, value) for name, value in cells.items() if name not in (prompt, id_name)]
        yield row


def _utf8(cell: str) -> bool:
    """False for a cell holding bytes that were not UTF-8 (decoded as lone surrogates)."""
    try:
        cell.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
