""":func:`run_experiment`: opens the datasets, prepares the caches, trains and evaluates every cell, resumably."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evm.io import atomic_write

from .. import __version__, metrics
from ..cache import cache_key
from ..jsonio import CorruptJSONError, read_json, write_json
from .cells import Cell, plan_cells
from .config import (
    _BASELINE_RUNTIME,
    _TRAIN_RUNTIME,
    StudyConfig,
    _check_magnify,
    train_config,
)
from .methods import (
    ConfigError,
    Method,
)
from .tables import build_tables, table_csv, table_markdown

FORMAT = 1
RESULT_FILE = "result.json"
RUN_DONE_FILE = "done.json"


# ------------------------------------------------------------------------------------------------ runner


def _log_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Study:
    """State of one invocation: opened datasets, prepared caches, finished trainings."""

    def __init__(self, config: StudyConfig, out: Path, log: Callable[[str], None], progress: bool, device: str | None):
        self.config = config
        self.out = out
        self.log = log
        self.progress = progress
        self.device = device or config.train["device"]
        self.cache_root = config.cache or out / "cache"
        self._datasets: dict[str, Any] = {}
        self.caches: dict[str, dict] = {}  # "<dataset>/<magnified|plain>" -> info
        self._cache_dirs: dict[tuple[str, bool], Path] = {}
        self._runs: dict[str, dict] = {}
        self.history: list[dict] = []  # earlier invocations on this folder (from experiment.json)
        self._needed: dict[tuple[str, bool], list] = {}  # (dataset, magnified) -> records the cells use

    # -- datasets and caches -----------------------------------------------------------------------

    def dataset(self, name: str):
        if name not in self._datasets:
            from ..data import open_dataset

            ds = open_dataset(name, self.config.datasets[name])
            if ds.problems:
                self.log(
                    f"warning: {name} at {ds.root}: {len(ds.problems)} problem(s), e.g. {ds.problems[0]} "
                    "(`antispoof index` lists them)"
                )
            self._datasets[name] = ds
        return self._datasets[name]

    def check_protocols(self, cells: Sequence[Cell]) -> None:
        """Open every dataset and build every protocol once: a typo fails now, not after hours."""
        from ..data import cross_protocol

        for ref in {c.train for c in cells} | {c.test for c in cells}:
            ds = self.dataset(ref.dataset)
            if ref.protocol not in ds.protocols:
                raise ConfigError(
                    f"{ref.key}: {ref.dataset} has no protocol {ref.protocol!r}; known: {', '.join(ds.protocols)}"
                )
            ds.protocol(ref.protocol)
        for a, b in {(c.train, c.test) for c in cells if c.kind == "cross"}:
            cross_protocol(
                self.dataset(a.dataset), self.dataset(b.dataset), train_protocol=a.protocol, test_protocol=b.protocol
            )
        from ..cache import first_video_fps

        for name in sorted({r.dataset for c in cells if c.method.magnify for r in (c.train, c.test)}):
            fps = first_video_fps(self.dataset(name))
            if fps:
                _check_magnify(self.config.prepare, fps, f"prepare.magnify (at {name}'s {fps:g} fps)")

    def plan_records(self, cells: Sequence[Cell]) -> None:
        """Which videos each cache needs: only the splits the cells use (a study of one light condition
        does not prepare the other). A later study that needs more completes the same cache."""
        needed: dict[tuple[str, bool], dict[str, Any]] = {}
        for cell in cells:
            fit = self.dataset(cell.train.dataset).protocol(cell.train.protocol)
            test = self.dataset(cell.test.dataset).protocol(cell.test.protocol)
            for ref, records in ((cell.train, fit["train"] + fit["dev"]), (cell.test, test["test"])):
                bucket = needed.setdefault((ref.dataset, cell.method.magnify), {})
                bucket.update((r.video_id, r) for r in records)
        self._needed = {key: [bucket[v] for v in sorted(bucket)] for key, bucket in needed.items()}

    def check_stored(self, cells: Sequence[Cell]) -> None:
        """Compare every stored cell and training with the current settings before any work is done."""
        for cell in cells:
            for folder, marker, spec in (
                (self.out / "cells" / cell.id, RESULT_FILE, self.cell_spec),
                (self.out / "runs" / cell.run_id, RUN_DONE_FILE, self.run_spec),
            ):
                if (folder / marker).is_file():
                    _check_same(_read_json(folder / marker).get("spec"), spec(cell), folder)

    def cache_key(self, dataset: str, magnify: bool) -> str:
        ds = self.dataset(dataset)
        name = ds.records[0].dataset  # as prepare() computes it
        return cache_key(name, str(ds.root), self.config.prepare_config(magnify), self.config.detector)

    def cache(self, dataset: str, magnify: bool) -> Path:
        """The prepared cache folder (prepared, or completed, on first use in this invocation)."""
        from ..cache import prepare

        if (dataset, magnify) in self._cache_dirs:
            return self._cache_dirs[(dataset, magnify)]
        variant = "magnified" if magnify else "plain"
        started = time.perf_counter()
        result = prepare(
            self.dataset(dataset),
            self.cache_root,
            self.config.prepare_config(magnify),
            records=self._needed.get((dataset, magnify)),
            detector=self.config.detector,
            workers=self.config.workers,
            progress=self.progress,
        )
        seconds = time.perf_counter() - started
        self.log(
            f"cache {dataset} ({variant}): {result.done} prepared, {result.skipped} already done, "
            f"{result.failed} failed of {result.total} in {seconds:.1f} s -> {result.cache_dir}"
        )
        if result.failed:
            key, error = result.failures[0]
            self.log(
                f"warning: {result.failed} video(s) of {dataset} could not be prepared and are left out, "
                f"e.g. {key}: {error}"
            )
        self.caches[f"{dataset}/{variant}"] = {
            "dataset": dataset,
            "magnified": magnify,
            "key": result.cache_dir.name,
            "dir": str(result.cache_dir),
            "videos": result.total,
            "prepared_now": result.done,
            "already_done": result.skipped,
            "failed": result.failed,
            "failures": [list(f) for f in result.failures[:20]],
            "bytes": result.bytes,
            "seconds": seconds,
        }
        self._cache_dirs[(dataset, magnify)] = result.cache_dir
        return result.cache_dir

    def cache_summary(self, cells: Sequence[Cell]) -> dict[str, dict]:
        """Every cache the cells use: key and folder, with the preparation facts of this invocation."""
        out = {}
        for dataset, magnify in sorted({(r.dataset, c.method.magnify) for c in cells for r in (c.train, c.test)}):
            variant = "magnified" if magnify else "plain"
            key = self.cache_key(dataset, magnify)
            info = {"dataset": dataset, "magnified": magnify, "key": key, "dir": str(self.cache_root / key)}
            out[f"{dataset}/{variant}"] = {**info, **self.caches.get(f"{dataset}/{variant}", {"prepared_now": 0})}
        return out

    def split_ids(self, cell: Cell) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Video ids per split of the cell's protocol (train/dev from ``train``, test from ``test``), and
        the ids of each split that are absent from its cache (failed preparation)."""
        from ..data import cross_protocol

        if cell.kind == "intra":
            splits = self.dataset(cell.train.dataset).protocol(cell.train.protocol)
        else:
            splits = cross_protocol(
                self.dataset(cell.train.dataset),
                self.dataset(cell.test.dataset),
                train_protocol=cell.train.protocol,
                test_protocol=cell.test.protocol,
            )
        ids, missing = {}, {}
        for split, records in splits.items():
            ref = cell.test if split == "test" else cell.train
            have = self._cached_ids(ref.dataset, cell.method.magnify)
            ids[split] = [r.video_id for r in records if r.video_id in have]
            missing[split] = [r.video_id for r in records if r.video_id not in have]
            if not ids[split]:
                raise ValueError(f"{cell.describe()}: no prepared video in the {split} split of {ref.key}")
        return ids, missing

    def _cached_ids(self, dataset: str, magnify: bool) -> set[str]:
        from ..cache import open_cache

        _, index = open_cache(self.cache(dataset, magnify))
        return {row["video_id"] for row in index["videos"]}

    # -- settings that identify a result ------------------------------------------------------------

    def run_spec(self, cell: Cell) -> dict:
        """Everything the training of ``cell`` depends on (stored in its done marker and compared on resume)."""
        m = cell.method
        spec: dict[str, Any] = {
            "method": m.name,
            "train_protocol": {"dataset": cell.train.dataset, "protocol": cell.train.protocol},
            "seed": cell.seed,
            "cache": self.cache_key(cell.train.dataset, m.magnify),
            "prepare": self.config.prepare_config(m.magnify).as_dict(),
        }
        if m.neural:
            spec["model"] = self.model_config(cell)
            spec["train"] = {k: v for k, v in self.config.train.items() if k not in _TRAIN_RUNTIME}
        else:
            spec["baseline"] = self.baseline_settings(m, cell.seed)
        return spec

    def cell_spec(self, cell: Cell) -> dict:
        return {
            "run": self.run_spec(cell),
            "test_protocol": {"dataset": cell.test.dataset, "protocol": cell.test.protocol},
            "test_cache": self.cache_key(cell.test.dataset, cell.method.magnify),
        }

    def model_config(self, cell: Cell) -> dict:
        prep = self.config.prepare
        model = {
            **self.config.model,
            "architecture": "frame_cnn" if cell.method.family == "CNN" else "cnn_lstm",
            "attention": cell.method.attention,
            "image_size": [prep.size, prep.size],
            "num_frames": prep.clip_len,
        }
        if model["architecture"] == "frame_cnn":
            from ..models.cnn_lstm import CNN_LSTM_ONLY

            for key in CNN_LSTM_ONLY:  # options of the LSTM's input and output: the frame CNN has neither
                model.pop(key, None)
        return model

    def baseline_settings(self, method: Method, seed: int) -> dict:
        settings = {k: v for k, v in self.config.baselines.items() if k not in _BASELINE_RUNTIME}
        if method.family != "LBP":
            settings.pop("train_frame_step")  # LBP-TOP has one feature per clip, the pulse one per video
        return {**settings, "random_state": seed}

    # -- trainings ------------------------------------------------------------------------------------

    def training(self, cell: Cell, ids: Mapping[str, list[str]]) -> tuple[dict, bool]:
        """Train (or find) the model of ``cell``; returns its summary and whether it was trained by this call."""
        if cell.run_id in self._runs:
            return self._runs[cell.run_id], False
        run_dir = self.out / "runs" / cell.run_id
        spec = self.run_spec(cell)
        marker = run_dir / RUN_DONE_FILE
        if marker.is_file():
            stored = _read_json(marker)
            _check_same(stored.get("spec"), spec, run_dir)
            summary, trained = stored["summary"], False
        else:
            started = time.perf_counter()
            cache = self.cache(cell.train.dataset, cell.method.magnify)
            if cell.method.neural:
                summary = self._train_neural(cell, cache, ids, run_dir)
            else:
                summary = self._train_baseline(cell, cache, ids, run_dir)
            summary.update(
                run_dir=str(run_dir.relative_to(self.out)),
                train_videos=len(ids["train"]),
                dev_videos=len(ids["dev"]),
                seconds=time.perf_counter() - started,
            )
            _write_json(marker, {"format": FORMAT, "spec": spec, "summary": summary})
            trained = True
        self._runs[cell.run_id] = summary
        return summary, trained

    def _train_neural(self, cell: Cell, cache: Path, ids: Mapping[str, list[str]], run_dir: Path) -> dict:
        from .. import training
        from ..cache import ClipDataset
        from ..rundir import RunDir

        t = self.config.train
        model = self.model_config(cell)
        pulse = bool(model.get("pulse_features", False))
        train_ds = ClipDataset(cache, ids["train"], augment=t["augment"], seed=cell.seed, pulse=pulse)
        dev_ds = ClipDataset(cache, ids["dev"], pulse=pulse)
        data = {
            "method": cell.method.name,
            "dataset": cell.train.dataset,
            "protocol": cell.train.protocol,
            "cache": cache.name,
            "prepare": self.config.prepare_config(cell.method.magnify).as_dict(),
        }
        settings = train_config(
            t,
            seed=cell.seed,
            device=self.device,
            progress=self.progress,
            # held frames are a motion cue: only for the LSTM (the plain CNN cannot use them)
            still_prob=t["still_prob"] if model["architecture"] == "cnn_lstm" else 0.0,
        )
        # resume: a run killed mid-training continues from its last epoch
        training.train(model, train_ds, dev_ds, run_dir, settings, resume=True, data=data)
        run = RunDir(run_dir)
        threshold = run.read_threshold()
        epochs = run.read_metrics(required=("epoch", "dev_eer"))
        return {
            "kind": "neural",
            "threshold": float(threshold["threshold"]),
            "dev_eer": float(threshold["dev_eer"]),
            "best_epoch": threshold["epoch"],
            "epochs_run": len(epochs),
            "dev_eer_per_epoch": [e["dev_eer"] for e in epochs],
            "train_loss_per_epoch": [e["train_loss"] for e in epochs],
        }

    def _train_baseline(self, cell: Cell, cache: Path, ids: Mapping[str, list[str]], run_dir: Path) -> dict:
        from ..baselines import LBPSVM, LBPTOPSVM, PulseSVM
        from ..cache import ClipDataset

        cls = {"LBP": LBPSVM, "LBP-TOP": LBPTOPSVM, "Pulse": PulseSVM}[cell.method.family]
        runtime = {k: self.config.baselines[k] for k in _BASELINE_RUNTIME}
        model = cls(**self.baseline_settings(cell.method, cell.seed), **runtime)
        train_ds = ClipDataset(cache, ids["train"])
        items, train_labels, train_vids = _baseline_inputs(cell.method, train_ds)
        model.fit(items, train_labels, train_vids)
        dev_ds = ClipDataset(cache, ids["dev"])
        items, _, dev_vids = _baseline_inputs(cell.method, dev_ds)
        vids, scores = model.score_videos(items, dev_vids)
        labels = _video_labels(dev_ds, vids)
        bonafide, attack = metrics.split_by_label(scores, labels)
        dev_eer, threshold = metrics.eer(bonafide, attack)
        model.save(run_dir / "model")
        return {
            "kind": "baseline",
            "threshold": float(threshold),
            "dev_eer": float(dev_eer),
            "dev_auc": float(metrics.roc_auc(bonafide, attack)),
            "train_clips": len(train_labels),  # feature items: clips, or videos (Pulse)
        }

    # -- cells ----------------------------------------------------------------------------------------

    def run_cell(self, cell: Cell) -> tuple[dict, bool]:
        """The result of ``cell``: computed now, or read back (``True``) from its done marker."""
        cell_dir = self.out / "cells" / cell.id
        marker = cell_dir / RESULT_FILE
        spec = self.cell_spec(cell)
        if marker.is_file():
            stored = _read_json(marker)
            _check_same(stored.get("spec"), spec, cell_dir)
            return stored, True
        started = time.perf_counter()
        ids, missing = self.split_ids(cell)
        run, trained = self.training(cell, ids)
        test_cache = self.cache(cell.test.dataset, cell.method.magnify)
        run_dir = self.out / "runs" / cell.run_id  # not the stored path: the study folder may have moved
        if cell.method.neural:
            report = self._evaluate_neural(run_dir, test_cache, ids["test"])
        else:
            report = self._evaluate_baseline(cell, run_dir, run, test_cache, ids["test"])
        report["cell"] = cell.id
        _write_json(cell_dir / "report.json", report)
        test = report["test"]
        result = {
            "format": FORMAT,
            "id": cell.id,
            "kind": cell.kind,
            "method": cell.method.name,
            "train": cell.train.key,
            "test": cell.test.key,
            "seed": cell.seed,
            "metrics": {
                k: test.get(k)
                for k in (
                    "hter",
                    "acc",
                    "far",
                    "frr",
                    "eer",
                    "auc",
                    "apcer",
                    "bpcer",
                    "acer",
                    "n_videos",
                    "n_bonafide",
                    "n_attack",
                )
            },
            "apcer_per_attack_type": test.get("apcer_per_attack_type", {}),
            "threshold": {
                "value": run["threshold"],
                "source": f"dev set of {cell.train.key}",
                "dev_eer": run["dev_eer"],
            },
            "run": run,
            "missing_videos": {s: len(v) for s, v in missing.items() if v},
            "report": str((cell_dir / "report.json").relative_to(self.out)),
            "seconds": time.perf_counter() - started,
            "trained_in_this_cell": trained,
            "spec": spec,
        }
        if result["missing_videos"]:
            self.log(
                f"warning: {cell.describe()}: videos missing from the cache (failed preparation): "
                f"{result['missing_videos']}"
            )
        _write_json(marker, result)  # last: its presence means the cell is complete
        return result, False

    def _evaluate_neural(self, run_dir: Path, cache: Path, test_ids: list[str]) -> dict:
        from ..cache import ClipDataset
        from ..evaluation import evaluate
        from ..rundir import RunDir

        test_ds = ClipDataset(cache, test_ids, pulse=RunDir.takes_pulse(RunDir(run_dir).read_config()))
        return evaluate(
            run_dir,
            test_ds,
            attack_types=test_ds.attack_types,
            batch_size=self.config.train["batch_size"],
            device=self.device,
            amp=self.config.train["amp"],
            aggregate=self.config.train["aggregate"],
            num_workers=self.config.train["num_workers"],
            progress=self.progress,
        )

    def _evaluate_baseline(self, cell: Cell, run_dir: Path, run: dict, cache: Path, test_ids: list[str]) -> dict:
        from ..baselines import load_baseline
        from ..cache import ClipDataset
        from ..evaluation import score_report

        model = load_baseline(run_dir / "model")
        test_ds = ClipDataset(cache, test_ids)
        items, _, item_vids = _baseline_inputs(cell.method, test_ds)
        vids, scores = model.score_videos(items, item_vids)
        labels = _video_labels(test_ds, vids)
        types = [test_ds.attack_types[v] for v in vids]
        return {
            "run": {"run_dir": str(run_dir), "method": cell.method.name},
            "aggregate": "mean",
            "threshold": {"value": run["threshold"], "source": "run", "criterion": "eer", "dev_eer": run["dev_eer"]},
            **score_report(vids, scores, labels, run["threshold"], types),
        }


