"""Face boxes for a clip and the face crops the CNN-LSTM reads.

A *detector* is any callable ``frame -> list of (x, y, w, h, score)`` taking an RGB uint8 frame
(H, W, 3); two are built in: :class:`HaarDetector` and :class:`YuNetDetector`, defined in
:mod:`evm.face` (``evm pulse --roi face`` uses them too; ``evm`` never imports ``antispoof``).
Dataset annotations, when present, are used instead of a detector (:func:`face_track`).

:func:`stable_track` turns per-frame detections into one box per frame that does not jitter: the
LSTM reads motion, and a crop window that shakes by a pixel or two adds motion that is in no video.
:func:`crop_clip` cuts the square around the box enlarged by ``border`` (1.6: the paper keeps some
background, as "the relative movement between the face and the background is very important"),
resized to ``size`` (224 for VGG-Face), with edge padding where the window leaves the frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evm.face import Detector, FaceDetectorError, HaarDetector, YuNetDetector  # noqa: F401 (re-exported)
from evm.face import median_box as _median_box

from .annotations import (
    BOX_FORMATS,
    AnnotationError,
    NoFaceError,
    fill_missing,
    has_face_box,
    read_record_boxes,
    valid_rows,
)

#: Border factor of the paper's crops: the face box side times 1.6, background included.
DEFAULT_BORDER = 1.6
#: VGG-Face input size.
DEFAULT_SIZE = 224


def detect_clip(frames, detector: Detector, *, stride: int = 1) -> list[list[tuple]]:
    """Run ``detector`` on every ``stride``-th frame; the frames in between get no detection (``[]``).

    :func:`stable_track` fills them, so ``stride`` 5 costs a fifth of the detection time and, on the
    short still clips of the anti-spoofing sets, gives the same fixed box.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    return [list(detector(frame)) if i % stride == 0 else [] for i, frame in enumerate(frames)]


def _as_candidates(boxes_per_frame) -> list[np.ndarray]:
    """Per frame an (n, 5) array x, y, w, h, score of the valid candidates."""
    if isinstance(boxes_per_frame, np.ndarray) and boxes_per_frame.ndim == 2:
        if boxes_per_frame.shape[1] not in (4, 5):
            raise ValueError(f"boxes must be (T, 4) or (T, 5), got shape {boxes_per_frame.shape}")
        boxes_per_frame = boxes_per_frame[:, None, :]  # one candidate per frame
    out = []
    for frame_boxes in boxes_per_frame:
        r = np.asarray([] if frame_boxes is None else frame_boxes, dtype=np.float64)
        if r.size == 0:
            out.append(np.empty((0, 5)))
            continue
        r = r.reshape(-1, r.shape[-1])
        if r.shape[1] == 4:
            r = np.concatenate([r, np.ones((len(r), 1))], axis=1)
        elif r.shape[1] != 5:
            raise ValueError(f"a box is (x, y, w, h) or (x, y, w, h, score), got {r.shape[1]} values")
        out.append(r[valid_rows(r[:, :4])])
    return out


