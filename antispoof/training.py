"""Training loop: Adam, class-balanced sampling, dev-EER model selection, early stopping, exact resume, DDP.

:func:`train` writes a self-describing run directory (its files: :mod:`antispoof.rundir`): the config,
a metrics line per epoch, ``last.pt`` (everything needed to resume), ``best.pt`` and ``threshold.json`` of
the epoch with the lowest dev EER. The settings are a :class:`~antispoof.train_config.TrainConfig`.

The loop: :func:`train` checks its inputs; ``_train`` builds or restores the model, optimizer and state,
then for each epoch :func:`train_one_epoch`, :func:`score_dev`, :class:`Selection` (model selection and
early stopping) and the checkpoints (``_save_best``, ``_save_last``; ``_restore`` on resume).

Datasets yield ``(clip, label, video_id)``; ``clip`` float32 ``(T, 3, H, W)`` in [0, 1], ``label`` 1 =
bona fide / 0 = attack. Dev scores are aggregated per video (mean of clip scores by default) before the
EER. If a dataset has a ``labels`` attribute (a sequence with one int per item) it is used for balanced
sampling and the class checks; otherwise every item is read once to get its label.

Determinism: the same seed gives the same run on CPU, and ``resume=True`` after any epoch continues
bit-identically (model, optimizer, RNG and sampler state are all restored; the sampler and loader seeds
derive from ``(seed, epoch)``). On CUDA, cuDNN kernels may still vary slightly between runs.

Distributed: run under ``torchrun`` (or with a process group already initialised): the model is wrapped
in ``DistributedDataParallel``, every rank draws its shard of the same epoch sample, ``batch_size`` is
per process, the dev set is split across ranks and gathered, and rank 0 writes the run directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import platform
import random
import signal
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

from . import __version__, metrics
from .augment import hold_still
from .inference import ClipPredictions, predict_clips, pulse_input, resolve_device
from .labels import ATTACK, BONA_FIDE
from .models import ModelConfig, build_model
from .rundir import RunDir
from .train_config import TrainConfig

# What runs written before an argument existed did, for the resume check.
_DEFAULTS_OF_OLDER_RUNS = {"lr_schedule": "constant", "still_prob": 0.0, "still_noise": 0.0}


# ------------------------------------------------------------------------------------------------ sampling


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers, e.g. ``(seed, epoch, rank)``, independent of any global RNG."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint64)[0] >> np.uint64(1))


class EpochSampler(Sampler[int]):
    """Per-epoch index sampler, optionally class-balanced, shardable across ranks.

    Each epoch draws ``ceil(N / world_size) * world_size`` indices from a generator seeded with
    ``(seed, epoch)`` (identical on every rank) and gives rank ``r`` the indices ``r, r + W, ...``.

    * ``balanced=True``: draws with replacement, each class with probability 1 / n_classes (attacks can
      outnumber bona fide 5:1), uniform within a class.
    * ``balanced=False``: a permutation, padded by wrapping around when not divisible by the world size.

    Call :meth:`set_epoch` before each epoch.
    """

    def __init__(self, labels: Any, *, balanced: bool, seed: int, rank: int = 0, world_size: int = 1) -> None:
        labels = np.asarray(labels).reshape(-1)
        if labels.size == 0:
            raise ValueError("cannot sample from an empty dataset")
        self.n = labels.size
        self.balanced = bool(balanced)
        self.seed = int(seed)
        self.rank, self.world_size = int(rank), int(world_size)
        self.num_samples = math.ceil(self.n / self.world_size)
        self.total = self.num_samples * self.world_size
        self.epoch = 0
        _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        self.weights = torch.as_tensor(1.0 / counts[inverse], dtype=torch.float64)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        g = torch.Generator().manual_seed(derive_seed(self.seed, self.epoch))
        if self.balanced:
            order = torch.multinomial(self.weights, self.total, replacement=True, generator=g)
        else:
            order = torch.randperm(self.n, generator=g)
            if self.total > self.n:
                order = order.repeat(math.ceil(self.total / self.n))[: self.total]
        return iter(order[self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples


def dataset_labels(dataset: Dataset) -> np.ndarray:
    """``(N,)`` int64 labels: the dataset's ``labels`` attribute if it has one of the right length, else read."""
    labels = getattr(dataset, "labels", None)
    if labels is not None and not callable(labels) and len(labels) == len(dataset):
        return np.asarray(labels, dtype=np.int64).reshape(-1)
    return np.array([int(dataset[i][1]) for i in range(len(dataset))], dtype=np.int64)


