"""The clip cache: face crops of every video, motion-magnified, ready for training.

``prepare`` turns a dataset tree into a cache folder; :class:`ClipDataset` reads
it as a torch Dataset of ``(clip, label, video_id)``.

Layout::

    CACHE/<key>/                     key = hash of the dataset and every preparation parameter
        config.json                  the PrepareConfig, dataset name and root
        manifest.jsonl               per-video status (evm.batch): resumable, failures recorded
        index.json                   one row per prepared video (written at the end of prepare)
        videos/<video_id>.npy        uint8 (clips * clip_len, size, size, 3), memory-mappable
        traces/<video_id>.npy        float32 (frames, 3): every frame's mean R, G, B in [0, 1] of the face
                                     crop's skin region, unmagnified (the pulse cue, :func:`read_trace`)

Only the frames that clips use are stored, so the size per video is bounded:
``clips_per_video * clip_len * size**2 * 3`` bytes (3 x 8 x 224 x 224 x 3 = 3.6 MB; all of
Replay-Attack, 1200 videos, 4.3 GB), plus the pulse trace, 12 bytes a frame (4 KB for 15 s at 25 fps).

Versions: 2 adds the traces (computed in the second decoding pass, which then runs to the video's end,
from the same face boxes and crops). A version-1 cache is still read (its clips); it has no traces, and
``prepare`` with this program writes a new cache beside it (the version is part of the key).

Order of crop and magnification
-------------------------------
``crop-first`` (default): the face window is fixed for the whole video (crop jitter would
be fake motion), so cropping commutes with the temporal filter; magnifying the
``size x size`` crop instead of the full frame is several times cheaper and the
cutoff wavelength ``lambda_c`` then refers to crop pixels, the same for every
dataset whatever its resolution.  ``magnify-first`` magnifies the full frame
(``lambda_c`` in camera pixels, as in the EVM paper) and crops afterwards.

Streaming
---------
:func:`stream_clips` (used by ``prepare`` and ``antispoof predict``) decodes a video twice and never
holds its frames: a first pass counts the frames and runs the face detector, a second one crops and
magnifies frame by frame.  Memory then does not grow with the video's length, except with the
``ideal`` temporal filter, an FFT over the whole video: it holds every crop (crop-first) or every
full frame (magnify-first).  :func:`read_oriented` and :func:`extract_clips` (which crops and magnifies
with the same code) are the in-memory equivalent, with identical results.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from evm.batch import MANIFEST, Job, params_hash, read_manifest, run_batch
from evm.io import VideoError, VideoReader, atomic_output, probe, read_ahead
from evm.magnify import Magnifier
from evm.presets import MagnifyParams
from evm.validation import integer, real

from .jsonio import CorruptJSONError, read_json
from .limits import MAX_VIDEO_BYTES
from .limits import PREPARE as LIMITS

CACHE_VERSION = 2
#: Cache versions this program reads (1: without pulse traces).
READABLE_VERSIONS = (1, 2)
ORDERS = ("crop-first", "magnify-first")


class VideoTooShortError(ValueError):
    """A video has fewer frames than one clip spans; ``n_frames`` and ``span`` hold the two counts."""

    def __init__(self, n_frames: int, span: int) -> None:
        self.n_frames, self.span = n_frames, span
        super().__init__(f"video has {n_frames} frames, shorter than one clip ({span} frames)")


@dataclass(frozen=True)
class PrepareConfig:
    """How videos become cached clips.

    Attributes
    ----------
    size : int
        Side of the square face crops (the paper: 224).
    border : float
        Crop window side = ``border`` x the face box side (the paper keeps some background).
    clip_len : int
        Frames per clip.
    frame_step : int
        Take every ``frame_step``-th frame inside a clip (1: consecutive frames).
    clips_per_video : int
        Clips spread evenly over each video (after the warm-up).
    warmup : float
        Seconds skipped at the start when the video is long enough: the causal temporal
        filter's start-up transient.
    magnify : MagnifyParams or None
        None: no magnification (the paper's plain variants).
    order : {"crop-first", "magnify-first"}
    detect_stride : int
        Run the face detector on every n-th frame (videos without annotations).
    track : {"fixed", "smooth"}
        Face window fixed per video, or smoothly following the face.
    """

    size: int = 224
    border: float = 1.6
    clip_len: int = 8
    frame_step: int = 2
    clips_per_video: int = 3
    warmup: float = 1.0
    magnify: MagnifyParams | None = field(default_factory=MagnifyParams)
    order: str = "crop-first"
    detect_stride: int = 5
    track: str = "fixed"

    def __post_init__(self) -> None:
        # Every number is checked (finite, in range) before anything is allocated from it; the messages
        # name the field, which the CLI and the study config turn into their option or key.
        for name, maximum in LIMITS.items():
            value = getattr(self, name)
            if name in ("border", "warmup"):
                real(value, name, minimum=1.0 if name == "border" else 0.0, maximum=maximum)
            else:
                object.__setattr__(self, name, integer(value, name, minimum=1, maximum=maximum))
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {self.order!r}")
        if self.track not in ("fixed", "smooth"):
            raise ValueError(f"track must be 'fixed' or 'smooth', got {self.track!r}")
        stored = self.clips_per_video * self.clip_len * self.size * self.size * 3
        if stored > MAX_VIDEO_BYTES:
            raise ValueError(
                f"clips_per_video x clip_len x size^2 x 3 = {stored / 2**30:.1f} GiB of clips per video, more than "
                f"{MAX_VIDEO_BYTES / 2**30:.0f} GiB: lower clips_per_video, clip_len or size"
            )

    @property
    def span(self) -> int:
        """Frames of video one clip covers."""
        return (self.clip_len - 1) * self.frame_step + 1

    def as_dict(self) -> dict:
        d = asdict(self)
        d["magnify"] = None if self.magnify is None else self.magnify.as_kwargs()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> PrepareConfig:
        d = dict(d)
        if d.get("magnify") is not None:
            d["magnify"] = MagnifyParams(**d["magnify"])
        return cls(**d)


def check_magnify(config: PrepareConfig, fps: float) -> None:
    """Refuse magnification settings that cannot run at ``fps`` on ``config.size`` crops (a ValueError naming
    the setting): checked once before a preparation, not once per video."""
    Magnifier((config.size, config.size, 3), fps, **config.magnify.as_kwargs())


def first_video_fps(dataset) -> float | None:
    """The frame rate of a dataset's first video, at which settings are judged before a preparation.

    None when there is none or it cannot be read (the preparation reports an unreadable video).
    """
    if not dataset.records:
        return None
    try:
        return probe(dataset.records[0].path).fps or None
    except VideoError:
        return None


def clip_starts(n_frames: int, fps: float, config: PrepareConfig) -> list[int]:
    """First frame of each clip: evenly spread, after the warm-up when the video allows.

    Raises
    ------
    VideoTooShortError
        The video is shorter than one clip (a ValueError).
    """
    first, last = _start_range(n_frames, fps, config)
    starts = np.linspace(first, last, config.clips_per_video)
    return sorted({int(round(s)) for s in starts})


def _start_range(n_frames: int, fps: float, config: PrepareConfig) -> tuple[int, int]:
    """First and last possible clip start: after the warm-up when the video is long enough."""
    span = config.span
    if n_frames < span:
        raise VideoTooShortError(n_frames, span)
    first = int(round(config.warmup * fps))
    if n_frames - first < span:
        first = 0
    return first, n_frames - span


def _frame_indices(starts: list[int], config: PrepareConfig) -> np.ndarray:
    return np.concatenate([s + config.frame_step * np.arange(config.clip_len) for s in starts])


def all_clip_starts(n_frames: int, fps: float, config: PrepareConfig) -> list[int]:
    """Non-overlapping clips covering the video after the warm-up (for prediction)."""
    first, last = _start_range(n_frames, fps, config)
    return list(range(first, last + 1, config.span))


def extract_clips(frames, fps: float, boxes: np.ndarray, starts: list[int], config: PrepareConfig) -> np.ndarray:
    """Face-cropped (and magnified) frames of the clips starting at ``starts``.

    Parameters
    ----------
    frames : sequence of ndarray (H, W, 3) uint8
        The whole video, oriented.
    fps : float
    boxes : ndarray (T, 4)
        Face box per frame (:func:`antispoof.data.faces.face_track`).
    starts : list of int
    config : PrepareConfig

    Returns
    -------
    ndarray, uint8, (len(starts) * clip_len, size, size, 3)
        Clip ``c`` is ``[c * clip_len, (c + 1) * clip_len)``.
    """
    return _stream_extract(iter(frames), len(frames), fps, boxes, starts, config)


def read_oriented(path, flip: str | None = None) -> tuple[list[np.ndarray], float]:
    """All frames of a video, orientation fixed, and its frame rate."""
    from antispoof.data.records import apply_flip

    reader = VideoReader(path)
    frames = [apply_flip(f, flip) for f in read_ahead(reader)]
    if not frames:
        raise ValueError(f"{path}: no decodable frames")
    return frames, reader.fps


def make_detector(spec: str | None):
    """YuNet from an .onnx path, or OpenCV's Haar cascade when ``spec`` is None."""
    from antispoof.data.faces import HaarDetector, YuNetDetector

    return YuNetDetector(spec) if spec else HaarDetector()


def prepare_video(job: Job) -> dict:
    """Batch worker: one video -> ``job.dst`` (.npy of its clips' frames); returns index fields.

    With ``job.params["trace"]`` (a path relative to ``job.dst``'s folder), the video's pulse trace
    (:attr:`StreamedClips.trace`) goes there too, and the fields gain ``trace_frames``.
    """
    params = job.params
    config = PrepareConfig.from_dict(params["config"])
    record = _record_from_dict(params["record"])
    detector = None
    if record.annotation is None or record.flip is not None:
        detector = make_detector(params.get("detector"))
    trace = params.get("trace")  # the trace file, relative to dst's folder (prepare() gives it)
    streamed = stream_clips(record.path, config, flip=record.flip, record=record, detector=detector,
                            trace=trace is not None)  # fmt: skip
    out, fps, starts, boxes = streamed.clips, streamed.fps, streamed.starts, streamed.boxes
    dst = Path(job.dst)
    if trace is not None:
        # the trace first: a clips file (which the manifest's "done" follows) means both are complete
        trace = dst.parent / trace
        trace.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(trace, overwrite=True) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, streamed.trace)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(dst, overwrite=True) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, out)
    box = np.median(boxes, axis=0)
    row = {
        "video_id": record.video_id,
        "frames_decoded": streamed.n_frames,
        "fps": fps,
        "clip_starts": starts,
        "frames_stored": int(len(out)),
        "box": [round(float(v), 2) for v in box],
        "bytes": int(out.nbytes),  # the clips (a trace adds 12 bytes a frame)
    }
    if streamed.trace is not None:
        row["trace_frames"] = len(streamed.trace)
    return row


