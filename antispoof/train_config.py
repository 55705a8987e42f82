"""The training settings: one frozen, validated :class:`TrainConfig` that ``train()``, the ``antispoof train``
options and a study's ``[train]`` table are all built from.

A light module (no torch, no numpy at import time) so that the command line can take its option defaults
from the fields without loading the trainer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .limits import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED, MAX_WORKERS

#: Learning-rate schedules :func:`antispoof.training.train` knows.
LR_SCHEDULES = ("constant", "cosine")
#: Settings that may change when a run is resumed (they do not change the computation; ``epochs`` does
#: with the cosine schedule, see :meth:`TrainConfig.fixed_on_resume`).
RESUMABLE_CHANGES = frozenset({"epochs", "patience", "num_workers", "progress", "device"})
#: Settings that do not change what a run computes (left out of a study's stored cell settings).
RUNTIME = ("device", "num_workers")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a model is trained: optimisation, sampling, model selection, augmentation in the loop, hardware.

    Every number is checked on construction (finite, in range; one-line ``ValueError`` naming the field).
    The field order is the order of ``config.json``'s ``"training"`` table.

    Attributes
    ----------
    epochs : int
        Total number of epochs (when resuming, the run continues up to this count).
    batch_size : int
        Clips per optimisation step (per process under DDP).
    lr : float
        Adam learning rate (the paper's 1e-5): the constant rate, or the peak of the cosine schedule.
    lambda_cnn : float
        Weight of the per-frame CNN loss: ``L = L_lstm + lambda_cnn * L_cnn`` (ignored by the frame CNN).
    seed : int
        Seeds model init, sampling, dropout and loader workers.
    device : {"auto", "cpu", "cuda", "cuda:N"}
    amp : bool
        float16 autocast + gradient scaling on CUDA; ignored with a warning on CPU.
    balanced : bool
        Class-balanced sampling with replacement (each class drawn with equal probability).
    patience : int or None
        Stop after this many epochs without a better dev EER; None trains all epochs.
    num_workers : int
        DataLoader worker processes.
    aggregate : {"mean", "median", "max", "min"}
        Clip scores -> video score for the dev EER.
    weight_decay : float
        Adam L2 penalty (default 0, as in the paper).
    lr_schedule : {"constant", "cosine"}
        ``"constant"`` (the paper); ``"cosine"`` decays the rate every step from ``lr`` to 0 at the end
        of epoch ``epochs`` (half a cosine), which settles the weights by the last epochs instead of
        leaving them at the noise level of the peak rate. With ``"cosine"`` the schedule depends on
        ``epochs``, so a resumed run must keep it.
    max_grad_norm : float or None
        Clip the global gradient norm (off by default).
    still_prob, still_noise : float
        :func:`antispoof.augment.hold_still` on every training batch: each bona fide clip becomes, with
        probability ``still_prob``, one of its frames held still (plus noise of standard deviation up to
        ``still_noise``) labelled attack for the LSTM loss (its frames stay bona fide for the CNN loss).
        Off by default; needs the CNN-LSTM.
    progress : bool
        tqdm bars and a line per epoch (rank 0).

    Examples
    --------
    >>> TrainConfig(epochs=3, lr=1e-3).to_dict()["epochs"]
    3
    >>> TrainConfig.default("batch_size")
    8
    """

    epochs: int = 20
    batch_size: int = 8
    lr: float = 1e-5
    lambda_cnn: float = 1.0
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    balanced: bool = True
    patience: int | None = 5
    num_workers: int = 0
    aggregate: str = "mean"
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    max_grad_norm: float | None = None
    still_prob: float = 0.0
    still_noise: float = 0.0
    progress: bool = True

    def __post_init__(self) -> None:
        # Imported here: evm's package import loads Numba, which the command line must not pay for at start.
        from evm.validation import integer, optional, positive, real

        from .metrics import AGGREGATES

        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        # The sizes have upper bounds, checked before anything is allocated from them.
        put("epochs", integer(self.epochs, "epochs", minimum=1, maximum=MAX_EPOCHS))
        put("batch_size", integer(self.batch_size, "batch_size", minimum=1, maximum=MAX_BATCH_SIZE))
        put("seed", integer(self.seed, "seed", minimum=0, maximum=MAX_SEED))
        put("num_workers", integer(self.num_workers, "num_workers", minimum=0, maximum=MAX_WORKERS))
        put("patience", optional(integer, self.patience, "patience", minimum=1, maximum=MAX_EPOCHS))
        put("lr", positive(self.lr, "lr", maximum=1e3))
        for name in ("lambda_cnn", "weight_decay", "still_noise"):
            put(name, real(getattr(self, name), name, minimum=0.0, maximum=1e6))
        put("still_prob", real(self.still_prob, "still_prob", minimum=0.0, maximum=1.0))
        put("max_grad_norm", optional(positive, self.max_grad_norm, "max_grad_norm"))
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {self.aggregate!r}")
        device = self.device
        if not isinstance(device, str) or not (device in ("auto", "cpu", "cuda") or device.startswith("cuda:")):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
        for name in ("amp", "balanced", "progress"):
            put(name, bool(getattr(self, name)))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The field names, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def default(cls, name: str) -> Any:
        """The default of field ``name``, without building (and validating) a config: for option defaults."""
        return next(f.default for f in dataclasses.fields(cls) if f.name == name)

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> TrainConfig:
        """A config from a (partial) mapping of field names; missing fields take their defaults.

        Raises
        ------
        ValueError
            An unknown name, or a value out of range (one line naming the field).
        """
        if isinstance(settings, TrainConfig):
            return settings
        unknown = sorted(set(settings) - set(cls.names()))
        if unknown:
            raise ValueError(f"unknown training setting {unknown[0]!r}; known: {', '.join(cls.names())}")
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{field: value}`` in field order (what ``config.json`` stores under ``"training"``)."""
        return {name: getattr(self, name) for name in self.names()}

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)

    def fixed_on_resume(self, name: str) -> bool:
        """Whether a resumed run must keep setting ``name`` (``epochs`` is fixed under the cosine schedule)."""
        return name not in RESUMABLE_CHANGES or (name == "epochs" and self.lr_schedule == "cosine")