def _check_classes(labels: np.ndarray, name: str, purpose: str) -> None:
    if labels.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isin(labels, (ATTACK, BONA_FIDE)).all():
        raise ValueError(f"{name} labels must be 0 (attack) or 1 (bona fide), got {sorted(set(labels.tolist()))}")
    if np.unique(labels).size < 2:
        only = "bona fide" if labels[0] == BONA_FIDE else "attack"
        raise ValueError(f"{name} has only {only} samples: {purpose} needs both classes")


# --------------------------------------------------------------------------------------------------- state


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's global RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _seed_worker(worker_id: int) -> None:
    # torch seeds each worker from the loader's generator; derive numpy/python seeds from it.
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def _rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: Mapping[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


# ---------------------------------------------------------------------------------------------- distributed


class _Distributed:
    """Rank/world size, the device of this process, and whether we own the process group."""

    def __init__(self, device: str) -> None:
        self.owns_group = False
        if not dist.is_available():
            self.rank, self.world_size = 0, 1
        else:
            if not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:  # torchrun
                use_cuda = device != "cpu" and torch.cuda.is_available()
                dist.init_process_group("nccl" if use_cuda else "gloo")
                self.owns_group = True
            self.rank = dist.get_rank() if dist.is_initialized() else 0
            self.world_size = dist.get_world_size() if dist.is_initialized() else 1
        dev = resolve_device(device)
        if dev.type == "cuda" and dev.index is None:
            if self.world_size > 1:
                dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", self.rank % torch.cuda.device_count())))
            else:
                dev = torch.device("cuda", torch.cuda.current_device())
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        self.device = dev

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def all_gather(self, obj: Any) -> list[Any]:
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, values: list[float]) -> list[float]:
        if not self.active:
            return values
        t = torch.tensor(values, dtype=torch.float64)
        if dist.get_backend() == "nccl":
            t = t.to(self.device)
        dist.all_reduce(t)
        return t.cpu().tolist()

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


# -------------------------------------------------------------------------------------------------- train


