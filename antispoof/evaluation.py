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

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from evm.io import atomic_write

from . import metrics
from .jsonio import read_json
from .models import build_model
from .models.weights import load_torch_file

ATTACK_GROUP = "attack"  # PAI name used when no attack types are given


# ------------------------------------------------------------------------------------------------- helpers


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; ``"cuda"`` without a GPU is a ValueError."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    return dev


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON through :func:`atomic_write`."""
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def _to_clip_batch(clips: Any) -> torch.Tensor:
    x = torch.as_tensor(clips)
    if x.ndim == 4:
        x = x.unsqueeze(0)
    if x.ndim != 5 or x.shape[2] != 3:
        raise ValueError(f"clips must have shape (T, 3, H, W) or (B, T, 3, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"clips must be float RGB in [0, 1], got dtype {x.dtype}")
    return x.float()


@torch.no_grad()
def score_clips(
    model: torch.nn.Module, clips: Any, *, return_attention: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
    """Bona fide probabilities of clips (puts ``model`` in eval mode).

    Parameters
    ----------
    model : CNNLSTM or FrameCNN
    clips : torch.Tensor or np.ndarray
        ``(B, T, 3, H, W)`` or a single ``(T, 3, H, W)`` clip, float RGB in [0, 1].
    return_attention : bool
        Also return the ``(B, T)`` attention weights (None for the frame CNN).

    Returns
    -------
    np.ndarray
        ``(B,)`` float64 scores, higher = more bona fide; with ``return_attention`` a tuple
        ``(scores, attention)``.
    """
    model.eval()
    device = next(model.parameters()).device
    out = model(_to_clip_batch(clips).to(device))
    scores = out.scores.double().cpu().numpy()
    if not return_attention:
        return scores
    attention = None if out.attention is None else out.attention.float().cpu().numpy()
    return scores, attention


@dataclasses.dataclass
class ClipPredictions:
    """Scores of every clip of a dataset (or of a subset ``indices`` of it).

    Attributes
    ----------
    indices : np.ndarray
        ``(N,)`` int64 dataset positions.
    video_ids : list[str]
    labels : np.ndarray
        ``(N,)`` int64.
    scores : np.ndarray
        ``(N,)`` float64 bona fide probabilities.
    attention : list[np.ndarray or None]
        Per clip ``(T,)`` float32 weights when requested, else empty.
    loss_sums : dict[str, float]
        Sums over clips of the per-batch mean losses times the batch size (``total``, ``lstm``,
        ``cnn``), when ``lambda_cnn`` was given; divide by N for the mean.
    """

    indices: np.ndarray
    video_ids: list[str]
    labels: np.ndarray
    scores: np.ndarray
    attention: list = dataclasses.field(default_factory=list)
    loss_sums: dict[str, float] = dataclasses.field(default_factory=dict)

    @staticmethod
    def concatenate(parts: Sequence[ClipPredictions]) -> ClipPredictions:
        """Merge parts (e.g. from several ranks) and sort by dataset index."""
        indices = np.concatenate([p.indices for p in parts])
        order = np.argsort(indices, kind="stable")
        ids = [vid for p in parts for vid in p.video_ids]
        attention = [a for p in parts for a in p.attention]
        loss_sums: dict[str, float] = {}
        for p in parts:
            for k, v in p.loss_sums.items():
                loss_sums[k] = loss_sums.get(k, 0.0) + v
        return ClipPredictions(
            indices=indices[order],
            video_ids=[ids[i] for i in order],
            labels=np.concatenate([p.labels for p in parts])[order],
            scores=np.concatenate([p.scores for p in parts])[order],
            attention=[attention[i] for i in order] if attention else [],
            loss_sums=loss_sums,
        )


@torch.no_grad()
def predict_clips(
    model: torch.nn.Module,
    dataset: Dataset,
    *,
    indices: Sequence[int] | None = None,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    amp: bool = False,
    num_workers: int = 0,
    lambda_cnn: float | None = None,
    keep_attention: bool = False,
    progress: bool = False,
    desc: str = "scoring",
) -> ClipPredictions:
    """Score every clip of ``dataset`` (or ``indices`` of it) in eval mode, in dataset order.

    ``device`` defaults to the model's. With ``lambda_cnn`` the model's loss is accumulated too.
    ``amp`` enables float16 autocast on CUDA only.
    """
    from tqdm.auto import tqdm

    model.eval()
    dev = next(model.parameters()).device if device is None else resolve_device(device)
    positions = list(range(len(dataset))) if indices is None else [int(i) for i in indices]
    subset = Subset(dataset, positions)
    # An own generator keeps the loader from drawing its base seed from the global RNG (exact resume).
    loader = DataLoader(
        subset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=dev.type == "cuda",
        generator=torch.Generator().manual_seed(0),
    )
    use_amp = bool(amp) and dev.type == "cuda"
    ids: list[str] = []
    labels: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    attention: list = []
    sums = {"total": 0.0, "lstm": 0.0, "cnn": 0.0}
    for clips, batch_labels, batch_ids in tqdm(loader, desc=desc, disable=not progress, leave=False):
        clips = _to_clip_batch(clips).to(dev, non_blocking=True)
        batch_labels = torch.as_tensor(batch_labels).long()
        with torch.autocast(dev.type, dtype=torch.float16, enabled=use_amp):
            out = model(clips)
        scores.append(out.scores.double().cpu().numpy())
        labels.append(batch_labels.numpy())
        ids.extend(str(v) for v in batch_ids)
        if keep_attention:
            if out.attention is None:
                attention.extend([None] * len(batch_ids))
            else:
                attention.extend(a for a in out.attention.float().cpu().numpy())
        if lambda_cnn is not None:
            terms = model.loss(out, batch_labels.to(dev), lambda_cnn=lambda_cnn)
            n = len(batch_ids)
            sums["total"] += float(terms.total) * n
            sums["cnn"] += float(terms.cnn) * n
            if terms.lstm is not None:
                sums["lstm"] += float(terms.lstm) * n
    if not scores:
        empty = np.zeros(0)
        return ClipPredictions(np.zeros(0, np.int64), [], empty.astype(np.int64), empty, [], {})
    return ClipPredictions(
        indices=np.asarray(positions, dtype=np.int64),
        video_ids=ids,
        labels=np.concatenate(labels).astype(np.int64),
        scores=np.concatenate(scores),
        attention=attention,
        loss_sums=sums if lambda_cnn is not None else {},
    )


# ------------------------------------------------------------------------------------------------ run dirs


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a run directory (model, training, data)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory: {path.name} is missing")
    return read_json(path, "run config")


def read_threshold(run_dir: str | Path) -> dict[str, Any]:
    """The ``threshold.json`` of a run directory (dev EER threshold of the best epoch)."""
    path = Path(run_dir) / "threshold.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no threshold.json (training did not finish an epoch?)")
    stored = read_json(path, "threshold file")
    value = stored.get("threshold")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{path}: corrupt threshold file (threshold is {value!r}, not a finite number)")
    return stored


def load_model(run_dir: str | Path, *, checkpoint: str = "best", device: str | torch.device = "cpu"):
    """Rebuild the model of a run and load ``best.pt`` (or ``last.pt``); returned in eval mode on ``device``."""
    if checkpoint not in ("best", "last"):
        raise ValueError(f"checkpoint must be 'best' or 'last', got {checkpoint!r}")
    path = Path(run_dir) / f"{checkpoint}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    state = load_torch_file(path)
    if not isinstance(state, Mapping) or "model" not in state or not isinstance(state.get("config"), Mapping):
        raise ValueError(f"{path}: not an antispoof checkpoint (no 'model'/'config' entries)")
    try:
        model = build_model(state["config"]["model"], load_weights=False)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ValueError(f"{path}: not an antispoof checkpoint (its model does not load: {reason})") from None
    return model.to(resolve_device(device)).eval()


# ---------------------------------------------------------------------------------------------- evaluation


def video_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    pai_of_attack: Sequence[str] | None = None,
) -> dict[str, Any]:
    """All PAD metrics of video-level scores at a given threshold.

    Metrics that need a class absent from the set are None (e.g. FRR of an attack-only set).
    ``pai_of_attack`` gives the attack type of each attack, in the order of ``scores[labels != 1]``.
    """
    bonafide, attack = metrics.split_by_label(scores, labels)
    has_b, has_a = bonafide.size > 0, attack.size > 0
    out: dict[str, Any] = {
        "n_videos": int(scores.size),
        "n_bonafide": int(bonafide.size),
        "n_attack": int(attack.size),
        "threshold": float(threshold),
    }
    far = float(np.mean(attack >= threshold)) if has_a else None
    frr = float(np.mean(bonafide < threshold)) if has_b else None
    out["far"], out["frr"] = far, frr
    out["hter"] = (far + frr) / 2 if has_a and has_b else None
    correct = np.count_nonzero(bonafide >= threshold) + np.count_nonzero(attack < threshold)
    out["acc"] = float(correct / scores.size) if scores.size else None
    if has_a and has_b:
        test_eer, test_t = metrics.eer(bonafide, attack)
        out["eer"], out["eer_threshold"] = test_eer, test_t
        out["auc"] = metrics.roc_auc(bonafide, attack)
    else:
        out["eer"] = out["eer_threshold"] = out["auc"] = None
    if has_a:
        groups: dict[str, list[float]] = {}
        names = list(pai_of_attack) if pai_of_attack is not None else [ATTACK_GROUP] * attack.size
        for name, s in zip(names, attack, strict=True):
            groups.setdefault(name, []).append(float(s))
        per_pai = {name: float(np.mean(np.asarray(v) >= threshold)) for name, v in sorted(groups.items())}
        worst = max(per_pai, key=per_pai.__getitem__)
        out["apcer_per_attack_type"] = per_pai
        out["apcer"] = per_pai[worst]
        out["worst_attack_type"] = worst
    else:
        out["apcer_per_attack_type"], out["apcer"], out["worst_attack_type"] = {}, None, None
    out["bpcer"] = frr
    out["acer"] = (out["apcer"] + frr) / 2 if has_a and has_b else None
    return out


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
    config = read_run_config(run_dir)
    model = load_model(run_dir, checkpoint=checkpoint, device=resolve_device(device))
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
        stored = read_threshold(run_dir)
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
        if label == 1:
            types.append(None)
        elif attack_types is None:
            types.append(ATTACK_GROUP)
        elif vid in attack_types:
            types.append(str(attack_types[vid]))
        else:
            raise ValueError(f"attack video {vid!r} has no entry in attack_types")
    report["test"] = video_metrics(scores, labels, threshold, [t for t in types if t is not None])
    report["videos"] = [
        {"video_id": vid, "label": int(lab), "score": float(s), "attack_type": t, "n_clips": n_clips[vid]}
        for vid, lab, s, t in zip(ids, labels, scores, types, strict=True)
    ]
    report["attention_examples"] = _attention_examples(test, attention_examples)
    report["still_check"] = None
    live = [i for i, label in enumerate(test.labels) if label == 1]
    if still_check and live:
        held = predict_clips(model, _MiddleFrameHeld(dataset), indices=test.indices[live], desc="held", **common)
        _, held_scores, _ = metrics.aggregate_by_video(held.video_ids, held.scores, held.labels, aggregate)
        report["still_check"] = {
            "frame": "middle",
            "n_videos": int(held_scores.size),
            "bonafide_mean_score": float(scores[labels == 1].mean()),
            "held_mean_score": float(held_scores.mean()),
            "held_accepted": float(np.mean(held_scores >= threshold)),
        }
    report["run"].update(
        {"epoch": _best_epoch(run_dir, checkpoint), "model": config.get("model"), "data": config.get("data", {})}
    )
    return report


class _MiddleFrameHeld(Dataset):
    """``dataset`` with every clip replaced by its middle frame repeated over the clip's length."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        clip, label, video_id = self.dataset[index]
        clip = _to_clip_batch(clip)[0]
        return clip[len(clip) // 2].expand_as(clip).contiguous(), label, video_id


def _best_epoch(run_dir: Path, checkpoint: str) -> int | None:
    if checkpoint == "best" and (run_dir / "threshold.json").is_file():
        return read_threshold(run_dir).get("epoch")
    return None


def _attention_examples(pred: ClipPredictions, count: int) -> list[dict[str, Any]]:
    """First clip of up to ``count`` videos, alternating bona fide / attack, with its attention weights."""
    if count <= 0 or not pred.attention or all(a is None for a in pred.attention):
        return []
    first_clip: dict[str, int] = {}
    for i, vid in enumerate(pred.video_ids):
        first_clip.setdefault(vid, i)
    by_class: dict[int, list[int]] = {1: [], 0: []}
    for i in first_clip.values():
        by_class[1 if pred.labels[i] == 1 else 0].append(i)
    chosen: list[int] = []
    while len(chosen) < count and (by_class[1] or by_class[0]):
        for label in (1, 0):
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
    write_json_atomic(out_dir / "report.json", report)
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
            kind = "bona fide" if ex["label"] == 1 else "attack"
            ax.plot(
                np.arange(1, w.size + 1),
                w,
                marker="o",
                color=f"C{k % 10}",
                ls="-" if ex["label"] == 1 else "--",
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
