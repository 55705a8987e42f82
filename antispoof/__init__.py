"""antispoof: the CNN-LSTM face anti-spoofing model of Tu et al., trained on clips magnified by evm.

The main entry points, one per step (docs/architecture.md shows where each lives)::

    ds = antispoof.open_dataset("replay-attack", "/data/replayattack")          # list a dataset tree
    result = antispoof.prepare(ds, "cache", antispoof.PrepareConfig())          # face clips, magnified
    train_set = antispoof.ClipDataset(result.cache_dir, split="train")          # clips of a cache
    run = antispoof.train(model, train_set, dev_set, "run", antispoof.TrainConfig(epochs=10))
    report = antispoof.evaluate(run, test_set)                                  # HTER at the dev threshold
    antispoof.Predictor(run)("video.mp4")                                       # score a plain video
    antispoof.run_experiment(antispoof.load_config("study.toml"), "study")      # the paper's tables

The names are loaded on first use, so ``import antispoof`` stays light (no torch until it is needed).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS = {
    "open_dataset": ".data",
    "PrepareConfig": ".cache",
    "prepare": ".cache",
    "ClipDataset": ".cache",
    "ModelConfig": ".models",
    "TrainConfig": ".train_config",
    "train": ".training",
    "RunDir": ".rundir",
    "evaluate": ".evaluation",
    "Predictor": ".predict",
    "load_config": ".experiment",
    "run_experiment": ".experiment",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'antispoof' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
