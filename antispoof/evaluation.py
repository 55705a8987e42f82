"""Scoring and evaluation of trained runs: video-level scores, HTER at the run's dev threshold, PAD metrics, figures.

Datasets follow the project contract: ``dataset[i] = (clip, label, video_id)`` with ``clip`` a float32
``(T, 3, H, W)`` RGB tensor in [0, 1], ``label`` 1 = bona fide / 0 = attack, ``video_id`` a str.

The decision threshold always comes from a development set, never from the evaluated set: by default
the one stored by training in ``threshold.json`` (the dev EER threshold of the best epoch), or, with
``dev_dataset=...``, the EER threshold of the loaded model on that set (cross-database protocol: the
threshold of dataset A's dev applied to dataset B's test). The test-set EER is reported too, labelled
as such; it is an optimistic figure, not an HTER.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from . import metrics
from .inference import ClipPredictions, predict_clips, resolve_device, score_clips, to_clip_batch
from .jsonio import write_json
from .labels import ATTACK, BONA_FIDE
from .rundir import RunDir

__all__ = [
    "ClipPredictions",
    "evaluate",
    "load_model",
    "predict_clips",
    "read_run_config",
    "read_threshold",
    "resolve_device",
    "score_clips",
    "score_report",
    "write_report",
]


# ------------------------------------------------------------------------------------------------ run dirs


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a run directory (model, training, data): :meth:`RunDir.read_config`."""
    return RunDir(run_dir).read_config()


def read_threshold(run_dir: str | Path) -> dict[str, Any]:
    """The dev EER threshold of a run's best epoch (``threshold.json``): :meth:`RunDir.read_threshold`."""
    return RunDir(run_dir).read_threshold()


def load_model(run_dir: str | Path, *, checkpoint: str = "best", device: str | torch.device = "cpu"):
    """A run's model from ``best.pt`` (or ``last.pt``), in eval mode on ``device``: :meth:`RunDir.load_model`."""
    return RunDir(run_dir).load_model(checkpoint, device)


# ---------------------------------------------------------------------------------------------- evaluation