@dataclass
class StreamedClips:
    """What :func:`stream_clips` returns.

    Attributes
    ----------
    clips : ndarray, uint8, (len(starts) * clip_len, size, size, 3)
        As :func:`extract_clips` returns them.
    n_frames : int
        Frames decoded (``len`` of :func:`read_oriented`'s frames).
    fps : float
    starts : list of int
        First frame of each clip.
    boxes : ndarray, float64, (n_frames, 4)
        The steady face box of every frame (x, y, w, h).
    trace : ndarray, float32, (n_frames, 3), or None
        With ``trace=True``: every frame's mean R, G, B in [0, 1] of the unmagnified face crop's skin region
        (:func:`~antispoof.data.faces.crop_skin_roi`, by :class:`evm.pulse.RegionMean`).
    """

    clips: np.ndarray
    n_frames: int
    fps: float
    starts: list[int]
    boxes: np.ndarray
    trace: np.ndarray | None = None


def stream_clips(
    path: str | os.PathLike,
    config: PrepareConfig,
    *,
    flip: str | None = None,
    record=None,
    detector=None,
    starts: Callable[[int, float, PrepareConfig], list[int]] = clip_starts,
    trace: bool = False,
) -> StreamedClips:
    """Face-cropped (and magnified) clips of a video, decoded twice instead of held in memory.

    The result is identical to :func:`read_oriented`, :func:`clip_starts` (or ``starts``),
    :func:`~antispoof.data.faces.face_track` and :func:`extract_clips` in a row, but only the face
    boxes and the clips' frames stay in memory (and, with the ``ideal`` temporal filter, every crop or
    every full frame: see the module's notes).

    1. First pass: run the detector on every ``detect_stride``-th frame, or, when the record's
       annotation gives the boxes, only count the frames (decoded, not converted to RGB).
    2. Clip starts and steady boxes from the count (and the detections).
    3. Second pass: crop and magnify frame by frame, up to the last frame a clip needs.

    Parameters
    ----------
    path : path-like
    config : PrepareConfig
    flip : str or None
        Orientation fix of the frames (:func:`~antispoof.data.records.apply_flip`).
    record : VideoRecord or None
        Its face annotation, when it has one with face boxes, is used instead of the detector.
    detector : callable or None
        Frame -> boxes (:mod:`antispoof.data.faces`); None builds OpenCV's Haar cascade when needed.
    starts : callable
        ``(n_frames, fps, config) -> clip starts``: :func:`clip_starts` (preparation) or
        :func:`all_clip_starts` (prediction).
    trace : bool
        Also the pulse trace of every frame (``StreamedClips.trace``); the second pass then decodes
        the whole video.

    Returns
    -------
    StreamedClips

    Raises
    ------
    VideoError
        Missing or unreadable file.
    ValueError
        No decodable frames; :class:`VideoTooShortError` (shorter than one clip);
        :class:`~antispoof.data.annotations.NoFaceError` (no face found);
        :class:`~antispoof.data.annotations.AnnotationError` (unreadable annotation).
    """
    with open_clip_stream(path, config, flip=flip, record=record, detector=detector, starts=starts,
                          trace=trace) as stream:  # fmt: skip
        out = np.empty((len(stream.starts) * config.clip_len, config.size, config.size, 3), np.uint8)
        for c, clip in enumerate(stream.clips):
            out[c * config.clip_len : (c + 1) * config.clip_len] = clip
    return StreamedClips(out, stream.n_frames, stream.fps, stream.starts, stream.boxes, stream.trace)


