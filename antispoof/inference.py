"""Inference below training and evaluation: the device, scoring clips with a model, scoring a dataset.

Datasets follow the project contract: ``dataset[i] = (clip, label, video_id)`` with ``clip`` a float32
``(T, 3, H, W)`` RGB tensor in [0, 1], ``label`` 1 = bona fide / 0 = attack, ``video_id`` a str; for a
model with ``pulse_features``, ``(clip, label, video_id, pulse)``, ``pulse`` the video's float32 (9,) features.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset


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


def to_clip_batch(clips: Any) -> torch.Tensor:
    """``(B, T, 3, H, W)`` float32 from one ``(T, 3, H, W)`` clip or a batch; ValueError for other shapes or ints."""
    x = torch.as_tensor(clips)
    if x.ndim == 4:
        x = x.unsqueeze(0)
    if x.ndim != 5 or x.shape[2] != 3:
        raise ValueError(f"clips must have shape (T, 3, H, W) or (B, T, 3, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"clips must be float RGB in [0, 1], got dtype {x.dtype}")
    return x.float()


def pulse_input(batch: Sequence, device: torch.device) -> tuple[torch.Tensor, ...]:
    """The extra forward argument of a dataset batch: ``(pulse,)`` float32 on ``device`` when the items carry
    pulse features (a fourth element, :class:`~antispoof.cache.ClipDataset` with ``pulse=True``), else ``()``."""
    if len(batch) < 4:
        return ()
    return (torch.as_tensor(batch[3]).to(device, non_blocking=True).float(),)


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
    out = model(to_clip_batch(clips).to(device))
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
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False):
        clips, batch_labels, batch_ids = batch[:3]
        clips = to_clip_batch(clips).to(dev, non_blocking=True)
        batch_labels = torch.as_tensor(batch_labels).long()
        with torch.autocast(dev.type, dtype=torch.float16, enabled=use_amp):
            out = model(clips, *pulse_input(batch, dev))
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
