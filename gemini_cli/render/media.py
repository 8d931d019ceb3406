"""Media answers: each image, audio, video or document block of the answer is written to a
file (`--media-dir`, default the current directory) and listed, so a text-mode run prints
its path on stdout and `-o json` lists it beside the blocks.

Names come from the interaction id and the block's position, `ID-STEP-BLOCK.EXT` (the
extension from the block's MIME type); an existing file is never overwritten: the file is
created with O_EXCL, and a taken name gets `-1`, `-2`, ... before the extension. A block
that carries a `uri` instead of `data` is listed with its uri and not downloaded.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from typing import Any

from gemini_cli.errors import UsageError
from gemini_cli.request.mime import extension_for

MEDIA_TYPES = frozenset({"image", "audio", "video", "document"})
_MAX_TRIES = 10_000


class MediaWriteError(UsageError):
    """A media file could not be written; the turn itself is complete and saved."""


def media_blocks(steps: list[dict[str, Any]]) -> list[tuple[int, int, dict[str, Any]]]:
    """(step index, content index, block) of each media block of the model_output steps."""
    found = []
    for s, step in enumerate(steps or []):
        if not isinstance(step, dict) or step.get("type") != "model_output":
            continue
        content = step.get("content")
        for b, block in enumerate(content if isinstance(content, list) else []):
            if isinstance(block, dict) and block.get("type") in MEDIA_TYPES and (block.get("data") or block.get("uri")):
                found.append((s, b, block))
    return found


def save_media(result: dict[str, Any], directory: Any = None) -> list[dict[str, Any]]:
    """Write the answer's media blocks; return one entry per block:
    `{"step", "block", "type", "mime_type", "path"}` or, for a uri block, `{..., "uri"}`."""
    entries: list[dict[str, Any]] = []
    folder = Path(directory).expanduser() if directory else Path(".")
    stem = _safe(result.get("id") or "answer")
    try:
        for s, b, block in media_blocks(result.get("steps") or []):
            entry = {"step": s, "block": b, "type": block.get("type"), "mime_type": block.get("mime_type")}
            if not block.get("data"):
                entries.append({**entry, "uri": block["uri"]})
                continue
            try:
                data = base64.b64decode(block["data"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise MediaWriteError(f"the {block.get('type')} block {s}.{b} of the answer is not valid base64; "
                                      "nothing was written for it") from None
            path = write_new(folder, f"{stem}-{s}-{b}", extension_for(block.get("mime_type")), data)
            entries.append({**entry, "path": str(path)})
    except MediaWriteError as exc:
        exc.entries = entries  # type: ignore[attr-defined]  # what was written before it
        raise
    return entries


def write_new(folder: Path, stem: str, ext: str, data: bytes) -> Path:
    """Create folder/stem.ext, or stem-1.ext, stem-2.ext, ...: never an existing file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaWriteError(f"cannot create --media-dir {folder}: {exc.strerror or exc}") from None
    for n in range(_MAX_TRIES):
        path = folder / (f"{stem}.{ext}" if n == 0 else f"{stem}-{n}.{ext}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise MediaWriteError(f"cannot write {path}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        except OSError as exc:
            raise MediaWriteError(f"cannot write {path}: {exc.strerror or exc}") from None
        return path
    raise MediaWriteError(f"no free file name for {stem}.{ext} in {folder}")


def _safe(name: str) -> str:
    """An interaction id as a file name part: no path separators or odd characters."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)).lstrip(".") or "answer"


def printed(entries: list[dict[str, Any]]) -> list[str]:
    """What text mode prints on stdout, one per line: the path, or the uri."""
    return [entry.get("path") or entry.get("uri") or "" for entry in entries]

