"""Speed and memory of the anti-spoofing model, and of `antispoof predict` on one video.

    python benchmarks/bench_antispoof.py [--device cpu|cuda] [--amp] [--steps N] [--run RUN_DIR]
                                         [--skip-models] [--skip-predict]

Prints two tables (nothing is asserted):

* **model**: for the small trunk at 112x112, the cpu profile's model at 64x64 (16-32-64-128 small trunk,
  temporal delta, motion stream; docs/training.md, "Profiles"), and the VGG-16 CNN-LSTM at 224x224 (clips
  of T = 8 frames, paper attention, hidden size 256, the loss of training with lambda 1): the time of one training step
  (forward + backward + Adam step) on a batch of 4 clips, inference clips/s (eval mode, batches of 4),
  and the peak memory of each phase, every (model, phase) in a fresh process: resident set high-water
  mark (VmHWM) and, on CUDA, ``torch.cuda.max_memory_allocated``. Warm-up steps are not timed; CUDA
  timings synchronise.
* **predict**: the wall time of ``antispoof predict VIDEO --model RUN --json`` (a fresh process, imports
  included) on a 10-second 640x480 video of a synthetic face, its peak RSS, the time the predictor
  reports for the video, and where that time goes (decode, face detection, crop + magnification, the
  model), measured in this process with the same functions. Without ``--run`` a small run is trained
  first on a tiny synthetic Replay-Attack tree (crops 112x112, T = 8); its setup time is printed too.

Timings depend on the machine's load; the header says which machine, threads and torch build.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T, BATCH = 8, 4
from antispoof.profiles import CPU  # noqa: E402

MODELS = {
    "small": {"trunk": "small", "image_size": 112},
    "small-cpu": {**CPU.model, "trunk_channels": list(CPU.model["trunk_channels"]), "image_size": CPU.prepare["size"]},
    "vgg16": {"trunk": "vgg16", "image_size": 224},
}
LABELS = {"small": "small trunk", "small-cpu": "cpu profile (small 16-128)", "vgg16": "VGG-16 CNN-LSTM"}


# ------------------------------------------------------------------------------------------------ helpers


def peak_rss_mb() -> float:
    """High-water mark of this process's resident set (VmHWM), MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


# ------------------------------------------------------------------------------------- one model, one phase


