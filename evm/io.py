"""Streaming video input and output (PyAV), and atomic output files.

Reading yields RGB uint8 frames in display orientation, one at a time; writing
encodes frames as they come.  Nothing holds a whole video in memory.

Outputs are written under a temporary name beside the target and renamed only
when complete (:func:`atomic_output`), so a failure or Ctrl-C never leaves a
partial file under the final name.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import validation
from .color import PLANAR_FORMATS, YUVFormat

#: Containers and codecs the writer supports, by output suffix.
LOSSLESS_SUFFIXES = (".mkv", ".npy")


class VideoError(Exception):
    """A video cannot be read or written; the message is one line meant for users."""


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` finds out about a video file."""

    path: str
    width: int  # display width (after rotation)
    height: int
    fps: float  # average frame rate
    fps_exact: str  # the average rate as a fraction, e.g. "30000/1001"
    frames: int  # from the container's header when it says, else the number of video packets
    frames_exact: bool
    duration: float  # seconds
    rotation: int  # degrees counter-clockwise applied for display
    codec: str
    pix_fmt: str
    variable_frame_rate: bool
    audio: str | None  # audio codec name, None without audio
    yuv: YUVFormat | None = None  # matrix, range and tags of 8-bit 4:2:0 frames; None for other formats

    def as_dict(self) -> dict:
        return asdict(self)


