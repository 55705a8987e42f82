"""Peak memory and time of preparing one long video: streaming against the whole video in memory.

    python benchmarks/bench_prepare_memory.py [--seconds 15 60] [--faces annotation|haar]
                                              [--temporal butterworth|ideal] [--order crop-first|magnify-first]
                                              [--work DIR]

Writes 640x480 25 fps face videos (2 s rendered by ``antispoof.data.synth``, played forwards and backwards:
``bench_antispoof.synthetic_video``) with their true face boxes as a Replay-Attack ``.face`` annotation, then
prepares each video in a fresh process with the default :class:`~antispoof.cache.PrepareConfig` (224x224
crops, 3 clips of 8 frames every 2nd frame; magnification, order and face source as given) and prints a
Markdown table:

* ``streaming``: :func:`antispoof.cache.prepare_video`, what ``antispoof prepare`` runs (two decoding passes,
  :func:`antispoof.cache.stream_clips`);
* ``in memory``: :func:`~antispoof.cache.read_oriented`, ``face_track`` and
  :func:`~antispoof.cache.extract_clips`, the path before streaming (the whole video as a list of frames).

Columns: decoded frames, wall time of the preparation (imports excluded, the .npy written), peak resident set
of the process (VmHWM, imports included), the resident set after the imports, and whether the two
implementations wrote identical arrays. Timings depend on the machine's load. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

FPS, SIZE = 25.0, (640, 480)
IMPLEMENTATIONS = ("in memory", "streaming")


def _status_mb(field: str) -> float:
    """A memory line of /proc/self/status (VmHWM, VmRSS) in MB; ru_maxrss where there is no /proc."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(spec: dict) -> dict:
    """Prepare one video in this (fresh) process; returns frames, seconds and memory."""
    import numpy as np

    from antispoof.cache import (
        PrepareConfig,
        clip_starts,
        extract_clips,
        make_detector,
        prepare_video,
        read_oriented,
    )
    from antispoof.data.faces import face_track
    from antispoof.data.records import VideoRecord
    from evm.batch import Job

    config = PrepareConfig.from_dict(spec["config"])
    face = Path(spec["face"]) if spec["face"] else None
    record = VideoRecord("replay-attack", "bench", Path(spec["video"]), 1, None, "001", "test", annotation=face,
                         annotation_format="replay" if face else None)  # fmt: skip
    out = Path(spec["out"])
    rss_start = _status_mb("VmRSS")
    t0 = time.perf_counter()
    if spec["impl"] == "streaming":
        job = Job(record.video_id, str(record.path), str(out),
                  {"config": config.as_dict(), "record": record.as_dict(), "detector": None})  # fmt: skip
        frames = prepare_video(job)["frames_decoded"]
    else:
        video, fps = read_oriented(record.path, record.flip)
        starts = clip_starts(len(video), fps, config)
        detector = None if face else make_detector(None)
        boxes = face_track(video, record=record, detector=detector, stride=config.detect_stride, mode=config.track)
        np.save(out, extract_clips(video, fps, boxes, starts, config))
        frames = len(video)
    seconds = time.perf_counter() - t0
    return {"frames": frames, "seconds": seconds, "peak_mb": _status_mb("VmHWM"), "start_mb": rss_start}


def run_worker(spec: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--_worker", json.dumps(spec)], capture_output=True, text=True,
                          cwd=ROOT)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"worker failed ({spec['impl']}, {spec['video']}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[15.0, 60.0], help="video lengths")
    parser.add_argument("--faces", choices=["annotation", "haar"], default="annotation",
                        help="face boxes from the .face annotation, or OpenCV's Haar cascade")  # fmt: skip
    parser.add_argument("--temporal", choices=["butterworth", "ideal", "none"], default="butterworth",
                        help="temporal filter of the magnification (none: no magnification)")  # fmt: skip
    parser.add_argument("--order", choices=["crop-first", "magnify-first"], default="crop-first")
    parser.add_argument("--work", help="folder for the videos (kept and reused); default a temporary one")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        print(json.dumps(worker(json.loads(args._worker))))
        return

    import numpy as np
    from bench_antispoof import synthetic_video

    from antispoof.cache import PrepareConfig
    from evm.presets import MagnifyParams

    magnify = None if args.temporal == "none" else MagnifyParams(temporal=args.temporal)
    config = PrepareConfig(magnify=magnify, order=args.order)
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for seconds in args.seconds:
            name = f"face-{seconds:g}s-{SIZE[0]}x{SIZE[1]}"
            video, face = work / f"{name}.mp4", work / f"{name}.face"
            if not (video.exists() and face.exists()):
                t0 = time.perf_counter()
                synthetic_video(video, seconds, FPS, SIZE, face_file=face)
                print(f"wrote {video.name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            outputs = {}
            for impl in IMPLEMENTATIONS:
                out = Path(tmp) / f"{name}-{impl.replace(' ', '-')}.npy"
                spec = {"impl": impl, "video": str(video), "face": str(face) if args.faces == "annotation" else None,
                        "config": config.as_dict(), "out": str(out)}  # fmt: skip
                result = run_worker(spec)
                print(f"{name} {impl}: {result}", file=sys.stderr)
                outputs[impl] = out
                rows.append((seconds, impl, result))
            same = np.array_equal(np.load(outputs["in memory"]), np.load(outputs["streaming"]))
            rows[-1][2]["identical"] = rows[-2][2]["identical"] = "yes" if same else "NO"
    frame_mb = SIZE[0] * SIZE[1] * 3 / 2**20
    print(f"\nPreparing one {SIZE[0]}x{SIZE[1]} {FPS:g} fps video (faces: {args.faces}; magnification: "
          f"{args.temporal}, {args.order}; crops {config.size}, {config.clips_per_video} clips x {config.clip_len} "
          f"frames; one decoded frame = {frame_mb:.2f} MB)\n")  # fmt: skip
    print("| video | implementation | frames | wall time | peak RSS | RSS after imports | identical output |")
    print("|---|---|---:|---:|---:|---:|:---:|")
    for seconds, impl, r in rows:
        print(f"| {seconds:g} s | {impl} | {r['frames']} | {r['seconds']:.1f} s | {r['peak_mb']:.0f} MB "
              f"| {r['start_mb']:.0f} MB | {r['identical']} |")  # fmt: skip


if __name__ == "__main__":
    main()