def model_worker(name: str, phase: str, device: str, amp: bool, steps: int, warmup: int) -> dict:
    """Runs in a fresh process: time one phase of one model, report its peak memory."""
    import torch

    from antispoof.models import build_model

    spec = MODELS[name]
    dev = torch.device(device)
    torch.manual_seed(0)
    model = build_model({**spec, "num_frames": T, "attention": "paper", "hidden_size": 256}).to(dev)
    size = spec["image_size"]
    clips = torch.rand(BATCH, T, 3, size, size, device=dev)
    labels = torch.tensor([1, 0] * (BATCH // 2) + [1] * (BATCH % 2), device=dev)
    use_amp = amp and dev.type == "cuda"

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    if phase == "train":
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
        scaler = torch.amp.GradScaler(dev.type, enabled=use_amp)

        def step():
            with torch.autocast(dev.type, dtype=torch.float16, enabled=use_amp):
                out = model(clips)
            loss = model.loss(out, labels, lambda_cnn=1.0).total
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
    else:
        model.eval()

        def step():
            with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.float16, enabled=use_amp):
                model(clips).scores.cpu()

    for _ in range(warmup):
        step()
    sync()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    result = {
        "model": name,
        "phase": phase,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "seconds": statistics.median(times),
        "best": min(times),
        "steps": steps,
        "rss_mb": peak_rss_mb(),
    }
    if dev.type == "cuda":
        result["gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def run_models(args) -> list[dict]:
    rows = []
    for name in MODELS:
        for phase in ("train", "infer"):
            heavy = args.device == "cpu" and name == "vgg16"
            steps = args.steps or (2 if heavy else 5 if args.device == "cpu" else 20)
            warmup = 1 if args.device == "cpu" else 3
            cmd = [sys.executable, __file__, "--_worker", f"{name}:{phase}", "--device", args.device,
                   "--steps", str(steps), "--warmup", str(warmup)] + (["--amp"] if args.amp else [])  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if proc.returncode != 0:
                tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                print(f"  {name} {phase}: failed: {tail}", file=sys.stderr)
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"  {name} {phase}: done", file=sys.stderr)
    return rows


def print_model_table(rows: list[dict], device: str, amp: bool) -> None:
    print(f"\nmodel (batch {BATCH} clips x T={T} frames, device {device}{', AMP float16' if amp else ''}; "
          "median of the timed steps):")  # fmt: skip
    header = f"{'model':<36}{'params':>9}  {'train step':>11}  {'clips/s':>9}  {'train peak':>12}  {'infer peak':>12}"
    print(header)
    print("-" * len(header))
    for name, spec in MODELS.items():
        by_phase = {r["phase"]: r for r in rows if r["model"] == name}
        if not by_phase:
            continue
        label = f"{LABELS[name]} {spec['image_size']}x{spec['image_size']}"
        train, infer = by_phase.get("train"), by_phase.get("infer")

        def peak(r):
            if r is None:
                return "-"
            return f"{r['gpu_mb']:.0f} MB GPU" if "gpu_mb" in r else f"{r['rss_mb']:.0f} MB"

        params = (train or infer)["params_m"]
        step = f"{train['seconds'] * 1000:.0f} ms" if train else "-"
        rate = f"{BATCH / infer['seconds']:.1f}" if infer else "-"
        print(f"{label:<36}{params:>7.1f} M  {step:>11}  {rate:>9}  {peak(train):>12}  {peak(infer):>12}")
        if "gpu_mb" in (train or infer):
            print(f"{'':<36}{'':>9}  {'':>11}  {'':>9}  {peak_rss(train):>12}  {peak_rss(infer):>12}")


def peak_rss(r) -> str:
    return "-" if r is None else f"{r['rss_mb']:.0f} MB RSS"


# ----------------------------------------------------------------------------------------------- predict


def synthetic_video(path: Path, seconds: float = 10.0, fps: float = 25.0, size=(640, 480),
                    face_file: Path | None = None) -> Path:  # fmt: skip
    """A face video: 2 s rendered by antispoof.data.synth, played forwards and backwards to ``seconds``.

    ``face_file``: also write the true face boxes there, as a Replay-Attack ``.face`` annotation.
    """
    import numpy as np

    from antispoof.data.annotations import write_replay_face
    from antispoof.data.synth import render_sample
    from evm.io import VideoWriter

    frames, boxes = render_sample("bona_fide", seed=3, size=size, frames=int(2 * fps), fps=fps)
    order = np.concatenate([np.arange(len(frames)), np.arange(len(frames) - 2, 0, -1)])
    n = int(round(seconds * fps))
    with VideoWriter(path, fps, crf=20, preset="veryfast", overwrite=True) as writer:
        for i in range(n):
            writer.write(frames[order[i % len(order)]][None])
    if face_file is not None:
        write_replay_face(face_file, boxes[order[np.arange(n) % len(order)]])
    return path


def train_small_run(work: Path, device: str) -> Path:
    """A small CNN-LSTM trained for one epoch on a tiny synthetic tree (crops 112x112, T = 8)."""
    from antispoof.cache import ClipDataset, PrepareConfig, prepare
    from antispoof.data import open_dataset
    from antispoof.data.synth import generate
    from antispoof.training import train

    root = generate(work / "synth", "replay-attack", clients=3, size=(160, 120), duration=1.6, seed=0)
    config = PrepareConfig(size=112, clip_len=T, frame_step=2, clips_per_video=2)
    result = prepare(open_dataset("replay-attack", root), work / "cache", config, progress=False)
    run = work / "run"
    train(
        {"trunk": "small", "image_size": 112, "num_frames": T, "hidden_size": 64},
        ClipDataset(result.cache_dir, split="train", augment=True),
        ClipDataset(result.cache_dir, split="dev"),
        run,
        epochs=1,
        batch_size=8,
        lr=1e-3,
        lambda_cnn=1.0,
        seed=0,
        device=device,
        progress=False,
        data={"cache": str(result.cache_dir), "dataset": "replay-attack", "prepare": config.as_dict()},
    )
    return run


_PREDICT_WRAPPER = """
import atexit, sys
def _hwm():
    with open('/proc/self/status') as fh:
        for line in fh:
            if line.startswith('VmHWM:'):
                sys.stderr.write('VMHWM ' + line.split()[1] + '\\n')
atexit.register(_hwm)
from cli.antispoof_cli import main
main(sys.argv[1:])
"""


def breakdown(run: Path, video: Path, device: str) -> dict[str, float]:
    """Where the predictor's time goes, with the functions it calls."""
    import torch

    from antispoof.cache import all_clip_starts, extract_clips, read_oriented
    from antispoof.data.faces import face_track
    from antispoof.evaluation import score_clips
    from antispoof.predict import Predictor

    predictor = Predictor(run, device=device)
    cfg = predictor.prepare
    t = {}
    t0 = time.perf_counter()
    frames, fps = read_oriented(video)
    t["decode"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    boxes = face_track(frames, detector=predictor.detector, stride=cfg.detect_stride, mode=cfg.track)
    t["detect"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    starts = all_clip_starts(len(frames), fps, cfg)
    clips = extract_clips(frames, fps, boxes, starts, cfg)
    t["crop+magnify"] = time.perf_counter() - t0
    clips = clips.reshape(len(starts), cfg.clip_len, cfg.size, cfg.size, 3)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(clips), predictor.batch_size):
            batch = torch.from_numpy(clips[s : s + predictor.batch_size]).permute(0, 1, 4, 2, 3).float() / 255
            score_clips(predictor.model, batch)
    if device == "cuda":
        torch.cuda.synchronize()
    t["model"] = time.perf_counter() - t0
    t["clips"] = float(len(clips))
    t["frames"] = float(len(frames))
    return t


def run_predict(args) -> None:
    try:
        import av  # noqa: F401
    except ImportError:
        print("\npredict: skipped (PyAV is not installed: no video input/output here)")
        return
    with tempfile.TemporaryDirectory(prefix="bench-antispoof-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        video = synthetic_video(work / "face-10s-640x480.mp4")
        made = time.perf_counter() - t0
        setup = None
        run = Path(args.run) if args.run else None
        if run is None:
            t0 = time.perf_counter()
            run = train_small_run(work, args.device)
            setup = time.perf_counter() - t0
        cmd = [sys.executable, "-c", _PREDICT_WRAPPER, "predict", str(video), "--model", str(run), "--json",
               "--device", args.device]  # fmt: skip
        walls, result, hwm = [], None, None
        for _ in range(2):
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            walls.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                print(f"\npredict: failed: {proc.stderr.strip().splitlines()[-2:]}")
                return
            result = json.loads(proc.stdout)[0]
            hwm = max(hwm or 0, *(int(line.split()[1]) / 1024 for line in proc.stderr.splitlines()
                                  if line.startswith("VMHWM")))  # fmt: skip
        parts = breakdown(run, video, args.device)
        model = json.loads((run / "config.json").read_text())["model"]
    print(f"\npredict (`antispoof predict`, 10 s 640x480 25 fps video, {int(parts['frames'])} frames; "
          f"run: {model['trunk']} trunk {model['image_size'][0]}x{model['image_size'][1]}, T={model['num_frames']}, "
          f"device {args.device}):")  # fmt: skip
    print(f"  video written in {made:.1f} s" + (f"; run trained in {setup:.1f} s" if setup is not None else ""))
    print(f"  command wall time        {min(walls):7.2f} s   (best of 2 fresh processes, imports included)")
    print(f"  predictor time per video {result['seconds']:7.2f} s   ({result['clips']} clips, "
          f"p(bona fide) {result['probability']:.3f})")  # fmt: skip
    print(f"  peak RSS                 {hwm:7.0f} MB")
    print("  breakdown (this process): " + ", ".join(
        f"{k} {v:.2f} s" for k, v in parts.items() if k not in ("clips", "frames")))  # fmt: skip


# ---------------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--amp", action="store_true", help="float16 autocast (CUDA only)")
    parser.add_argument("--steps", type=int, default=0, help="timed steps per phase (default: by model/device)")
    parser.add_argument("--warmup", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--run", help="a trained run for the predict timing (default: train a small one)")
    parser.add_argument("--skip-models", action="store_true")
    parser.add_argument("--skip-predict", action="store_true")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        name, phase = args._worker.split(":")
        print(json.dumps(model_worker(name, phase, args.device, args.amp, max(1, args.steps), args.warmup)))
        return
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    print(f"machine: {machine()}")
    if not args.skip_models:
        print_model_table(run_models(args), args.device, args.amp)
    if not args.skip_predict:
        run_predict(args)


if __name__ == "__main__":
    main()