@dataclass
class ClipStream:
    """What :func:`open_clip_stream` gives: the clips one at a time, as the second decoding pass makes them.

    Attributes
    ----------
    clips : iterator of ndarray, uint8, (clip_len, size, size, 3)
        Clip ``c`` starts at frame ``starts[c]``; each comes out as soon as its last frame is decoded.
    n_frames, fps, starts, boxes
        As in :class:`StreamedClips`.
    trace : ndarray, float32, (n_frames, 3), or None
        As in :class:`StreamedClips`; filled as the frames are decoded, complete once ``clips`` is exhausted.
    """

    clips: Iterator[np.ndarray]
    n_frames: int
    fps: float
    starts: list[int]
    boxes: np.ndarray
    trace: np.ndarray | None = None


@contextlib.contextmanager
def open_clip_stream(
    path: str | os.PathLike,
    config: PrepareConfig,
    *,
    flip: str | None = None,
    record=None,
    detector=None,
    starts: Callable[[int, float, PrepareConfig], list[int]] = clip_starts,
    trace: bool = False,
) -> Iterator[ClipStream]:
    """:func:`stream_clips`, one clip at a time: memory is bounded by the settings, not by the video's length.

    A context manager (the video stays open while the clips are read). The clips are those of
    :func:`stream_clips`, bit for bit; only the ones being filled (one, when clips do not overlap) are held,
    except with the ``ideal`` temporal filter (see the module's notes). Same parameters and errors as
    :func:`stream_clips`; errors of the second pass come out of the iteration.
    """
    from antispoof.data.faces import HaarDetector, annotation_may_apply, annotation_track, detect_clip, stable_track

    reader = VideoReader(path)
    fps = reader.fps
    stride = config.detect_stride
    detections = None
    if annotation_may_apply(record):
        n = reader.count_frames()  # the frame count is all the annotation needs: no RGB conversion
    else:
        detector = detector or HaarDetector()
        with _decoded(reader, flip) as frames:
            detections = detect_clip(frames, detector, stride=stride)
        n = len(detections)
    if n == 0:
        raise ValueError(f"{path}: no decodable frames")
    clip_first = starts(n, fps, config)
    boxes = annotation_track(record, n, mode=config.track)
    if boxes is None:
        if detections is None:
            # The annotation's faces all lie beyond the decoded frames (rare): a pass to detect them.
            with _decoded(reader, flip) as frames:
                detections = detect_clip(frames, detector or HaarDetector(), stride=stride)
        boxes = stable_track(detections, mode=config.track)
    means = np.zeros((n, 3), np.float32) if trace else None
    with _decoded(reader, flip) as frames:
        clips = _iter_extract(frames, n, fps, boxes, clip_first, config, trace=means)
        try:
            yield ClipStream(clips, n, fps, clip_first, boxes, means)
        finally:
            clips.close()


