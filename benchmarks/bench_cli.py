"""End-to-end ``evm magnify`` file to file, against a plain transcode of the same file.

    python benchmarks/bench_cli.py [--clips face baby] [--preset medium] [--crf 18] [--repeat 1]

For each sample clip in ../shared/data/videos (skipped when absent) prints:

* ``ffmpeg``: the ffmpeg binary shipped by imageio-ffmpeg decoding and re-encoding
  with libx264 at the same CRF and preset (no magnification): the floor;
* ``transcode (PyAV)``: the same through this project's reader and writer (RGB frames
  in Python, no magnification): the floor of our own I/O path;
* ``evm magnify``: the real command (Laplacian + Butterworth defaults), in a fresh
  process so the timing includes start-up (Numba kernels already cached);
* ratios ``evm / ffmpeg`` and ``evm / transcode``, and the peak memory (VmHWM) of
  ``evm magnify`` on 10 s and on the whole of wrist.mp4 (30 s): flat for causal filters.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VIDEOS = ROOT.parent / "shared" / "data" / "videos"

# Run a command and report its wall time and peak RSS (VmHWM of the child, not inherited over fork).
_PEAK = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
)


def timed_command(cmd: list[str]) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", _PEAK, *cmd], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {out.stderr.strip()[-500:]}")
    seconds, rss = out.stdout.split()
    return float(seconds), float(rss)


def ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - optional
        return None


def pyav_transcode(src: Path, dst: Path, crf: int, preset: str) -> float:
    from evm.io import VideoReader, VideoWriter

    t0 = time.perf_counter()
    reader = VideoReader(src)
    with VideoWriter(dst, reader.rate, crf=crf, preset=preset, overwrite=True) as writer:
        for frame in reader:
            writer.write(frame)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="+", default=["face", "baby", "wrist", "face2"])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--crf", type=int, default=18)
    parser.add_argument("--out", type=Path, default=Path("/tmp/evm-bench"))
    args = parser.parse_args()
    if not VIDEOS.is_dir():
        print(f"skipped: {VIDEOS} not present")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    ff = ffmpeg_exe()
    evm_cmd = [sys.executable, "-c", "from cli.evm_cli import main; main()"]
    os.environ["PYTHONPATH"] = str(ROOT)

    # warm the Numba cache once
    subprocess.run([*evm_cmd, "demo", "-o", str(args.out / "demo"), "--overwrite"], check=True,
                   capture_output=True)

    from evm.io import probe

    print(f"# end-to-end magnify vs transcode, libx264 crf {args.crf} preset {args.preset}, {os.cpu_count()} CPUs")
    print()
    print("| clip | size | frames | ffmpeg s | transcode (PyAV) s | evm magnify s | evm fps | evm / ffmpeg | "
          "evm / transcode | evm peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.clips:
        src = VIDEOS / f"{name}.mp4"
        if not src.exists():
            continue
        info = probe(src)
        t_ff = float("nan")
        if ff:
            t_ff, _ = timed_command([ff, "-v", "error", "-y", "-i", str(src), "-an", "-c:v", "libx264", "-crf",
                                     str(args.crf), "-preset", args.preset, "-pix_fmt", "yuv420p",
                                     str(args.out / f"{name}-ffmpeg.mp4")])
        t_tc = pyav_transcode(src, args.out / f"{name}-transcode.mp4", args.crf, args.preset)
        t_evm, rss = timed_command([*evm_cmd, "magnify", str(src), "-o", str(args.out / f"{name}-evm.mp4"),
                                    "--overwrite", "-q", "--no-audio", "--crf", str(args.crf),
                                    "--encoder-preset", args.preset])
        print(f"| {name} | {info.width}x{info.height} | {info.frames} | {t_ff:.2f} | {t_tc:.2f} | {t_evm:.2f} | "
              f"{info.frames / t_evm:.0f} | {t_evm / t_ff:.2f} | {t_evm / t_tc:.2f} | {rss:.0f} |")

    wrist = VIDEOS / "wrist.mp4"
    if wrist.exists():
        print()
        print("| evm magnify wrist.mp4 (Laplacian + Butterworth) | seconds | peak RSS MB |")
        print("|---|---|---|")
        for duration in ("10", None):
            extra = ["--duration", duration] if duration else []
            t, rss = timed_command([*evm_cmd, "magnify", str(wrist), "-o", str(args.out / "wrist-evm.mp4"),
                                    "--overwrite", "-q", *extra])
            print(f"| {'first 10 s' if duration else 'whole 29.8 s'} | {t:.2f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