def train(
    model_config: Mapping[str, Any] | ModelConfig,
    train_dataset: Dataset,
    dev_dataset: Dataset,
    out_dir: str | Path,
    config: TrainConfig | Mapping[str, Any] | None = None,
    *,
    resume: bool = False,
    data: Mapping[str, Any] | None = None,
    **settings: Any,
) -> Path:
    """Train a model and select the epoch with the lowest dev EER; returns the run directory.

    Parameters
    ----------
    model_config : dict or ModelConfig
        See :class:`antispoof.models.ModelConfig` (partial dicts take defaults).
    train_dataset, dev_dataset : Dataset
        ``(clip, label, video_id)`` items; both need bona fide and attack samples.
    out_dir : path
        Run directory; created if missing. A directory that already holds a run is refused unless
        ``resume=True``.
    config : TrainConfig or dict, optional
        The training settings (:class:`~antispoof.train_config.TrainConfig`: epochs, batch size, learning
        rate and schedule, loss weight, seed, device, sampling, early stopping, augmentation in the loop);
        a dict may be partial, missing fields take the defaults.
    resume : bool
        Continue from ``out_dir/last.pt`` bit-identically (starts fresh if there is none). The model,
        data and training settings must match the stored ones, except ``epochs``, ``patience``,
        ``num_workers``, ``progress`` and ``device``.
    data : dict, optional
        Opaque JSON-serialisable description of the data (cache/protocol identity, magnification
        parameters ...), stored in ``config.json``.
    **settings
        :class:`~antispoof.train_config.TrainConfig` fields overriding ``config``'s, e.g.
        ``train(model, train_set, dev_set, "run", epochs=3, lr=1e-3, seed=0)``.

    Returns
    -------
    Path
        The run directory.

    Raises
    ------
    ValueError
        A setting out of range or unknown, ``data`` not JSON, a dataset without both classes, a run
        already in ``out_dir`` (without ``resume``), or a resumed run with other settings.
    """
    base = TrainConfig.from_dict(config or {})
    cfg = TrainConfig.from_dict({**base.to_dict(), **settings}) if settings else base
    if data is not None and not isinstance(data, Mapping):
        raise ValueError(f"data must be a dict, got {type(data).__name__}")
    data = dict(data or {})
    try:
        json.dumps(data)
    except (TypeError, ValueError) as error:
        raise ValueError(f"data must be JSON-serialisable: {error}") from None
    _check_classes(train_labels := dataset_labels(train_dataset), "train_dataset", "training")
    wants_pulse = ModelConfig.from_dict(model_config).pulse_features
    for name, dataset in (("train_dataset", train_dataset), ("dev_dataset", dev_dataset)):
        if (getattr(dataset, "pulse_features", None) is not None) != wants_pulse:
            raise ValueError(
                f"{name}: the model {'takes' if wants_pulse else 'takes no'} pulse features and the dataset "
                f"{'has none (ClipDataset(..., pulse=True))' if wants_pulse else 'has them'}"
            )
    _check_classes(dataset_labels(dev_dataset), "dev_dataset", "the dev EER")

    ctx = _Distributed(cfg.device)
    try:
        return _train(ctx, cfg, model_config, train_dataset, train_labels, dev_dataset, Path(out_dir), data, resume)
    finally:
        ctx.close()


def _check_resume_config(
    stored: Mapping[str, Any], requested_model: ModelConfig, cfg: TrainConfig, data, world_size
) -> None:
    """Refuse to resume a run with a different model, data or computation-changing argument."""
    stored_model = ModelConfig.from_dict(stored["model"]).to_dict()
    for key, value in requested_model.to_dict().items():
        if key in ("normalization", "weights_layout") and value == "auto":
            continue  # resolved at build time; the stored value is the resolved one
        if stored_model.get(key) != value:
            raise ValueError(f"resume: model config {key!r} is {value!r} but the run has {stored_model.get(key)!r}")
    for key, value in cfg.to_dict().items():
        fixed = cfg.fixed_on_resume(key)
        had = stored["training"].get(key, _DEFAULTS_OF_OLDER_RUNS.get(key))
        if fixed and had != value:
            raise ValueError(f"resume: training argument {key!r} is {value!r} but the run has {had!r}")
    if stored.get("data", {}) != data:
        raise ValueError("resume: the data description differs from the run's config.json 'data'")
    if stored.get("world_size", 1) != world_size:
        raise ValueError(f"resume: {world_size} processes but the run used {stored.get('world_size', 1)}")


