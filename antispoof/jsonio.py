"""JSON files of runs, caches and studies: corrupt ones give one line naming the file, torn log lines are skipped.

A process killed mid-write (``kill -9``, power loss) can leave the last line of a ``.jsonl`` log torn; the
whole-file JSON documents are written atomically (:func:`evm.io.atomic_write`) but may still be damaged
by hand or by a disk. Neither may end in a traceback.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any


class CorruptJSONError(ValueError):
    """A JSON file that is not what it should be; ``path``, ``what`` and ``detail`` hold the parts of the message."""

    def __init__(self, path, what: str, detail: str) -> None:
        self.path, self.what, self.detail = Path(path), what, detail
        super().__init__(f"{path}: corrupt {what} ({detail})")


def read_json(path: str | os.PathLike, what: str = "JSON file") -> dict[str, Any]:
    """The JSON object in ``path``.

    Raises
    ------
    OSError
        The file cannot be read (missing, a directory, ...).
    CorruptJSONError
        It is not a JSON object (a ValueError): one line naming the file, what it should be and what is wrong.
    """
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CorruptJSONError(path, what, "not text") from None
    except json.JSONDecodeError as exc:
        raise CorruptJSONError(path, what, f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise CorruptJSONError(path, what, f"a JSON {type(obj).__name__}, not an object")
    return obj


def read_jsonl(path: str | os.PathLike, *, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The JSON objects of a log, one a line; torn or corrupt lines are skipped with a warning naming the file.

    ``required``: keys every record must have (a line without them counts as corrupt).
    """
    path = Path(path)
    records = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict) or any(key not in record for key in required):
            warnings.warn(f"{path}:{number}: skipped a torn or corrupt line", RuntimeWarning, stacklevel=2)
            continue
        records.append(record)
    return records


def append_jsonl(path: str | os.PathLike, record: Any) -> None:
    """Append one JSON line and fsync it (a line once written survives a crash).

    A torn last line (no newline at the end) is closed first, so the new line stays whole.
    """
    path = Path(path)
    line = json.dumps(record) + "\n"
    with open(path, "ab") as f:
        if f.tell() > 0:
            with open(path, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    line = "\n" + line
        f.write(line.encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON (and a final newline), atomically (:func:`evm.io.atomic_write`)."""
    from evm.io import atomic_write  # evm's package import loads Numba: not at this light module's import

    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
