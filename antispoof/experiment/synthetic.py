"""The synthetic study: two generated trees standing in for Replay-Attack and MSU-MFSD."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import (
    StudyConfig,
    parse_config,
)
from .methods import (
    METHODS,
    PAPER_PROTOCOLS,
    PAPER_TABLE2,
)
from .runner import _log_stderr, _read_json, _write_json

# --------------------------------------------------------------------------------------------- synthetic

#: The synthetic study: two generated trees standing in for Replay-Attack and MSU-MFSD. The two differ
#: in frame size, frame rate (the layouts' own: 25 and 30 fps), clip length, seed and subject count, so
#: a model trained on one meets a shifted domain on the other. ``quick`` is sized to finish in about
#: 10 minutes on 2 CPU cores; its 2-s videos are too short for the ``Pulse`` baseline, which it leaves out.
SYNTHETIC: dict[str, dict[str, Any]] = {
    "full": {
        "data": {
            "replay-attack": {"clients": 10, "size": (160, 120), "duration": 3.0, "seed": 101},
            "msu-mfsd": {"clients": 14, "size": (180, 120), "duration": 3.0, "seed": 202},
        },
        "study": {"methods": [m.name for m in METHODS], "seeds": [0, 1, 2]},
        "prepare": {"size": 64, "clip_len": 8, "frame_step": 2, "clips_per_video": 3, "workers": 2},
        "model": {"trunk": "small", "trunk_channels": [16, 32, 64, 64], "hidden_size": 64, "dropout": 0.3},
        "train": {"epochs": 12, "batch_size": 8, "lr": 1e-3, "patience": 4},
    },
    # Measured on a shared 2-core machine (load 3-5): generation 1-1.5 min, the 4 caches under 1 min,
    # each of the 18 trainings 5-40 s (48-64 clips), each LBP fit a few seconds, 4.5-7.6 min in all.
    # Test splits of 4 Replay clients (48 videos per light) and 3 MSU subjects (24 videos). One torch
    # thread: with two, a core taken by another process stalls every step (2 to 4 times slower).
    "quick": {
        "data": {
            "replay-attack": {"clients": 8, "size": (128, 96), "duration": 2.0, "seed": 101},
            "msu-mfsd": {"clients": 10, "size": (144, 96), "duration": 2.0, "seed": 202},
        },
        # Every method but the pulse baseline: its features need 3 s of video (antispoof.baselines.pulse).
        "study": {"methods": [m.name for m in METHODS if m.family != "Pulse"], "seeds": [0]},
        "prepare": {"size": 64, "clip_len": 8, "frame_step": 2, "clips_per_video": 2, "workers": 2},
        "model": {"trunk": "small", "trunk_channels": [8, 16, 32, 32], "hidden_size": 32, "dropout": 0.3},
        "train": {"epochs": 10, "batch_size": 8, "lr": 1e-3, "patience": 0, "threads": 1},
    },
}


def _generate_one(root: str, layout: str, settings: dict) -> float:
    from ..data.synth import generate

    started = time.perf_counter()
    generate(
        root,
        layout,
        clients=settings["clients"],
        seed=settings["seed"],
        size=tuple(settings["size"]),
        duration=settings["duration"],
        overwrite=True,
    )
    return time.perf_counter() - started


def synthetic_study(
    out: str | os.PathLike, *, quick: bool = False, log: Callable[[str], None] | None = None
) -> tuple[StudyConfig, dict]:
    """Generate (once) the two synthetic datasets under ``out/data`` and return the study on them.

    The study is the paper's: intra on Replay-Attack controlled and adverse and on MSU-MFSD, cross on the
    paper's three pairs, with the methods, sizes and training of :data:`SYNTHETIC` (``"quick"`` or
    ``"full"``). A tree is regenerated only when its marker ``data/<layout>.json`` is absent or records
    other settings (an interrupted generation leaves no marker).

    Returns
    -------
    (StudyConfig, dict)
        The study, and the data facts (settings, seconds spent generating now) for ``experiment.json``.
    """
    from evm.batch import process_pool

    log = log or _log_stderr
    out = Path(out)
    preset = SYNTHETIC["quick" if quick else "full"]
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    todo = []
    for layout, settings in preset["data"].items():
        marker = data_dir / f"{layout}.json"
        wanted = json.loads(json.dumps({"layout": layout, **settings}))
        if not (marker.is_file() and _read_json(marker) == wanted):
            todo.append((layout, settings, marker, wanted))
    started = time.perf_counter()
    if todo:
        log(f"generating {', '.join(t[0] for t in todo)} (synthetic) in {data_dir}")
        # one process per tree: generation is single-threaded
        with process_pool(len(todo)) as pool:
            futures = [
                pool.submit(_generate_one, str(data_dir / layout), layout, settings) for layout, settings, _, _ in todo
            ]
            for (layout, _, marker, wanted), future in zip(todo, futures, strict=True):
                seconds = future.result()
                _write_json(marker, wanted)
                log(f"generated {layout} in {seconds:.1f} s")
    seconds = time.perf_counter() - started
    raw = {
        "study": {
            "name": "synthetic-quick" if quick else "synthetic",
            "intra": list(PAPER_PROTOCOLS),
            "cross": [list(pair) for pair in PAPER_TABLE2],
            **preset["study"],
        },
        "datasets": {layout: str(data_dir / layout) for layout in preset["data"]},
        "prepare": preset["prepare"],
        "model": preset["model"],
        "train": preset["train"],
    }
    config = parse_config(raw, base_dir=out, source="synthetic")
    facts = {
        "synthetic": True,
        "quick": quick,
        "data": {k: {**v, "size": list(v["size"])} for k, v in preset["data"].items()},
        "generated_now": [t[0] for t in todo],
        "seconds": seconds,
    }
    return config, facts