def _train(
    ctx: _Distributed, cfg: TrainConfig, model_config, train_dataset, train_labels, dev_dataset, out_dir: Path, data,
    resume: bool,
) -> Path:  # fmt: skip
    """The orchestrator: model, optimizer and state (fresh or restored), then train/score/select/save per epoch."""
    from torch.nn.parallel import DistributedDataParallel

    run, is_main, device = RunDir(out_dir), ctx.rank == 0, ctx.device
    use_amp = cfg.amp and device.type == "cuda"
    if cfg.amp and not use_amp and is_main:
        warnings.warn("amp=True needs CUDA: training in float32 on the CPU", stacklevel=3)
    requested = ModelConfig.from_dict(model_config)
    if cfg.still_prob > 0 and requested.architecture != "cnn_lstm":
        raise ValueError("still_prob needs the CNN-LSTM: a per-frame model cannot tell a held frame from a live one")
    # Checked on every rank before any collective call, so a refusal cannot leave a rank waiting.
    resuming = resume and run.checkpoint_path("last").is_file()
    if run.holds_run() and not resume:
        raise ValueError(f"{out_dir} already holds a run: pass resume=True or choose a new out_dir")
    if resuming:
        stored = run.read_config()
        _check_resume_config(stored, requested, cfg, data, ctx.world_size)
        # The checkpoint replaces every weight, so the pretrained file need not exist any more.
        model = build_model(stored["model"], load_weights=False)
    else:
        seed_everything(cfg.seed)
        model = build_model(requested)
        if requested.pulse_features:  # standardised by the training videos' statistics, saved with the weights
            model.set_pulse_statistics(train_dataset.pulse_features)
    config = _run_config(model, cfg, data, ctx.world_size)
    if is_main:
        run.write_config(config)

    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    sampler = EpochSampler(train_labels, balanced=cfg.balanced, seed=cfg.seed, rank=ctx.rank, world_size=ctx.world_size)
    scheduler = _lr_scheduler(optimizer, cfg, steps_per_epoch=math.ceil(len(sampler) / cfg.batch_size))
    net = model
    if ctx.active:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if resuming:
        selection = _restore(run, ctx.rank, model, optimizer, scheduler, scaler)
        if is_main:
            run.truncate_metrics(selection.epoch)
    else:
        selection = Selection()
        if is_main:
            run.clear_metrics()
        seed_everything(derive_seed(cfg.seed, ctx.rank))  # distinct dropout streams per rank
    ctx.barrier()

    show = cfg.progress and is_main
    for epoch in range(selection.epoch + 1, cfg.epochs + 1):
        if selection.stopped_early:
            break
        started = time.perf_counter()
        sampler.set_epoch(epoch)
        loader = DataLoader(
            train_dataset,
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.num_workers,
            pin_memory=device.type == "cuda",
            worker_init_fn=_seed_worker,
            generator=torch.Generator().manual_seed(derive_seed(cfg.seed, epoch, ctx.rank)),
        )
        losses = ctx.sum(train_one_epoch(net, model, loader, optimizer, scaler, scheduler, cfg, use_amp, epoch, show))
        dev = score_dev(ctx, model, dev_dataset, cfg, use_amp, show)
        improved = selection.update(epoch, dev.eer, dev.loss, cfg.patience)
        record = _epoch_record(epoch, losses, dev, improved, selection, optimizer, model, started)
        rng_states = ctx.all_gather(_rng_state())
        # The epoch's files (best.pt, threshold.json, its metrics line, last.pt) are written together: a Ctrl-C
        # or SIGTERM arriving meanwhile waits until they are, so an interrupted run keeps every finished epoch.
        if is_main:
            with _signals_deferred():
                if improved:
                    _save_best(run, model, config, epoch, dev, cfg.aggregate)
                run.append_metrics(record)
                _save_last(run, model, config, epoch, optimizer, scheduler, scaler, rng_states, selection)
            if show:
                from tqdm.auto import tqdm

                tqdm.write(
                    f"epoch {epoch}: train loss {record['train_loss']:.4f}, dev loss {dev.loss:.4f}, "
                    f"dev EER {dev.eer:.2%}{' (best)' if improved else ''}"
                )
        ctx.barrier()
    return out_dir


def _epoch_record(epoch, losses, dev: DevScores, improved, selection: Selection, optimizer, model, started) -> dict:
    """The epoch's line of the metrics log (losses summed over ranks: ``[total, lstm, cnn, clips]``)."""
    total, lstm, cnn, count = losses
    has_lstm = model.config.architecture == "cnn_lstm"
    return {
        "epoch": epoch,
        "train_loss": total / count,
        "train_lstm_loss": lstm / count if has_lstm else None,
        "train_cnn_loss": cnn / count,
        "dev_loss": dev.loss,
        "dev_lstm_loss": dev.lstm_loss if has_lstm else None,
        "dev_cnn_loss": dev.cnn_loss,
        "dev_eer": dev.eer,
        "dev_threshold": dev.threshold,
        "dev_auc": dev.auc,
        "dev_videos": dev.n_videos,
        "lr": optimizer.param_groups[0]["lr"],
        "improved": improved,
        "best_epoch": selection.best_epoch,
        "stopped_early": selection.stopped_early,
        "epoch_seconds": time.perf_counter() - started,
    }


