"""Training loop: Adam, class-balanced sampling, dev-EER model selection, early stopping, exact resume, DDP.

:func:`train` writes a self-describing run directory::

    config.json      {"model": resolved model config, "training": arguments, "data": caller's dict, ...}
    metrics.jsonl    one JSON line per epoch (train/dev losses, dev EER, threshold, AUC, ...)
    last.pt          checkpoint after the latest epoch: model, optimizer, scheduler (None: constant lr),
                     AMP scaler, RNG states (python, numpy, torch, CUDA; one set per rank), config,
                     selection state; written atomically (temporary file + os.replace)
    best.pt          model + config of the epoch with the lowest dev EER (ties: lower dev loss)
    threshold.json   the dev EER threshold of that epoch (video level), used by evaluation

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

from evm.io import atomic_write

from . import __version__, metrics
from .evaluation import (
    ClipPredictions,
    predict_clips,
    read_run_config,
    resolve_device,
    write_json_atomic,
)
from .jsonio import append_jsonl, read_jsonl
from .models import ModelConfig, build_model
from .models.weights import load_torch_file
from .train_config import TrainConfig

CHECKPOINT_FORMAT = "antispoof-checkpoint-v1"
# What runs written before an argument existed did, for the resume check.
_DEFAULTS_OF_OLDER_RUNS = {"lr_schedule": "constant", "still_prob": 0.0, "still_noise": 0.0}


# ------------------------------------------------------------------------------------------- augmentation


def hold_still(
    clips: torch.Tensor, labels: torch.Tensor, prob: float, noise: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn bona fide clips into still-picture attacks: one of their frames held for the whole clip.

    The paper's premise is that a photograph shows no facial motion. A live frame held still has
    exactly the appearance of live frames and the motion of a print on a stand, so the only way to
    score it as an attack is the motion across frames: this keeps the LSTM from resting on per-frame
    appearance alone (which the trunk and the CNN loss already give it). Each bona fide clip is
    replaced with probability ``prob`` by frame ``k`` (uniform) repeated ``T`` times, plus independent
    Gaussian noise per frame and pixel with a standard deviation drawn uniformly in ``[0, noise]``
    per clip (a camera filming a still picture still records sensor noise, so "no change at all"
    must not be the cue). Draws come from torch's global generator, which training seeds and
    checkpoints.

    Parameters
    ----------
    clips : torch.Tensor
        ``(B, T, 3, H, W)`` float in [0, 1].
    labels : torch.Tensor
        ``(B,)`` int, 1 = bona fide, 0 = attack.
    prob : float
        In [0, 1]: probability for each bona fide clip.
    noise : float
        Largest noise standard deviation, in units of the [0, 1] intensity range.

    Returns
    -------
    clips : torch.Tensor
        Same shape; the held clips replaced (a new tensor when any is, else the input).
    clip_labels : torch.Tensor
        ``labels`` with the held clips set to 0 (attack): the LSTM's target.
    frame_labels : torch.Tensor
        ``labels`` unchanged: each held frame is still a live frame, the CNN head's target.

    Examples
    --------
    >>> clips = torch.rand(4, 8, 3, 16, 16)
    >>> held, clip_labels, frame_labels = hold_still(clips, torch.tensor([1, 1, 0, 0]), prob=1.0)
    >>> clip_labels.tolist(), frame_labels.tolist()
    ([0, 0, 0, 0], [1, 1, 0, 0])
    >>> bool((held[0] == held[0, :1]).all())
    True
    """
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1], got {prob}")
    if not noise >= 0.0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    b, t = clips.shape[:2]
    chosen = (labels == 1) & (torch.rand(b) < prob)
    if not bool(chosen.any()):
        return clips, labels, labels
    index = chosen.nonzero().squeeze(1)
    frame = torch.randint(0, t, (len(index),))
    held = clips[index, frame].unsqueeze(1).expand(-1, t, -1, -1, -1)
    if noise > 0:
        sigma = torch.rand(len(index)) * noise
        held = (held + torch.randn(held.shape) * sigma.view(-1, 1, 1, 1, 1)).clamp_(0.0, 1.0)
    clips = clips.clone()
    clips[index] = held.to(clips.dtype)
    clip_labels = labels.clone()
    clip_labels[index] = 0
    return clips, clip_labels, labels


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
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{name} labels must be 0 (attack) or 1 (bona fide), got {sorted(set(labels.tolist()))}")
    if np.unique(labels).size < 2:
        only = "bona fide" if labels[0] == 1 else "attack"
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