def _baseline_inputs(method: Method, ds) -> tuple[Iterator, list[int], list[str]]:
    """What a baseline is fitted on or scores, with the label and video of each item: the cached clips
    (``LBP``, ``LBP-TOP``), or one :class:`~antispoof.baselines.pulse.PulseTrace` per video (``Pulse``)."""
    if method.family == "Pulse":
        from ..cache import read_trace

        rows = ds.rows
        return (read_trace(ds.path, r) for r in rows), [int(r["label"]) for r in rows], [r["video_id"] for r in rows]
    return _clips(ds), ds.labels, _clip_video_ids(ds)


def _clips(ds) -> Iterator[np.ndarray]:
    """uint8 (T, H, W, 3) clips of a ClipDataset, one at a time (the SVMs keep features only)."""
    return (ds.clip_array(i) for i in range(len(ds)))


def _clip_video_ids(ds) -> list[str]:
    return [ds.rows[i]["video_id"] for i, _ in ds.items]


def _video_labels(ds, video_ids: Sequence[str]) -> np.ndarray:
    label = {r["video_id"]: int(r["label"]) for r in ds.rows}
    return np.array([label[v] for v in video_ids], dtype=np.int64)


def _read_json(path: Path) -> dict:
    try:
        return read_json(path)
    except (OSError, CorruptJSONError) as exc:
        reason = exc.detail if isinstance(exc, CorruptJSONError) else getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"{path}: unreadable ({reason}); delete it to recompute") from None


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, obj)


