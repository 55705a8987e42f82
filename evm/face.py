"""Face boxes in frames: a pluggable detector interface and two OpenCV detectors.

A *detector* is any callable ``frame -> list of (x, y, w, h, score)`` taking an RGB uint8 frame
(H, W, 3), best box first; two are built in: :class:`HaarDetector` (OpenCV's frontal-face cascade,
shipped with opencv-python 4.x) and :class:`YuNetDetector` (``cv2.FaceDetectorYN``, needs the
user's ``.onnx``). :func:`face_box` gives the steady box of a clip's first frames and
:func:`skin_region` the skin rectangle inside it that :mod:`evm.pulse` averages (``evm pulse --roi
face``). :mod:`antispoof.data.faces` builds its face tracks and crops on these detectors.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path

import numpy as np

from .validation import integer

#: A detector: RGB uint8 frame (H, W, 3) -> list of (x, y, w, h, score), best first.
Detector = Callable[[np.ndarray], list[tuple[float, float, float, float, float]]]


class FaceDetectorError(ValueError):
    """A face detector cannot be created (missing or invalid model file); one line for users."""


def _check_frame(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"a detector needs an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
    return frame


class HaarDetector:
    """OpenCV's Viola-Jones frontal-face cascade (``haarcascade_frontalface_default.xml``).

    Parameters
    ----------
    cascade : path-like or None
        A cascade XML file; None uses the one shipped in ``cv2.data.haarcascades``.
    scale_factor, min_neighbors : float, int
        ``detectMultiScale`` settings (image pyramid step; merged windows a detection needs).
    min_size : int
        Smallest face side in pixels.
    equalize : bool
        Equalise the grey-level histogram first (helps dark, low-contrast frames such as
        Replay-Attack's adverse light).

    Notes
    -----
    The score of a box is the number of raw windows merged into it (``detectMultiScale2``),
    a usable confidence for picking among several boxes.
    """

    def __init__(
        self,
        cascade: str | os.PathLike | None = None,
        *,
        scale_factor: float = 1.1,
        min_neighbors: int = 4,
        min_size: int = 24,
        equalize: bool = True,
    ) -> None:
        import cv2

        if cascade is None:
            data = getattr(cv2, "data", None)
            if data is None or not hasattr(cv2, "CascadeClassifier"):
                raise FaceDetectorError(
                    "this OpenCV build has no Haar cascades (OpenCV 5 moved them out); install opencv-python-headless<5"
                )
            cascade = Path(data.haarcascades) / "haarcascade_frontalface_default.xml"
        cascade = Path(cascade)
        if not cascade.is_file():
            raise FaceDetectorError(f"{cascade}: no such cascade file")
        try:
            self._classifier = cv2.CascadeClassifier(str(cascade))
        except (cv2.error, SystemError):  # OpenCV raises SystemError for some malformed XML
            self._classifier = None
        if self._classifier is None or self._classifier.empty():
            raise FaceDetectorError(f"{cascade}: not a usable OpenCV cascade file")
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.min_size, self.equalize = int(min_size), equalize

    def __call__(self, frame: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        import cv2

        gray = cv2.cvtColor(_check_frame(frame), cv2.COLOR_RGB2GRAY)
        if self.equalize:
            gray = cv2.equalizeHist(gray)
        rects, counts = self._classifier.detectMultiScale2(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
        )
        boxes = [(float(x), float(y), float(w), float(h), float(n)) for (x, y, w, h), n in zip(rects, counts)]
        return sorted(boxes, key=lambda b: (-b[4], -b[2] * b[3]))


class YuNetDetector:
    """OpenCV's YuNet CNN face detector (``cv2.FaceDetectorYN``) with a user-supplied model.

    Parameters
    ----------
    model : path-like
        ``face_detection_yunet_2023mar.onnx`` (233 KB, MIT licence) from the opencv_zoo repository;
        it is not shipped with OpenCV or with this package.
    score_threshold, nms_threshold : float
    top_k : int

    Raises
    ------
    FaceDetectorError
        The file is missing, not an ``.onnx`` file, or OpenCV cannot load it.
    """

    def __init__(
        self,
        model: str | os.PathLike,
        *,
        score_threshold: float = 0.7,
        nms_threshold: float = 0.3,
        top_k: int = 50,
    ) -> None:
        import cv2

        model = Path(model)
        if not model.is_file():
            raise FaceDetectorError(
                f"{model}: no such YuNet model file (download face_detection_yunet_2023mar.onnx from opencv_zoo)"
            )
        if model.suffix.lower() != ".onnx":
            raise FaceDetectorError(f"{model}: a YuNet model is an .onnx file")
        if not hasattr(cv2, "FaceDetectorYN"):
            raise FaceDetectorError("this OpenCV build has no FaceDetectorYN (needs OpenCV >= 4.5.4)")
        try:
            self._net = cv2.FaceDetectorYN.create(str(model), "", (320, 320), score_threshold, nms_threshold, top_k)
        except cv2.error as exc:
            reason = " ".join(str(exc).split())[-160:]
            raise FaceDetectorError(f"{model}: not a usable YuNet ONNX model ({reason})") from None
        self._input_size: tuple[int, int] | None = None

    def __call__(self, frame: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        import cv2

        frame = _check_frame(frame)
        size = (frame.shape[1], frame.shape[0])
        if size != self._input_size:
            self._net.setInputSize(size)
            self._input_size = size
        _, faces = self._net.detect(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        if faces is None:
            return []
        boxes = [(float(f[0]), float(f[1]), float(f[2]), float(f[3]), float(f[14])) for f in faces]
        return sorted(boxes, key=lambda b: -b[4])


def median_box(boxes) -> np.ndarray:
    """Median centre and median size of the rows holding a face, as x, y, w, h.

    Parameters
    ----------
    boxes : array-like, (n, >= 4)
        x, y, w, h (further columns ignored); rows with a NaN or a side <= 0 hold no face.

    Returns
    -------
    ndarray, float64, (4,)
        NaN where no row holds a face.
    """
    b = np.asarray(boxes, dtype=np.float64)
    b = b.reshape(-1, b.shape[-1])[:, :4] if b.size else np.empty((0, 4))
    b = b[np.isfinite(b).all(axis=1) & (b[:, 2] > 0) & (b[:, 3] > 0)]
    if not len(b):
        return np.full(4, np.nan)
    centre = np.median(b[:, :2] + b[:, 2:] / 2, axis=0)
    size = np.median(b[:, 2:], axis=0)
    return np.concatenate([centre - size / 2, size])


def face_box(
    frames: Iterable[np.ndarray], detector: Detector | None = None, *, max_frames: int = 60, stride: int = 5
) -> tuple[float, float, float, float]:
    """One steady face box for a clip: the median of the best detections in its first frames.

    Parameters
    ----------
    frames : iterable of ndarray (H, W, 3) uint8
        Only the first ``max_frames`` are read.
    detector : Detector or None
        None builds a :class:`HaarDetector`.
    max_frames, stride : int
        Detect on every ``stride``-th of the first ``max_frames`` frames.

    Returns
    -------
    (x, y, w, h) : float, pixels

    Raises
    ------
    ValueError
        No face in any of the frames looked at.
    """
    max_frames = integer(max_frames, "max_frames", minimum=1)
    stride = integer(stride, "stride", minimum=1)
    detector = detector or HaarDetector()
    best, looked = [], 0
    for frame in islice(frames, 0, max_frames, stride):
        looked += 1
        found = detector(frame)
        if found:
            best.append(found[0][:4])
    if not best:
        every = f"every {stride}th of " if stride > 1 else ""
        raise ValueError(f"no face found in {looked} frames ({every}the first {max_frames})")
    return tuple(float(v) for v in median_box(best))


#: The skin rectangle inside a face box, as fractions of the box: the middle 60% of its width (cheeks
#: and nose, no background at the sides) from 10% to 90% of its height (forehead to upper lip).
SKIN_REGION = (0.2, 0.1, 0.6, 0.8)


def skin_region(box, frame_shape) -> tuple[int, int, int, int]:
    """The skin rectangle (:data:`SKIN_REGION`) of a face box, in integer pixels, clipped to the frame.

    Parameters
    ----------
    box : (x, y, w, h)
        Face box, pixels.
    frame_shape : (H, W[, C])

    Returns
    -------
    (x, y, w, h) : int
    """
    x, y, w, h = (float(v) for v in box[:4])
    fx, fy, fw, fh = SKIN_REGION
    H, W = int(frame_shape[0]), int(frame_shape[1])
    x0, y0 = max(0, int(round(x + fx * w))), max(0, int(round(y + fy * h)))
    x1, y1 = min(W, int(round(x + (fx + fw) * w))), min(H, int(round(y + (fy + fh) * h)))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)
