"""File to file magnification: decode, magnify, encode, streaming."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .io import VideoError, VideoReader, VideoWriter, WriteBehind, check_output_path, read_ahead
from .magnify import Magnifier
from .presets import MagnifyParams
from .temporal import ideal_band_gains, ideal_bandpass

#: Frames decoded ahead of the magnifier and magnified frames waiting for the encoder.  Small: each
#: is one frame of memory, and one or two are enough to keep the three stages overlapped.
DECODE_AHEAD = 2
ENCODE_BEHIND = 2


@dataclass
class MagnifyResult:
    output: str
    frames: int
    fps: float
    width: int
    height: int
    seconds: float

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


def magnify_file(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    params: MagnifyParams,
    *,
    fps: float | None = None,
    start: float = 0.0,
    duration: float | None = None,
    scale: float = 1.0,
    crf: int = 18,
    encoder_preset: str = "medium",
    codec: str | None = None,
    audio: bool = True,
    side_by_side: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    threads: int | None = 1,
) -> MagnifyResult:
    """Magnify a video file into another.

    Parameters
    ----------
    src, dst : path-like
        Input video; output (``.mp4``/``.mov``: H.264; ``.mkv``: lossless FFV1;
        ``.npy``: raw uint8 frames).
    params : MagnifyParams
        Magnification settings.
    fps : float, optional
        Sampling rate to assume for the temporal filter (high-speed footage stored
        at a playback rate, e.g. 600); the output keeps the file's frame rate.
    start, duration : float
        Seconds of the input to process.
    scale : float
        Resize factor applied before magnifying.
    crf, encoder_preset, codec : see :class:`evm.io.VideoWriter`.
    audio : bool
        Copy the input's audio (stream copy) when it has some.
    side_by_side : bool
        Write ``original | magnified`` in one frame.
    overwrite : bool
        Replace an existing output.
    progress : bool
        tqdm progress bar on stderr.
    threads : int or None
        Threads of the magnification kernels (None: Numba's setting).  1 by
        default: the video encoder is multi-threaded already.

    Returns
    -------
    MagnifyResult

    Notes
    -----
    An 8-bit 4:2:0 input written to H.264 is magnified in its decoded Y'CbCr planes
    (:func:`planar_path`, :mod:`evm.yuv`) and the output carries the input's colour tags;
    otherwise frames go through RGB.  Decoding, magnifying and encoding run concurrently
    (:data:`DECODE_AHEAD` and :data:`ENCODE_BEHIND` frames apart); memory does not grow with the
    clip's length except with ``temporal="ideal"``.

    Raises
    ------
    VideoError, ValueError
        Unreadable input, bad parameters, unwritable output; no output file is left.
    """
    t0 = time.perf_counter()
    check_output_path(dst, overwrite=overwrite, inputs=(src,))
    reader = VideoReader(src, start=start, duration=duration, scale=scale)
    rate = reader.rate
    sample_rate = float(fps) if fps is not None else float(rate)
    expected = reader.expected_frames
    if expected < 2 and reader.info.frames_exact:
        raise VideoError(f"{src}: has {expected} frame(s) in the chosen span; magnification needs at least 2")
    size = (reader.height, reader.width)
    yuv = reader.info.yuv if planar_path(reader, params, dst, codec, side_by_side) else None
    # Three stages overlap: decoding runs ahead in one thread, encoding behind in another (FFmpeg
    # releases the GIL in both) and the magnifier runs in this one, on one thread by default: the
    # encoder keeps the cores busy already, and a Numba thread pool would spin against its threads.
    if yuv is not None:
        from .yuv import empty_planes, planar_magnifier

        magnifier = planar_magnifier(size, sample_rate, color=yuv, threads=threads, **params.as_kwargs())
        frames, new_buffer = reader.planes, lambda: empty_planes(*size)
    else:
        magnifier = Magnifier(size + (3,), sample_rate, threads=threads, **params.as_kwargs())
        frames, new_buffer = reader.__iter__, lambda: np.empty(size + (3,), np.uint8)
    if magnifier.temporal == "ideal":
        ideal_band_gains(max(expected, 2), sample_rate, magnifier.low, magnifier.high, compat=magnifier.compat)
        check_ideal_memory(src, expected, magnifier.delta_shape)

    writer = VideoWriter(
        dst,
        Fraction(rate),
        crf=crf,
        preset=encoder_preset,
        codec=codec,
        audio_from=src if audio else None,
        audio_start=start,
        overwrite=overwrite,
        yuv=yuv,
    )
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = expected * (2 if magnifier.temporal == "ideal" else 1)
        bar = tqdm(total=total or None, unit="frame", desc=Path(src).name, leave=False)

    def tick(n: int = 1) -> None:
        if bar is not None:
            bar.update(n)

    write = writer.write if yuv is None else writer.write_planes

    def encode(item) -> None:
        original, magnified = item
        if not side_by_side:
            write(magnified)
        elif yuv is None:
            write(np.concatenate([original, magnified], axis=1))
        else:
            write(tuple(np.concatenate(pair, axis=1) for pair in zip(original, magnified)))

    # Output buffers in a ring: one being filled, one being encoded, ENCODE_BEHIND waiting.
    ring = [new_buffer() for _ in range(ENCODE_BEHIND + 2)]
    count = 0
    try:
        with writer:
            with WriteBehind(encode, ENCODE_BEHIND, name="evm-encode") as encoder:
                if magnifier.temporal == "ideal":
                    count = _two_pass_ideal(magnifier, reader, frames, ring, encoder.put, tick)
                else:
                    for frame in read_ahead(frames(), DECODE_AHEAD):
                        out = ring[count % len(ring)]
                        _check_frame(src, count, frame, out)
                        magnifier._magnify_one(frame, out)
                        encoder.put((frame, out))
                        count += 1
                        tick()
                    if count < 2:
                        raise VideoError(f"{src}: has {count} decodable frame(s); magnification needs at least 2")
    finally:
        if bar is not None:
            bar.close()
    return MagnifyResult(str(dst), count, float(rate), reader.width, reader.height, time.perf_counter() - t0)


def planar_path(reader: VideoReader, params: MagnifyParams, dst, codec: str | None, side_by_side: bool) -> bool:
    """Whether a file is magnified in its decoded Y'CbCr 4:2:0 planes (:mod:`evm.yuv`), not in RGB.

    Yes when the frames are 8-bit 4:2:0 in a known matrix, the output is H.264 (libx264, the
    default but for ``.mkv``/``.npy``), the method is not ``compat="mit"`` (defined on RGB), and
    a side-by-side output keeps whole chroma samples (even width).
    """
    suffix = Path(dst).suffix.lower()
    h264 = codec == "libx264" or (codec is None and suffix not in (".mkv", ".npy"))
    return reader.info.yuv is not None and h264 and params.compat is None and not (side_by_side and reader.width % 2)


def _check_frame(src, index: int, frame, out) -> None:
    # The reader guarantees the size; this guards the kernels, which trust their buffers' shapes.
    pairs = zip(frame, out) if isinstance(out, tuple) else [(frame, out)]
    for got, want in pairs:
        if got.shape != want.shape or got.dtype != np.uint8:
            raise VideoError(
                f"{src}: frame {index} is {got.dtype} {got.shape}, expected uint8 {want.shape} like the first"
            )


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), None where unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def ideal_memory_bytes(frames: int, delta_shape: tuple[int, ...]) -> int:
    """Memory the two-pass ideal filter needs: one float32 working level per frame, plus the FFT's chunks."""
    return int(frames) * int(np.prod(delta_shape)) * 4 + (3 << 26)


def check_ideal_memory(src, frames: int, delta_shape: tuple[int, ...]) -> None:
    """Refuse, before decoding, an ideal filter that would not fit in the memory available.

    Raises
    ------
    VideoError
        Names the memory needed and the causal filters, which stream in constant memory.
    """
    need, have = ideal_memory_bytes(frames, delta_shape), available_memory()
    if have is not None and need > have:
        raise VideoError(
            f"{src}: the ideal filter holds the whole clip's working level ({frames} frames, "
            f"{need / 2**20:,.0f} MiB) and {have / 2**20:,.0f} MiB are available; use --filter butterworth "
            "or --filter iir (constant memory), a shorter --duration or a smaller --scale"
        )


def _two_pass_ideal(magnifier, reader: VideoReader, frames, ring: list, emit, tick) -> int:
    """Ideal filter on a file: pass 1 keeps only the small working level of each frame,
    pass 2 decodes again and adds the filtered deltas (frames are never all in memory)."""
    # One preallocated stack (the container's frame count, grown if it was short): stacking a list
    # of per-frame arrays at the end would briefly hold the stack twice.
    stack = np.empty((max(reader.expected_frames, 2),) + magnifier.delta_shape, np.float32)
    n = 0
    for frame in read_ahead(frames(), DECODE_AHEAD):
        _check_frame(reader.path, n, frame, ring[0])
        if n == len(stack):
            stack = np.concatenate([stack, np.empty_like(stack[: max(16, n // 8)])])
        if not magnifier._identity:
            magnifier._analyze(frame, stack[n])
        n += 1
        tick()
    if n < 2:
        raise VideoError(f"{reader.path}: has {n} decodable frame(s); magnification needs at least 2")
    stack = stack[:n]
    ideal_bandpass(stack, magnifier.fps, magnifier.low, magnifier.high, compat=magnifier.compat, out=stack)
    count = 0
    for frame in read_ahead(frames(), DECODE_AHEAD):
        if count >= len(stack):
            break
        out = ring[count % len(ring)]
        _check_frame(reader.path, count, frame, out)
        magnifier._render_delta(stack[count], frame, out)
        emit((frame, out))
        count += 1
        tick()
    return count


def magnify_job(job) -> dict:
    """Batch worker: magnify ``job.src`` into ``job.dst``; ``job.params`` as built by :func:`batch_params`."""
    p = dict(job.params)
    params = MagnifyParams(**p.pop("magnify"))
    result = magnify_file(job.src, job.dst, params, overwrite=True, progress=False, **p)
    return {
        "frames": result.frames,
        "fps": result.fps,
        "width": result.width,
        "height": result.height,
        "frames_per_second": round(result.frames_per_second, 1),
    }


def batch_params(params: MagnifyParams, **file_options) -> dict:
    """The JSON-serialisable parameters of one batch job (their hash decides what is redone)."""
    return {"magnify": params.as_kwargs(), **file_options}