@contextlib.contextmanager
def _decoded(reader: VideoReader, flip: str | None) -> Iterator[Iterator[np.ndarray]]:
    """One decoding pass over ``reader``: oriented frames, decoded ahead; closed when left early."""
    from antispoof.data.records import apply_flip

    frames = read_ahead(reader)
    try:
        yield (apply_flip(f, flip) for f in frames)
    finally:
        frames.close()  # stops the decoding thread and closes the file


def _stream_extract(
    frames: Iterator[np.ndarray], n_frames: int, fps: float, boxes: np.ndarray, starts: list[int], config: PrepareConfig
) -> np.ndarray:
    """The clips of :func:`extract_clips` from a stream of frames, read once, frame by frame.

    Parameters
    ----------
    frames : iterator of ndarray (H, W, 3) uint8
        The oriented frames, in order; at least ``n_frames`` of them.
    n_frames : int
        Frames of the video (the ideal filter transforms them all, as :func:`extract_clips` does).
    fps, boxes, starts, config
        As for :func:`extract_clips`.

    Returns
    -------
    ndarray, uint8, (len(starts) * clip_len, size, size, 3)
    """
    out = np.empty((len(starts) * config.clip_len, config.size, config.size, 3), np.uint8)
    for c, clip in enumerate(_iter_extract(frames, n_frames, fps, boxes, starts, config)):
        out[c * config.clip_len : (c + 1) * config.clip_len] = clip
    return out


