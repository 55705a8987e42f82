"""Accuracy across generated datasets: the cpu profile on several ``antispoof synth`` seeds.

    python benchmarks/bench_seeds.py --out seeds [--data-seeds 47 59 71 83 97] [--train-seeds 0]
    python benchmarks/bench_seeds.py --out seeds-smoke --tiny          # a smoke run (under a minute)

For every data seed, generates a Replay-Attack-layout tree (:func:`antispoof.data.synth.generate`, 34
clients, 4 s per video: everything but the seed as in docs/training.md, "A CPU run on generated data"),
prepares its clip cache with the cpu profile's settings (:data:`antispoof.profiles.CPU`), and for every
training seed trains the profile's CNN-LSTM on it and evaluates it on its test split at the dev threshold.
Data seeds 11, 23 and 31 chose the profile's settings: report on others. Prints a Markdown table: per run
the test HTER, EER, AUC, APCER per attack type, the share of bona fide test videos still accepted with
their middle frame held (the report's still check) and the seconds of each stage (training: the sum of its
epochs' times, over every invocation that ran some); then the mean and the sample standard deviation
(ddof=1) over the runs, and the total time.

Everything lives under ``--out`` and a rerun skips what is complete: ``data/seed-D/`` (a tree, done when
``data/seed-D.json`` exists), ``cache/seed-D/`` (the resumable :func:`antispoof.prepare` cache, done when
``cache/seed-D.json`` exists), ``runs/dD-tT/run`` (a training, resumed where it stopped) and
``runs/dD-tT/result.json`` (the evaluation's figures: the table is rebuilt from these files). A folder
written with other settings is refused, not overwritten.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from antispoof.jsonio import read_json, write_json  # noqa: E402
from antispoof.limits import MAX_EPOCHS, MAX_SEED, MAX_WORKERS  # noqa: E402
from antispoof.profiles import CPU  # noqa: E402

FORMAT = 1
LAYOUT = "replay-attack"

#: The settings measured: the generated dataset of docs/training.md, "A CPU run on generated data", prepared
#: and trained with the cpu profile (what ``antispoof prepare`` and ``antispoof train`` do without options on
#: a machine without a GPU).
RECIPE: dict[str, Any] = {
    "clients": 34,
    "duration": 4.0,
    "frame_size": [160, 120],
    "live_motion": 1.0,
    "prepare": dict(CPU.prepare),
    "model": {k: list(v) if isinstance(v, tuple) else v for k, v in CPU.model.items()},
    "train": dict(CPU.train),
}

#: ``--tiny``: the same pipeline at a size that runs in seconds (checks the script, not the model).
TINY: dict[str, Any] = {
    "clients": 3,
    "duration": 1.0,
    "frame_size": [64, 48],
    "live_motion": 1.0,
    "prepare": {"size": 16, "clip_len": 4, "frame_step": 2, "clips_per_video": 1, "warmup": 0.5, "alpha": 20.0},
    "model": {"trunk": "small", "trunk_channels": [4, 8], "temporal_delta": True, "hidden_size": 8, "motion_stream": 2},
    "train": {
        "epochs": 1,
        "batch_size": 8,
        "lr": 1e-3,
        "lr_schedule": "cosine",
        "patience": 1,
        "still_prob": 0.5,
        "still_noise": 0.01,
    },
}

#: Per-run figures, in table order (fractions; AUC is not a rate).
FIGURES = ("hter", "eer", "auc")
STAGES = ("generate", "prepare", "train", "evaluate")


class BenchError(Exception):
    """A user error or a folder that does not fit the settings: reported as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump)."""

    def error(self, message: str):
        """Raise the message as a :class:`BenchError` instead of printing usage and exiting."""
        raise BenchError(message)


def _seed(text: str) -> int:
    """A seed of ``antispoof synth`` / ``antispoof train`` (0 to ``MAX_SEED``)."""
    value = int(text)
    if not 0 <= value <= MAX_SEED:
        raise ValueError(text)
    return value


def _positive(kind: type, maximum: float) -> Callable[[str], Any]:
    """An argparse type: a finite ``kind`` in (0, ``maximum``]."""

    def convert(text: str):
        value = kind(text)
        if not (0 < value <= maximum) or (kind is float and not math.isfinite(value)):
            raise ValueError(text)
        return value

    convert.__name__ = f"positive {kind.__name__}"
    return convert


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; raises :class:`BenchError` on a bad flag."""
    p = _Parser(prog="bench_seeds", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="Folder of the datasets, caches, runs and results.")
    p.add_argument("--data-seeds", type=_seed, nargs="+", default=[47, 59, 71, 83, 97], help="antispoof synth --seed")
    p.add_argument("--train-seeds", type=_seed, nargs="+", default=[0], help="antispoof train --seed")
    p.add_argument("--clients", type=_positive(int, 1000), help="Subjects per dataset (default: 34; 3 at least).")
    p.add_argument("--duration", type=_positive(float, 3600.0), help="Seconds per video (default: 4).")
    p.add_argument("--epochs", type=_positive(int, MAX_EPOCHS), help="Training epochs (default: 16).")
    p.add_argument("--workers", type=_positive(int, MAX_WORKERS), default=2, help="Processes (generate, prepare).")
    p.add_argument("--threads", type=_positive(int, 1024), help="torch intra-op threads (default: torch's).")
    p.add_argument("--tiny", action="store_true", help="Tiny sizes and 1 epoch: a smoke run of the pipeline.")
    p.add_argument("-v", "--verbose", action="store_true", help="Progress bars of prepare and train.")
    args = p.parse_args(argv)
    for name in ("data_seeds", "train_seeds"):
        seeds = getattr(args, name)
        if len(set(seeds)) != len(seeds):
            raise BenchError(f"--{name.replace('_', '-')}: a seed is given twice: {seeds}")
    if args.clients is not None and args.clients < 3:
        raise BenchError(f"--clients: 3 at least (one per split), got {args.clients}")
    return args


