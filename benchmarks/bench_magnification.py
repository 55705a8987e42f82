"""Where magnification helps: the cpu profile's CNN-LSTM with and without magnification, and LBP-TOP, on
generated datasets whose faces move less and less (``antispoof synth --live-motion``).

    python benchmarks/bench_magnification.py --out mag [--levels 0 0.1 1] [--data-seeds 5 6] \\
        [--clients 16] [--duration 3] [--epochs 8]
    python benchmarks/bench_magnification.py --out mag-smoke --tiny            # a smoke run (about a minute)

The cue magnification is meant to reveal is the small motion of a live face (sway, breathing, head turns,
blinks, speech) against the rigid motion of a print or a screen. ``--levels`` scales that motion in the
generator (:func:`antispoof.data.synth.generate`, ``live_motion``): 1 is the usual face, 0.1 a face whose
sway reaches 0.04-0.19 px at 160 x 120 and whose blinks close a tenth of the eye, 0 a face that does not
move at all (its pulse and the camera noise still change the pixels). The recording a replay
attack shows is scaled alike (it is a recording of such a person); the attack media's own motion (a hand
or a fixed support) is the same at every level.

For every level and data seed: one generated Replay-Attack tree, two caches of it (the cpu profile's
crops magnified with its alpha, and the same crops not magnified), the cpu profile's CNN-LSTM trained on
each (training seed 0) and LBP-TOP + SVM fitted on each; every model is evaluated on the test split at its
dev EER threshold. The table gives, per level and model, the test HTER and AUC of every data seed, their
mean and sample standard deviation. Everything lives under ``--out`` (``live-L/data``,
``live-L/{magnified,plain}/{cache,runs,lbptop}``) and a rerun skips what is complete, as
``bench_seeds.py`` does: the stages are its functions.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_seeds as seeds  # noqa: E402

from antispoof.jsonio import read_json, write_json  # noqa: E402
from antispoof.limits import MAX_EPOCHS, MAX_LIVE_MOTION, MAX_WORKERS  # noqa: E402

FORMAT = 1
VARIANTS = ("magnified", "plain")
MODELS = ("CNN-LSTM", "LBP-TOP")


def _level(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= MAX_LIVE_MOTION:  # also refuses nan
        raise ValueError(text)
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; raises :class:`bench_seeds.BenchError` on a bad flag."""
    p = seeds._Parser(prog="bench_magnification", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="Folder of the datasets, caches, models and results.")
    p.add_argument("--levels", type=_level, nargs="+", default=[0.0, 0.1, 1.0], help="live_motion values.")
    p.add_argument("--data-seeds", type=seeds._seed, nargs="+", default=[5, 6], help="antispoof synth --seed")
    p.add_argument("--clients", type=seeds._positive(int, 1000), default=16, help="Subjects per dataset.")
    p.add_argument("--duration", type=seeds._positive(float, 3600.0), default=3.0, help="Seconds per video.")
    p.add_argument("--epochs", type=seeds._positive(int, MAX_EPOCHS), default=8, help="CNN-LSTM epochs.")
    p.add_argument("--workers", type=seeds._positive(int, MAX_WORKERS), default=2, help="Processes.")
    p.add_argument("--tiny", action="store_true", help="Tiny sizes and 1 epoch: a smoke run of the pipeline.")
    p.add_argument("-v", "--verbose", action="store_true", help="Progress bars of prepare and train.")
    args = p.parse_args(argv)
    for name in ("levels", "data_seeds"):
        values = getattr(args, name)
        if len(set(values)) != len(values):
            raise seeds.BenchError(f"--{name.replace('_', '-')}: a value is given twice: {values}")
    if args.clients < 3:
        raise seeds.BenchError(f"--clients: 3 at least (one per split), got {args.clients}")
    return args


def settings_for(args: argparse.Namespace, level: float, variant: str) -> dict[str, Any]:
    """bench_seeds' settings (the cpu profile, or the tiny preset) at this level, magnified or not."""
    s = copy.deepcopy(seeds.TINY if args.tiny else seeds.RECIPE)
    if not args.tiny:
        s["clients"], s["duration"] = args.clients, args.duration
        s["train"]["epochs"] = s["train"]["patience"] = args.epochs
    s["live_motion"] = level
    if variant == "plain":
        s["prepare"]["alpha"] = None
    return s


