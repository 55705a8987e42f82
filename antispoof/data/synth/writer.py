""":func:`generate`: writes a whole tree (videos and ``.face`` annotations), in worker processes if asked."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..annotations import write_msu_face, write_replay_face
from ..datasets import MSU_TEST, MSU_TRAIN
from .layouts import _msu_clips, _replay_clips
from .render import _check_size, _load_source, _Person, _render_clip, _rng, check_live_motion

#: Layouts :func:`generate` writes.
LAYOUTS = ("replay-attack", "msu-mfsd")


#: Frame rate of each layout (Replay-Attack 25 fps; MSU-MFSD 30 fps).
LAYOUT_FPS = {"replay-attack": 25.0, "msu-mfsd": 30.0}


def generate(
    out_dir: str | os.PathLike,
    layout: str = "replay-attack",
    *,
    clients: int = 3,
    seed: int = 0,
    source_videos: Sequence[str | os.PathLike] | None = None,
    size: tuple[int, int] = (160, 120),
    duration: float = 2.0,
    fps: float | None = None,
    missing_rate: float = 0.03,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    live_motion: float = 1.0,
) -> Path:
    """Write a synthetic dataset tree with the layout, file names and annotations of ``layout``.

    Parameters
    ----------
    out_dir : path-like
        Root of the tree (created). Must be empty unless ``overwrite``.
    layout : str
        ``replay-attack`` (``{train,devel,test}/real|attack/{fixed,hand}/*.mov`` and
        ``face-locations/``; 24 clips per client, clients split 0.3 / 0.3 / 0.4) or ``msu-mfsd``
        (``scene01/{real,attack}/`` with ``.face`` beside the videos, android ``.mp4`` and laptop
        ``.mov``, 8 clips per client, subjects taken from the official lists; the android real
        clips of subjects 3, 5-9 are stored upside down as in the real set).
    clients : int
        Number of subjects (3 at least, so that every split has one).
    seed : int
        Everything is a function of the seed: the same call writes the same frames.
    source_videos : sequence of path-like or None
        Real face videos to take bona fide content from (and to print or replay) instead of the
        rendered face; each must show a detectable frontal face. Chosen per clip at random.
    size : (width, height)
        Frame size, even numbers (H.264 4:2:0); 160x120 keeps tests fast, 320x240 is Replay-Attack's.
    duration : float
        Seconds per clip.
    fps : float or None
        None: the layout's (25 for Replay-Attack, 30 for MSU-MFSD).
    missing_rate : float
        Fraction of frames whose annotation is left out (all-zero row / no row), as detectors miss.
    overwrite : bool
        Replace files of an existing tree.
    progress : callable or None
        Called as ``progress(done, total)`` after each clip.
    workers : int
        Processes rendering clips in parallel. Every clip draws from its own random streams, so the
        tree is the same whatever the number of workers.
    live_motion : float
        Scale of every rendered person's motion, in [0, 10] (:func:`render_sample`): the bona fide faces'
        and the replayed recordings', not the attack media's own; 1 (default) writes the usual tree, other
        values the same tree but for the amplitude of that motion. Rendered faces only: not with
        ``source_videos``.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ValueError
        Bad layout, clients, size, duration or workers; a non-empty ``out_dir`` without ``overwrite``.
    evm.io.VideoError
        A source video cannot be read or shows no face; a video cannot be written.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    W, H = _check_size(size)
    fps = float(fps or LAYOUT_FPS[layout])
    if not (duration > 0 and fps > 0):
        raise ValueError(f"duration and fps must be positive, got {duration} and {fps}")
    n = max(2, int(round(duration * fps)))
    if not 0 <= missing_rate < 1:
        raise ValueError(f"missing_rate must be in [0, 1), got {missing_rate}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    live_motion = check_live_motion(live_motion)
    if live_motion != 1.0 and source_videos:
        raise ValueError("live_motion scales rendered faces only; it cannot be used with source_videos")
    clips = _replay_clips(clients) if layout == "replay-attack" else _msu_clips(clients)
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise ValueError(f"{root}: folder is not empty (pass overwrite=True to write into it)")
    # a few seconds per source are enough variety for clips of `duration`, and keep loading quick
    seconds = max(5.0, 4.0 * duration)
    sources = [_load_source(Path(p), max_seconds=seconds, max_side=2 * max(W, H)) for p in source_videos or []]
    root.mkdir(parents=True, exist_ok=True)
    if layout == "msu-mfsd":
        (root / "train_sub_list.txt").write_text(" ".join(f"{s:02d}" for s in MSU_TRAIN) + "\n")
        (root / "test_sub_list.txt").write_text(" ".join(f"{s:02d}" for s in MSU_TEST) + "\n")
        (root / "README.txt").write_text(
            f"Synthetic stand-in for MSU-MFSD written by antispoof.data.synth (seed {seed}); no real person.\n"
        )
    context = _WriteContext(root, layout, seed, sources, W, H, n, fps, missing_rate, overwrite, live_motion)
    if workers == 1:
        for done, clip in enumerate(clips, start=1):
            _write_clip(context, clip)
            if progress is not None:
                progress(done, len(clips))
        return root
    import concurrent.futures

    from evm.batch import process_pool

    with process_pool(workers, initializer=_set_context, initargs=(context,)) as pool:
        futures = [pool.submit(_write_clip_in_worker, clip) for clip in clips]
        try:
            for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                future.result()  # re-raises a worker's error
                if progress is not None:
                    progress(done, len(clips))
        except BaseException:
            for future in futures:  # report at once instead of rendering the rest first
                future.cancel()
            raise
    return root


@dataclass(frozen=True)
class _WriteContext:
    """What every clip of one :func:`generate` call shares."""

    root: Path
    layout: str
    seed: int
    sources: list
    W: int
    H: int
    n: int
    fps: float
    missing_rate: float
    overwrite: bool
    live_motion: float = 1.0


def _write_clip(ctx: _WriteContext, clip) -> None:
    """Render one clip from its own random streams and write its video and face annotation."""
    from evm.io import VideoWriter

    from ..records import apply_flip, flip_boxes

    W, H, n = ctx.W, ctx.H, ctx.n
    person = _Person.draw(_rng(ctx.seed, clip.subject, "person"))
    rng = _rng(ctx.seed, clip.rel)
    source = ctx.sources[int(rng.integers(0, len(ctx.sources)))] if ctx.sources else None
    frames, boxes, eyes = _render_clip(rng, clip.kind, person, H=H, W=W, n=n, fps=ctx.fps,
                                       condition=clip.condition, support=clip.support, device=clip.device,
                                       source=source, live_motion=ctx.live_motion)  # fmt: skip
    if clip.upside_down:  # stored as the real set stores these clips: turned by 180 degrees
        frames = np.ascontiguousarray(apply_flip(frames, "rot180"))
        boxes = flip_boxes(boxes, "rot180", W, H)
        eyes = np.column_stack([W - eyes[:, 0], H - eyes[:, 1], W - eyes[:, 2], H - eyes[:, 3]])
    missing = _missing_frames(rng, n, ctx.missing_rate)
    boxes = np.where(missing[:, None], np.nan, boxes)
    path, face = ctx.root / clip.rel, ctx.root / clip.face
    path.parent.mkdir(parents=True, exist_ok=True)
    face.parent.mkdir(parents=True, exist_ok=True)
    # deterministic: the tree must be the same bytes on every run and whatever the number of workers
    with VideoWriter(path, ctx.fps, crf=20, preset="veryfast", deterministic=True, overwrite=ctx.overwrite) as writer:
        writer.write(frames)
    if ctx.layout == "replay-attack":
        write_replay_face(face, boxes)
    else:
        write_msu_face(face, boxes, eyes)


_CONTEXT: _WriteContext | None = None  # a worker process's share of the generate() call


def _set_context(context: _WriteContext) -> None:
    global _CONTEXT
    _CONTEXT = context


def _write_clip_in_worker(clip) -> None:
    _write_clip(_CONTEXT, clip)


def _missing_frames(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Runs of 1-4 frames without a detection, about ``rate`` of the clip (never all of it)."""
    missing = np.zeros(n, bool)
    target = int(round(rate * n))
    while missing.sum() < min(target, n - 1):
        start = int(rng.integers(0, n))
        missing[start : start + int(rng.integers(1, 5))] = True
    if missing.all():
        missing[int(rng.integers(0, n))] = False
    return missing
