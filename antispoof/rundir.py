"""A training run's folder: the one place that knows its file names and formats.

:func:`antispoof.training.train` writes, and evaluation, prediction, the command line and the experiment
runner read, through :class:`RunDir`::

    config.json      {"format": 1, "model": resolved model config, "training": TrainConfig fields,
                      "data": caller's dict, "world_size": ..., "versions": {...}}
    metrics.jsonl    one JSON line per epoch (train/dev losses, dev EER, threshold, AUC, ...)
    last.pt          checkpoint after the latest epoch: model, optimizer, scheduler (None: constant lr),
                     AMP scaler, RNG states (one set per rank), config, selection state
    best.pt          model + config of the epoch with the lowest dev EER (ties: lower dev loss)
    threshold.json   the dev EER threshold of that epoch (video level), used by evaluation

Every file is written atomically (temporary file + ``os.replace``); the metrics log is appended one
fsynced line at a time. Damaged files give one line naming the file, never a traceback.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .jsonio import append_jsonl, read_json, read_jsonl, write_json

#: The ``format`` entry of every checkpoint this package writes.
CHECKPOINT_FORMAT = "antispoof-checkpoint-v1"
CHECKPOINTS = ("best", "last")


class RunDir:
    """The files of one training run in ``path`` (which need not exist yet).

    Examples
    --------
    >>> run = RunDir("runs/replay")
    >>> run.metrics_path.name, run.checkpoint_path("best").name
    ('metrics.jsonl', 'best.pt')
    """

    CONFIG = "config.json"
    METRICS = "metrics.jsonl"
    THRESHOLD = "threshold.json"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- names ------------------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.path / self.CONFIG

    @property
    def metrics_path(self) -> Path:
        return self.path / self.METRICS

    @property
    def threshold_path(self) -> Path:
        return self.path / self.THRESHOLD

    def checkpoint_path(self, which: str) -> Path:
        """``best.pt`` or ``last.pt``."""
        if which not in CHECKPOINTS:
            raise ValueError(f"checkpoint must be 'best' or 'last', got {which!r}")
        return self.path / f"{which}.pt"

    def holds_run(self) -> bool:
        """Whether training has written here (a checkpoint, the metrics log or the threshold)."""
        paths = (self.checkpoint_path("last"), self.checkpoint_path("best"), self.metrics_path, self.threshold_path)
        return any(p.exists() for p in paths)

    # -- config.json ------------------------------------------------------------------------------------

    def read_config(self) -> dict[str, Any]:
        """The run's ``config.json`` (model, training, data)."""
        if not self.config_path.is_file():
            raise FileNotFoundError(f"{self.path} is not a run directory: {self.CONFIG} is missing")
        return read_json(self.config_path, "run config")

    @staticmethod
    def takes_pulse(config: Mapping[str, Any]) -> bool:
        """Whether the model of a run's ``config.json`` (:meth:`read_config`) reads pulse features: its data
        then needs them (:class:`~antispoof.cache.ClipDataset` with ``pulse=True``)."""
        return bool((config.get("model") or {}).get("pulse_features", False))

    def write_config(self, config: Mapping[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.config_path, config)

    # -- threshold.json ---------------------------------------------------------------------------------

    def read_threshold(self) -> dict[str, Any]:
        """The run's ``threshold.json``: the dev EER threshold of the best epoch (a finite number)."""
        path = self.threshold_path
        if not path.is_file():
            raise FileNotFoundError(f"{self.path} has no {self.THRESHOLD} (training did not finish an epoch?)")
        stored = read_json(path, "threshold file")
        value = stored.get("threshold")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{path}: corrupt threshold file (threshold is {value!r}, not a finite number)")
        return stored

    def write_threshold(self, threshold: float, dev_eer: float, epoch: int, aggregate: str) -> None:
        """The decision threshold of epoch ``epoch``: EER threshold of the dev videos' ``aggregate`` scores."""
        write_json(
            self.threshold_path,
            {
                "threshold": threshold,
                "criterion": "eer",
                "dev_eer": dev_eer,
                "epoch": epoch,
                "aggregate": aggregate,
                "level": "video",
                "decision": "bona fide if score >= threshold",
            },
        )

    def best_epoch(self, checkpoint: str = "best") -> int | None:
        """The epoch of ``best.pt`` as recorded in ``threshold.json`` (None for ``last`` or without one)."""
        if checkpoint == "best" and self.threshold_path.is_file():
            return self.read_threshold().get("epoch")
        return None

    # -- metrics.jsonl ----------------------------------------------------------------------------------

    def read_metrics(self, required: tuple[str, ...] = ("epoch",)) -> list[dict[str, Any]]:
        """The per-epoch records (a torn or corrupt line is skipped with a warning naming the file)."""
        return read_jsonl(self.metrics_path, required=required)

    def append_metrics(self, record: Mapping[str, Any]) -> None:
        append_jsonl(self.metrics_path, record)

    def clear_metrics(self) -> None:
        self.metrics_path.unlink(missing_ok=True)

    def truncate_metrics(self, last_epoch: int) -> None:
        """Drop log lines of epochs after ``last_epoch`` (an interrupted epoch may have logged before dying)."""
        from evm.io import atomic_write

        if not self.metrics_path.is_file():
            return
        kept = [r for r in self.read_metrics() if isinstance(r["epoch"], int) and r["epoch"] <= last_epoch]
        with atomic_write(self.metrics_path, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in kept))

    # -- checkpoints ------------------------------------------------------------------------------------

    def save_checkpoint(self, which: str, state: Mapping[str, Any]) -> None:
        """Write ``state`` (with the format entry first) as ``best.pt`` or ``last.pt``, atomically."""
        import torch

        from evm.io import atomic_write

        with atomic_write(self.checkpoint_path(which), "wb") as f:
            torch.save({"format": CHECKPOINT_FORMAT, **state}, f)

    def load_checkpoint(self, which: str) -> Mapping[str, Any]:
        """The checkpoint ``which`` as saved by :meth:`save_checkpoint` (its format entry checked)."""
        from .models.weights import load_torch_file

        path = self.checkpoint_path(which)
        state = load_torch_file(path)
        if not isinstance(state, Mapping) or state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path}: not an antispoof checkpoint (no {CHECKPOINT_FORMAT} format entry)")
        return state

    def load_model(self, checkpoint: str = "best", device: Any = "cpu"):
        """Rebuild the run's model from ``best.pt`` (or ``last.pt``); returned in eval mode on ``device``."""
        from .inference import resolve_device
        from .models import build_model
        from .models.weights import load_torch_file

        path = self.checkpoint_path(checkpoint)
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
