"""Reading and writing the project's small files safely: JSONL objects in, atomic or appended text out.

Readers name the file, the line and what is wrong; writers fsync before they return and leave no
temporary file or torn line behind when the disk refuses them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path


def read_json_objects(
    path: str | Path, error: type[Exception] = ValueError, what: str = "file"
) -> Iterator[tuple[str, dict]]:
    """``(where, row)`` for every non-blank line of a JSONL file, ``where`` being ``"FILE:LINE"``.

    Raises ``error`` naming the file (``"cannot read <what> FILE"``) or the line (not JSON, not an object).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise error(f"{where}: expected a JSON object, got {type(row).__name__}")
        yield where, row


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a fsynced temporary file (removed again if the write fails)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_lines(path: Path, lines: Iterable[str]) -> None:
    """``atomic_write_text`` of ``lines``, each followed by a newline."""
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def append_lines(path: Path, lines: Iterable[str]) -> None:
    """Append whole lines and force them to disk before returning; if the write fails (a full disk),
    the file is cut back to where it was, so no torn line is left."""
    data = "".join(line + "\n" for line in lines)
    if not data:
        return
    payload = data.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.fstat(fd).st_size
        try:
            view = memoryview(payload)
            while view:  # unbuffered: a failed write leaves nothing pending to flush later
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)
