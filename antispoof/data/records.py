"""Types shared by the dataset adapters: one video (:class:`VideoRecord`), protocols, problems.

Conventions (bob's, see docs/datasets.md): label 1 = bona fide (positive, higher score = more bona
fide), 0 = attack; splits are named ``train``, ``dev`` and ``test`` whatever the dataset calls them
(Replay-Attack's ``devel`` folder is the ``dev`` split).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..labels import ATTACK as ATTACK  # re-exported: the label pair lives in antispoof.labels
from ..labels import BONA_FIDE as BONA_FIDE

#: Split names, in protocol order.
SPLITS = ("train", "dev", "test")

Split = Literal["train", "dev", "test"]
#: A protocol: the records of each split.
Protocol = dict[str, list["VideoRecord"]]

#: Orientation fixes a record may need (:func:`apply_flip`).
FLIP_ROT180 = "rot180"  # turn by 180 degrees: rows and columns reversed
FLIP_VERTICAL = "vertical"  # rows reversed only (what bob.db.msu_mfsd_mod does)
FLIPS = (FLIP_ROT180, FLIP_VERTICAL)


class DatasetError(ValueError):
    """A dataset tree cannot be used; the message lists every problem found, one per line."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


@dataclass(frozen=True)
class Problem:
    """Something wrong or suspicious in a dataset tree.

    Attributes
    ----------
    kind : str
        ``missing`` (expected file or folder absent), ``unknown-file`` (name outside the dataset's
        grammar), ``annotation`` (unreadable or orphan annotation), ``inconsistent`` (e.g. a subject in
        two splits, an incomplete subject), ``split-list`` (a split list names nothing or misses a video).
    path : str or None
        The file or folder concerned, relative to the dataset root where possible.
    message : str
        One line for users.
    """

    kind: str
    path: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def as_dict(self) -> dict:
        return {"kind": self.kind, "path": self.path, "message": self.message}


@dataclass(frozen=True)
class VideoRecord:
    """One video of a dataset, with everything the protocols and the face cropper need.

    Attributes
    ----------
    dataset : str
        Adapter name (``replay-attack``, ``msu-mfsd``, ``casia-fasd``, ``oulu-npu``, ``folder``).
    video_id : str
        Path relative to the dataset root, POSIX separators, without suffix; stable across copies.
    path : Path
        The video file.
    label : int
        1 bona fide, 0 attack.
    attack_type : str or None
        Presentation attack instrument species (None for bona fide), e.g. Replay-Attack ``print`` /
        ``mobile`` / ``highdef``, MSU-MFSD ``printed_photo`` / ``ipad_video`` / ``iphone_video``.
    subject : str
        Subject (client) id as the dataset writes it, e.g. ``"001"``.
    split : str or None
        ``train``, ``dev`` or ``test`` in the dataset's default protocol; None if not assigned.
    condition : str or None
        Acquisition condition: Replay-Attack ``controlled`` / ``adverse``, CASIA quality, OULU session.
    device : str or None
        Capture device: ``webcam``, ``android`` / ``laptop``, ``phone1`` ... ``phone6``.
    annotation : Path or None
        Face annotation file to use; None when there is none or it is known to be unreliable
        (the face must then be detected).
    annotation_format : str or None
        ``replay`` (``frame x y w h``), ``msu`` (``frame, x1, y1, x2, y2, eyes...``) or ``oulu-eyes``.
    flip : str or None
        Orientation fix for the decoded frames, ``rot180`` or ``vertical`` (see :func:`apply_flip`).
    extra : dict
        Dataset-specific fields (support, take, session, quality, official split...). Not compared.
    """

    dataset: str
    video_id: str
    path: Path
    label: int
    attack_type: str | None
    subject: str
    split: str | None
    condition: str | None = None
    device: str | None = None
    annotation: Path | None = None
    annotation_format: str | None = None
    flip: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def is_bona_fide(self) -> bool:
        return self.label == BONA_FIDE

    def as_dict(self) -> dict:
        """JSON-ready fields (paths as strings)."""
        return {
            "dataset": self.dataset,
            "video_id": self.video_id,
            "path": str(self.path),
            "label": self.label,
            "attack_type": self.attack_type,
            "subject": self.subject,
            "split": self.split,
            "condition": self.condition,
            "device": self.device,
            "annotation": None if self.annotation is None else str(self.annotation),
            "annotation_format": self.annotation_format,
            "flip": self.flip,
            "extra": {k: (str(v) if isinstance(v, Path) else v) for k, v in self.extra.items()},
        }


def apply_flip(frames: np.ndarray, flip: str | None) -> np.ndarray:
    """Undo a stored orientation: frames (H, W), (H, W, C) or (T, H, W, C), returned as a view.

    ``rot180`` reverses rows and columns (a camera held upside down turns the picture by 180 degrees);
    ``vertical`` reverses rows only, as bob does for MSU-MFSD, which leaves the picture mirrored.

    Raises
    ------
    ValueError
        Unknown ``flip`` or an array with fewer than 2 dimensions.
    """
    if flip is None:
        return frames
    frames = np.asarray(frames)
    if frames.ndim < 2:
        raise ValueError(f"apply_flip needs (H, W[, C]) or (T, H, W, C) frames, got shape {frames.shape}")
    rows = 0 if frames.ndim == 2 else -3  # channels last from 3 dimensions on
    if flip == FLIP_VERTICAL:
        return np.flip(frames, axis=rows)
    if flip == FLIP_ROT180:
        return np.flip(frames, axis=(rows, rows + 1))
    raise ValueError(f"unknown flip {flip!r}; expected one of {', '.join(FLIPS)} or None")


def flip_boxes(boxes: np.ndarray, flip: str | None, width: int, height: int) -> np.ndarray:
    """Map (n, 4) x, y, w, h boxes through the same orientation fix as :func:`apply_flip`.

    A box covering columns ``[x, x + w)`` of a ``width``-pixel row covers ``[width - x - w, width - x)``
    after the columns are reversed (likewise for rows).
    """
    out = np.array(boxes, dtype=np.float64, copy=True)
    if flip is None:
        return out
    if flip not in FLIPS:
        raise ValueError(f"unknown flip {flip!r}; expected one of {', '.join(FLIPS)} or None")
    out[..., 1] = height - out[..., 1] - out[..., 3]
    if flip == FLIP_ROT180:
        out[..., 0] = width - out[..., 0] - out[..., 2]
    return out


def resolve_flip(flip: str | None, container_rotation: int | float | None) -> str | None:
    """The flip still to apply after :class:`evm.io.VideoReader` applied the container's rotation.

    The reader already turns frames by the rotation the container declares (``evm info`` shows it).
    A file listed as stored upside down but carrying such a rotation has been fixed by whoever
    re-encoded it, so no further flip is applied.
    """
    if flip is None or not container_rotation or int(round(float(container_rotation))) % 360 == 0:
        return flip
    return None