_ABSENT = object()


def _difference(old: Any, new: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """``(dotted path, old value, new value)`` of the first difference between two JSON values, or None."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            found = _difference(old.get(key, _ABSENT), new.get(key, _ABSENT), f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            found = _difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if old == new else (where or "(value)", old, new)


def _check_same(stored: Any, current: dict, folder: Path) -> None:
    """Refuse a stored result whose settings differ from the current ones (mixing them would be silent)."""
    current = json.loads(json.dumps(current))  # as stored: tuples become lists
    found = _difference(stored, current)
    if found is not None:
        key, old, new = found
        show = lambda v: "absent" if v is _ABSENT else repr(v)  # noqa: E731
        raise ConfigError(
            f"{folder} was computed with other settings ({key}: {show(old)} there, {show(new)} now); "
            "use another --out, or delete that folder to recompute it"
        )


def run_experiment(
    config: StudyConfig,
    out: str | os.PathLike,
    *,
    log: Callable[[str], None] | None = None,
    progress: bool = False,
    device: str | None = None,
    extra: Mapping[str, Any] | None = None,
    dry_run: bool = False,
) -> dict:
    """Run (or resume) a study: every cell, then the tables and ``experiment.json``.

    Parameters
    ----------
    config : StudyConfig
        From :func:`load_config` or :func:`synthetic_study`.
    out : path-like
        Study folder (created): ``cells/``, ``runs/``, ``cache/`` (unless ``study.cache``), tables, JSON.
    log : callable, optional
        Receives one line per cache and per cell (default: stderr).
    progress : bool
        Progress bars of preparation, training and evaluation.
    device : str, optional
        Overrides ``train.device`` (it does not change what a result means, so resumed cells stay valid).
    extra : mapping, optional
        JSON-ready facts stored under ``"extra"`` in ``experiment.json`` (e.g. the synthetic data settings).
    dry_run : bool
        Open the datasets, check every protocol and log the planned cells (marking those already done);
        prepare, train and write nothing. Returns ``{"planned_cells": [...], "done": [...]}``.

    Returns
    -------
    dict
        The content of ``experiment.json``: ``config``, ``caches``, ``cells`` (one result per planned cell),
        ``tables``, ``wall_seconds`` (this invocation), ``compute_seconds`` (sum over cells, including
        earlier invocations) and the written ``files``.

    Raises
    ------
    ConfigError
        A protocol the datasets do not have, or stored results made with other settings.
    """
    log = log or _log_stderr
    out = Path(out)
    started_at = time.time()
    started = time.perf_counter()
    cells = plan_cells(config)
    study = _Study(config, out, log, progress, device)
    study.check_protocols(cells)
    study.plan_records(cells)
    study.check_stored(cells)
    if any(c.method.neural for c in cells):
        from ..inference import resolve_device

        resolve_device(study.device)  # "cuda" without a GPU fails now, not after the caches are built
    if dry_run:
        done = [c.id for c in cells if (out / "cells" / c.id / RESULT_FILE).is_file()]
        for cell in cells:
            state = "done" if cell.id in done else "to do"
            log(f"{cell.id}: {state} (training {cell.run_id})")
        log(f"{len(cells)} cells, {len(done)} done; caches in {study.cache_root}")
        return {"planned_cells": [c.id for c in cells], "done": done}
    out.mkdir(parents=True, exist_ok=True)
    study.history = _previous_invocations(out / "experiment.json")
    log(
        f"study {config.name!r}: {len(cells)} cells ({len(config.methods)} methods, {len(config.intra)} intra and "
        f"{len(config.cross)} cross rows, {len(config.seeds)} seed(s)) in {out}"
    )
    results: list[dict] = []
    resumed = 0
    threads = _torch_threads(config.train["threads"])
    try:
        for i, cell in enumerate(cells, 1):
            try:
                result, was_done = study.run_cell(cell)
            except BaseException:
                log(f"[{i}/{len(cells)}] {cell.describe()}: failed; rerun the same command to resume here")
                raise
            resumed += was_done
            results.append(result)
            m = result["metrics"]
            when = "done earlier" if was_done else f"{result['seconds']:.1f} s"
            if not was_done:
                when += ", trained" if result["trained_in_this_cell"] else ", shared training"
            log(f"[{i}/{len(cells)}] {cell.describe()}: HTER {_pct(m['hter'])} ACC {_pct(m['acc'])} ({when})")
            _write_outputs(out, config, study, results, cells, started, started_at, extra, resumed, final=False)
    finally:
        _torch_threads(threads)
    summary = _write_outputs(out, config, study, results, cells, started, started_at, extra, resumed, final=True)
    log(
        f"{len(cells)} cells ({resumed} from earlier runs) in {summary['wall_seconds']:.1f} s "
        f"wall time; tables in {out}"
    )
    return summary


def _previous_invocations(path: Path) -> list[dict]:
    """The invocation log of an earlier experiment.json (empty when there is none or it is unreadable)."""
    try:
        previous = json.loads(path.read_text())
        return [dict(i) for i in previous.get("invocations", [])]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def _torch_threads(n: int) -> int:
    """Set torch's intra-op threads (0: leave them); returns the previous count, to restore it."""
    import torch

    previous = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    return previous


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _write_outputs(out, config, study, results, cells, started, started_at, extra, resumed, *, final: bool) -> dict:
    """Tables (Markdown, CSV) and experiment.json for the results so far, each written atomically."""
    tables = build_tables(config, results)
    files = {}
    for key, stem in (("table1", "table1-intra"), ("table2", "table2-cross")):
        table = tables[key]
        if not table["rows"]:
            continue
        for suffix, text in ((".md", table_markdown(table)), (".csv", table_csv(table))):
            path = out / f"{stem}{suffix}"
            with atomic_write(path, "w") as fh:
                fh.write(text)
            files[f"{key}{suffix}"] = str(path)
    wall = time.perf_counter() - started
    summary = {
        "format": FORMAT,
        "name": config.name,
        "complete": final and len(results) == len(cells),
        "config": config.as_dict(),
        "extra": dict(extra or {}),
        "caches": study.cache_summary(cells),
        "cells": results,
        "planned_cells": [c.id for c in cells],
        "tables": tables,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started_at)),
        "wall_seconds": wall,
        "compute_seconds": sum(r["seconds"] for r in results),
        "versions": {"antispoof": __version__, "python": platform.python_version(), "numpy": np.__version__},
        "files": files,
    }
    # the synthetic study spends time generating its data before the runner starts
    summary["data_seconds"] = float((extra or {}).get("seconds", 0.0))
    summary["total_wall_seconds"] = wall + summary["data_seconds"]
    this = {
        "started": summary["started"],
        "wall_seconds": wall,
        "data_seconds": summary["data_seconds"],
        "cells_computed": len(results) - resumed,
    }
    summary["invocations"] = study.history + [this]
    summary["total_wall_seconds_all_invocations"] = sum(
        i["wall_seconds"] + i["data_seconds"] for i in summary["invocations"]
    )
    path = out / "experiment.json"
    files["json"] = str(path)
    _write_json(path, summary)
    return summary