def settings_from(args: argparse.Namespace) -> dict[str, Any]:
    """The cpu profile's settings (or the tiny preset) with the flags' overrides; JSON-ready, stored with
    every result."""
    base = TINY if args.tiny else RECIPE
    s = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    if args.clients is not None:
        s["clients"] = args.clients
    if args.duration is not None:
        s["duration"] = args.duration
    if args.epochs is not None:
        s["train"]["epochs"] = args.epochs
        s["train"]["patience"] = args.epochs
    return s


# --------------------------------------------------------------------------------------------- stages


def _marker(path: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The stored marker at ``path`` if it records ``wanted`` settings; None if absent; refuses others."""
    if not path.is_file():
        return None
    stored = read_json(path, "benchmark marker")
    if stored.get("settings") != wanted:
        raise BenchError(f"{path}: written with other settings (use another --out, or delete that folder)")
    return stored


def make_dataset(out: Path, seed: int, s: dict[str, Any], workers: int, log: Callable[[str], None]) -> dict:
    """Generate the tree of data seed ``seed`` once; returns its marker (``root``, ``seconds``)."""
    from antispoof.data.synth import generate

    wanted = {"layout": LAYOUT, "seed": seed, "clients": s["clients"], "duration": s["duration"],
              "size": s["frame_size"], "live_motion": s["live_motion"]}  # fmt: skip
    marker = out / "data" / f"seed-{seed}.json"
    stored = _marker(marker, wanted)
    if stored is not None:
        log(f"[data {seed}] generate: done earlier ({stored['seconds']:.0f} s)")
        return stored
    root = out / "data" / f"seed-{seed}"
    log(f"[data {seed}] generate: {s['clients']} clients, {s['duration']:g} s per video in {root}")
    started = time.perf_counter()
    # an interrupted generation left no marker: write the tree again over whatever it left
    generate(root, LAYOUT, clients=s["clients"], seed=seed, size=tuple(s["frame_size"]), duration=s["duration"],
             overwrite=True, workers=workers, live_motion=s["live_motion"])  # fmt: skip
    stored = {"format": FORMAT, "settings": wanted, "root": root.name, "seconds": time.perf_counter() - started}
    write_json(marker, stored)
    log(f"[data {seed}] generate: {stored['seconds']:.1f} s")
    return stored


def prepare_config(s: dict[str, Any]):
    """The :class:`antispoof.PrepareConfig` of the settings (magnification: the defaults but alpha; an
    alpha of None: crops only)."""
    from antispoof import PrepareConfig
    from evm.presets import MagnifyParams

    p = dict(s["prepare"])
    alpha = p.pop("alpha")
    return PrepareConfig(**p, magnify=None if alpha is None else MagnifyParams(alpha=alpha))


def make_cache(
    out: Path, seed: int, s: dict[str, Any], workers: int, verbose: bool, log, data: Path | None = None
) -> dict:
    """Prepare (or finish preparing) the cache of data seed ``seed`` (its tree in ``data``, default
    ``out/data``); returns its marker (``cache_dir``)."""
    from antispoof import open_dataset, prepare

    config = prepare_config(s)
    wanted = config.as_dict()
    marker = out / "cache" / f"seed-{seed}.json"
    stored = _marker(marker, wanted)
    if stored is not None:
        log(f"[data {seed}] prepare: done earlier ({stored['seconds']:.0f} s)")
        return stored
    log(f"[data {seed}] prepare: {config.size} px crops, {config.clips_per_video} clips per video")
    ds = open_dataset(LAYOUT, (out / "data" if data is None else data) / f"seed-{seed}")
    result = prepare(ds, out / "cache" / f"seed-{seed}", config, workers=workers, progress=verbose)
    if result.failed:
        key, error = result.failures[0]
        raise BenchError(f"[data {seed}] prepare: {result.failed} videos failed, e.g. {key}: {error}")
    stored = {"format": FORMAT, "settings": wanted, "cache_dir": str(result.cache_dir.relative_to(out)),
              "seconds": result.seconds, "videos": result.total}  # fmt: skip
    write_json(marker, stored)
    log(f"[data {seed}] prepare: {result.total} videos ({result.skipped} done earlier) in {result.seconds:.1f} s")
    return stored


def make_run(out: Path, data_seed: int, train_seed: int, s: dict[str, Any], cache: dict, verbose: bool, log) -> dict:
    """Train (resuming) and evaluate one run; returns its result (``metrics``, ``seconds``), stored once."""
    from antispoof import ClipDataset, RunDir, TrainConfig, evaluate, train
    from antispoof.cache import open_cache, protocol_ids

    folder = out / "runs" / f"d{data_seed}-t{train_seed}"
    spec = {"data_seed": data_seed, "train_seed": train_seed, "prepare": cache["settings"], "model": s["model"],
            "train": s["train"]}  # fmt: skip
    stored = _marker(folder / "result.json", spec)
    tag = f"[data {data_seed} train {train_seed}]"
    if stored is not None:
        log(f"{tag} done earlier: test HTER {100 * stored['metrics']['hter']:.2f}%")
        return stored
    cache_dir, index = open_cache(out / cache["cache_dir"])
    ids = protocol_ids(index, None)
    prep = prepare_config(s)
    model = {**s["model"], "image_size": prep.size, "num_frames": prep.clip_len}
    train_ds = ClipDataset(cache_dir, ids["train"], augment=True, seed=train_seed)
    dev_ds = ClipDataset(cache_dir, ids["dev"])
    log(f"{tag} train: {len(ids['train'])} train, {len(ids['dev'])} dev videos, {s['train']['epochs']} epochs")
    started = time.perf_counter()
    # resume=True: a run stopped mid-training continues from its last epoch (a fresh folder starts anew)
    config = TrainConfig(**s["train"], seed=train_seed, progress=verbose)
    data = {"cache": str(cache_dir.resolve()), "dataset": index["dataset"], "prepare": index["config"]}
    run_dir = train(model, train_ds, dev_ds, folder / "run", config, resume=True, data=data)
    wall = time.perf_counter() - started
    # the training's time is its epochs' (with the dev scoring), over every invocation that ran some of them
    train_seconds = sum(e["epoch_seconds"] for e in RunDir(run_dir).read_metrics(required=("epoch_seconds",)))
    log(f"{tag} train: {train_seconds:.1f} s of epochs ({wall:.1f} s now); evaluate on {len(ids['test'])} test videos")
    started = time.perf_counter()
    test_ds = ClipDataset(cache_dir, ids["test"])
    report = evaluate(run_dir, test_ds, attack_types=test_ds.attack_types, batch_size=s["train"]["batch_size"])
    test, still = report["test"], report["still_check"] or {}
    stored = {
        "format": FORMAT,
        "settings": spec,
        "metrics": {k: test[k] for k in FIGURES},
        "apcer_per_attack_type": dict(test.get("apcer_per_attack_type", {})),
        "still_accepted": still.get("held_accepted"),
        "threshold": report["threshold"]["value"],
        "dev_eer": report["threshold"].get("dev_eer"),
        "seconds": {"train": train_seconds, "evaluate": time.perf_counter() - started},
        "train_wall_seconds_last_call": wall,
    }
    write_json(folder / "result.json", stored)  # last: its presence means the run is complete
    log(f"{tag} test HTER {100 * test['hter']:.2f}%, EER {100 * test['eer']:.2f}%, AUC {test['auc']:.3f}")
    return stored


# --------------------------------------------------------------------------------------------- table


def row_of(data_seed: int, train_seed: int, data: dict, cache: dict, result: dict) -> dict[str, Any]:
    """One table row: the run's figures (fractions), APCER per type, still check and stage seconds."""
    return {
        "data_seed": data_seed,
        "train_seed": train_seed,
        **{k: float(result["metrics"][k]) for k in FIGURES},
        "apcer": {t: float(v) for t, v in result["apcer_per_attack_type"].items()},
        "still_accepted": float("nan") if result["still_accepted"] is None else float(result["still_accepted"]),
        "seconds": {"generate": data["seconds"], "prepare": cache["seconds"], **result["seconds"]},
    }


def columns(rows: Sequence[dict]) -> list[tuple[str, Callable[[dict], float], str]]:
    """(header, value of a row, format) of every numeric column of the table."""
    types = sorted({t for r in rows for t in r["apcer"]})
    pct = "{:.2f}"
    cols = [("HTER %", lambda r: 100 * r["hter"], pct), ("EER %", lambda r: 100 * r["eer"], pct),
            ("AUC", lambda r: r["auc"], "{:.4f}")]  # fmt: skip
    cols += [(f"APCER {t} %", lambda r, t=t: 100 * r["apcer"].get(t, float("nan")), pct) for t in types]
    cols.append(("still accepted %", lambda r: 100 * r["still_accepted"], "{:.1f}"))
    cols += [(f"{stage} s", lambda r, stage=stage: r["seconds"][stage], "{:.1f}") for stage in STAGES]
    return cols


def summary(rows: Sequence[dict]) -> dict[str, tuple[float, float]]:
    """Mean and sample standard deviation (ddof=1; 0 for a single run) of every column, by header."""
    out = {}
    for header, value, _ in columns(rows):
        values = np.array([value(r) for r in rows], dtype=float)
        sd = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
        out[header] = (float(np.mean(values)), sd)
    return out


def table(rows: Sequence[dict], total_seconds: float) -> str:
    """The Markdown table: one row per run, then mean and sd, then the total time."""
    cols = columns(rows)
    lines = ["| data seed | train seed | " + " | ".join(h for h, _, _ in cols) + " |",
             "|---|---|" + "---|" * len(cols)]  # fmt: skip
    for r in rows:
        cells = [fmt.format(value(r)) for _, value, fmt in cols]
        lines.append(f"| {r['data_seed']} | {r['train_seed']} | " + " | ".join(cells) + " |")
    stats = summary(rows)
    for i, name in enumerate(("mean", "sd")):
        cells = [fmt.format(stats[h][i]) for h, _, fmt in cols]
        lines.append(f"| {name} | | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"{len(rows)} runs; total {total_seconds:.0f} s ({total_seconds / 60:.1f} min) of stage time")
    return "\n".join(lines)


def run_benchmark(args: argparse.Namespace, log: Callable[[str], None]) -> tuple[list[dict], str]:
    """Every stage of every data seed and training seed (skipping what is complete); the rows and the table."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    s = settings_from(args)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for data_seed in args.data_seeds:
        data = make_dataset(out, data_seed, s, args.workers, log)
        cache = make_cache(out, data_seed, s, args.workers, args.verbose, log)
        for train_seed in args.train_seeds:
            result = make_run(out, data_seed, train_seed, s, cache, args.verbose, log)
            rows.append(row_of(data_seed, train_seed, data, cache, result))
    # each dataset and cache counted once, each run once
    per_data = {r["data_seed"]: r["seconds"]["generate"] + r["seconds"]["prepare"] for r in rows}
    total = sum(per_data.values()) + sum(r["seconds"]["train"] + r["seconds"]["evaluate"] for r in rows)
    text = table(rows, total)
    write_json(out / "table.json", {"format": FORMAT, "settings": s, "rows": rows, "total_seconds": total})
    (out / "table.md").write_text(text + "\n")
    return rows, text


def run_main(prog: str, parse: Callable, run: Callable, argv: Sequence[str] | None) -> int:
    """A benchmark's command line: ``parse(argv)``, ``run(args, log)`` -> (rows, table), print the table;
    one-line errors ``PROG: error: ...`` (exit 2 for flags, 1 otherwise). Shared with bench_magnification."""

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        args = parse(argv)
    except BenchError as exc:
        log(f"{prog}: error: {exc}")
        return 2
    started = time.perf_counter()
    try:
        _, text = run(args, log)
    except (BenchError, ValueError, OSError) as exc:
        log(f"{prog}: error: {' '.join(str(exc).split())}")
        return 1
    print(text)
    log(f"wall time of this invocation: {time.perf_counter() - started:.1f} s; tables in {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, run the benchmark, print the table; one-line errors (exit 2 flags, 1 otherwise)."""
    return run_main("bench_seeds", parse_args, run_benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