def make_lbptop(folder: Path, seed: int, cache: dict, log: Callable[[str], None]) -> dict:
    """LBP-TOP + SVM on the cache's training clips, threshold at the dev EER, metrics on the test split;
    stored once in ``folder/lbptop/dD.json``."""
    from antispoof import metrics
    from antispoof.baselines import LBPTOPSVM
    from antispoof.cache import ClipDataset, open_cache, protocol_ids
    from antispoof.evaluation import score_report

    marker = folder / "lbptop" / f"d{seed}.json"
    if marker.is_file():
        stored = read_json(marker, "benchmark result")
        if stored.get("cache") == cache["settings"]:
            return stored
        raise seeds.BenchError(f"{marker}: written with other settings (use another --out)")
    started = time.perf_counter()
    cache_dir, index = open_cache(folder / cache["cache_dir"])
    ids = protocol_ids(index, None)

    def inputs(split):
        ds = ClipDataset(cache_dir, ids[split])
        clips = (ds.clip_array(i) for i in range(len(ds)))
        return ds, clips, [ds.rows[i]["video_id"] for i, _ in ds.items]

    model = LBPTOPSVM(random_state=seed)
    train_ds, clips, vids = inputs("train")
    model.fit(clips, train_ds.labels, vids)
    scored = {}
    for split in ("dev", "test"):
        ds, clips, vids = inputs(split)
        videos, scores = model.score_videos(clips, vids)
        label = {r["video_id"]: int(r["label"]) for r in ds.rows}
        scored[split] = (videos, np.asarray(scores), np.array([label[v] for v in videos]), ds)
    _, dev_scores, dev_labels, _ = scored["dev"]
    dev_eer, threshold = metrics.eer(*metrics.split_by_label(dev_scores, dev_labels))
    videos, scores, labels, test_ds = scored["test"]
    types = [test_ds.attack_types[v] for v in videos]
    test = score_report(videos, scores, labels, threshold, types)["test"]
    stored = {"format": FORMAT, "cache": cache["settings"], "metrics": {k: test[k] for k in seeds.FIGURES},
              "apcer_per_attack_type": test["apcer_per_attack_type"], "threshold": float(threshold),
              "dev_eer": float(dev_eer), "seconds": time.perf_counter() - started}  # fmt: skip
    marker.parent.mkdir(parents=True, exist_ok=True)
    write_json(marker, stored)
    log(f"[{folder.name} data {seed}] LBP-TOP: test HTER {100 * test['hter']:.2f}%, AUC {test['auc']:.3f}")
    return stored


def run_benchmark(args: argparse.Namespace, log: Callable[[str], None]) -> tuple[list[dict], str]:
    """Every stage of every level, data seed, variant and model (skipping what is complete); rows, table."""
    rows = []
    for level in args.levels:
        base = args.out / f"live-{level:g}"
        for data_seed in args.data_seeds:
            data = seeds.make_dataset(base, data_seed, settings_for(args, level, "plain"), args.workers, log)
            for variant in VARIANTS:
                s = settings_for(args, level, variant)
                folder = base / variant
                cache = seeds.make_cache(folder, data_seed, s, args.workers, args.verbose, log, data=base / "data")
                run = seeds.make_run(folder, data_seed, 0, s, cache, args.verbose, log)
                lbp = make_lbptop(folder, data_seed, cache, log)
                for model, result in zip(MODELS, (run, lbp), strict=True):
                    rows.append({"level": level, "data_seed": data_seed, "variant": variant, "model": model,
                                 **{k: float(result["metrics"][k]) for k in seeds.FIGURES},
                                 "apcer": result["apcer_per_attack_type"],
                                 "generate_seconds": data["seconds"]})  # fmt: skip
    text = table(rows)
    write_json(args.out / "table.json", {"format": FORMAT, "rows": rows})
    (args.out / "table.md").write_text(text + "\n")
    return rows, text


def table(rows: Sequence[dict]) -> str:
    """Markdown: per level and model (``^M``: on magnified crops) the test HTER of every data seed, then
    mean +- sample sd (ddof=1) of the HTER and the mean AUC."""
    data_seeds = sorted({r["data_seed"] for r in rows})
    head = "| live motion | model | " + " | ".join(f"HTER % seed {d}" for d in data_seeds)
    lines = [head + " | HTER % mean ± sd | AUC mean |", "|---|---|" + "---|" * (len(data_seeds) + 2)]
    for level in sorted({r["level"] for r in rows}, reverse=True):
        for model in MODELS:
            for variant in VARIANTS:
                cell = [r for r in rows if (r["level"], r["model"], r["variant"]) == (level, model, variant)]
                if not cell:
                    continue
                by_seed = {r["data_seed"]: r for r in cell}
                hter = np.array([100 * r["hter"] for r in cell])
                sd = float(np.std(hter, ddof=1)) if hter.size > 1 else 0.0
                name = model + ("^M" if variant == "magnified" else "")
                values = " | ".join(f"{100 * by_seed[d]['hter']:.2f}" if d in by_seed else "" for d in data_seeds)
                auc = np.mean([r["auc"] for r in cell])
                lines.append(f"| {level:g} | {name} | {values} | {hter.mean():.2f} ± {sd:.2f} | {auc:.4f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, run the benchmark, print the table; one-line errors (exit 2 flags, 1 otherwise)."""
    return seeds.run_main("bench_magnification", parse_args, run_benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