def _run_config(model, cfg: TrainConfig, data: dict, world_size: int) -> dict[str, Any]:
    """What ``config.json`` records: the resolved model, the training settings, the data, the versions."""
    return {
        "format": 1,
        "model": model.config.to_dict(),
        "training": cfg.to_dict(),
        "data": data,
        "world_size": world_size,
        "versions": {"antispoof": __version__, "torch": str(torch.__version__), "python": platform.python_version()},
    }


def train_one_epoch(
    net, model, loader, optimizer, scaler, scheduler, cfg: TrainConfig, use_amp: bool, epoch: int, show: bool
) -> list[float]:
    """One pass over ``loader``: forward (``net``: the model or its DDP wrapper), loss, step, per-step schedule.

    Returns
    -------
    list[float]
        ``[total, lstm, cnn, clips]``: this process's sums of the batch mean losses times the batch size,
        and its number of clips (sum across ranks, then divide for the epoch's means).
    """
    from tqdm.auto import tqdm

    device = next(model.parameters()).device
    model.train()
    sums = [0.0, 0.0, 0.0, 0.0]  # total, lstm, cnn, clips
    bar = tqdm(loader, desc=f"epoch {epoch}/{cfg.epochs}", disable=not show, leave=False)
    for step, batch in enumerate(bar):
        clips, labels = batch[:2]
        labels = torch.as_tensor(labels).long()
        frame_labels = labels
        if cfg.still_prob > 0:  # on the CPU: the same draws whatever the device
            clips, labels, frame_labels = hold_still(clips, labels, cfg.still_prob, cfg.still_noise)
        clips = clips.to(device, non_blocking=True).float()
        labels, frame_labels = labels.to(device), frame_labels.to(device)
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            output = net(clips, *pulse_input(batch, device))
        terms = model.loss(output, labels, lambda_cnn=cfg.lambda_cnn, frame_labels=frame_labels)
        if not torch.isfinite(terms.total):
            raise FloatingPointError(f"loss is {float(terms.total)} at epoch {epoch} step {step}: lower lr?")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(terms.total).backward()
        if cfg.max_grad_norm is not None:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(cfg.max_grad_norm))
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        n = labels.shape[0]
        sums[0] += terms.total.item() * n
        sums[1] += terms.lstm.item() * n if terms.lstm is not None else 0.0
        sums[2] += terms.cnn.item() * n
        sums[3] += n
        bar.set_postfix(loss=f"{sums[0] / sums[3]:.4f}")
    return sums


@dataclasses.dataclass(frozen=True)
class DevScores:
    """An epoch's dev set results: video-level EER, its threshold and AUC, mean clip losses, videos scored."""

    eer: float
    threshold: float
    auc: float
    loss: float
    lstm_loss: float
    cnn_loss: float
    n_videos: int


def score_dev(ctx: _Distributed, model, dataset, cfg: TrainConfig, use_amp: bool, show: bool) -> DevScores:
    """Score the dev set (split across ranks), aggregate clips per video, EER and its threshold, mean losses."""
    if ctx.active:
        # DDP syncs gradients, not BN running statistics: score the dev set (on every rank) with
        # rank 0's buffers, i.e. exactly the model that is saved.
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)
    indices = range(ctx.rank, len(dataset), ctx.world_size)
    part = predict_clips(
        model,
        dataset,
        indices=indices,
        batch_size=cfg.batch_size,
        amp=use_amp,
        num_workers=cfg.num_workers,
        lambda_cnn=cfg.lambda_cnn,
        progress=show,
        desc="dev",
    )
    dev = ClipPredictions.concatenate([p for p in ctx.all_gather(part) if len(p.scores)])
    ids, video_scores, video_labels = metrics.aggregate_by_video(dev.video_ids, dev.scores, dev.labels, cfg.aggregate)
    bonafide, attack = metrics.split_by_label(video_scores, video_labels)
    eer, threshold = metrics.eer(bonafide, attack)
    n = len(dev.scores)
    return DevScores(
        eer=eer,
        threshold=threshold,
        auc=metrics.roc_auc(bonafide, attack),
        loss=dev.loss_sums["total"] / n,
        lstm_loss=dev.loss_sums["lstm"] / n,
        cnn_loss=dev.loss_sums["cnn"] / n,
        n_videos=len(ids),
    )