def stable_track(
    boxes_per_frame: Sequence | np.ndarray,
    *,
    mode: str = "fixed",
    sigma: float = 12.0,
    max_offset: float = 0.5,
) -> np.ndarray:
    """One steady face box per frame from per-frame detections (or annotations with NaN rows).

    1. Where a frame has several candidates the best-scored is taken, then all frames are matched
       again against the clip's median box: the candidate nearest to it is kept, and one whose centre
       is more than ``max_offset`` box sides away (a false detection) is dropped.
    2. Frames without a face take the nearest frame's box (:func:`~antispoof.data.annotations.fill_missing`).
    3. ``mode="fixed"`` (default): every frame gets the median box of the clip, so the crop window does
       not move at all and all motion inside the crop is motion in the video, the face's relative to
       the background included. ``mode="smooth"``: the centre and size are low-passed with a Gaussian
       of ``sigma`` frames (about half a second at 25 fps) to follow a face that travels.

    Parameters
    ----------
    boxes_per_frame : sequence of lists of boxes, or ndarray (T, 4) / (T, 5)
        Boxes are (x, y, w, h) or (x, y, w, h, score); an empty list or a NaN row = no face.

    Returns
    -------
    ndarray, float64, (T, 4)
        x, y, w, h for every frame.

    Raises
    ------
    NoFaceError
        No frame has a face.
    """
    if mode not in ("fixed", "smooth"):
        raise ValueError(f"mode must be 'fixed' or 'smooth', got {mode!r}")
    candidates = _as_candidates(boxes_per_frame)
    if not candidates:
        raise NoFaceError("no frames")
    picked = np.full((len(candidates), 4), np.nan)
    for i, c in enumerate(candidates):
        if len(c):
            picked[i] = c[np.lexsort((-c[:, 2] * c[:, 3], -c[:, 4]))[0], :4]
    if not valid_rows(picked).any():
        raise NoFaceError(f"no face in any of the {len(candidates)} frames")
    ref = _median_box(picked)
    ref_c, ref_side = ref[:2] + ref[2:] / 2, max(ref[2], ref[3])
    track = np.full_like(picked, np.nan)
    for i, c in enumerate(candidates):
        if not len(c):
            continue
        dist = np.hypot(*(c[:, :2] + c[:, 2:4] / 2 - ref_c).T) / ref_side
        j = int(np.argmin(dist))
        if dist[j] <= max_offset:
            track[i] = c[j, :4]
    if not valid_rows(track).any():
        track = picked  # every candidate disagrees with the median: keep the best-scored ones
    track = fill_missing(track)
    if mode == "fixed":
        return np.repeat(_median_box(track)[None], len(track), axis=0)
    from scipy.ndimage import gaussian_filter1d

    centre = track[:, :2] + track[:, 2:] / 2
    size = track[:, 2:]
    centre = gaussian_filter1d(centre, sigma, axis=0, mode="nearest")
    size = gaussian_filter1d(size, sigma, axis=0, mode="nearest")
    return np.concatenate([centre - size / 2, size], axis=1)


def face_track(
    frames,
    *,
    record=None,
    detector: Detector | None = None,
    stride: int = 1,
    mode: str = "fixed",
) -> np.ndarray:
    """Steady per-frame face boxes of a clip: from the record's annotation if it has one with at least
    one face box, else detected.

    Parameters
    ----------
    frames : ndarray (T, H, W, 3) or sequence of frames
        The frames as decoded *and oriented* (``apply_flip`` done); annotations of flipped records
        are not used (they are unreliable), so coordinates always refer to the frames given.
    record : VideoRecord or None
    detector : callable or None
        Used when there is no usable annotation; None builds a :class:`HaarDetector`.
    stride : int
        Detect on every ``stride``-th frame only.
    mode : str
        ``fixed`` or ``smooth`` (see :func:`stable_track`).
    """
    boxes = annotation_track(record, len(frames), mode=mode)
    if boxes is not None:
        return boxes
    detector = detector or HaarDetector()
    return stable_track(detect_clip(frames, detector, stride=stride), mode=mode)


def _has_box_annotation(record) -> bool:
    return record is not None and record.annotation is not None and record.annotation_format in BOX_FORMATS


def annotation_track(record, n_frames: int, *, mode: str = "fixed") -> np.ndarray | None:
    """The steady boxes :func:`face_track` takes from the record's annotation, or None to detect instead.

    Parameters
    ----------
    record : VideoRecord or None
    n_frames : int
        Frames of the video as decoded; annotation rows of later frames are ignored.
    mode : str
        ``fixed`` or ``smooth`` (see :func:`stable_track`).

    Returns
    -------
    ndarray, float64, (n_frames, 4), or None
        None when the record has no box annotation, or one without a face box in the first
        ``n_frames`` frames.

    Raises
    ------
    AnnotationError
        The annotation file cannot be read.
    """
    if not _has_box_annotation(record):
        return None
    try:
        return stable_track(read_record_boxes(record, n_frames=n_frames), mode=mode)
    except NoFaceError:
        return None  # an annotation without a single face box: detect instead


def annotation_may_apply(record) -> bool:
    """Whether :func:`annotation_track` may give boxes, known before the video's length is.

    False when the record has no box annotation or one whose every box is empty: faces must then be
    detected. True otherwise, also for an unreadable annotation file (whose error
    :func:`annotation_track` raises once the video has been decoded, as :func:`face_track` does).
    """
    if not _has_box_annotation(record):
        return False
    try:
        return has_face_box(record.annotation, record.annotation_format)  # parsed, no array allocated
    except AnnotationError:
        return True