def _iter_extract(
    frames: Iterator[np.ndarray],
    n_frames: int,
    fps: float,
    boxes: np.ndarray,
    starts: list[int],
    config: PrepareConfig,
    *,
    trace: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """:func:`_stream_extract`'s clips one at a time, ``(clip_len, size, size, 3)`` each, in the order of ``starts``.

    A clip comes out once its last frame is in; only the clips being filled are held (overlapping clips
    share frames), so memory does not grow with the number of clips (the ideal filter aside).

    ``trace``, a float (n_frames, 3) array, receives every frame's skin-region mean R, G, B of the
    unmagnified crop (:class:`evm.pulse.RegionMean` over :func:`~antispoof.data.faces.crop_skin_roi`): the
    frames are then decoded to the end, after the last clip comes out.
    """
    from antispoof.data.faces import crop_clip, crop_skin_roi
    from evm.pulse import RegionMean

    starts = [int(s) for s in starts]
    if not starts:
        return
    keep = _frame_indices(starts, config)
    clip_len = config.clip_len
    wanted: dict[int, list[int]] = {}
    for k, i in enumerate(keep):
        wanted.setdefault(int(i), []).append(k)  # overlapping clips can share frames
    ends = [s + config.frame_step * (clip_len - 1) for s in starts]  # last frame of each clip
    pending: dict[int, np.ndarray] = {}  # clips being filled
    done = 0  # clips given out

    def crop(frame: np.ndarray, i: int) -> np.ndarray:
        return crop_clip(frame[None], boxes[i], border=config.border, size=config.size)[0]

    def store(i: int, frame: np.ndarray) -> None:
        for k in wanted.get(i, ()):
            c, j = divmod(k, clip_len)
            if c not in pending:
                pending[c] = np.empty((clip_len, config.size, config.size, 3), np.uint8)
            pending[c][j] = frame

    def finished(i: int) -> Iterator[np.ndarray]:
        nonlocal done
        while done < len(starts) and ends[done] <= i:
            yield pending.pop(done)
            done += 1

    magnify, crop_first = config.magnify, config.order == "crop-first"
    ideal = magnify is not None and magnify.temporal == "ideal"
    # The ideal filter is an FFT over the whole video (every output frame depends on its length), so every
    # frame goes in and is held until the end: the crops (crop-first) or the full frames (magnify-first:
    # memory then grows with the video, as in extract_clips; keeping only the frames up to the last clip
    # frame would change the result). The causal filters stop at the last clip frame.
    last = n_frames - 1 if ideal or trace is not None else int(keep.max())
    region = None
    if trace is not None:
        region = RegionMean((config.size, config.size), roi=crop_skin_roi(config.size, config.size))
    m = buffer = None
    if magnify is not None and crop_first:
        m = Magnifier((config.size, config.size, 3), fps, threads=1, **magnify.as_kwargs())
        buffer = np.empty((1,) + m.frame_shape, np.uint8)
    seen = 0
    for i, frame in enumerate(frames):
        seen = i + 1
        raw = None  # the unmagnified crop, when made
        if magnify is None:
            if i in wanted:
                raw = crop(frame, i)
                store(i, raw)
        else:
            if m is None:  # magnify-first: the frame size is known now
                m = Magnifier(frame.shape, fps, threads=1, **magnify.as_kwargs())
                buffer = np.empty((1,) + m.frame_shape, np.uint8)
            if crop_first:
                source = raw = crop(frame, i)
            else:
                source = np.ascontiguousarray(frame)
            if ideal:
                m.process(source)  # held by the magnifier: comes out of flush() below
            else:
                m._process_causal(source[None], buffer)
                if crop_first:
                    store(i, buffer[0])
                elif i in wanted:
                    store(i, crop(buffer[0], i))
        if region is not None:
            trace[i] = region(crop(frame, i) if raw is None else raw)
        if not ideal:
            yield from finished(i)
        if i == last:
            break
    if seen <= last:
        raise VideoError(f"the video gave {seen} frames on a second decoding, {n_frames} on the first")
    if ideal:
        for i, magnified in enumerate(m.flush()):
            if i in wanted:
                store(i, magnified if crop_first else crop(magnified, i))
            yield from finished(i)


def _record_from_dict(d: dict):
    from antispoof.data.records import VideoRecord

    fields = dict(d)
    fields["path"] = Path(fields["path"])
    if fields.get("annotation"):
        fields["annotation"] = Path(fields["annotation"])
    return VideoRecord(**fields)


def cache_key(dataset: str, root: str, config: PrepareConfig, detector: str | None) -> str:
    return params_hash({"version": CACHE_VERSION, "dataset": dataset, "root": str(Path(root).resolve()),
                        "config": config.as_dict(), "detector": detector})


@dataclass
class PrepareResult:
    cache_dir: Path
    total: int
    done: int
    skipped: int
    failed: int
    seconds: float
    failures: list[tuple[str, str]]
    bytes: int

    @property
    def videos_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else float("inf")


def prepare(
    dataset,
    out: str | os.PathLike,
    config: PrepareConfig | None = None,
    *,
    records=None,
    detector: str | None = None,
    workers: int = 1,
    executor: str = "process",
    scheduler: str | None = None,
    progress: bool = True,
    retry_crashed: bool = False,
) -> PrepareResult:
    """Build (or complete) the clip cache of a dataset.

    Parameters
    ----------
    dataset : antispoof.data.Dataset
        From :func:`antispoof.data.open_dataset`.
    out : path-like
        Cache root; this configuration goes to ``out/<key>/``.
    config : PrepareConfig
    records : iterable of VideoRecord, optional
        A subset (default: every video of the dataset).
    detector : str or None
        Path to a YuNet ``.onnx`` model; None uses OpenCV's Haar cascade (only for
        videos without annotations).
    workers, executor, scheduler, retry_crashed : see :func:`evm.batch.run_batch`.

    Returns
    -------
    PrepareResult
        ``cache_dir`` is the folder :class:`ClipDataset` reads.  A video whose worker process died
        (here or in an earlier run, then held back unless ``retry_crashed``) and a ``.npy`` in the
        cache that the manifest does not show this cache wrote (left alone) count as failed.

    Raises
    ------
    evm.batch.BatchLocked
        Another run is preparing the same cache folder.
    KeyboardInterrupt
        From the caller's signal handling, after the workers removed their partial files; finished
        videos are kept and the interrupted ones are redone by the next run.
    """
    config = config or PrepareConfig()
    records = list(dataset if records is None else records)
    name = records[0].dataset if records else "unknown"
    key = cache_key(name, str(dataset.root), config, detector)
    cache_dir = Path(out) / key
    cache_dir.mkdir(parents=True, exist_ok=True)
    _write_if_changed(cache_dir / "config.json", json.dumps({"version": CACHE_VERSION, "dataset": name,
                      "root": str(dataset.root), "config": config.as_dict(), "detector": detector}, indent=2))
    jobs = []
    for r in records:
        dst = _video_file(cache_dir, r.video_id)
        # relative, so the parameters (and the manifest's verdict on them) do not depend on where the cache is
        trace = os.path.relpath(_trace_file(cache_dir, r.video_id), dst.parent)
        params = {"config": config.as_dict(), "record": r.as_dict(), "detector": detector, "trace": trace}
        jobs.append(Job(r.video_id, str(r.path), str(dst), params))
    summary = run_batch(jobs, prepare_video, cache_dir, workers=workers, executor=executor, scheduler=scheduler,
                        progress=progress, retry_crashed=retry_crashed)  # fmt: skip
    size = write_index(cache_dir)
    failures = summary.failures + [(key, f"{error} in an earlier run; held back (--retry-crashed tries it again)")
                                   for key, error in summary.held_back]  # fmt: skip
    failures += [(key, f"{dst} exists and this cache did not write it; left alone") for key, dst in summary.refused]
    return PrepareResult(cache_dir, summary.total, summary.done, summary.skipped, len(failures), summary.seconds,
                         failures, size)  # fmt: skip


def write_index(cache_dir: str | os.PathLike) -> int:
    """Consolidate the manifest's finished videos into ``index.json``; returns the bytes stored."""
    cache_dir = Path(cache_dir)
    manifest = read_manifest(cache_dir / MANIFEST)
    rows = []
    for key, rec in sorted(manifest.items()):
        # The file is located from the key, not from the manifest's ``dst``: that path is as the first
        # run spelled it (relative or absolute) and goes stale when the cache folder is moved.
        path = _video_file(cache_dir, key)
        if rec.get("status") != "done" or not path.exists():
            continue
        row = dict(rec["params"]["record"])
        row.update({k: rec[k] for k in ("frames_decoded", "fps", "clip_starts", "frames_stored", "box", "bytes")})
        row["file"] = path.relative_to(cache_dir).as_posix()
        trace = _trace_file(cache_dir, key)
        if "trace_frames" in rec and trace.exists():
            row["trace"] = trace.relative_to(cache_dir).as_posix()
            row["trace_frames"] = rec["trace_frames"]
        rows.append(row)
    config = read_json(cache_dir / "config.json", "cache config")
    _write_if_changed(cache_dir / "index.json", json.dumps({**config, "videos": rows}, indent=1))
    return sum(r["bytes"] for r in rows)


def _video_file(cache_dir: Path, video_id: str) -> Path:
    return cache_dir / "videos" / f"{video_id}.npy"


def _trace_file(cache_dir: Path, video_id: str) -> Path:
    return cache_dir / "traces" / f"{video_id}.npy"


def read_trace(cache_dir: str | os.PathLike, row: dict):
    """The pulse trace of one cached video.

    Parameters
    ----------
    cache_dir : path-like
        The cache folder (:func:`open_cache`'s first result).
    row : dict
        The video's row of the cache index.

    Returns
    -------
    antispoof.baselines.pulse.PulseTrace
        ``means``: float32 (frames, 3), R, G, B in [0, 1] of the face crop's skin region per frame, unmagnified;
        ``fps``: the video's frame rate.

    Raises
    ------
    ValueError
        The cache has no trace for the video (prepared by a version-1 program) or its file is not one.
    """
    from .baselines.pulse import PulseTrace

    name = row.get("video_id", "?")
    if not row.get("trace"):
        raise ValueError(f"{cache_dir}: no pulse trace for {name} (a version-1 cache: prepare it again)")
    path = Path(cache_dir) / row["trace"]
    try:
        means = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable pulse trace ({exc})") from None
    if means.dtype != np.float32 or means.ndim != 2 or means.shape[1] != 3 or len(means) != row.get("trace_frames"):
        raise ValueError(f"{path}: not the pulse trace of {name} (float32, {row.get('trace_frames')} x 3)")
    return PulseTrace(means, float(row["fps"]))


def _write_if_changed(path: Path, text: str) -> None:
    """Atomic write, skipped when the file already holds ``text`` (a re-run leaves the cache untouched)."""
    try:
        if path.read_text() == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(text)


def open_cache(path: str | os.PathLike) -> tuple[Path, dict]:
    """Find the cache folder (``out/<key>`` or ``out`` holding exactly one) and read its index."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path}: no such cache folder")
    if not (path / "index.json").exists():
        candidates = [p for p in path.iterdir() if (p / "index.json").exists()]
        if len(candidates) != 1:
            what = "no prepared cache" if not candidates else f"{len(candidates)} caches; name one of them"
            raise ValueError(f"{path}: {what} (run `antispoof prepare` first)")
        path = candidates[0]
    try:
        index = read_json(path / "index.json", "cache index")
    except (OSError, CorruptJSONError) as exc:
        reason = exc.detail if isinstance(exc, CorruptJSONError) else exc.strerror or str(exc)
        raise ValueError(f"{path / 'index.json'}: unreadable cache index ({reason})") from None
    if index.get("version") not in READABLE_VERSIONS:
        raise ValueError(f"{path}: cache version {index.get('version')} (this program reads "
                         f"{', '.join(map(str, READABLE_VERSIONS))})")  # fmt: skip
    if not isinstance(index.get("videos"), list) or not isinstance(index.get("config"), dict):
        raise ValueError(f"{path / 'index.json'}: unreadable cache index (no 'videos' list or 'config' object)")
    return path, index


def protocol_ids(index: dict, protocol: str | None) -> dict[str, list[str]]:
    """The cached video ids of each split of a protocol (``train``, ``dev``, ``test``).

    ``index`` is a cache's index (:func:`open_cache`); ``protocol`` None is the one the cache was prepared
    with (its rows' splits), another name re-reads the dataset tree for that protocol's splits.
    """
    from .data import open_dataset

    rows = index["videos"]
    if protocol is None:
        ids = {s: [r["video_id"] for r in rows if r["split"] == s] for s in ("train", "dev", "test")}
    else:
        ds = open_dataset(index["dataset"], index["root"])
        ids = {s: [r.video_id for r in recs] for s, recs in ds.protocol(protocol).items()}
    have = {r["video_id"] for r in rows}
    return {s: [v for v in vids if v in have] for s, vids in ids.items()}


class ClipDataset:
    """Torch Dataset over a prepared cache: ``(clip, label, video_id)``.

    ``clip`` is float32 (T, 3, H, W) RGB in [0, 1]; ``label`` 1 bona fide, 0 attack.

    Parameters
    ----------
    cache : path-like
        The cache folder (or its parent holding one cache).
    video_ids : iterable of str, optional
        Videos to use (e.g. one split of a protocol); default all.
    split : str, optional
        Shortcut: the videos whose dataset split is ``split`` (train/dev/test).
    augment : bool
        Random horizontal flip and brightness/contrast jitter, the same for all
        frames of a clip (training only).
    shift : int
        With ``augment``: also translate the clip by up to ``shift`` pixels in x and y (edge pixels
        repeated), one offset for all its frames, so the jitter adds no motion.
    seed : int
        Seed of the augmentation. Each clip's draw also takes one number from torch's
        global generator, which training seeds, checkpoints and (in DataLoader workers)
        reseeds every epoch: the same seeds give the same augmentations, a resumed run
        continues exactly, and workers do not repeat one epoch's draws in the next.
    pulse : bool
        Items become ``(clip, label, video_id, pulse)``, ``pulse`` the float32 (9,) rPPG features of the
        clip's whole video (:func:`antispoof.baselines.pulse.trace_features` of its :func:`read_trace`),
        computed once per video here: what a CNN-LSTM with ``pulse_features`` reads. A ValueError when a
        video has no trace (version-1 cache) or is too short for the features.

    Attributes
    ----------
    labels : list of int
        One per item (what balanced samplers need).
    attack_types : dict
        video_id -> attack type (None for bona fide).
    pulse_features : ndarray, float32, (len(rows), 9), or None
        With ``pulse``: one row per video, in the order of ``rows``.
    """

    def __init__(self, cache, video_ids=None, *, split: str | None = None, augment: bool = False,
                 seed: int = 0, shift: int = 0, pulse: bool = False) -> None:
        self.path, self.index = open_cache(cache)
        rows = self.index["videos"]
        if video_ids is not None:
            wanted = set(video_ids)
            by_id = {r["video_id"]: r for r in rows}
            missing = sorted(wanted - set(by_id))
            if missing:
                raise ValueError(f"{len(missing)} video(s) not in the cache, e.g. {missing[0]}")
            rows = [by_id[v] for v in sorted(wanted)]
        if split is not None:
            rows = [r for r in rows if r["split"] == split]
        if not rows:
            raise ValueError(f"{self.path}: no cached videos" + (f" in split {split!r}" if split else ""))
        config = PrepareConfig.from_dict(self.index["config"])
        self.clip_len = config.clip_len
        self.rows = rows
        self.items = [(i, c) for i, r in enumerate(rows) for c in range(r["frames_stored"] // config.clip_len)]
        self.labels = [int(rows[i]["label"]) for i, _ in self.items]
        self.attack_types = {r["video_id"]: r["attack_type"] for r in rows}
        if isinstance(shift, bool) or not isinstance(shift, int) or not 0 <= shift < config.size // 2:
            raise ValueError(f"shift must be an int in [0, {config.size // 2}), got {shift!r}")
        self.augment = augment
        self.seed = seed
        self.shift = shift
        self.pulse_features = None
        if pulse:
            from .baselines.pulse import trace_features

            features = []
            for r in rows:
                trace = read_trace(self.path, r)
                try:
                    features.append(trace_features(trace.means, trace.fps))
                except ValueError as exc:
                    raise ValueError(f"{r['video_id']}: {exc}") from None
            self.pulse_features = np.array(features, np.float32)

    def __len__(self) -> int:
        return len(self.items)

    def _array(self, i: int) -> np.ndarray:
        # A fresh map per access, not one kept per video: every live map holds a file descriptor, and
        # thousands of videos (OULU-NPU has 4950) pass the usual limit of 1024 open files.
        return np.load(self.path / self.rows[i]["file"], mmap_mode="r")

    def clip_array(self, index: int) -> np.ndarray:
        """The uint8 frames (T, H, W, 3) of item ``index``, before augmentation."""
        i, c = self.items[index]
        return np.array(self._array(i)[c * self.clip_len : (c + 1) * self.clip_len])

    def __getitem__(self, index: int):
        import torch

        i, _ = self.items[index]
        frames = self.clip_array(index).astype(np.float32) / 255.0
        if self.augment:
            frames = self._augmented(frames)
        clip = torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))
        if self.pulse_features is not None:
            return clip, self.labels[index], self.rows[i]["video_id"], torch.from_numpy(self.pulse_features[i])
        return clip, self.labels[index], self.rows[i]["video_id"]

    def _augmented(self, frames: np.ndarray) -> np.ndarray:
        import torch

        from .augment import jitter_clip

        # Not a generator of our own: its state would be in no checkpoint (a resumed run would replay
        # the first epoch's draws) and every DataLoader worker would restart it each epoch.
        rng = np.random.default_rng([self.seed, int(torch.randint(0, 2**62, ()).item())])
        return jitter_clip(frames, rng, self.shift)