@dataclasses.dataclass
class Selection:
    """Model selection and early stopping: the epoch with the lowest dev EER (ties: lower dev loss) so far.

    Stored in ``last.pt`` as the ``state`` dict (:meth:`to_dict`), so a resumed run selects as if never stopped.
    """

    epoch: int = 0
    best_epoch: int | None = None
    best_eer: float = math.inf
    best_loss: float = math.inf
    bad_epochs: int = 0
    stopped_early: bool = False

    def update(self, epoch: int, dev_eer: float, dev_loss: float, patience: int | None) -> bool:
        """Record epoch ``epoch``'s dev results; returns whether it is the new best."""
        improved = (dev_eer, dev_loss) < (self.best_eer, self.best_loss)
        if improved:
            self.best_epoch, self.best_eer, self.best_loss, self.bad_epochs = epoch, dev_eer, dev_loss, 0
        else:
            self.bad_epochs += 1
        self.epoch = epoch
        if patience is not None and self.bad_epochs >= patience:
            self.stopped_early = True
        return improved

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------- checkpoints


def _save_best(run: RunDir, model, config: dict, epoch: int, dev: DevScores, aggregate: str) -> None:
    """``best.pt`` (weights and config) and ``threshold.json`` of a new best epoch."""
    run.save_checkpoint(
        "best",
        {
            "epoch": epoch,
            "model": _cpu_state_dict(model),
            "config": config,
            "dev": {"eer": dev.eer, "threshold": dev.threshold, "loss": dev.loss},
        },
    )
    run.write_threshold(dev.threshold, dev.eer, epoch, aggregate)


def _save_last(run: RunDir, model, config, epoch, optimizer, scheduler, scaler, rng_states, selection) -> None:
    """``last.pt``: everything :func:`_restore` needs to continue bit-identically after ``epoch``."""
    run.save_checkpoint(
        "last",
        {
            "epoch": epoch,
            "model": _cpu_state_dict(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict(),
            "rng": rng_states,
            "state": selection.to_dict(),
            "config": config,
        },
    )


def _restore(run: RunDir, rank: int, model, optimizer, scheduler, scaler) -> Selection:
    """Load ``last.pt`` into the model, optimizer, schedule, scaler and this rank's RNGs; its selection state."""
    ckpt = run.load_checkpoint("last")
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(ckpt["scheduler"])
    scaler.load_state_dict(ckpt["scaler"])
    selection = Selection(**ckpt["state"])
    _set_rng_state(ckpt["rng"][rank])
    return selection


@contextlib.contextmanager
def _signals_deferred():
    """SIGINT, SIGTERM and SIGHUP wait until the block is done, then act as they would have (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        handler = signal.getsignal(sig)
        if handler in (signal.SIG_IGN, None):
            continue
        previous[sig] = handler
        signal.signal(sig, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)  # e.g. raises KeyboardInterrupt, or the CLI's Terminated
            else:
                os.kill(os.getpid(), received[0])  # SIG_DFL: the default action


def _lr_scheduler(optimizer, cfg: TrainConfig, steps_per_epoch: int):
    """None for a constant rate; for "cosine", a per-step half cosine from the peak to 0 at the last step."""
    if cfg.lr_schedule == "constant":
        return None
    total = max(1, cfg.epochs * steps_per_epoch)

    def factor(step: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