def _save_atomic(obj: Any, path: Path) -> None:
    with atomic_write(path, "wb") as f:
        torch.save(obj, f)


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
    ctx: _Distributed,
    cfg: TrainConfig,
    model_config,
    train_dataset,
    train_labels,
    dev_dataset,
    out_dir: Path,
    data,
    resume: bool,
) -> Path:
    from torch.nn.parallel import DistributedDataParallel
    from tqdm.auto import tqdm

    args = cfg.to_dict()
    is_main = ctx.rank == 0
    device = ctx.device
    use_amp = args["amp"] and device.type == "cuda"
    if args["amp"] and not use_amp and is_main:
        warnings.warn("amp=True needs CUDA: training in float32 on the CPU", stacklevel=3)
    requested = ModelConfig.from_dict(model_config)
    if args["still_prob"] > 0 and requested.architecture != "cnn_lstm":
        raise ValueError("still_prob needs the CNN-LSTM: a per-frame model cannot tell a held frame from a live one")
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    metrics_path, config_path = out_dir / "metrics.jsonl", out_dir / "config.json"

    # ---- run directory and model
    # Checked on every rank before any collective call, so a refusal cannot leave a rank waiting.
    resuming = resume and last_path.is_file()
    holds_run = any((out_dir / name).exists() for name in ("last.pt", "best.pt", "metrics.jsonl", "threshold.json"))
    if holds_run and not resume:
        raise ValueError(f"{out_dir} already holds a run: pass resume=True or choose a new out_dir")
    if resuming:
        stored = read_run_config(out_dir)
        _check_resume_config(stored, requested, cfg, data, ctx.world_size)
        # The checkpoint replaces every weight, so the pretrained file need not exist any more.
        model = build_model(stored["model"], load_weights=False)
    else:
        seed_everything(args["seed"])
        model = build_model(requested)
    config = {
        "format": 1,
        "model": model.config.to_dict(),
        "training": args,
        "data": data,
        "world_size": ctx.world_size,
        "versions": {"antispoof": __version__, "torch": str(torch.__version__), "python": platform.python_version()},
    }
    if is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(config_path, config)

    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args["lr"], weight_decay=args["weight_decay"])
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    sampler = EpochSampler(
        train_labels, balanced=args["balanced"], seed=args["seed"], rank=ctx.rank, world_size=ctx.world_size
    )
    scheduler = _lr_scheduler(optimizer, args, steps_per_epoch=math.ceil(len(sampler) / args["batch_size"]))
    net = (
        DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if ctx.active
        else model
    )

    state = {
        "epoch": 0,
        "best_epoch": None,
        "best_eer": math.inf,
        "best_loss": math.inf,
        "bad_epochs": 0,
        "stopped_early": False,
    }
    if resuming:
        ckpt = load_torch_file(last_path)
        if not isinstance(ckpt, Mapping) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{last_path}: not an antispoof checkpoint (no {CHECKPOINT_FORMAT} format entry)")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        state = dict(ckpt["state"])
        _set_rng_state(ckpt["rng"][ctx.rank])
        if is_main:
            _truncate_metrics(metrics_path, state["epoch"])
    else:
        if is_main:
            metrics_path.unlink(missing_ok=True)
        seed_everything(derive_seed(args["seed"], ctx.rank))  # distinct dropout streams per rank
    ctx.barrier()

    show = args["progress"] and is_main
    for epoch in range(state["epoch"] + 1, args["epochs"] + 1):
        if state["stopped_early"]:
            break
        started = time.perf_counter()
        sampler.set_epoch(epoch)
        loader = DataLoader(
            train_dataset,
            batch_size=args["batch_size"],
            sampler=sampler,
            num_workers=args["num_workers"],
            pin_memory=device.type == "cuda",
            worker_init_fn=_seed_worker,
            generator=torch.Generator().manual_seed(derive_seed(args["seed"], epoch, ctx.rank)),
        )
        model.train()
        sums = [0.0, 0.0, 0.0, 0.0]  # total, lstm, cnn, clips
        bar = tqdm(loader, desc=f"epoch {epoch}/{args['epochs']}", disable=not show, leave=False)
        for step, (clips, labels, _) in enumerate(bar):
            labels = torch.as_tensor(labels).long()
            frame_labels = labels
            if args["still_prob"] > 0:  # on the CPU: the same draws whatever the device
                clips, labels, frame_labels = hold_still(clips, labels, args["still_prob"], args["still_noise"])
            clips = clips.to(device, non_blocking=True).float()
            labels, frame_labels = labels.to(device), frame_labels.to(device)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                output = net(clips)
            terms = model.loss(output, labels, lambda_cnn=args["lambda_cnn"], frame_labels=frame_labels)
            if not torch.isfinite(terms.total):
                raise FloatingPointError(f"loss is {float(terms.total)} at epoch {epoch} step {step}: lower lr?")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(terms.total).backward()
            if args["max_grad_norm"] is not None:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), float(args["max_grad_norm"]))
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
        total, lstm, cnn, count = ctx.sum(sums)

        if ctx.active:
            # DDP syncs gradients, not BN running statistics: score the dev set (on every rank) with
            # rank 0's buffers, i.e. exactly the model that is saved.
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)
        dev = _predict_sharded(ctx, model, dev_dataset, args, use_amp, show)
        ids, video_scores, video_labels = metrics.aggregate_by_video(
            dev.video_ids, dev.scores, dev.labels, args["aggregate"]
        )
        bonafide, attack = metrics.split_by_label(video_scores, video_labels)
        dev_eer, dev_threshold = metrics.eer(bonafide, attack)
        dev_loss = dev.loss_sums["total"] / len(dev.scores)
        improved = (dev_eer, dev_loss) < (state["best_eer"], state["best_loss"])
        if improved:
            state.update(best_epoch=epoch, best_eer=dev_eer, best_loss=dev_loss, bad_epochs=0)
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        if args["patience"] is not None and state["bad_epochs"] >= args["patience"]:
            state["stopped_early"] = True

        record = {
            "epoch": epoch,
            "train_loss": total / count,
            "train_lstm_loss": lstm / count if model.config.architecture == "cnn_lstm" else None,
            "train_cnn_loss": cnn / count,
            "dev_loss": dev_loss,
            "dev_lstm_loss": dev.loss_sums["lstm"] / len(dev.scores)
            if model.config.architecture == "cnn_lstm"
            else None,
            "dev_cnn_loss": dev.loss_sums["cnn"] / len(dev.scores),
            "dev_eer": dev_eer,
            "dev_threshold": dev_threshold,
            "dev_auc": metrics.roc_auc(bonafide, attack),
            "dev_videos": len(ids),
            "lr": optimizer.param_groups[0]["lr"],
            "improved": improved,
            "best_epoch": state["best_epoch"],
            "stopped_early": state["stopped_early"],
            "epoch_seconds": time.perf_counter() - started,
        }
        rng_states = ctx.all_gather(_rng_state())
        # The epoch's files (best.pt, threshold.json, its metrics line, last.pt) are written together: a Ctrl-C
        # or SIGTERM arriving meanwhile waits until they are, so an interrupted run keeps every finished epoch.
        if is_main:
            with _signals_deferred():
                _write_epoch(
                    improved, epoch, model, config, dev_eer, dev_threshold, dev_loss, out_dir, best_path, args,
                    record, metrics_path, optimizer, scheduler, scaler, rng_states, state, last_path, show,
                )  # fmt: skip
        ctx.barrier()
    return out_dir


