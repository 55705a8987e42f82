"""Named settings of ``prepare`` and ``train``: ``cpu`` (a small network that a laptop trains in minutes)
and ``paper`` (Tu et al.'s VGG-16 setting, for a GPU).

A profile is three plain mappings, the fields a user would otherwise pass one by one:

* ``prepare``: :class:`antispoof.PrepareConfig` fields, and ``alpha``, the one magnification setting a
  profile sets (the others are :class:`evm.presets.MagnifyParams`'s defaults);
* ``model``: :class:`antispoof.models.ModelConfig` fields (``image_size`` and ``num_frames`` come from the
  cache);
* ``train``: :class:`antispoof.TrainConfig` fields.

``antispoof prepare --profile NAME`` and ``antispoof train --profile NAME`` start from these values and
apply the options given explicitly on top; ``auto`` picks a profile (:func:`auto_profile`). This module
imports neither torch nor the cache code, so the command line can read it before deciding what to load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: Profile names, and ``auto``.
PROFILE_NAMES = ("cpu", "paper")
CHOICES = ("auto", *PROFILE_NAMES)


def _frozen(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Profile:
    """One named set of settings (read-only mappings; copy them before changing anything)."""

    name: str
    prepare: Mapping[str, Any] = field(default_factory=dict)
    model: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)

    def matches_cache(self, prepare_config: Mapping[str, Any]) -> bool:
        """Whether a cache's stored :class:`PrepareConfig` dict has this profile's crop and clip settings
        (size, clip length, frame step, clips per video, warm-up): what a network trained on it depends on.
        The magnification is not compared: ``--no-magnify`` or another ``--alpha`` is still that profile."""
        keys = ("size", "clip_len", "frame_step", "clips_per_video", "warmup")
        return all(prepare_config.get(k) == self.prepare[k] for k in keys)


#: The CPU profile: docs/training.md, "A CPU run on generated data" (34 generated clients: 11-14 minutes
#: on 2 cores, preparation included; test HTER 4.64 +- 0.70% over five generated datasets). 64-px crops,
#: 8-frame clips at step 3 (0.9 s at 25 fps), four per video; a 16-32-64-128 trunk; the LSTM reads the
#: pool features, their change between frames and a motion stream over the frame differences; bona fide
#: clips held still are shown as attacks.
CPU = Profile(
    name="cpu",
    prepare=_frozen(
        {"size": 64, "border": 1.6, "clip_len": 8, "frame_step": 3, "clips_per_video": 4, "warmup": 0.5, "alpha": 20.0}
    ),  # fmt: skip
    model=_frozen(
        {
            "architecture": "cnn_lstm",
            "trunk": "small",
            "trunk_channels": (16, 32, 64, 128),
            "attention": "paper",
            "hidden_size": 256,
            "temporal_delta": True,
            "motion_stream": 16,
        }
    ),  # fmt: skip
    train=_frozen(
        {
            "epochs": 16,
            "batch_size": 16,
            "lr": 1e-3,
            "lr_schedule": "cosine",
            "patience": 16,
            "weight_decay": 0.0,
            "lambda_cnn": 1.0,
            "still_prob": 0.5,
            "still_noise": 0.01,
        }
    ),  # fmt: skip
)

#: The paper's setting (Tu et al.): 224-px crops for VGG-16, Adam at 1e-5, early stopping; needs a GPU.
PAPER = Profile(
    name="paper",
    prepare=_frozen(
        {"size": 224, "border": 1.6, "clip_len": 8, "frame_step": 2, "clips_per_video": 3, "warmup": 1.0, "alpha": 10.0}
    ),  # fmt: skip
    model=_frozen(
        {
            "architecture": "cnn_lstm",
            "trunk": "vgg16",
            "trunk_channels": (32, 64, 128, 128),
            "attention": "paper",
            "hidden_size": 256,
            "temporal_delta": False,
            "motion_stream": 0,
        }
    ),  # fmt: skip
    train=_frozen(
        {
            "epochs": 20,
            "batch_size": 8,
            "lr": 1e-5,
            "lr_schedule": "constant",
            "patience": 5,
            "weight_decay": 0.0,
            "lambda_cnn": 1.0,
            "still_prob": 0.0,
            "still_noise": 0.0,
        }
    ),  # fmt: skip
)

PROFILES: Mapping[str, Profile] = MappingProxyType({p.name: p for p in (CPU, PAPER)})


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``cpu`` or ``paper``); a ValueError names the choices otherwise."""
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        raise ValueError(f"profile must be one of {', '.join(PROFILE_NAMES)}, got {name!r}") from None


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (False when torch cannot be imported)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


def auto_profile(prepare_config: Mapping[str, Any] | None = None, *, gpu: bool | None = None) -> tuple[Profile, str]:
    """The profile ``auto`` stands for, and why (a few words for the user).

    With a cache's ``prepare_config`` (``antispoof train``): the profile whose crop and clip settings the
    cache has (:meth:`Profile.matches_cache`), so a network fits the data it was prepared for. Otherwise
    (``antispoof prepare``, or a cache prepared with other settings): ``paper`` when a CUDA GPU is there,
    ``cpu`` when not. ``gpu`` overrides the detection (tests).
    """
    if prepare_config is not None:
        for profile in PROFILES.values():
            if profile.matches_cache(prepare_config):
                return profile, "the cache was prepared with it"
    has_gpu = cuda_available() if gpu is None else bool(gpu)
    return (PAPER, "a CUDA GPU is available") if has_gpu else (CPU, "no CUDA GPU")