#: The skin region of a face crop (the face box enlarged ``border`` = 1.6 times, :func:`crop_clip`): x0, y0, x1, y1
#: as fractions of the crop side: cheeks and nose, no background, no eyes' blinks. The pulse cue is the mean
#: RGB of this region over time (:func:`crop_skin_roi`, :mod:`antispoof.baselines.pulse`, the cache's traces).
CROP_SKIN = (0.32, 0.45, 0.68, 0.72)


def crop_skin_roi(height: int, width: int) -> tuple[int, int, int, int]:
    """The :data:`CROP_SKIN` region of a ``height x width`` face crop, in pixels, at least one pixel each way.

    Returns
    -------
    (x, y, w, h) : tuple of int
        The rectangle :class:`evm.pulse.RegionMean` takes as ``roi``.
    """
    x0, y0, x1, y1 = CROP_SKIN
    left, top = int(x0 * width), int(y0 * height)
    return left, top, max(1, int(x1 * width) - left), max(1, int(y1 * height) - top)


def crop_window(box, border: float = DEFAULT_BORDER) -> tuple[float, float, float]:
    """The square crop around a face box: (x0, y0, side), ``side = border * max(w, h)``, same centre."""
    x, y, w, h = (float(v) for v in np.asarray(box, dtype=np.float64)[:4])
    if not (w > 0 and h > 0 and np.isfinite([x, y, w, h]).all()):
        raise ValueError(f"not a face box: {box}")
    if not border > 0:
        raise ValueError(f"border must be > 0, got {border}")
    side = border * max(w, h)
    return x + w / 2 - side / 2, y + h / 2 - side / 2, side


def crop_clip(frames, boxes, *, border: float = DEFAULT_BORDER, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Cut and resize the face window of every frame.

    Output pixel ``(u, v)`` samples input point ``(x0 + (u + 0.5) * s - 0.5, y0 + (v + 0.5) * s - 0.5)``
    with ``s = side / size`` (pixel centres map to pixel centres), bilinear, with the frame's edge
    pixels repeated outside it. When the window is larger than ``size`` the frame is first shrunk
    by area averaging so the downscale does not alias (moire would be a fake spoof cue).

    Parameters
    ----------
    frames : ndarray (T, H, W, 3) uint8, or a sequence of (H, W, 3) frames
    boxes : array-like (T, 4) or (4,)
        x, y, w, h per frame (:func:`stable_track`), or one box for all frames.
    border : float
        Window side = ``border`` times the larger box side.
    size : int
        Output side in pixels.

    Returns
    -------
    ndarray, uint8, (T, size, size, 3)
    """
    import cv2

    if not (isinstance(size, (int, np.integer)) and size > 0):
        raise ValueError(f"size must be a positive integer, got {size!r}")
    boxes = np.asarray(boxes, dtype=np.float64)
    n = len(frames)
    if boxes.ndim == 1:
        boxes = np.repeat(boxes[None, :4], n, axis=0)
    if boxes.ndim != 2 or boxes.shape[1] < 4 or len(boxes) != n:
        raise ValueError(f"need one box per frame: {n} frames, boxes of shape {boxes.shape}")
    out = np.empty((n, size, size, 3), np.uint8)
    for i, frame in enumerate(frames):
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frames must be RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        x0, y0, side = crop_window(boxes[i], border)
        scale = side / size  # input pixels per output pixel
        src = frame
        kx = ky = 1.0
        if scale > 1.0:
            h, w = frame.shape[:2]
            sw, sh = max(1, int(round(w / scale))), max(1, int(round(h / scale)))
            src = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)
            kx, ky = sw / w, sh / h  # exact factors of the rounded size
        # input x (pixel-centre convention) of output u: x = x0 + (u + 0.5) * scale - 0.5, then into src
        ax, ay = scale * kx, scale * ky
        bx = (x0 + 0.5 * scale) * kx - 0.5
        by = (y0 + 0.5 * scale) * ky - 0.5
        matrix = np.array([[ax, 0.0, bx], [0.0, ay, by]])
        out[i] = cv2.warpAffine(
            src,
            matrix,
            (size, size),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
    return out