def _open(path: str | os.PathLike):
    import av

    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if path.is_dir():
        raise VideoError(f"{path}: is a directory, not a video")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: empty file")
    try:
        # Local files only: a playlist (.m3u8) or concat list inside a dataset tree must not make
        # FFmpeg fetch from the network (network sources, if ever supported, are asked for explicitly).
        container = av.open(str(path), container_options={"protocol_whitelist": "file"})
    except Exception as exc:  # PyAV raises many error types for unreadable input
        raise VideoError(f"{path}: not a readable video ({_reason(exc)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream")
    return container


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _rate(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        raise VideoError("the video stream has no frame rate")
    return Fraction(rate)


def _rot_k(rotation: int | float | None) -> int:
    """Quarter turns (counter-clockwise) for np.rot90 from a display rotation in degrees."""
    if not rotation:
        return 0
    return int(round(float(rotation) / 90.0)) % 4


def _plane(plane) -> np.ndarray:
    """A view of one plane of a PyAV frame without its row padding."""
    return np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: plane.height, : plane.width]


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (height, width): area interpolation when shrinking, bicubic when enlarging."""
    import cv2

    interp = cv2.INTER_AREA if image.shape[0] * image.shape[1] > size[0] * size[1] else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(image), (size[1], size[0]), interpolation=interp)


def probe(path: str | os.PathLike, *, check_timestamps: int = 120) -> VideoInfo:
    """Describe a video without decoding more than ``check_timestamps`` frames.

    Raises
    ------
    VideoError
        Missing, empty, unreadable, or without a video stream.
    """
    container = _open(path)
    try:
        stream = container.streams.video[0]
        rate = _rate(stream)
        duration = 0.0
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        frames = int(stream.frames or 0)
        # Without a count in the header, the video packets are counted (no decoding): an estimate
        # from the duration is wrong when another stream (audio) is longer than the video.
        count_packets = frames <= 0
        rotation, pts, decoded, packets, yuv = 0, [], False, 0, None
        try:
            # Timestamps come from the packets (no decoding); one frame is decoded, which proves the
            # stream decodes and carries the display rotation.
            for packet in container.demux(stream):
                if packet.size:
                    packets += 1
                if packet.pts is not None and len(pts) < check_timestamps:
                    pts.append(packet.pts)
                if not decoded:
                    for frame in packet.decode():
                        rotation, yuv = int(round(getattr(frame, "rotation", 0) or 0)), YUVFormat.from_frame(frame)
                        decoded = True
                        break
                if len(pts) >= check_timestamps and decoded and not count_packets:
                    break
            if not decoded:
                for frame in stream.codec_context.decode(None):  # flush: a decoder with delay
                    rotation, yuv = int(round(getattr(frame, "rotation", 0) or 0)), YUVFormat.from_frame(frame)
                    decoded = True
                    break
        except Exception as exc:
            raise VideoError(f"{path}: cannot decode video ({_reason(exc)})") from None
        if not decoded or not pts:
            raise VideoError(f"{path}: contains no decodable video frames")
        exact = True
        if count_packets:
            frames = packets
        variable = _is_variable(pts)
        w, h = stream.codec_context.width, stream.codec_context.height
        if _rot_k(rotation) % 2:
            w, h = h, w
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        return VideoInfo(
            path=str(path),
            width=w,
            height=h,
            fps=float(rate),
            fps_exact=f"{rate.numerator}/{rate.denominator}",
            frames=frames,
            frames_exact=exact,
            duration=duration,
            rotation=rotation,
            codec=stream.codec_context.name,
            pix_fmt=str(stream.codec_context.pix_fmt),
            variable_frame_rate=variable,
            audio=audio,
            yuv=yuv,
        )
    finally:
        container.close()


def _is_variable(pts: list[int]) -> bool:
    """Whether timestamps (in decode order) are irregular.

    Packets arrive in decode order: with B-frames the first N packets hold a few
    timestamps from beyond the N-th displayed frame, so the largest ones are dropped.
    """
    stamps = np.sort(np.asarray(pts, dtype=np.int64))
    if len(stamps) > 32:
        stamps = stamps[:-16]
    deltas = np.diff(stamps)
    deltas = deltas[deltas > 0]
    if len(deltas) < 2:
        return False
    return bool((deltas.max() - deltas.min()) > 0.01 * np.median(deltas) + 1)


class VideoReader:
    """Iterate over the frames of a video as RGB uint8 arrays (H, W, 3), display orientation.

    Every frame has the size announced at open (:attr:`height`, :attr:`width`): a stream whose
    frame size changes midway is scaled to it, with one warning naming the first frame of the
    new size, as ffmpeg does by default.

    Parameters
    ----------
    path : path-like
    start : float
        Seconds to skip from the beginning.
    duration : float or None
        Seconds to read (None: to the end).
    scale : float
        Resize factor (area interpolation when shrinking), applied after rotation.

    Attributes
    ----------
    info : VideoInfo
    fps : float
        Average frame rate; ``rate`` holds it as an exact Fraction.

    Examples
    --------
    >>> with VideoReader("clip.mp4") as reader:  # doctest: +SKIP
    ...     for frame in reader:
    ...         ...
    """

    def __init__(
        self, path: str | os.PathLike, *, start: float = 0.0, duration: float | None = None, scale: float = 1.0
    ) -> None:
        self.info = probe(path)
        if self.info.variable_frame_rate:
            warnings.warn(f"{path}: variable frame rate; processing as constant {self.info.fps:.3f} fps", stacklevel=2)
        try:
            start = validation.real(start, "start", minimum=0)
            duration = validation.optional(validation.positive, duration, "duration")
            scale = validation.positive(scale, "scale")
        except ValueError as exc:
            raise VideoError(str(exc)) from None
        self.path = str(path)
        self.start, self.duration, self.scale = float(start), duration, float(scale)
        self._container = None
        self.rate = Fraction(self.info.fps_exact)
        self.fps = float(self.rate)
        w, h = self.info.width, self.info.height
        self._native_size = (h, w)
        if scale != 1.0:
            w, h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        if max(w, h) > validation.MAX_SIDE:
            raise VideoError(f"{path}: frames of {w}x{h} exceed {validation.MAX_SIDE} pixels a side (check --scale)")
        self.width, self.height = w, h

    @property
    def expected_frames(self) -> int:
        """Frames this reader should yield (from the container's count; may be off by a few)."""
        total = max(0, self.info.frames - int(round(self.start * self.fps)))
        if self.duration is not None:
            total = min(total, int(math.ceil(self.duration * self.fps - 1e-9)))
        return total

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __iter__(self) -> Iterator[np.ndarray]:
        size = (self.height, self.width)

        def rgb(frame, k: int) -> list[np.ndarray]:
            image = frame.to_ndarray(format="rgb24")
            if k:
                image = np.rot90(image, k)
            return [image if image.shape[:2] == size else _resize(image, size)]

        for (image,) in self._converted(rgb):
            yield image

    def planes(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Iterate over the frames as 8-bit Y'CbCr 4:2:0 planes, as decoded (no conversion to RGB).

        Yields ``(Y', Cb, Cr)``: C-contiguous uint8 arrays, the luma (H, W) and the chroma
        (ceil(H/2), ceil(W/2)), display orientation and size as :meth:`__iter__`.  Their matrix
        and range are ``info.yuv``.  Resizing (``scale``, a frame size changing midway) scales the
        frame as a whole in FFmpeg (area when shrinking, bicubic when enlarging), which keeps the
        chroma sited on the luma; a frame of another pixel format midway is converted to the first's.

        Raises
        ------
        VideoError
            The stream's frames are not 8-bit 4:2:0 (``info.yuv`` is None): read RGB instead.
        """
        if self.info.yuv is None:
            raise VideoError(f"{self.path}: frames are {self.info.pix_fmt}, not 8-bit 4:2:0 Y'CbCr")
        fmt = self.info.pix_fmt if self.info.pix_fmt in PLANAR_FORMATS else "yuv420p"

        def planar(frame, k: int) -> list[np.ndarray]:
            h, w = (self.width, self.height) if k % 2 else (self.height, self.width)  # before rotating
            if frame.format.name != fmt or (frame.height, frame.width) != (h, w):
                shrink = frame.height * frame.width > h * w
                frame = frame.reformat(width=w, height=h, format=fmt, interpolation="AREA" if shrink else "BICUBIC")
            planes = [_plane(p) for p in frame.planes[:3]]
            return [np.rot90(p, k) for p in planes] if k else planes

        for planes in self._converted(planar):
            yield tuple(planes)

    def _converted(self, convert) -> Iterator[list[np.ndarray]]:
        """Decoded frames as contiguous arrays ``convert(frame, k)``, which rotates by ``k`` quarter
        turns and resizes to the announced size; warns once when the stream's frame size changes."""
        frames = self._frames()
        warned = False
        try:
            for index, frame in enumerate(frames):
                k = _rot_k(getattr(frame, "rotation", 0))
                native = (frame.width, frame.height) if k % 2 else (frame.height, frame.width)
                if native != self._native_size and not warned:
                    # As ffmpeg does: a stream whose frame size changes (concatenated captures,
                    # broadcast streams) is scaled to the size announced at open.
                    warnings.warn(
                        f"{self.path}: frame size changes at frame {index} from "
                        f"{self._native_size[1]}x{self._native_size[0]} to {native[1]}x{native[0]}; "
                        f"scaling every frame to {self.width}x{self.height}",
                        stacklevel=3,
                    )
                    warned = True
                try:
                    images = convert(frame, k)
                except Exception as exc:
                    raise VideoError(f"{self.path}: decoding failed ({_reason(exc)})") from None
                yield [np.ascontiguousarray(image) for image in images]
        finally:
            frames.close()  # closes the file when the caller stops early

    def count_frames(self) -> int:
        """The number of frames iterating would yield, found by decoding without converting to RGB.

        Exact where :attr:`expected_frames` (the container's count) is not; about as fast as the
        decoder alone. Raises :class:`VideoError` where iterating would.
        """
        return sum(1 for _ in self._frames())

    def _frames(self):
        """The decoded frames (PyAV ``VideoFrame``) in [start, start + duration); closes the file at the end."""
        self.close()
        self._container = container = _open(self.path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = stream.time_base
        origin = stream.start_time or 0
        first_index = int(round(self.start * self.fps))
        last_index = None if self.duration is None else first_index + int(math.ceil(self.duration * self.fps - 1e-9))
        index = 0
        try:
            for frame in container.decode(stream):
                # Frame index from the timestamp where there is one, so seeking by time is exact.
                if frame.pts is not None and tb:
                    index = int(round(float((frame.pts - origin) * tb) * self.fps))
                if index < first_index:
                    index += 1
                    continue
                if last_index is not None and index >= last_index:
                    break
                yield frame
                index += 1
        except VideoError:
            raise
        except Exception as exc:
            raise VideoError(f"{self.path}: decoding failed ({_reason(exc)})") from None
        finally:
            self.close()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(iterable, depth: int = 4) -> Iterator:
    """Iterate ``iterable`` in a background thread, up to ``depth`` items ahead.

    Decoding (which releases the GIL) then overlaps with the consumer's work.
    Exceptions from the producer are re-raised in the consumer; stopping early
    stops and closes the producer.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(iterable)
        try:
            for item in source:
                if not put(item):
                    break
            else:
                put(end)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(_Raised(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="evm-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is end:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join(timeout=10)


class WriteBehind:
    """Call ``consume(item)`` for every :meth:`put` item in a background thread, ``depth`` items behind.

    Encoding (FFmpeg releases the GIL) then overlaps with the producer's work.  An exception
    from ``consume`` is re-raised in the producer by the next :meth:`put` or by :meth:`close`;
    leaving the ``with`` block on an exception drops what is still queued.  An item must not be
    modified after :meth:`put` until ``depth + 1`` more items have been put (a ring of
    ``depth + 2`` buffers is safe to reuse).
    """

    def __init__(self, consume, depth: int = 2, name: str = "evm-write-behind") -> None:
        self._consume = consume
        self._items: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._drop = threading.Event()
        self._end = object()
        self._worker = threading.Thread(target=self._run, name=name, daemon=True)
        self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._items.get()
            if item is self._end:
                return
            if self._error is None and not self._drop.is_set():
                try:
                    self._consume(item)
                except BaseException as exc:  # noqa: BLE001 - handed to the producer
                    self._error = exc

    def put(self, item) -> None:
        """Queue one item (blocks while ``depth`` are waiting); raises the consumer's exception."""
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait until every item is consumed; raises the consumer's exception."""
        self._items.put(self._end)
        self._worker.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        self._drop.set()
        self._items.put(self._end)
        self._worker.join()


def read_video(path: str | os.PathLike, **kwargs) -> tuple[np.ndarray, float]:
    """Whole video as (T, H, W, 3) uint8 and its fps (for short clips; prefer :class:`VideoReader`)."""
    with VideoReader(path, **kwargs) as reader:
        frames = list(reader)
        if not frames:
            raise VideoError(f"{path}: contains no video frames")
        return np.stack(frames), reader.fps


def check_output_path(path: str | os.PathLike, *, overwrite: bool = False, inputs=()) -> Path:
    """Raise :class:`VideoError` unless ``path`` can be written (creates nothing).

    Parameters
    ----------
    inputs : iterable of path-like
        Files the job reads: the output may be none of them (same path, or the same file through a
        link), even with ``overwrite``.

    Raises
    ------
    VideoError
        The output is one of the inputs; exists (without ``overwrite``) or is a folder; its
        folder is missing or not writable.
    """
    path = Path(path)
    folder = path.parent
    for source in inputs:
        if _same_file(path, Path(source)):
            raise VideoError(f"{path}: is the input file; write the output elsewhere (--overwrite never replaces it)")
    if path.is_dir():
        raise VideoError(f"{path}: is a directory")
    if path.exists() and not overwrite:
        raise VideoError(f"{path}: already exists (use --overwrite to replace it)")
    if not folder.is_dir():
        raise VideoError(f"{folder}: output folder does not exist")
    if not os.access(folder, os.W_OK):
        raise VideoError(f"{folder}: output folder is not writable")
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.abspath(a) == os.path.abspath(b)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    Raises
    ------
    VideoError
        See :func:`check_output_path`; also when the temporary file cannot be created.
    """
    path = check_output_path(path, overwrite=overwrite)
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".partial" + path.suffix, dir=folder)
    except OSError as exc:
        raise VideoError(f"{path}: cannot write ({exc.strerror or exc})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        # mkstemp makes the file private (0600); outputs get the usual mode (0666 less the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        yield tmp_path
        _fsync(tmp_path)  # the data is on disk before the name points at it
        os.replace(tmp_path, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, overwrite: bool = True):
    """Open a file for writing that appears under ``path`` only once complete (see :func:`atomic_output`)."""
    with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, mode) as fh:
        yield fh


class VideoWriter:
    """Encode RGB uint8 frames to a file, atomically (see :func:`atomic_output`).

    Parameters
    ----------
    path : path-like
        ``.mp4``/``.mov``/``.mkv`` etc.: H.264 (``codec="libx264"``, yuv420p) or a
        lossless codec (``codec="ffv1"``, the default for ``.mkv``).  ``.npy``: a
        raw (T, H, W, 3) uint8 array that ``np.load(..., mmap_mode="r")`` maps.
    fps : float or Fraction
        Frame rate, kept exactly (pass the reader's ``rate``).
    crf : int
        x264 constant rate factor (0-51, lower is better; 18 is visually lossless).
    preset : str
        x264 speed preset (ultrafast ... veryslow).
    codec : str or None
        Encoder name; None picks libx264, or ffv1 for ``.mkv``.
    deterministic : bool
        Encode the same frames to the same bytes on every run. x264's macroblock-tree rate
        control reads uninitialised memory on small frames: the same frames encoded twice in one
        process gave different streams (64x48 clips, decoded pixels up to 22 levels apart).
        This switches it off (``mbtree=0``; slightly more bits for the same quality).
    audio_from : path-like or None
        Copy the first audio stream of this file (no re-encoding), trimmed to
        ``audio_start`` / the written duration.
    overwrite : bool
        Replace an existing file.
    yuv : YUVFormat or None
        The matrix, range and colour tags of the planes given to :meth:`write_planes`
        (libx264 only); the stream is tagged with them.  None: RGB frames (:meth:`write`).

    Notes
    -----
    yuv420p needs even sizes: an odd width or height is padded by one row/column
    replicating the edge pixels (the output is then one pixel larger).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float | Fraction,
        *,
        crf: int = 18,
        preset: str = "medium",
        codec: str | None = None,
        deterministic: bool = False,
        audio_from: str | os.PathLike | None = None,
        audio_start: float = 0.0,
        overwrite: bool = False,
        yuv: YUVFormat | None = None,
    ) -> None:
        self.path = Path(path)
        self.yuv = yuv
        self.deterministic = bool(deterministic)
        self.rate = Fraction(fps).limit_denominator(1_000_000)
        if self.rate <= 0:
            raise VideoError(f"fps must be positive, got {fps}")
        if not (isinstance(crf, int) and 0 <= crf <= 51):
            raise VideoError(f"crf must be an integer in 0..51, got {crf!r}")
        self.crf, self.preset = crf, preset
        self.npy = self.path.suffix.lower() == ".npy"
        self.codec = codec or ("ffv1" if self.path.suffix.lower() == ".mkv" else "libx264")
        self.audio_from = None if audio_from is None else str(audio_from)
        self.audio_start = audio_start
        self._atomic = atomic_output(self.path, overwrite=overwrite)
        self._tmp = self._atomic.__enter__()
        self._container = self._stream = self._npy = None
        self._audio = None  # (source container, source stream, output stream)
        self.frames_written = 0
        self.shape: tuple[int, int] | None = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _start(self, height: int, width: int) -> None:
        self.shape = (height, width)
        if self.npy:
            self._npy = open(self._tmp, "wb")
            self._npy.write(_npy_header((10**12, height, width, 3)))
            return
        import av

        try:
            container = av.open(str(self._tmp), "w", format=_format_for(self.path))
            stream = container.add_stream(self.codec, rate=self.rate)
        except Exception as exc:
            raise VideoError(f"{self.path}: cannot encode with {self.codec} ({_reason(exc)})") from None
        pad_h, pad_w = height + height % 2, width + width % 2
        stream.width, stream.height = (pad_w, pad_h) if self.codec == "libx264" else (width, height)
        if self.codec == "libx264":
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(self.crf), "preset": self.preset}
            if self.yuv is not None:
                cc = stream.codec_context
                cc.colorspace, cc.color_range = self.yuv.colorspace, self.yuv.color_range
                cc.color_primaries, cc.color_trc = self.yuv.color_primaries, self.yuv.color_trc
                if self.yuv.full_range:
                    cc.color_range = 2
            if self.deterministic:
                stream.options["x264-params"] = "mbtree=0"
            stream.codec_context.thread_type = "FRAME"  # measured ~5% faster than PyAV's default here
        elif self.codec == "ffv1":
            stream.pix_fmt = "bgr0"
        self._container, self._stream = container, stream
        if self.audio_from:
            self._add_audio_stream()  # every stream must exist before the header is written

    def write(self, frames: np.ndarray) -> None:
        """Append one frame (H, W, 3) or a block (n, H, W, 3) of RGB uint8."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise VideoError(f"frames must be RGB uint8 (n, H, W, 3), got {frames.dtype} {frames.shape}")
        if self.shape is None:
            self._start(frames.shape[1], frames.shape[2])
        elif frames.shape[1:3] != self.shape:
            raise VideoError(f"frame size changed from {self.shape} to {frames.shape[1:3]}")
        if self._npy is not None:
            self._npy.write(np.ascontiguousarray(frames).tobytes())
            self.frames_written += len(frames)
            return
        import av

        for frame in frames:
            if self._stream.width != frame.shape[1] or self._stream.height != frame.shape[0]:
                frame = np.pad(
                    frame,
                    ((0, self._stream.height - frame.shape[0]), (0, self._stream.width - frame.shape[1]), (0, 0)),
                    mode="edge",
                )
            self._encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24"))

    def write_planes(self, planes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Append one frame given as 8-bit Y'CbCr 4:2:0 planes in the writer's ``yuv`` format.

        ``planes`` = (Y' (H, W), Cb, Cr (ceil(H/2), ceil(W/2))) uint8, handed to the encoder as
        they are (libx264, yuv420p; an odd size gets one more luma row/column, the edge repeated).
        """
        if self.yuv is None or self.codec != "libx264" or self.npy:
            raise VideoError(f"{self.path}: planes need the libx264 encoder and a YUVFormat (yuv=...)")
        y, u, v = planes
        h, w = y.shape
        if self.shape is None:
            self._start(h, w)
        elif (h, w) != self.shape:
            raise VideoError(f"frame size changed from {self.shape} to {(h, w)}")
        if u.shape != v.shape or u.shape != ((h + 1) // 2, (w + 1) // 2):
            raise VideoError(f"chroma planes {u.shape} and {v.shape} do not fit a {w}x{h} 4:2:0 frame")
        import av

        vf = av.VideoFrame(self._stream.width, self._stream.height, "yuv420p")
        for source, plane in zip(planes, vf.planes):
            dst = _plane(plane)
            ph, pw = source.shape
            dst[:ph, :pw] = source
            if dst.shape[0] > ph:
                dst[ph:, :pw] = source[-1]
            if dst.shape[1] > pw:
                dst[:, pw:] = dst[:, pw - 1 : pw]
        vf.colorspace, vf.color_range = self._stream.codec_context.colorspace, self._stream.codec_context.color_range
        self._encode(vf)

    def _encode(self, vf) -> None:
        vf.pts = self.frames_written
        vf.time_base = 1 / self.rate
        try:
            self._container.mux(self._stream.encode(vf))
        except Exception as exc:
            raise VideoError(f"{self.path}: encoding failed ({_reason(exc)})") from None
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file and move it to its final name."""
        if self._atomic is None:
            return
        try:
            if self.frames_written == 0:
                raise VideoError(f"{self.path}: no frames to write")
            if self._npy is not None:
                h, w = self.shape
                self._npy.seek(0)
                self._npy.write(_npy_header((self.frames_written, h, w, 3)))
                self._npy.close()
            else:
                self._container.mux(self._stream.encode(None))
                if self._audio is not None:
                    self._copy_audio()
                self._container.close()
        except BaseException:
            self.abort()
            raise
        atomic, self._atomic = self._atomic, None
        atomic.__exit__(None, None, None)

    def abort(self) -> None:
        """Discard the partial output."""
        if self._atomic is None:
            return
        with contextlib.suppress(Exception):
            if self._npy is not None:
                self._npy.close()
            if self._container is not None:
                self._container.close()
            if self._audio is not None:
                self._audio[0].close()
        atomic, self._atomic = self._atomic, None
        with contextlib.suppress(Exception):
            atomic.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def _add_audio_stream(self) -> None:
        import av

        try:
            src = av.open(self.audio_from)
        except Exception as exc:
            warnings.warn(f"audio not copied: {_reason(exc)}", stacklevel=3)
            return
        if not src.streams.audio:
            src.close()
            return
        try:
            out_audio = self._container.add_stream_from_template(src.streams.audio[0])
        except Exception as exc:
            src.close()
            warnings.warn(f"audio not copied: {_reason(exc)}", stacklevel=3)
            return
        self._audio = (src, src.streams.audio[0], out_audio)

    def _copy_audio(self) -> None:
        """Stream-copy the source's audio packets that fall in the written time span."""
        src, in_audio, out_audio = self._audio
        try:
            tb = in_audio.time_base
            start = self.audio_start
            end = start + self.frames_written / float(self.rate)
            origin = in_audio.start_time or 0
            offset = None
            for packet in src.demux(in_audio):
                if packet.dts is None or packet.pts is None:
                    continue
                t = float((packet.pts - origin) * tb)
                if t < start - 1e-6:
                    continue
                if t >= end:
                    break
                if offset is None:
                    offset = packet.pts
                packet.pts -= offset
                packet.dts -= offset
                packet.stream = out_audio
                self._container.mux(packet)
        finally:
            src.close()
            self._audio = None


def _format_for(path: Path) -> str | None:
    return {".mkv": "matroska", ".mp4": "mp4", ".mov": "mov", ".avi": "avi"}.get(path.suffix.lower())


def _npy_header(shape: tuple[int, ...]) -> bytes:
    """A .npy v1.0 header of fixed length (128 bytes) for a uint8 C-order array of ``shape``."""
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }" % ", ".join(str(s) for s in shape)
    total = 128
    body = header.ljust(total - 10 - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body.encode("latin1")