def score_report(
    video_ids: Sequence[str],
    scores: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    attack_types: Sequence[str | None],
    n_clips: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The ``test`` metrics and the ``videos`` entries of a report, for the network and the baselines alike.

    Parameters
    ----------
    video_ids : sequence of str
    scores : np.ndarray
        ``(V,)`` float64 video scores.
    labels : np.ndarray
        ``(V,)`` int labels.
    threshold : float
        The decision threshold (from the development set).
    attack_types : sequence
        The attack type of each video (None for bona fide ones).
    n_clips : dict, optional
        Clips scored per video, added to each entry when given.

    Returns
    -------
    dict
        ``test``: :func:`antispoof.metrics.pad_metrics`; ``videos``: one entry per video (id, label, score,
        attack type and, with ``n_clips``, its clip count).
    """
    attacks = [kind for kind, label in zip(attack_types, labels, strict=True) if label != BONA_FIDE]
    videos = []
    for vid, label, score, kind in zip(video_ids, labels, scores, attack_types, strict=True):
        entry = {"video_id": vid, "label": int(label), "score": float(score), "attack_type": kind}
        if n_clips is not None:
            entry["n_clips"] = n_clips[vid]
        videos.append(entry)
    return {"test": metrics.pad_metrics(scores, labels, threshold, attacks), "videos": videos}


def evaluate(
    run_dir: str | Path,
    dataset: Dataset,
    *,
    dev_dataset: Dataset | None = None,
    aggregate: str = "mean",
    attack_types: Mapping[str, str] | None = None,
    checkpoint: str = "best",
    batch_size: int = 8,
    device: str | torch.device = "auto",
    amp: bool = False,
    num_workers: int = 0,
    progress: bool = False,
    attention_examples: int = 4,
    still_check: bool = True,
) -> dict[str, Any]:
    """Evaluate a trained run on a test set at the development threshold.

    Parameters
    ----------
    run_dir : path
        A run directory written by :func:`antispoof.training.train`.
    dataset : Dataset
        The test set, ``(clip, label, video_id)`` items.
    dev_dataset : Dataset, optional
        If given, the threshold is the EER threshold of this model's video scores on it; otherwise the
        run's ``threshold.json`` (training's dev EER threshold). Never the test set.
    aggregate : {"mean", "median", "max", "min"}
        Clip scores -> video score.
    attack_types : dict[str, str], optional
        Attack type of every attack video id (APCER per type). Without it all attacks form one type
        ``"attack"``.
    attention_examples : int
        Number of videos (split between the classes) whose first clip's attention weights are kept.
    still_check : bool
        Also score every bona fide test clip with its middle frame held for the whole clip (a perfectly
        still photo of that live face) and report how the video scores change (``still_check``): does
        the model use the motion across frames, or the appearance of single frames?

    Returns
    -------
    dict
        JSON-ready report: ``threshold`` (value and source), ``test`` (n, FAR, FRR, HTER, ACC, EER and its
        own threshold, AUC, APCER per attack type and max, BPCER, ACER), ``dev`` (when ``dev_dataset``),
        ``videos`` (per-video id/label/score/attack_type/n_clips), ``attention_examples``, ``run``, and
        ``still_check`` (None without bona fide videos or with ``still_check=False``): ``n_videos``,
        ``bonafide_mean_score`` and ``held_mean_score`` (mean video scores, moving and held),
        ``held_accepted`` (fraction of held videos scored bona fide at the threshold).
    """
    run_dir = Path(run_dir)
    if len(dataset) == 0:
        raise ValueError("test dataset is empty")
    if aggregate not in metrics.AGGREGATES:
        raise ValueError(f"aggregate must be one of {metrics.AGGREGATES}, got {aggregate!r}")
    run = RunDir(run_dir)
    config = run.read_config()
    model = run.load_model(checkpoint, resolve_device(device))
    common = dict(batch_size=batch_size, amp=amp, num_workers=num_workers, progress=progress)

    report: dict[str, Any] = {"run": {"run_dir": str(run_dir), "checkpoint": checkpoint}, "aggregate": aggregate}
    if dev_dataset is not None:
        if len(dev_dataset) == 0:
            raise ValueError("dev_dataset is empty")
        dev = predict_clips(model, dev_dataset, desc="dev", **common)
        _, dev_scores, dev_labels = metrics.aggregate_by_video(dev.video_ids, dev.scores, dev.labels, aggregate)
        b, a = metrics.split_by_label(dev_scores, dev_labels)
        if b.size == 0 or a.size == 0:
            raise ValueError("dev_dataset has a single class: the EER threshold needs bona fide and attack videos")
        dev_eer, threshold = metrics.eer(b, a)
        report["threshold"] = {"value": threshold, "source": "dev_dataset", "criterion": "eer"}
        report["dev"] = {"eer": dev_eer, "n_videos": int(dev_scores.size), "auc": metrics.roc_auc(b, a)}
    else:
        stored = run.read_threshold()
        threshold = float(stored["threshold"])
        report["threshold"] = {
            "value": threshold,
            "source": "run",
            "criterion": stored.get("criterion", "eer"),
            "dev_eer": stored.get("dev_eer"),
            "epoch": stored.get("epoch"),
            "aggregate": stored.get("aggregate"),
        }
        if stored.get("aggregate", aggregate) != aggregate:
            report["threshold"]["warning"] = (
                f"threshold was computed with aggregate={stored.get('aggregate')!r}, scores use {aggregate!r}"
            )

    test = predict_clips(model, dataset, keep_attention=True, desc="test", **common)
    ids, scores, labels = metrics.aggregate_by_video(test.video_ids, test.scores, test.labels, aggregate)
    n_clips = {vid: 0 for vid in ids}
    for vid in test.video_ids:
        n_clips[vid] += 1
    types = []
    for vid, label in zip(ids, labels, strict=True):
        if label == BONA_FIDE:
            types.append(None)
        elif attack_types is None:
            types.append(metrics.ATTACK_GROUP)
        elif vid in attack_types:
            types.append(str(attack_types[vid]))
        else:
            raise ValueError(f"attack video {vid!r} has no entry in attack_types")
    report.update(score_report(ids, scores, labels, threshold, types, n_clips))
    report["attention_examples"] = _attention_examples(test, attention_examples)
    report["still_check"] = None
    live = [i for i, label in enumerate(test.labels) if label == BONA_FIDE]
    if still_check and live:
        held = predict_clips(model, _MiddleFrameHeld(dataset), indices=test.indices[live], desc="held", **common)
        _, held_scores, _ = metrics.aggregate_by_video(held.video_ids, held.scores, held.labels, aggregate)
        report["still_check"] = {
            "frame": "middle",
            "n_videos": int(held_scores.size),
            "bonafide_mean_score": float(scores[labels == BONA_FIDE].mean()),
            "held_mean_score": float(held_scores.mean()),
            "held_accepted": float(np.mean(held_scores >= threshold)),
        }
    report["run"].update(
        {"epoch": run.best_epoch(checkpoint), "model": config.get("model"), "data": config.get("data", {})}
    )
    return report


class _MiddleFrameHeld(Dataset):
    """``dataset`` with every clip replaced by its middle frame repeated over the clip's length."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        clip, label, video_id, *pulse = self.dataset[index]  # the video's pulse features, if any, unchanged
        clip = to_clip_batch(clip)[0]
        return clip[len(clip) // 2].expand_as(clip).contiguous(), label, video_id, *pulse


def _attention_examples(pred: ClipPredictions, count: int) -> list[dict[str, Any]]:
    """First clip of up to ``count`` videos, alternating bona fide / attack, with its attention weights."""
    if count <= 0 or not pred.attention or all(a is None for a in pred.attention):
        return []
    first_clip: dict[str, int] = {}
    for i, vid in enumerate(pred.video_ids):
        first_clip.setdefault(vid, i)
    by_class: dict[int, list[int]] = {BONA_FIDE: [], ATTACK: []}
    for i in first_clip.values():
        by_class[BONA_FIDE if pred.labels[i] == BONA_FIDE else ATTACK].append(i)
    chosen: list[int] = []
    while len(chosen) < count and (by_class[1] or by_class[0]):
        for label in (BONA_FIDE, ATTACK):
            if by_class[label] and len(chosen) < count:
                chosen.append(by_class[label].pop(0))
    return [
        {
            "video_id": pred.video_ids[i],
            "label": int(pred.labels[i]),
            "score": float(pred.scores[i]),
            "weights": [float(w) for w in pred.attention[i]],
        }
        for i in chosen
    ]


# ------------------------------------------------------------------------------------------------- figures


def write_report(report: Mapping[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.json`` and PNG figures to ``out_dir``.

    Figures: ``roc.png`` (ROC with the operating point), ``det.png`` (DET on normal-deviate axes),
    ``score_histogram.png`` (video scores per class with the threshold), ``attention.png`` (attention
    weights over time of the example videos; only when the model has attention). ROC/DET need both
    classes and are skipped otherwise.

    Returns
    -------
    dict[str, Path]
        Name -> path of every file written.
    """
    from matplotlib.figure import Figure  # Agg canvas, no pyplot: safe in threads and headless
    from matplotlib.ticker import MaxNLocator
    from scipy.special import ndtri

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    write_json(out_dir / "report.json", report)
    written["report"] = out_dir / "report.json"

    videos = report.get("videos", [])
    scores = np.array([v["score"] for v in videos], dtype=np.float64)
    labels = np.array([v["label"] for v in videos], dtype=np.int64)
    threshold = float(report["threshold"]["value"])
    test = report.get("test", {})
    bonafide, attack = metrics.split_by_label(scores, labels) if videos else (np.zeros(0), np.zeros(0))

    if bonafide.size and attack.size:
        far, tpr, _ = metrics.roc_curve(bonafide, attack)
        fig = Figure(figsize=(5, 5))
        ax = fig.subplots()
        ax.step(far, tpr, where="post", label=f"AUC = {test.get('auc', float('nan')):.4f}")
        ax.plot([0, 1], [0, 1], ":", color="grey", lw=0.8)
        ax.plot([test["far"]], [1 - test["frr"]], "o", color="C3", label=f"dev threshold {threshold:.4g}")
        ax.set(
            xlabel="FAR (APCER, all attacks)",
            ylabel="1 - FRR (1 - BPCER)",
            title="ROC (video level)",
            xlim=(0, 1),
            ylim=(0, 1.01),
        )
        ax.legend(loc="lower right")
        written["roc"] = _save(fig, out_dir / "roc.png")

        far, frr, _ = metrics.det_curve(bonafide, attack)
        eps = 0.5 / max(bonafide.size, attack.size, 2)  # keep 0 and 1 finite on probit axes
        ppf = ndtri  # inverse of the standard normal CDF: DET axes in normal deviates
        fig = Figure(figsize=(5, 5))
        ax = fig.subplots()
        ax.plot(ppf(np.clip(far, eps, 1 - eps)), ppf(np.clip(frr, eps, 1 - eps)), drawstyle="steps-post")
        ax.plot(
            [ppf(np.clip(test["far"], eps, 1 - eps))],
            [ppf(np.clip(test["frr"], eps, 1 - eps))],
            "o",
            color="C3",
            label=f"HTER {test['hter']:.2%}",
        )
        ticks = np.array([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99])
        ticks = ticks[(ticks >= eps) & (ticks <= 1 - eps)]
        ax.set_xticks(ppf(ticks), [f"{t:.3g}" for t in ticks])
        ax.set_yticks(ppf(ticks), [f"{t:.3g}" for t in ticks])
        ax.set(xlabel="FAR", ylabel="FRR", title="DET (video level)")
        ax.legend(loc="upper right")
        written["det"] = _save(fig, out_dir / "det.png")

    if videos:
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        bins = np.linspace(0, 1, 41)
        if bonafide.size:
            ax.hist(bonafide, bins=bins, alpha=0.6, label=f"bona fide ({bonafide.size})", color="C2")
        if attack.size:
            ax.hist(attack, bins=bins, alpha=0.6, label=f"attack ({attack.size})", color="C3")
        ax.axvline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:.4g}")
        ax.set(xlabel="video score (probability of bona fide)", ylabel="videos", title="Score distribution")
        ax.legend()
        written["score_histogram"] = _save(fig, out_dir / "score_histogram.png")

    examples = report.get("attention_examples", [])
    if examples:
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        for k, ex in enumerate(examples):
            w = np.asarray(ex["weights"])
            kind = "bona fide" if ex["label"] == BONA_FIDE else "attack"
            ax.plot(
                np.arange(1, w.size + 1),
                w,
                marker="o",
                color=f"C{k % 10}",
                ls="-" if ex["label"] == BONA_FIDE else "--",
                label=f"{ex['video_id']} ({kind}, {ex['score']:.2f})",
            )
        ax.set(xlabel="frame", ylabel="attention weight", title="Attention over time (first clip)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7)
        written["attention"] = _save(fig, out_dir / "attention.png")
    return written


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
