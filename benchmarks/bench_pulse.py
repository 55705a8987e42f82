"""Heart rate from video (evm.pulse): accuracy against ground truth, speed, and the sample clips.

    python benchmarks/bench_pulse.py [--seeds 3] [--seconds 20] [--quick]

1. Accuracy: synthetic face clips (:func:`evm.synthetic.pulse_clip`, 320x240, 30 fps, a pulse of
   0.4% peak-to-peak in green on the skin, ``--flicker`` white-light flicker) over a grid of sensor
   noise (grey levels) x head motion (pixels); per cell ``--seeds`` clips, each at a heart rate drawn
   uniformly from 55-110 bpm. Mean absolute error of the whole-clip estimate (bpm) per method, and
   the share of clips the method calls reliable (SNR >= 3 dB). Two more rows at the middle noise and
   motion vary the flicker (0 and 1%).
2. Speed: frames/s of the streaming extractor (:class:`evm.pulse.PulseMeter`, region mean, trace and
   sliding-window spectrum; decoding excluded) on 640x480 frames, for a 200x240 face rectangle and for
   the whole frame with the skin mask.
3. The sample clips ../shared/data/videos/face.mp4 and face2.mp4 (no ground truth): each method's
   estimate with ``--roi face`` (skin mask), with its SNR.

Nothing is asserted; the tables are printed in Markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evm.pulse import METHODS, MIN_SNR_DB, PulseMeter, estimate_pulse  # noqa: E402
from evm.synthetic import pulse_clip  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
FPS = 30.0


def accuracy(noises, motions, seeds: int, seconds: float, flicker: float) -> None:
    """MAE and reliable share per method over the noise x motion grid, then two lighting rows."""
    frames = int(round(seconds * FPS))
    print(f"\n## Whole-clip MAE (bpm) and reliable share, {seconds:g} s clips, {seeds} per cell\n")
    print("| noise (grey) | motion (px) | flicker | " + " | ".join(m.upper() for m in METHODS) + " |")
    print("|---:|---:|---:|" + "---:|" * len(METHODS))
    cells = [(noise, motion, flicker) for noise in noises for motion in motions]
    cells += [(noises[len(noises) // 2], motions[len(motions) // 2], f) for f in (0.0, 0.01)]  # lighting
    rng = np.random.default_rng(2024)
    for index, (noise, motion, light) in enumerate(cells):
        errors = {m: [] for m in METHODS}
        reliable = {m: 0 for m in METHODS}
        for seed in range(index * seeds, (index + 1) * seeds):
            bpm = float(rng.uniform(55, 110))
            clip = pulse_clip(frames, FPS, bpm=bpm, height=240, width=320, noise=noise, flicker=light,
                              motion=motion, seed=seed)  # fmt: skip
            for method in METHODS:
                result = estimate_pulse(clip.video, FPS, method=method, roi=clip.roi)
                errors[method].append(abs(result.bpm - bpm))
                reliable[method] += result.reliable
        row = [f"{np.mean(errors[m]):.1f} ({reliable[m]}/{seeds})" for m in METHODS]
        print(f"| {noise:g} | {motion:g} | {light:g} | " + " | ".join(row) + " |")


def speed(frames: int) -> None:
    print(f"\n## Streaming extractor, 640x480, frames/s ({frames} frames, decoding excluded)\n")
    print("| method | face rectangle 200x240 | whole frame, skin mask |")
    print("|---|---:|---:|")
    clip = pulse_clip(frames + 1, FPS, height=480, width=640, noise=2.0, seed=0)
    roi = (220, 120, 200, 240)
    for method in METHODS:
        row = []
        for kwargs in (dict(roi=roi), dict(skin=True)):
            meter = PulseMeter(clip.video.shape[1:], FPS, method=method, **kwargs)
            meter.update(clip.video[0])  # compiles the kernels on a first run
            t0 = time.perf_counter()
            for frame in clip.video[1:]:
                meter.update(frame)
            row.append(f"{frames / (time.perf_counter() - t0):.0f}")
        print(f"| {method.upper()} | " + " | ".join(row) + " |")


def sample_clips() -> None:
    from evm.face import face_box, skin_region
    from evm.io import VideoReader

    print("\n## Sample clips (--roi face, skin mask; no ground truth)\n")
    print("| clip | frames | roi | " + " | ".join(m.upper() for m in METHODS) + " |")
    print("|---|---:|---|" + "---|" * len(METHODS))
    for name in ("face.mp4", "face2.mp4"):
        path = VIDEOS / name
        if not path.exists():
            print(f"| {name} | missing | | " + " | " * len(METHODS))
            continue
        reader = VideoReader(path)
        roi = skin_region(face_box(reader, max_frames=round(2 * reader.fps)), (reader.height, reader.width))
        cells = []
        for method in METHODS:
            r = estimate_pulse(reader, reader.fps, method=method, roi=roi, skin=True)
            flag = "" if r.reliable else ", unreliable"
            cells.append(f"{r.bpm:.1f} bpm, {r.snr_db:.1f} dB{flag}")
        print(f"| {name} | {r.frames} | {','.join(map(str, roi))} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="clips per grid cell")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the synthetic clips")
    parser.add_argument("--noises", default="2,8,20", help="sensor noise levels, grey levels")
    parser.add_argument("--motions", default="0,1,3", help="head motion amplitudes, pixels")
    parser.add_argument("--flicker", type=float, default=0.003, help="relative white-light flicker")
    parser.add_argument("--speed-frames", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="one seed, 12 s clips, a 2x2 grid")
    args = parser.parse_args()
    noises = [float(v) for v in args.noises.split(",")]
    motions = [float(v) for v in args.motions.split(",")]
    if args.quick:
        args.seeds, args.seconds, noises, motions, args.speed_frames = 1, 12.0, noises[:2], motions[:2], 100
    print(f"reliable: SNR >= {MIN_SNR_DB:g} dB")
    accuracy(noises, motions, args.seeds, args.seconds, args.flicker)
    speed(args.speed_frames)
    sample_clips()


if __name__ == "__main__":
    main()