def _write_epoch(
    improved, epoch, model, config, dev_eer, dev_threshold, dev_loss, out_dir, best_path, args, record,
    metrics_path, optimizer, scheduler, scaler, rng_states, state, last_path, show,
) -> None:  # fmt: skip
    """Rank 0's files of a finished epoch: best.pt and threshold.json when it improved, its metrics line, last.pt."""
    from tqdm.auto import tqdm

    if improved:
        _save_atomic(
            {
                "format": CHECKPOINT_FORMAT,
                "epoch": epoch,
                "model": _cpu_state_dict(model),
                "config": config,
                "dev": {"eer": dev_eer, "threshold": dev_threshold, "loss": dev_loss},
            },
            best_path,
        )
        write_json_atomic(
            out_dir / "threshold.json",
            {
                "threshold": dev_threshold,
                "criterion": "eer",
                "dev_eer": dev_eer,
                "epoch": epoch,
                "aggregate": args["aggregate"],
                "level": "video",
                "decision": "bona fide if score >= threshold",
            },
        )
    append_jsonl(metrics_path, record)
    _save_atomic(
        {
            "format": CHECKPOINT_FORMAT,
            "epoch": epoch,
            "model": _cpu_state_dict(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict(),
            "rng": rng_states,
            "state": state,
            "config": config,
        },
        last_path,
    )
    if show:
        tqdm.write(
            f"epoch {epoch}: train loss {record['train_loss']:.4f}, dev loss {dev_loss:.4f}, "
            f"dev EER {dev_eer:.2%}{' (best)' if improved else ''}"
        )


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


def _lr_scheduler(optimizer, args, steps_per_epoch: int):
    """None for a constant rate; for "cosine", a per-step half cosine from the peak to 0 at the last step."""
    if args["lr_schedule"] == "constant":
        return None
    total = max(1, args["epochs"] * steps_per_epoch)

    def factor(step: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _predict_sharded(ctx: _Distributed, model, dataset, args, use_amp: bool, show: bool) -> ClipPredictions:
    """Dev predictions, each rank scoring every world_size-th clip, gathered on all ranks in dataset order."""
    indices = range(ctx.rank, len(dataset), ctx.world_size)
    part = predict_clips(
        model,
        dataset,
        indices=indices,
        batch_size=args["batch_size"],
        amp=use_amp,
        num_workers=args["num_workers"],
        lambda_cnn=args["lambda_cnn"],
        progress=show,
        desc="dev",
    )
    parts = [p for p in ctx.all_gather(part) if len(p.scores)]
    return ClipPredictions.concatenate(parts)


def _truncate_metrics(path: Path, last_epoch: int) -> None:
    """Drop log lines of epochs after the checkpoint (an interrupted epoch may have logged before dying)."""
    if not path.is_file():
        return
    # A line torn by a kill mid-write is skipped with a warning naming the file (read_jsonl).
    kept = [
        r for r in read_jsonl(path, required=("epoch",)) if isinstance(r["epoch"], int) and r["epoch"] <= last_epoch
    ]
    with atomic_write(path, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in kept))
