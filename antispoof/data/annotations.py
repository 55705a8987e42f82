"""Face annotation files of the datasets: read, write, fill the frames without a face.

Every reader returns an (n_frames, 4) float64 array of ``x, y, w, h`` (top-left corner, size, in
pixels of the stored video) with a row of NaN where the frame has no face.

* Replay-Attack ``.face`` (``face-locations/`` archive): whitespace-separated integers
  ``frame x y w h``, one row per frame, frames counted from 0; an all-zero box means no detection
  (bob: ``BoundingBox.is_valid()`` is ``x + y + w + h > 0``).
* MSU-MFSD ``.face`` (PittPatt, next to the video): comma-separated
  ``frame, x1, y1, x2, y2, eyeLx, eyeLy, eyeRx, eyeRy``, frames from 0; ``w = x2 - x1``, ``h = y2 - y1``
  as in bob's ``bbx()``. Frames without a row, or with an empty box, have no face.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from ..limits import MAX_ANNOTATED_FRAMES

#: Annotation formats with face boxes.
BOX_FORMATS = ("replay", "msu")


class AnnotationError(ValueError):
    """An annotation file cannot be read; the message is one line naming the file and line.

    Attributes ``path``, ``line`` (1-based or None) and ``reason`` hold the parts of the message.
    """

    def __init__(self, path, reason: str, line: int | None = None) -> None:
        self.path, self.reason, self.line = str(path), reason, line
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")


class AnnotationWarning(UserWarning):
    """An annotation file has rows that do not apply (frames beyond the video's end); they are ignored."""


class NoFaceError(ValueError):
    """No frame of a clip has a face box to fill from or track."""


def read_replay_face(path: str | os.PathLike, n_frames: int | None = None) -> np.ndarray:
    """Read a Replay-Attack ``.face`` file (``frame x y w h`` per line).

    Parameters
    ----------
    path : path-like
    n_frames : int or None
        Length of the result (the video's frame count); rows for later frames are ignored with an
        :class:`AnnotationWarning` naming the file. None: last annotated frame + 1, at most
        :data:`~antispoof.limits.MAX_ANNOTATED_FRAMES`.

    Returns
    -------
    ndarray, float64, (n_frames, 4)
        x, y, w, h per frame; NaN rows where the box is all zeros, empty, or absent.

    Raises
    ------
    AnnotationError
        Missing or empty file, a row that is not 5 numbers, a negative or repeated frame number, a frame
        number beyond :data:`~antispoof.limits.MAX_ANNOTATED_FRAMES` when ``n_frames`` is None.
    """
    return _read(path, "replay", n_frames)


def read_msu_face(path: str | os.PathLike, n_frames: int | None = None) -> np.ndarray:
    """Read an MSU-MFSD ``.face`` file (``frame, x1, y1, x2, y2, ...`` per line).

    Same result and errors as :func:`read_replay_face`; the corners are turned into ``w = x2 - x1``,
    ``h = y2 - y1``. The eye columns are checked to be numbers but not returned.
    """
    return _read(path, "msu", n_frames)


def sniff_format(path: str | os.PathLike) -> str:
    """``msu`` if the first non-empty line holds a comma, else ``replay``."""
    text = _text(Path(path))
    for line in text.splitlines():
        if line.strip():
            return "msu" if "," in line else "replay"
    raise AnnotationError(path, "empty annotation file")


def read_face_file(path: str | os.PathLike, fmt: str | None = None, n_frames: int | None = None) -> np.ndarray:
    """Read face boxes in format ``fmt`` (``replay`` or ``msu``; None: guess from the first line)."""
    if fmt is None:
        fmt = sniff_format(path)
    if fmt not in BOX_FORMATS:
        raise AnnotationError(path, f"format {fmt!r} holds no face boxes (known: {', '.join(BOX_FORMATS)})")
    return _read(path, fmt, n_frames)


def read_record_boxes(record, n_frames: int | None = None) -> np.ndarray:
    """Face boxes of a :class:`~antispoof.data.records.VideoRecord` from its annotation file.

    Raises
    ------
    AnnotationError
        The record has no usable annotation (None, or eye positions only): detect faces instead.
    """
    if record.annotation is None:
        raise AnnotationError(record.video_id, "no face annotation (detect faces instead)")
    if record.annotation_format not in BOX_FORMATS:
        raise AnnotationError(
            record.annotation, f"{record.annotation_format} annotations hold no face boxes (detect faces instead)"
        )
    return _read(record.annotation, record.annotation_format, n_frames)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise AnnotationError(path, "no such annotation file") from None
    except IsADirectoryError:
        raise AnnotationError(path, "is a directory, not an annotation file") from None
    except UnicodeDecodeError:
        raise AnnotationError(path, "not a text file") from None
    except OSError as exc:
        raise AnnotationError(path, f"cannot read ({exc.strerror})") from None


def check_face_file(path: str | os.PathLike, fmt: str | None = None) -> int:
    """Parse a face annotation file without building its array (the dataset scan); returns its rows.

    Raises
    ------
    AnnotationError
        As :func:`read_face_file`, including a frame number beyond :data:`MAX_ANNOTATED_FRAMES`.
    """
    if fmt is None:
        fmt = sniff_format(path)
    if fmt not in BOX_FORMATS:
        raise AnnotationError(path, f"format {fmt!r} holds no face boxes (known: {', '.join(BOX_FORMATS)})")
    return len(_parse(Path(path), fmt, None))


def has_face_box(path: str | os.PathLike, fmt: str) -> bool:
    """Whether an annotation file has at least one face box (positive width and height); parsed only."""
    return any(w > 0 and h > 0 for _, _, w, h in _parse(Path(path), fmt, None).values())


def _read(path: str | os.PathLike, fmt: str, n_frames: int | None) -> np.ndarray:
    path = Path(path)
    if n_frames is not None and n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    rows = _parse(path, fmt, n_frames)
    # Never allocate from a number in a file: the length is the video's frame count when known, else the
    # last annotated frame, which _parse bounds by MAX_ANNOTATED_FRAMES.
    length = max(rows) + 1 if n_frames is None else n_frames
    beyond = [frame for frame in rows if frame >= length]
    if beyond:
        warnings.warn(
            f"{path}: {len(beyond)} annotated frame{'s' if len(beyond) != 1 else ''} beyond the video's {length} "
            f"frames ignored (first: frame {min(beyond)})",
            AnnotationWarning,
            stacklevel=3,
        )
    out = np.full((length, 4), np.nan)
    for frame, box in rows.items():
        if frame < length and box[2] > 0 and box[3] > 0:  # all-zero and empty boxes mean "no face"
            out[frame] = box
    return out


def _parse(path: Path, fmt: str, n_frames: int | None) -> dict[int, tuple[float, float, float, float]]:
    """Frame -> box of every row; frame numbers are bounded (by ``n_frames`` later, here by the sane maximum)."""
    rows: dict[int, tuple[float, float, float, float]] = {}
    for number, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        if fmt == "msu":
            if "," not in line:
                raise AnnotationError(path, "expected comma-separated fields (MSU-MFSD format)", number)
            fields = [f.strip() for f in line.split(",")]
            if len(fields) < 5:
                raise AnnotationError(path, "expected at least 5 fields (frame, x1, y1, x2, y2)", number)
        else:
            fields = line.split()
            if len(fields) != 5:
                raise AnnotationError(path, f"expected 5 fields (frame x y w h), got {len(fields)}", number)
        try:
            values = [float(f) for f in fields]
        except ValueError:
            bad = next(f for f in fields if not _is_number(f))
            raise AnnotationError(path, f"not a number: {bad[:40]!r}", number) from None
        if not all(math.isfinite(v) for v in values):
            raise AnnotationError(path, "non-finite value", number)
        frame = values[0]
        if frame < 0 or frame != int(frame):
            raise AnnotationError(path, f"frame number must be a whole number >= 0, got {fields[0][:40]}", number)
        frame = int(frame)
        if frame >= MAX_ANNOTATED_FRAMES and n_frames is None:
            raise AnnotationError(
                path,
                f"frame number {fields[0][:40]} is beyond any video ({MAX_ANNOTATED_FRAMES} frames at most, "
                "24 h at 115 fps)",
                number,
            )
        if frame in rows:
            raise AnnotationError(path, f"frame {frame} annotated twice", number)
        a, b, c, d = values[1:5]
        rows[frame] = (a, b, c - a, d - b) if fmt == "msu" else (a, b, c, d)
    if not rows:
        raise AnnotationError(path, "empty annotation file")
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def valid_rows(boxes: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows holding a face (finite, positive width and height)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


def fill_missing(boxes: np.ndarray) -> np.ndarray:
    """Give every frame without a face the box of the nearest frame with one.

    The nearest valid frame before or after wins; at equal distance the earlier one (bob holds the
    last detection).

    Parameters
    ----------
    boxes : array-like, (n, 4)
        x, y, w, h; rows with NaN or a non-positive size are missing.

    Returns
    -------
    ndarray, float64, (n, 4)

    Raises
    ------
    NoFaceError
        No row holds a face.
    """
    boxes = np.array(boxes, dtype=np.float64, copy=True)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (n, 4), got shape {boxes.shape}")
    ok = valid_rows(boxes)
    if not ok.any():
        raise NoFaceError("no frame has a face box to fill the others from")
    if ok.all():
        return boxes
    valid = np.flatnonzero(ok)
    idx = np.arange(len(boxes))
    after = np.clip(np.searchsorted(valid, idx), 0, len(valid) - 1)
    before = np.clip(after - 1, 0, len(valid) - 1)
    # searchsorted gives the first valid index >= i; the one before it is the last valid < i.
    d_after = np.abs(valid[after] - idx)
    d_before = np.abs(idx - valid[before])
    nearest = np.where(d_before <= d_after, valid[before], valid[after])
    return boxes[nearest]


def write_replay_face(path: str | os.PathLike, boxes: np.ndarray) -> None:
    """Write boxes as a Replay-Attack ``.face`` file: integer ``frame x y w h``, zeros for no face."""
    lines = []
    ok = valid_rows(boxes)
    for i, (box, good) in enumerate(zip(np.asarray(boxes, dtype=np.float64), ok)):
        x, y, w, h = (int(round(v)) for v in box) if good else (0, 0, 0, 0)
        lines.append(f"{i} {x} {y} {w} {h}")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_msu_face(path: str | os.PathLike, boxes: np.ndarray, eyes: np.ndarray | None = None) -> None:
    """Write boxes as an MSU-MFSD ``.face`` file; frames without a face get no row.

    Parameters
    ----------
    boxes : (n, 4) x, y, w, h
    eyes : (n, 4) left x, left y, right x, right y, or None (written as the box's upper third)
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    lines = []
    for i, good in enumerate(valid_rows(boxes)):
        if not good:
            continue
        x, y, w, h = boxes[i]
        x1, y1, x2, y2 = (int(round(v)) for v in (x, y, x + w, y + h))
        if eyes is None:
            e = (x + 0.3 * w, y + 0.38 * h, x + 0.7 * w, y + 0.38 * h)
        else:
            e = eyes[i]
        lines.append(f"{i}, {x1}, {y1}, {x2}, {y2}, " + ", ".join(f"{v:.2f}" for v in e))
    Path(path).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
