"""End-to-end ``evm magnify``, file to file, against a plain transcode of the same file, in one run.

    python benchmarks/bench_cli.py                      # every sample clip, medium and veryfast
    python benchmarks/bench_cli.py --clips baby wrist --presets veryfast --repeat 3
    python benchmarks/bench_cli.py --psnr               # also: planar vs RGB path, PSNR per plane
    python benchmarks/bench_cli.py --clips --long         # only the peak memory on a generated 10-min 1080p clip

Every timed command runs in a fresh child process (start-up included; the Numba kernels are
compiled and cached first) whose wall time and peak RSS (``ru_maxrss`` of the child) are
reported.  Per sample clip (../shared/data/videos, skipped when absent) and x264 preset:

* ``decode``: PyAV decoding every frame, no conversion;
* ``transcode in`` / ``transcode out``: PyAV (FFmpeg's libraries, no evm import) decoding and
  re-encoding with libx264 at the same CRF and preset, of the input and of evm's own output
  (magnified video costs more bits and more encoding time).  This stands in for the ffmpeg CLI,
  which is not installed everywhere; ``ffmpeg in`` is the ffmpeg binary shipped by
  imageio-ffmpeg transcoding the input, when present (``nan`` otherwise);
* ``evm``: ``evm magnify`` (Laplacian + Butterworth defaults, no audio), and ``evm rgb``: the
  same through the RGB path (decode to RGB, magnify in YIQ, encode from RGB), for comparison;
* ``overhead``: ``(evm - transcode out) / frames`` in ms per frame: what magnifying costs beyond
  decoding and encoding what it writes;
* ``CPU s``: user + system seconds, all threads, of the transcode of evm's output, of evm and of
  evm's RGB path: steadier than wall time on a machine others are using;
* ``magnifier CPU ms/frame``: the magnifier alone on the decoded planes, in one process (no
  start-up, no codec);
* ``floor``: the larger of ``transcode out`` and ``(CPU s of transcode out + magnifier CPU) /
  CPUs``: what ``evm`` would take with no start-up and a perfect overlap of its three stages on
  this machine.  A target below the floor cannot be met by any pipeline that decodes, magnifies
  and encodes these frames here.

The targets of issue 15 are checked at the end: ``evm / transcode out <= 1.2`` with medium,
``evm / transcode in <= 1.6`` with veryfast, faster than real time with veryfast, and peak RSS
on wrist.mp4 within vidmag's streaming mode (222 MB as measured in the issue; vidmag is not
run here).  Timings on a shared machine vary: compare ratios from the same run.
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
VIDMAG_WRIST_MB = 222  # vidmag's streaming mode on wrist.mp4, from issue 15

# Run a command and report its wall time, peak RSS and CPU time (of the child, not inherited over fork).
_PEAK = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(time.perf_counter() - t, r.ru_maxrss / 1024, r.ru_utime + r.ru_stime)"
)
CPU: dict[str, float] = {}  # CPU seconds of the last timed command, by label


REPEAT = 1  # runs per command; the fastest is kept (set by --repeat)


def timed(cmd: list[str], label: str = "") -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``cmd`` in a child process, the fastest of REPEAT runs;
    its CPU seconds (user + system, all threads) go to ``CPU[label]``."""
    best = (float("inf"), 0.0, 0.0)
    for _ in range(REPEAT):
        out = subprocess.run([sys.executable, "-c", _PEAK, *map(str, cmd)], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{cmd[:3]} failed: {out.stderr.strip()[-800:]}")
        best = min(best, tuple(map(float, out.stdout.split())))
    CPU[label] = best[2]
    return best[0], best[1]


def me(*args) -> list[str]:
    """This script in a child process, in one of its helper modes."""
    return [sys.executable, __file__, *map(str, args)]


def ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - optional
        return None


# -- helper modes (run in children) -----------------------------------------------------------


def decode_only(src: str) -> None:
    """Decode every frame with PyAV (threads as the reader sets them), no conversion."""
    import av

    with av.open(src) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass


def transcode(src: str, dst: str, preset: str, crf: str) -> None:
    """Decode and re-encode with PyAV and the writer's libx264 settings, decoded frames handed to
    the encoder as they are (what ``ffmpeg -i src -c:v libx264 -crf C -preset P`` does); imports
    PyAV only, not evm, so that it is the floor evm is measured against."""
    from fractions import Fraction

    import av

    with av.open(src) as inp, av.open(dst, "w") as out:
        stream = inp.streams.video[0]
        stream.thread_type = "AUTO"
        rate = Fraction(stream.average_rate)
        enc = out.add_stream("libx264", rate=rate)
        enc.width, enc.height, enc.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
        enc.options = {"crf": crf, "preset": preset}
        enc.codec_context.thread_type = "FRAME"
        for i, frame in enumerate(inp.decode(stream)):
            frame.pts, frame.time_base, frame.pict_type = i, 1 / rate, 0  # the encoder picks frame types
            out.mux(enc.encode(frame))
        out.mux(enc.encode(None))


def magnify_rgb(src: str, dst: str, preset: str, crf: str) -> None:
    """``evm magnify`` forced onto the RGB path (for comparison only)."""
    import evm.pipeline as pipeline
    from evm.presets import MagnifyParams

    pipeline.planar_path = lambda *args, **kwargs: False
    pipeline.magnify_file(src, dst, MagnifyParams(), crf=int(crf), encoder_preset=preset, audio=False,
                          overwrite=True)  # fmt: skip


def make_long_clip(dst: str, minutes: str) -> None:
    """A 1080p30 H.264 clip of ``minutes``: a textured pattern swaying at 1 Hz (one second of
    frames, repeated), written as planes with x264 ultrafast."""
    import numpy as np

    from evm.color import YUVFormat
    from evm.io import VideoWriter

    H, W, fps = 1080, 1920, 30
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    period = []
    for t in range(fps):
        xs = x - 1.5 * np.sin(2 * np.pi * t / fps)
        luma = 128 + 50 * np.sin(2 * np.pi * xs / 40) * np.cos(2 * np.pi * y / 57) + 20 * np.sin(2 * np.pi * xs / 311)
        cb = 128 + 20 * np.sin(2 * np.pi * xs[::2, ::2] / 90)
        cr = 128 + 20 * np.cos(2 * np.pi * y[::2, ::2] / 70)
        period.append(tuple(np.ascontiguousarray(np.clip(p, 16, 235).astype(np.uint8)) for p in (luma, cb, cr)))
    color = YUVFormat("bt709", False, 1, 1, 1, 1)
    with VideoWriter(dst, fps, crf=23, preset="ultrafast", overwrite=True, yuv=color) as w:
        for i in range(int(float(minutes) * 60 * fps)):
            w.write_planes(period[i % fps])


def psnr_planar_vs_rgb(src: str, frames: str) -> None:
    """Print PSNR (dB) per plane between the planar path and the RGB path on the decoded frames
    (before encoding): RGB path = PyAV's conversion to RGB, the YIQ magnifier, PyAV's conversion
    back to 4:2:0 in the stream's matrix and range."""
    import numpy as np

    from evm import Magnifier
    from evm.io import VideoReader
    from evm.presets import MagnifyParams
    from evm.yuv import empty_planes, planar_magnifier

    reader = VideoReader(src)
    color, size, n = reader.info.yuv, (reader.height, reader.width), int(frames)
    params = MagnifyParams().as_kwargs()
    planar = planar_magnifier(size, reader.fps, color=color, threads=1, **params)
    rgb_m = Magnifier(size + (3,), reader.fps, threads=1, **params)
    se, count, changed = np.zeros(3), np.zeros(3), 0.0
    for (rgb, planes), _ in zip(zip(VideoReader(src), reader.planes()), range(n)):
        out = empty_planes(*size)
        planar._magnify_one(planes, out)
        rgb_out = np.empty_like(rgb)
        rgb_m._magnify_one(rgb, rgb_out)
        ref = to_planes(rgb_out, color)
        for p in range(3):
            se[p] += np.sum((out[p].astype(np.float64) - ref[p]) ** 2)
            count[p] += out[p].size
        changed = max(changed, float(np.abs(out[0].astype(int) - planes[0]).max()))
    print(" ".join(f"{10 * np.log10(255**2 / max(s / c, 1e-12)):.1f}" for s, c in zip(se, count)), f"{changed:.0f}")


def magnifier_ms(src: str, frames: str) -> None:
    """Print the magnifier's CPU milliseconds per frame on the file's decoded planes (the planar
    path, one thread, the default settings), over its first ``frames`` frames after the first."""
    import numpy as np

    from evm.io import VideoReader
    from evm.presets import MagnifyParams
    from evm.yuv import empty_planes, planar_magnifier

    reader = VideoReader(src)
    planes = [tuple(np.array(p) for p in f) for f, _ in zip(reader.planes(), range(int(frames) + 1))]
    size = (reader.height, reader.width)
    m = planar_magnifier(size, reader.fps, color=reader.info.yuv, threads=1, **MagnifyParams().as_kwargs())
    out = empty_planes(*size)
    m._magnify_one(planes[0], out)  # loads the kernels
    t = time.process_time()
    for f in planes[1:]:
        m._magnify_one(f, out)
    print(1000 * (time.process_time() - t) / (len(planes) - 1))


def to_planes(rgb, color):
    import av
    import numpy as np

    from evm.io import _plane

    names = {"bt601": "ITU601", "bt709": "ITU709", "bt2020": "BT2020", "smpte240m": "SMPTE240M", "fcc": "FCC"}
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    out = frame.reformat(format="yuv420p", dst_colorspace=names[color.matrix],
                         dst_color_range="JPEG" if color.full_range else "MPEG")  # fmt: skip
    return [np.array(_plane(p)) for p in out.planes[:3]]


# -- the report -------------------------------------------------------------------------------


def print_clip_table(args, clips: list[Path], evm: list[str], ff: str | None) -> None:
    """The main table: one row per clip and preset, then the targets of issue 15."""
    from evm.io import probe

    print()
    print("| clip | size | frames | preset | decode | ffmpeg in | transcode in | transcode out | evm | evm rgb | "
          "evm fps | evm / transcode out | evm / transcode in | overhead ms/frame | evm MB | evm rgb MB | "
          "transcode out MB | CPU s: transcode out, evm, evm rgb | magnifier CPU ms/frame | floor s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for src in clips:
        info = probe(src)
        name = src.stem
        t_dec, _ = timed(me("--decode", src))
        n = info.frames  # the magnifier's CPU per frame does not depend on the encoder preset: measured once
        ms = float(subprocess.run(me("--magnifier-of", src, max(1, min(n - 1, 150))), capture_output=True, text=True,
                                  check=True).stdout)  # fmt: skip
        for preset in args.presets:
            out = args.out / f"{name}-{preset}-evm.mp4"
            t_ff = float("nan")
            if ff:
                cmd = [ff, "-v", "error", "-y", "-i", src, "-an", "-c:v", "libx264", "-crf", args.crf]
                t_ff, _ = timed([*cmd, "-preset", preset, "-pix_fmt", "yuv420p", args.out / f"{name}-ffmpeg.mp4"])
            t_in, _ = timed(me("--transcode", src, args.out / f"{name}-tc.mp4", preset, args.crf))
            t_evm, rss = timed([*evm, "magnify", src, "-o", out, "--overwrite", "-q", "--no-audio",
                                "--crf", args.crf, "--encoder-preset", preset], "evm")  # fmt: skip
            t_out, rss_out = timed(me("--transcode", out, args.out / f"{name}-tc-out.mp4", preset, args.crf), "out")
            t_rgb, rss_rgb, CPU["rgb"] = (float("nan"), float("nan"), float("nan"))
            if not args.no_rgb:
                t_rgb, rss_rgb = timed(me("--rgb", src, args.out / f"{name}-rgb.mp4", preset, args.crf), "rgb")
            floor = max(t_out, (CPU["out"] + n * ms / 1000) / os.cpu_count())
            print(f"| {name} | {info.width}x{info.height} | {n} | {preset} | {t_dec:.2f} | {t_ff:.2f} | {t_in:.2f} | "
                  f"{t_out:.2f} | {t_evm:.2f} | {t_rgb:.2f} | {n / t_evm:.0f} | {t_evm / t_out:.2f} | "
                  f"{t_evm / t_in:.2f} | {1000 * (t_evm - t_out) / n:.1f} | {rss:.0f} | {rss_rgb:.0f} | "
                  f"{rss_out:.0f} | {CPU['out']:.1f}, {CPU['evm']:.1f}, {CPU['rgb']:.1f} | {ms:.2f} | "
                  f"{floor:.2f} |")  # fmt: skip
            if preset == "medium":
                verdicts.append(f"{name} medium: evm / transcode out = {t_evm / t_out:.2f} (target <= 1.2; "
                                f"floor {floor / t_out:.2f})")  # fmt: skip
            if preset == "veryfast":
                verdicts.append(f"{name} veryfast: evm / transcode in = {t_evm / t_in:.2f} (target <= 1.6; "
                                f"floor {floor / t_in:.2f}); {n / t_evm:.0f} frames/s vs {info.fps:g} fps "
                                "real time")  # fmt: skip
            if name == "wrist":
                verdicts.append(f"wrist {preset}: peak {rss:.0f} MB (vidmag streaming: {VIDMAG_WRIST_MB} MB)")
    if verdicts:
        print()
        print("Targets (issue 15), ratios from this run:")
        for line in verdicts:
            print(f"* {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    clips_help = "Sample clips by name; none (just --clips) with --long runs the long clip only."
    parser.add_argument("--clips", nargs="*", default=["baby", "wrist", "face", "face2", "guitar"], help=clips_help)
    parser.add_argument("--presets", nargs="+", default=["medium", "veryfast"])
    parser.add_argument("--crf", type=int, default=18)
    parser.add_argument("--no-rgb", action="store_true", help="Skip the RGB path comparison runs.")
    parser.add_argument("--psnr", action="store_true", help="Planar vs RGB path PSNR per plane (first --psnr-frames).")
    parser.add_argument("--psnr-frames", type=int, default=150)
    parser.add_argument("--long", action="store_true", help="Peak memory on a generated 1080p clip (slow).")
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=1, help="Runs per command, the fastest kept (shared machines).")
    parser.add_argument("--out", type=Path, default=Path("/tmp/evm-bench"))
    args = parser.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    evm = [sys.executable, "-c", "from cli.evm_cli import main; main()"]
    subprocess.run([*evm, "demo", "-o", args.out / "demo", "--overwrite"], check=True, capture_output=True)  # warm
    ff = ffmpeg_exe()
    clips = [VIDEOS / f"{name}.mp4" for name in args.clips if (VIDEOS / f"{name}.mp4").exists()]
    if not clips and not args.long:
        print(f"skipped: no sample clips in {VIDEOS}")
        return
    print(f"# evm magnify vs transcode: libx264 crf {args.crf}, {os.cpu_count()} CPUs; seconds are wall time "
          "of a fresh process; MB: its peak RSS")  # fmt: skip
    if clips:
        print_clip_table(args, clips, evm, ff)
    if args.psnr and clips:
        print()
        print(f"| clip | planar vs RGB path, first {args.psnr_frames} frames: PSNR Y dB | Cb dB | Cr dB | "
              "largest luma change (levels) |")  # fmt: skip
        print("|---|---|---|---|---|")
        for src in clips:
            out = subprocess.run(me("--psnr-of", src, args.psnr_frames), capture_output=True, text=True, check=True)
            print(f"| {src.stem} | " + " | ".join(out.stdout.split()) + " |")

    if args.long:
        clip = args.out / f"long-{args.long_minutes:g}min-1080p.mp4"
        t0 = time.perf_counter()
        subprocess.run(me("--make-long", clip, args.long_minutes), check=True)
        made = time.perf_counter() - t0
        print()
        print(f"| generated 1080p30 clip, {args.long_minutes:g} min ({made:.0f} s to make) | seconds | frames/s | "
              "peak RSS MB |")  # fmt: skip
        print("|---|---|---|---|")
        frames = int(args.long_minutes * 60 * 30)
        for label, extra in (("first minute", ["--duration", "60"]), ("whole clip", [])):
            if label == "first minute" and args.long_minutes <= 1:
                continue
            t, rss = timed([*evm, "magnify", clip, "-o", args.out / "long-evm.mp4", "--overwrite", "-q",
                            "--encoder-preset", "veryfast", *extra])  # fmt: skip
            n = 1800 if extra else frames
            print(f"| evm magnify --encoder-preset veryfast, {label} | {t:.0f} | {n / t:.1f} | {rss:.0f} |")


if __name__ == "__main__":
    modes = {"--decode": decode_only, "--transcode": transcode, "--rgb": magnify_rgb, "--make-long": make_long_clip,
             "--psnr-of": psnr_planar_vs_rgb, "--magnifier-of": magnifier_ms}  # fmt: skip
    if len(sys.argv) > 1 and sys.argv[1] in modes:
        modes[sys.argv[1]](*sys.argv[2:])
    else:
        main()
