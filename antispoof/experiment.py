"""Experiment runner: the intra- and cross-database tables of Tu et al. (Tables 1 and 2) in one call.

A study is a TOML file (see ``docs/experiments.md`` and ``docs/paper-study.toml``)::

    [study]
    methods = ["LBP", "LBP-TOP", "CNN", "CNN-LSTM", "CNN-LSTM^M", "CNN-LSTM^A", "CNN-LSTM^AM"]
    intra = ["replay-controlled", "replay-adverse", "msu"]
    cross = [["replay-adverse", "replay-controlled"], ["replay-adverse", "msu"], ["msu", "replay-controlled"]]
    seeds = [0]

    [datasets]
    replay-attack = "/data/replayattack"
    msu-mfsd = "/data/MSU-MFSD"

    [prepare]   # PrepareConfig fields; [prepare.magnify] holds the magnification of the ^M variants
    [model]     # ModelConfig fields of the CNN and CNN-LSTM (trunk, weights, hidden_size ...)
    [train]     # antispoof.training.train arguments (epochs, batch_size, lr ...)
    [baselines] # LBPSVM / LBPTOPSVM settings (kernel, C ...)

How it runs
-----------
* **Cells.** One cell = one method x one protocol (intra) or train/test pair (cross) x one seed; it is
  one entry of Table 1 or Table 2. Cells run in plan order: every intra cell, then every cross cell.
* **Trainings are shared.** A cell's training depends only on (method, training protocol, seed): the
  cross cell ``A -> B`` reuses the model (and the dev threshold) of the intra cell on ``A``, so Table 2
  costs evaluations only when its training sides are in Table 1.
* **Caches are shared.** Each dataset is prepared at most twice (with and without magnification) by
  :func:`antispoof.cache.prepare` into ``<cache>/<key>``, the key being the hash of the dataset root and
  the :class:`~antispoof.cache.PrepareConfig`; ``antispoof prepare`` with the same settings writes the
  same folder, and every method and protocol reads it.
* **Resumable.** A finished cell writes ``cells/<id>/result.json`` atomically (after its full report),
  a finished training ``runs/<method>/<protocol>/seed<k>/done.json``; an interrupted study, rerun
  with the same command, skips what is done and continues at the first unfinished cell (a
  half-trained network continues from its last epoch, see :func:`antispoof.training.train`). A stored
  result made with other settings is refused, naming the setting, rather than mixed into the tables.

Outputs in the study folder: ``table1-intra.{md,csv}``, ``table2-cross.{md,csv}`` (ours beside the
paper's published numbers) and ``experiment.json`` (the resolved configuration, caches, every cell
with its metrics, threshold, training summary and times, the tables, the wall time).

Method semantics
----------------
``LBP`` / ``LBP-TOP``: :class:`~antispoof.baselines.LBPSVM` (frame level) / :class:`~antispoof.baselines.LBPTOPSVM`
(clip level) fitted on the training clips of the cache; video score = mean. ``CNN``: the frame-level
CNN (``architecture="frame_cnn"``). ``CNN-LSTM``: the CNN-LSTM without attention (last hidden state);
``^A``: with the paper's attention. ``^M``: on the magnified cache; without it, on the cache prepared
with ``magnify=None``. The decision threshold is always the EER threshold of the training side's dev
set (video scores); HTER and ACC are taken on the test set at that threshold.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evm.io import atomic_write
from evm.presets import MagnifyParams
from evm.validation import real

from . import __version__, metrics
from .cache import PrepareConfig, cache_key
from .jsonio import CorruptJSONError, read_json, read_jsonl
from .limits import MAX_WORKERS

__all__ = [
    "METHODS",
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "Cell",
    "ConfigError",
    "Method",
    "ProtocolRef",
    "StudyConfig",
    "build_tables",
    "load_config",
    "parse_config",
    "plan_cells",
    "run_experiment",
    "synthetic_study",
    "table_csv",
    "table_markdown",
]

FORMAT = 1
RESULT_FILE = "result.json"
RUN_DONE_FILE = "done.json"

# ----------------------------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Method:
    """One column of the paper's tables.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``"CNN-LSTM^AM"``.
    family : {"LBP", "LBP-TOP", "CNN", "CNN-LSTM"}
    magnify : bool
        Trained and tested on the magnified cache (superscript M).
    attention : {"none", "paper"}
        CNN-LSTM attention (superscript A); "none" for the other families.
    """

    name: str
    family: str
    magnify: bool
    attention: str = "none"

    @property
    def slug(self) -> str:
        """File-name form: ``cnn-lstm-am``."""
        return self.name.lower().replace("^", "-")

    @property
    def neural(self) -> bool:
        return self.family in ("CNN", "CNN-LSTM")


def _method(family: str, sup: str = "") -> Method:
    return Method(family + (f"^{sup}" if sup else ""), family, "M" in sup, "paper" if "A" in sup else "none")


#: Every method the runner knows, in the order of the paper's columns.
METHODS: tuple[Method, ...] = (
    _method("LBP"),
    _method("LBP", "M"),
    _method("LBP-TOP"),
    _method("LBP-TOP", "M"),
    _method("CNN"),
    _method("CNN", "M"),
    _method("CNN-LSTM"),
    _method("CNN-LSTM", "M"),
    _method("CNN-LSTM", "A"),
    _method("CNN-LSTM", "AM"),
)
_METHOD_BY_NAME = {m.name: m for m in METHODS}
_METHOD_BY_SLUG = {m.slug: m for m in METHODS}


def parse_method(text: Any, where: str = "method") -> Method:
    """A method from its name: ``"CNN-LSTM^AM"``, ``"cnn-lstm^{MA}"`` and ``"cnn-lstm-am"`` are the same.

    Raises
    ------
    ConfigError
        Unknown name (the message lists the known ones).
    """
    if isinstance(text, str):
        s = text.strip().replace("{", "").replace("}", "").replace(" ", "")
        if "^" in s:
            base, sup = s.split("^", 1)
            letters = sup.upper()
            if len(set(letters)) == len(letters) and set(letters) <= {"A", "M"}:
                canonical = base.upper() + ("^" + "".join(c for c in "AM" if c in letters) if letters else "")
                if canonical in _METHOD_BY_NAME:
                    return _METHOD_BY_NAME[canonical]
        elif s.upper() in _METHOD_BY_NAME:
            return _METHOD_BY_NAME[s.upper()]
        elif s.lower() in _METHOD_BY_SLUG:
            return _METHOD_BY_SLUG[s.lower()]
    raise ConfigError(f"{where}: unknown method {text!r}; known: {', '.join(_METHOD_BY_NAME)}")


# --------------------------------------------------------------------------------------------- protocols


@dataclass(frozen=True)
class ProtocolRef:
    """A dataset and one of its protocols, as a table row names it.

    Attributes
    ----------
    key : str
        ``replay-controlled``, ``replay-adverse``, ``msu`` (the paper's rows) or ``DATASET:PROTOCOL``.
    dataset : str
        Adapter name (``replay-attack``, ``msu-mfsd``, ...).
    protocol : str
    label : str
        Row label in the tables.
    """

    key: str
    dataset: str
    protocol: str
    label: str

    @property
    def slug(self) -> str:
        return self.key.replace(":", "-")


#: The paper's three datasets (Table 1 rows). MSU-MFSD's ``default`` protocol is the paper's dev/test split.
PAPER_PROTOCOLS: dict[str, ProtocolRef] = {
    "replay-controlled": ProtocolRef("replay-controlled", "replay-attack", "controlled", "Replay-attack (controlled)"),
    "replay-adverse": ProtocolRef("replay-adverse", "replay-attack", "adverse", "Replay-attack (adverse)"),
    "msu": ProtocolRef("msu", "msu-mfsd", "default", "MSU-MFSD"),
}


def parse_protocol(text: Any, where: str) -> ProtocolRef:
    """``replay-controlled``, ``replay-adverse``, ``msu``, or ``DATASET:PROTOCOL`` (any dataset and protocol).

    ``DATASET:PROTOCOL`` naming one of the paper's rows (``replay-attack:adverse``) becomes that row.
    The protocol itself is checked when the dataset is opened.
    """
    from .data import DATASETS

    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: expected a protocol name, got {text!r}")
    s = text.strip()
    if s in PAPER_PROTOCOLS:
        return PAPER_PROTOCOLS[s]
    if ":" in s:
        dataset, protocol = (p.strip() for p in s.split(":", 1))
        if dataset not in DATASETS:
            raise ConfigError(f"{where}: unknown dataset {dataset!r} in {s!r}; known: {', '.join(DATASETS)}")
        if not protocol:
            raise ConfigError(f"{where}: {s!r} names no protocol")
        for ref in PAPER_PROTOCOLS.values():
            if (ref.dataset, ref.protocol) == (dataset, protocol):
                return ref
        return ProtocolRef(f"{dataset}:{protocol}", dataset, protocol, f"{dataset} ({protocol})")
    raise ConfigError(
        f"{where}: unknown protocol {s!r}; use {', '.join(PAPER_PROTOCOLS)} or DATASET:PROTOCOL "
        f"(datasets: {', '.join(DATASETS)})"
    )


# ----------------------------------------------------------------------------------------- paper numbers

_T1_METHODS = ("LBP", "LBP^M", "LBP-TOP", "LBP-TOP^M", "CNN", "CNN^M", "CNN-LSTM", "CNN-LSTM^M")
_T2_METHODS = ("LBP", "LBP-TOP", "CNN", "CNN-LSTM", "CNN-LSTM^M", "CNN-LSTM^A", "CNN-LSTM^AM")


def _paper_rows(methods: Sequence[str], hter: str, acc: str) -> dict[str, dict[str, str]]:
    h, a = hter.split(), acc.split()
    assert len(h) == len(a) == len(methods)
    return {m: {"hter": hv, "acc": av} for m, hv, av in zip(methods, h, a, strict=True)}


#: Table 1 of the paper (intra-database), percent, exactly as printed: {row key: {method: {"hter", "acc"}}}.
PAPER_TABLE1: dict[str, dict[str, dict[str, str]]] = {
    "replay-controlled": _paper_rows(
        _T1_METHODS, "0.18 2.82 4.25 5.75 2.70 5.18 0.00 0.00", "99.80 97.05 95.00 92.86 96.11 92.59 100 100"
    ),
    "replay-adverse": _paper_rows(
        _T1_METHODS, "4.67 5.65 12.25 13.25 4.41 5.40 4.49 3.53", "95.06 94.02 90.0 87.86 94.47 93.70 94.51 96.47"
    ),
    "msu": _paper_rows(
        _T1_METHODS, "11.63 14.62 24.17 28.75 16.06 19.73 13.74 10.36", "88.37 85.38 85.0 84.38 89.57 85.20 86.26 89.64"
    ),
}

#: Table 2 of the paper (cross-database), percent, exactly as printed: {(train, test): {method: {...}}}.
PAPER_TABLE2: dict[tuple[str, str], dict[str, dict[str, str]]] = {
    ("replay-adverse", "replay-controlled"): _paper_rows(
        _T2_METHODS, "14.00 13.94 25.38 31.32 23.10 23.70 15.28", "80.00 80.98 73.91 78.63 80.66 80.60 84.70"
    ),
    ("replay-adverse", "msu"): _paper_rows(
        _T2_METHODS, "39.79 32.93 48.60 32.43 30.15 29.52 25.72", "60.27 64.38 50.16 68.98 70.99 71.15 78.65"
    ),
    ("msu", "replay-controlled"): _paper_rows(
        _T2_METHODS, "37.04 30.50 37.11 23.63 14.75 18.97 12.37", "62.96 70.71 62.88 79.15 81.17 80.77 82.32"
    ),
}

# ------------------------------------------------------------------------------------------------ config


class ConfigError(ValueError):
    """A study configuration is invalid; the message names the key."""


_TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 8,
    "lr": 1e-5,
    "lambda_cnn": 1.0,
    "patience": 5,
    "augment": True,
    "balanced": True,
    "aggregate": "mean",
    "weight_decay": 0.0,
    "lr_schedule": "constant",
    "max_grad_norm": None,
    "still_prob": 0.0,
    "still_noise": 0.0,
    "amp": False,
    "device": "auto",
    "num_workers": 0,
    "threads": 0,
}
# Training settings that do not change the results (left out of the stored cell settings).
_TRAIN_RUNTIME = ("device", "num_workers", "threads")
_BASELINE_DEFAULTS: dict[str, Any] = {
    "kernel": "rbf",
    "C": 1.0,
    "gamma": "scale",
    "calibration_folds": 5,
    "train_frame_step": 1,
    "cache_size": 500.0,
    "n_jobs": None,
}
_BASELINE_RUNTIME = ("cache_size", "n_jobs")
# ModelConfig fields the method name sets (the user may not).
_MODEL_FROM_METHOD = ("architecture", "attention", "image_size", "num_frames")
_PREPARE_EXTRA = ("magnify", "detector", "workers")
_STUDY_KEYS = ("name", "methods", "intra", "cross", "seeds", "cache", "paper_numbers")


@dataclass(frozen=True)
class StudyConfig:
    """A parsed, validated study.

    Attributes
    ----------
    name : str
    methods : tuple of Method
        Table columns, in the given order.
    intra : tuple of ProtocolRef
        Table 1 rows.
    cross : tuple of (ProtocolRef, ProtocolRef)
        Table 2 rows: (train and dev side, test side).
    seeds : tuple of int
        Every cell runs once per seed; the tables show the mean (and the standard deviation).
    datasets : dict
        Dataset name -> root folder.
    prepare : PrepareConfig
        Cache settings; ``prepare.magnify`` is the magnification of the ^M variants (the others use
        the same settings with ``magnify=None``).
    detector : str or None
        YuNet ``.onnx`` for videos without face annotations (None: OpenCV Haar).
    workers : int
        Processes preparing a cache.
    cache : Path or None
        Cache root; None: ``<out>/cache``.
    model : dict
        ModelConfig fields shared by the CNN and CNN-LSTM methods.
    train : dict
        :func:`antispoof.training.train` arguments and ``augment``.
    baselines : dict
        LBPSVM / LBPTOPSVM settings.
    paper_numbers : bool
        Show the paper's published values beside ours.
    source : str
        Where the configuration came from (file path or ``"synthetic"``).
    """

    name: str
    methods: tuple[Method, ...]
    intra: tuple[ProtocolRef, ...]
    cross: tuple[tuple[ProtocolRef, ProtocolRef], ...]
    seeds: tuple[int, ...]
    datasets: dict[str, Path]
    prepare: PrepareConfig
    detector: str | None = None
    workers: int = 1
    cache: Path | None = None
    model: dict = dataclasses.field(default_factory=dict)
    train: dict = dataclasses.field(default_factory=lambda: dict(_TRAIN_DEFAULTS))
    baselines: dict = dataclasses.field(default_factory=lambda: dict(_BASELINE_DEFAULTS))
    paper_numbers: bool = True
    source: str = "config"

    def prepare_config(self, magnify: bool) -> PrepareConfig:
        """The cache settings of the ^M (``magnify=True``) or plain variants."""
        return self.prepare if magnify else dataclasses.replace(self.prepare, magnify=None)

    def as_dict(self) -> dict:
        """JSON-ready form (as stored in ``experiment.json``)."""
        return {
            "name": self.name,
            "source": self.source,
            "methods": [m.name for m in self.methods],
            "intra": [p.key for p in self.intra],
            "cross": [[a.key, b.key] for a, b in self.cross],
            "seeds": list(self.seeds),
            "datasets": {k: str(v) for k, v in self.datasets.items()},
            "prepare": self.prepare.as_dict(),
            "detector": self.detector,
            "workers": self.workers,
            "cache": None if self.cache is None else str(self.cache),
            "model": dict(self.model),
            "train": dict(self.train),
            "baselines": dict(self.baselines),
            "paper_numbers": self.paper_numbers,
        }


def load_config(path: str | os.PathLike) -> StudyConfig:
    """Read and validate a study TOML file; relative paths in it are relative to its folder.

    Raises
    ------
    ConfigError
        Unreadable file, TOML syntax error, or an invalid key (the message names it).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser as a package
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ConfigError("reading a study file needs Python >= 3.11 or the tomli package") from None
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file") from None
    try:
        return parse_config(data, base_dir=path.parent, source=str(path), default_name=path.stem)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_config(
    data: Mapping[str, Any], *, base_dir: str | os.PathLike = ".", source: str = "config", default_name: str = "study"
) -> StudyConfig:
    """Validate a study given as a dict (the parsed TOML).

    Parameters
    ----------
    data : mapping
        Sections ``study``, ``datasets``, ``prepare`` (with ``prepare.magnify``), ``model``, ``train``,
        ``baselines``; see ``docs/experiments.md``.
    base_dir : path-like
        Folder that relative paths (dataset roots, cache, detector, weights) are relative to.
    source : str
        Recorded in the results.
    default_name : str
        Study name when ``study.name`` is absent.

    Raises
    ------
    ConfigError
        The first invalid key, by its dotted name (``train.lr``, ``study.cross[1]``...).
    """
    base_dir = Path(base_dir)
    _check_keys(data, ("study", "datasets", "prepare", "model", "train", "baselines"), "")
    study = _table(data, "study", required=True)
    _check_keys(study, _STUDY_KEYS, "study")

    name = study.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"study.name must be a non-empty string, got {name!r}")
    methods = _unique(
        [parse_method(m, f"study.methods[{i}]") for i, m in enumerate(_list(study, "methods", "study", required=True))],
        "study.methods",
        lambda m: m.name,
    )
    if not methods:
        raise ConfigError("study.methods is empty: name at least one method")
    intra = _unique(
        [parse_protocol(p, f"study.intra[{i}]") for i, p in enumerate(_list(study, "intra", "study"))],
        "study.intra",
        lambda p: p.key,
    )
    cross = _unique(
        [_parse_pair(p, f"study.cross[{i}]") for i, p in enumerate(_list(study, "cross", "study"))],
        "study.cross",
        lambda pair: f"{pair[0].key} -> {pair[1].key}",
    )
    if not intra and not cross:
        raise ConfigError("study: neither intra nor cross protocols are given: nothing to run")
    seeds = _list(study, "seeds", "study", default=[0])
    for i, s in enumerate(seeds):
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ConfigError(f"study.seeds[{i}] must be a non-negative integer, got {s!r}")
    _unique(seeds, "study.seeds", lambda s: s)
    if not seeds:
        raise ConfigError("study.seeds is empty: give at least one seed")
    paper_numbers = study.get("paper_numbers", True)
    if not isinstance(paper_numbers, bool):
        raise ConfigError(f"study.paper_numbers must be true or false, got {paper_numbers!r}")
    cache = study.get("cache")
    if cache is not None:
        cache = _path(cache, "study.cache", base_dir)

    # datasets: every dataset a protocol names needs a root
    from .data import DATASETS

    roots_table = _table(data, "datasets", required=True)
    datasets: dict[str, Path] = {}
    for key, value in roots_table.items():
        if key not in DATASETS:
            raise ConfigError(f"datasets.{key}: unknown dataset; known: {', '.join(DATASETS)}")
        datasets[key] = _path(value, f"datasets.{key}", base_dir)
    for ref, where in [(p, "study.intra") for p in intra] + [(p, "study.cross") for pair in cross for p in pair]:
        if ref.dataset not in datasets:
            raise ConfigError(
                f"datasets.{ref.dataset}: missing (the root of the dataset that {where} {ref.key!r} uses)"
            )
    needed = {p.dataset for p in intra} | {p.dataset for pair in cross for p in pair}
    datasets = {k: v for k, v in datasets.items() if k in needed}

    prepare, detector, workers = _parse_prepare(_table(data, "prepare"), base_dir)
    model = _parse_model(_table(data, "model"), base_dir, prepare)
    train = _parse_train(_table(data, "train"))
    baselines = _parse_baselines(_table(data, "baselines"))
    return StudyConfig(
        name=name.strip(),
        methods=tuple(methods),
        intra=tuple(intra),
        cross=tuple(cross),
        seeds=tuple(seeds),
        datasets=datasets,
        prepare=prepare,
        detector=detector,
        workers=workers,
        cache=cache,
        model=model,
        train=train,
        baselines=baselines,
        paper_numbers=paper_numbers,
        source=source,
    )


def _check_keys(table: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    for key in table:
        if key not in known:
            name = f"{where}.{key}" if where else key
            raise ConfigError(f"unknown key {name!r} (known{' in ' + where if where else ''}: {', '.join(known)})")


def _table(data: Mapping[str, Any], key: str, required: bool = False, where: str = "") -> dict:
    name = f"{where}.{key}" if where else key
    if key not in data:
        if required:
            raise ConfigError(f"missing section [{name}]")
        return {}
    value = data[key]
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a table ([{name}]), got {value!r}")
    return dict(value)


def _list(table: Mapping[str, Any], key: str, where: str, *, required: bool = False, default=None) -> list:
    if key not in table:
        if required:
            raise ConfigError(f"missing key {where}.{key}")
        return list(default or [])
    value = table[key]
    if not isinstance(value, list):
        raise ConfigError(f"{where}.{key} must be a list, got {value!r}")
    return value


def _unique(items: list, where: str, ident: Callable[[Any], Any]) -> list:
    seen = set()
    for item in items:
        key = ident(item)
        if key in seen:
            raise ConfigError(f"{where}: {key!r} is listed twice")
        seen.add(key)
    return items


def _parse_pair(value: Any, where: str) -> tuple[ProtocolRef, ProtocolRef]:
    if isinstance(value, str) and "->" in value:
        parts = [p.strip() for p in value.split("->")]
    elif isinstance(value, list):
        parts = value
    else:
        raise ConfigError(f'{where} must be [TRAIN, TEST] or "TRAIN -> TEST", got {value!r}')
    if len(parts) != 2:
        raise ConfigError(f"{where} must name two protocols (train, test), got {value!r}")
    a, b = parse_protocol(parts[0], f"{where}[0]"), parse_protocol(parts[1], f"{where}[1]")
    if a == b:
        raise ConfigError(f"{where}: train and test are both {a.key!r} (that is an intra cell)")
    return a, b


def _path(value: Any, where: str, base_dir: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be a path string, got {value!r}")
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base_dir / p).resolve()


def _coerce(value: Any, kind: type, where: str, *, optional: bool = False) -> Any:
    """TOML value -> the dataclass field type; ints become floats where floats are meant (cache keys hash
    JSON, where 10 and 10.0 differ, and ``antispoof prepare`` passes floats)."""
    if value is None and optional:
        return None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        try:  # TOML has inf and nan: no setting means them
            return real(value, where)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    return value


def _field_kinds(cls) -> dict[str, tuple[type, bool]]:
    """Field name -> (base type, optional) from a dataclass's annotations (strings under PEP 563)."""
    kinds = {}
    for f in dataclasses.fields(cls):
        text = str(f.type).replace(" ", "")
        optional = "None" in text
        base = text.split("|")[0]
        kinds[f.name] = ({"float": float, "int": int, "bool": bool, "str": str}.get(base, object), optional)
    return kinds


def _parse_prepare(table: dict, base_dir: Path) -> tuple[PrepareConfig, str | None, int]:
    kinds = _field_kinds(PrepareConfig)
    _check_keys(table, [k for k in kinds if k != "magnify"] + list(_PREPARE_EXTRA), "prepare")
    fields: dict[str, Any] = {}
    for key, value in table.items():
        if key in _PREPARE_EXTRA:
            continue
        kind, optional = kinds[key]
        fields[key] = _coerce(value, kind, f"prepare.{key}", optional=optional)
    fields["magnify"] = _parse_magnify(_table(table, "magnify", where="prepare"))
    try:
        config = PrepareConfig(**fields)
    except (TypeError, ValueError) as exc:
        raise ConfigError(_named(exc, "prepare", fields)) from None
    # Bad magnification settings fail here, not once per video. At a rate high enough that only errors
    # independent of it show; the band is checked at each dataset's frame rate when the study starts.
    _check_magnify(config, 1000.0, "prepare.magnify")
    detector = table.get("detector")
    if detector is not None:
        from .cache import make_detector
        from .data.faces import FaceDetectorError

        detector = str(_path(detector, "prepare.detector", base_dir))
        try:  # an unusable model file is one error now, not a failure per video later
            make_detector(detector)
        except FaceDetectorError as exc:
            raise ConfigError(f"prepare.detector: {' '.join(str(exc).split())}") from None
    workers = table.get("workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"prepare.workers must be a positive integer, got {workers!r}")
    if workers > MAX_WORKERS:
        raise ConfigError(f"prepare.workers must be <= {MAX_WORKERS}, got {workers}")
    return config, detector, workers


def _named(exc: Exception, table: str, keys) -> str:
    """A validation message naming a field (``size must be ...``) as the config key (``prepare.size must be ...``)."""
    text = " ".join(str(exc).split())
    key = next((k for k in sorted(keys, key=len, reverse=True) if text.startswith(f"{k} ")), None)
    return f"{table}.{text}" if key else f"{table}: {text}"


def _check_magnify(config: PrepareConfig, fps: float, where: str) -> None:
    from evm.magnify import Magnifier

    try:
        Magnifier((config.size, config.size, 3), fps, **config.magnify.as_kwargs())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {' '.join(str(exc).split())}") from None


def _parse_magnify(table: dict) -> MagnifyParams:
    from evm.presets import get_preset

    kinds = _field_kinds(MagnifyParams)
    _check_keys(table, ["preset", *kinds], "prepare.magnify")
    base = MagnifyParams()
    if "preset" in table:
        try:
            base = get_preset(_coerce(table["preset"], str, "prepare.magnify.preset")).params
        except ValueError as exc:
            raise ConfigError(f"prepare.magnify.preset: {exc}") from None
    changes = {}
    for key, value in table.items():
        if key != "preset":
            kind, optional = kinds[key]
            changes[key] = _coerce(value, kind, f"prepare.magnify.{key}", optional=optional)
    return dataclasses.replace(base, **changes)


def _parse_model(table: dict, base_dir: Path, prepare: PrepareConfig) -> dict:
    from .models import ModelConfig

    kinds = {f.name for f in dataclasses.fields(ModelConfig)}
    for key in table:
        if key in _MODEL_FROM_METHOD:
            raise ConfigError(
                f"model.{key} is set by the method name and the [prepare] settings (image_size = prepare.size, "
                "num_frames = prepare.clip_len); remove it"
            )
    _check_keys(table, sorted(kinds - set(_MODEL_FROM_METHOD)), "model")
    model = dict(table)
    if "weights" in model:
        model["weights"] = str(_path(model["weights"], "model.weights", base_dir))
    if "trunk_channels" in model:
        model["trunk_channels"] = list(model["trunk_channels"])
    for key in ("dropout",):
        if key in model:
            model[key] = _coerce(model[key], float, f"model.{key}")
    try:
        for architecture, attention in (("cnn_lstm", "paper"), ("frame_cnn", "none")):
            ModelConfig.from_dict(
                {
                    **model,
                    "architecture": architecture,
                    "attention": attention,
                    "image_size": prepare.size,
                    "num_frames": prepare.clip_len,
                }
            )
    except (TypeError, ValueError) as exc:
        raise ConfigError(_named(exc, "model", kinds)) from None
    if model.get("weights") is not None and not Path(model["weights"]).is_file():
        raise ConfigError(f"model.weights: {model['weights']} does not exist")
    return model


def _parse_train(table: dict) -> dict:
    from .training import _training_args

    _check_keys(table, list(_TRAIN_DEFAULTS), "train")
    train = {**_TRAIN_DEFAULTS, **table}
    for key in ("augment", "balanced", "amp"):
        _coerce(train[key], bool, f"train.{key}")
    for key in ("epochs", "batch_size", "num_workers", "patience", "threads"):
        if train[key] is not None:
            _coerce(train[key], int, f"train.{key}")
    for key in ("lr", "lambda_cnn", "weight_decay", "max_grad_norm", "still_prob", "still_noise"):
        if train[key] is not None:
            train[key] = _coerce(train[key], float, f"train.{key}")
    for key in ("aggregate", "device", "lr_schedule"):
        _coerce(train[key], str, f"train.{key}")
    if train["patience"] == 0:  # TOML has no null: 0 means no early stopping
        train["patience"] = None
    try:
        # the trainer's own validation, so that a bad value fails before hours of preparation
        _training_args(
            {**{k: v for k, v in train.items() if k not in ("augment", "threads")}, "seed": 0, "progress": False}
        )
    except ValueError as exc:
        raise ConfigError(_named(exc, "train", train)) from None
    if not 0 <= train["threads"] <= MAX_WORKERS:
        raise ConfigError(f"train.threads must be in [0, {MAX_WORKERS}] (0: torch's default), got {train['threads']!r}")
    if train["device"] not in ("auto", "cpu", "cuda") and not train["device"].startswith("cuda:"):
        raise ConfigError(f"train.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {train['device']!r}")
    return train


def _parse_baselines(table: dict) -> dict:
    from .baselines import LBPSVM

    _check_keys(table, list(_BASELINE_DEFAULTS), "baselines")
    baselines = {**_BASELINE_DEFAULTS, **table}
    if "C" in table:
        baselines["C"] = _coerce(table["C"], float, "baselines.C")
    try:
        LBPSVM(**baselines)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"baselines: {exc}") from None
    return baselines


# ------------------------------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cell:
    """One table entry for one seed.

    Attributes
    ----------
    method : Method
    train : ProtocolRef
        Training and dev (threshold) side.
    test : ProtocolRef
        Test side; equal to ``train`` for an intra cell.
    seed : int
    """

    method: Method
    train: ProtocolRef
    test: ProtocolRef
    seed: int

    @property
    def kind(self) -> str:
        return "intra" if self.train == self.test else "cross"

    @property
    def id(self) -> str:
        """Folder name: ``intra-msu-cnn-lstm-am-seed0``, ``cross-replay-adverse-to-msu-lbp-seed0``."""
        where = self.train.slug if self.kind == "intra" else f"{self.train.slug}-to-{self.test.slug}"
        return f"{self.kind}-{where}-{self.method.slug}-seed{self.seed}"

    @property
    def run_id(self) -> str:
        """The training this cell uses: ``<method>/<train protocol>/seed<k>``."""
        return f"{self.method.slug}/{self.train.slug}/seed{self.seed}"

    def describe(self) -> str:
        where = self.train.key if self.kind == "intra" else f"{self.train.key} -> {self.test.key}"
        return f"{self.kind} {where} {self.method.name} seed {self.seed}"


def plan_cells(config: StudyConfig) -> list[Cell]:
    """Every cell of the study: intra rows, then cross rows; per row the methods in order; per method the seeds."""
    cells = [Cell(m, p, p, s) for p in config.intra for m in config.methods for s in config.seeds]
    cells += [Cell(m, a, b, s) for a, b in config.cross for m in config.methods for s in config.seeds]
    return cells


# ------------------------------------------------------------------------------------------------ runner


def _log_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Study:
    """State of one invocation: opened datasets, prepared caches, finished trainings."""

    def __init__(self, config: StudyConfig, out: Path, log: Callable[[str], None], progress: bool, device: str | None):
        self.config = config
        self.out = out
        self.log = log
        self.progress = progress
        self.device = device or config.train["device"]
        self.cache_root = config.cache or out / "cache"
        self._datasets: dict[str, Any] = {}
        self.caches: dict[str, dict] = {}  # "<dataset>/<magnified|plain>" -> info
        self._cache_dirs: dict[tuple[str, bool], Path] = {}
        self._runs: dict[str, dict] = {}
        self.history: list[dict] = []  # earlier invocations on this folder (from experiment.json)
        self._needed: dict[tuple[str, bool], list] = {}  # (dataset, magnified) -> records the cells use

    # -- datasets and caches -----------------------------------------------------------------------

    def dataset(self, name: str):
        if name not in self._datasets:
            from .data import open_dataset

            ds = open_dataset(name, self.config.datasets[name])
            if ds.problems:
                self.log(
                    f"warning: {name} at {ds.root}: {len(ds.problems)} problem(s), e.g. {ds.problems[0]} "
                    "(`antispoof index` lists them)"
                )
            self._datasets[name] = ds
        return self._datasets[name]

    def check_protocols(self, cells: Sequence[Cell]) -> None:
        """Open every dataset and build every protocol once: a typo fails now, not after hours."""
        from .data import cross_protocol

        for ref in {c.train for c in cells} | {c.test for c in cells}:
            ds = self.dataset(ref.dataset)
            if ref.protocol not in ds.protocols:
                raise ConfigError(
                    f"{ref.key}: {ref.dataset} has no protocol {ref.protocol!r}; known: {', '.join(ds.protocols)}"
                )
            ds.protocol(ref.protocol)
        for a, b in {(c.train, c.test) for c in cells if c.kind == "cross"}:
            cross_protocol(
                self.dataset(a.dataset), self.dataset(b.dataset), train_protocol=a.protocol, test_protocol=b.protocol
            )
        from evm.io import VideoError, probe

        for name in sorted({r.dataset for c in cells if c.method.magnify for r in (c.train, c.test)}):
            try:
                fps = probe(self.dataset(name).records[0].path).fps  # judged at the first video's rate
            except VideoError:
                continue  # an unreadable video is reported by the preparation
            if fps:
                _check_magnify(self.config.prepare, fps, f"prepare.magnify (at {name}'s {fps:g} fps)")

    def plan_records(self, cells: Sequence[Cell]) -> None:
        """Which videos each cache needs: only the splits the cells use (a study of one light condition
        does not prepare the other). A later study that needs more completes the same cache."""
        needed: dict[tuple[str, bool], dict[str, Any]] = {}
        for cell in cells:
            fit = self.dataset(cell.train.dataset).protocol(cell.train.protocol)
            test = self.dataset(cell.test.dataset).protocol(cell.test.protocol)
            for ref, records in ((cell.train, fit["train"] + fit["dev"]), (cell.test, test["test"])):
                bucket = needed.setdefault((ref.dataset, cell.method.magnify), {})
                bucket.update((r.video_id, r) for r in records)
        self._needed = {key: [bucket[v] for v in sorted(bucket)] for key, bucket in needed.items()}

    def check_stored(self, cells: Sequence[Cell]) -> None:
        """Compare every stored cell and training with the current settings before any work is done."""
        for cell in cells:
            for folder, marker, spec in (
                (self.out / "cells" / cell.id, RESULT_FILE, self.cell_spec),
                (self.out / "runs" / cell.run_id, RUN_DONE_FILE, self.run_spec),
            ):
                if (folder / marker).is_file():
                    _check_same(_read_json(folder / marker).get("spec"), spec(cell), folder)

    def cache_key(self, dataset: str, magnify: bool) -> str:
        ds = self.dataset(dataset)
        name = ds.records[0].dataset  # as prepare() computes it
        return cache_key(name, str(ds.root), self.config.prepare_config(magnify), self.config.detector)

    def cache(self, dataset: str, magnify: bool) -> Path:
        """The prepared cache folder (prepared, or completed, on first use in this invocation)."""
        from .cache import prepare

        if (dataset, magnify) in self._cache_dirs:
            return self._cache_dirs[(dataset, magnify)]
        variant = "magnified" if magnify else "plain"
        started = time.perf_counter()
        result = prepare(
            self.dataset(dataset),
            self.cache_root,
            self.config.prepare_config(magnify),
            records=self._needed.get((dataset, magnify)),
            detector=self.config.detector,
            workers=self.config.workers,
            progress=self.progress,
        )
        seconds = time.perf_counter() - started
        self.log(
            f"cache {dataset} ({variant}): {result.done} prepared, {result.skipped} already done, "
            f"{result.failed} failed of {result.total} in {seconds:.1f} s -> {result.cache_dir}"
        )
        if result.failed:
            key, error = result.failures[0]
            self.log(
                f"warning: {result.failed} video(s) of {dataset} could not be prepared and are left out, "
                f"e.g. {key}: {error}"
            )
        self.caches[f"{dataset}/{variant}"] = {
            "dataset": dataset,
            "magnified": magnify,
            "key": result.cache_dir.name,
            "dir": str(result.cache_dir),
            "videos": result.total,
            "prepared_now": result.done,
            "already_done": result.skipped,
            "failed": result.failed,
            "failures": [list(f) for f in result.failures[:20]],
            "bytes": result.bytes,
            "seconds": seconds,
        }
        self._cache_dirs[(dataset, magnify)] = result.cache_dir
        return result.cache_dir

    def cache_summary(self, cells: Sequence[Cell]) -> dict[str, dict]:
        """Every cache the cells use: key and folder, with the preparation facts of this invocation."""
        out = {}
        for dataset, magnify in sorted({(r.dataset, c.method.magnify) for c in cells for r in (c.train, c.test)}):
            variant = "magnified" if magnify else "plain"
            key = self.cache_key(dataset, magnify)
            info = {"dataset": dataset, "magnified": magnify, "key": key, "dir": str(self.cache_root / key)}
            out[f"{dataset}/{variant}"] = {**info, **self.caches.get(f"{dataset}/{variant}", {"prepared_now": 0})}
        return out

    def split_ids(self, cell: Cell) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Video ids per split of the cell's protocol (train/dev from ``train``, test from ``test``), and
        the ids of each split that are absent from its cache (failed preparation)."""
        from .data import cross_protocol

        if cell.kind == "intra":
            splits = self.dataset(cell.train.dataset).protocol(cell.train.protocol)
        else:
            splits = cross_protocol(
                self.dataset(cell.train.dataset),
                self.dataset(cell.test.dataset),
                train_protocol=cell.train.protocol,
                test_protocol=cell.test.protocol,
            )
        ids, missing = {}, {}
        for split, records in splits.items():
            ref = cell.test if split == "test" else cell.train
            have = self._cached_ids(ref.dataset, cell.method.magnify)
            ids[split] = [r.video_id for r in records if r.video_id in have]
            missing[split] = [r.video_id for r in records if r.video_id not in have]
            if not ids[split]:
                raise ValueError(f"{cell.describe()}: no prepared video in the {split} split of {ref.key}")
        return ids, missing

    def _cached_ids(self, dataset: str, magnify: bool) -> set[str]:
        from .cache import open_cache

        _, index = open_cache(self.cache(dataset, magnify))
        return {row["video_id"] for row in index["videos"]}

    # -- settings that identify a result ------------------------------------------------------------

    def run_spec(self, cell: Cell) -> dict:
        """Everything the training of ``cell`` depends on (stored in its done marker and compared on resume)."""
        m = cell.method
        spec: dict[str, Any] = {
            "method": m.name,
            "train_protocol": {"dataset": cell.train.dataset, "protocol": cell.train.protocol},
            "seed": cell.seed,
            "cache": self.cache_key(cell.train.dataset, m.magnify),
            "prepare": self.config.prepare_config(m.magnify).as_dict(),
        }
        if m.neural:
            spec["model"] = self.model_config(cell)
            spec["train"] = {k: v for k, v in self.config.train.items() if k not in _TRAIN_RUNTIME}
        else:
            spec["baseline"] = self.baseline_settings(m, cell.seed)
        return spec

    def cell_spec(self, cell: Cell) -> dict:
        return {
            "run": self.run_spec(cell),
            "test_protocol": {"dataset": cell.test.dataset, "protocol": cell.test.protocol},
            "test_cache": self.cache_key(cell.test.dataset, cell.method.magnify),
        }

    def model_config(self, cell: Cell) -> dict:
        prep = self.config.prepare
        return {
            **self.config.model,
            "architecture": "frame_cnn" if cell.method.family == "CNN" else "cnn_lstm",
            "attention": cell.method.attention,
            "image_size": [prep.size, prep.size],
            "num_frames": prep.clip_len,
        }

    def baseline_settings(self, method: Method, seed: int) -> dict:
        settings = {k: v for k, v in self.config.baselines.items() if k not in _BASELINE_RUNTIME}
        if method.family == "LBP-TOP":
            settings.pop("train_frame_step")  # LBP-TOP has one feature per clip
        return {**settings, "random_state": seed}

    # -- trainings ------------------------------------------------------------------------------------

    def training(self, cell: Cell, ids: Mapping[str, list[str]]) -> tuple[dict, bool]:
        """Train (or find) the model of ``cell``; returns its summary and whether it was trained by this call."""
        if cell.run_id in self._runs:
            return self._runs[cell.run_id], False
        run_dir = self.out / "runs" / cell.run_id
        spec = self.run_spec(cell)
        marker = run_dir / RUN_DONE_FILE
        if marker.is_file():
            stored = _read_json(marker)
            _check_same(stored.get("spec"), spec, run_dir)
            summary, trained = stored["summary"], False
        else:
            started = time.perf_counter()
            cache = self.cache(cell.train.dataset, cell.method.magnify)
            if cell.method.neural:
                summary = self._train_neural(cell, cache, ids, run_dir)
            else:
                summary = self._train_baseline(cell, cache, ids, run_dir)
            summary.update(
                run_dir=str(run_dir.relative_to(self.out)),
                train_videos=len(ids["train"]),
                dev_videos=len(ids["dev"]),
                seconds=time.perf_counter() - started,
            )
            _write_json(marker, {"format": FORMAT, "spec": spec, "summary": summary})
            trained = True
        self._runs[cell.run_id] = summary
        return summary, trained

    def _train_neural(self, cell: Cell, cache: Path, ids: Mapping[str, list[str]], run_dir: Path) -> dict:
        from . import training
        from .cache import ClipDataset
        from .evaluation import read_threshold

        t = self.config.train
        train_ds = ClipDataset(cache, ids["train"], augment=t["augment"], seed=cell.seed)
        dev_ds = ClipDataset(cache, ids["dev"])
        data = {
            "method": cell.method.name,
            "dataset": cell.train.dataset,
            "protocol": cell.train.protocol,
            "cache": cache.name,
            "prepare": self.config.prepare_config(cell.method.magnify).as_dict(),
        }
        model = self.model_config(cell)
        training.train(
            model,
            train_ds,
            dev_ds,
            run_dir,
            epochs=t["epochs"],
            batch_size=t["batch_size"],
            lr=t["lr"],
            lambda_cnn=t["lambda_cnn"],
            seed=cell.seed,
            device=self.device,
            amp=t["amp"],
            balanced=t["balanced"],
            patience=t["patience"],
            resume=True,  # a run killed mid-training continues from its last epoch
            progress=self.progress,
            num_workers=t["num_workers"],
            aggregate=t["aggregate"],
            weight_decay=t["weight_decay"],
            lr_schedule=t["lr_schedule"],
            max_grad_norm=t["max_grad_norm"],
            # held frames are a motion cue: only for the LSTM (the plain CNN cannot use them)
            still_prob=t["still_prob"] if model["architecture"] == "cnn_lstm" else 0.0,
            still_noise=t["still_noise"],
            data=data,
        )
        threshold = read_threshold(run_dir)
        epochs = read_jsonl(run_dir / "metrics.jsonl", required=("epoch", "dev_eer"))
        return {
            "kind": "neural",
            "threshold": float(threshold["threshold"]),
            "dev_eer": float(threshold["dev_eer"]),
            "best_epoch": threshold["epoch"],
            "epochs_run": len(epochs),
            "dev_eer_per_epoch": [e["dev_eer"] for e in epochs],
            "train_loss_per_epoch": [e["train_loss"] for e in epochs],
        }

    def _train_baseline(self, cell: Cell, cache: Path, ids: Mapping[str, list[str]], run_dir: Path) -> dict:
        from .baselines import LBPSVM, LBPTOPSVM
        from .cache import ClipDataset

        cls = LBPSVM if cell.method.family == "LBP" else LBPTOPSVM
        runtime = {k: self.config.baselines[k] for k in _BASELINE_RUNTIME}
        model = cls(**self.baseline_settings(cell.method, cell.seed), **runtime)
        train_ds = ClipDataset(cache, ids["train"])
        model.fit(_clips(train_ds), train_ds.labels, _clip_video_ids(train_ds))
        dev_ds = ClipDataset(cache, ids["dev"])
        vids, scores = model.score_videos(_clips(dev_ds), _clip_video_ids(dev_ds))
        labels = _video_labels(dev_ds, vids)
        bonafide, attack = metrics.split_by_label(scores, labels)
        threshold = metrics.eer_threshold(bonafide, attack)
        model.save(run_dir / "model")
        return {
            "kind": "baseline",
            "threshold": float(threshold),
            "dev_eer": float(metrics.hter(bonafide, attack, threshold)),
            "dev_auc": float(metrics.roc_auc(bonafide, attack)),
            "train_clips": len(train_ds),
        }

    # -- cells ----------------------------------------------------------------------------------------

    def run_cell(self, cell: Cell) -> tuple[dict, bool]:
        """The result of ``cell``: computed now, or read back (``True``) from its done marker."""
        cell_dir = self.out / "cells" / cell.id
        marker = cell_dir / RESULT_FILE
        spec = self.cell_spec(cell)
        if marker.is_file():
            stored = _read_json(marker)
            _check_same(stored.get("spec"), spec, cell_dir)
            return stored, True
        started = time.perf_counter()
        ids, missing = self.split_ids(cell)
        run, trained = self.training(cell, ids)
        test_cache = self.cache(cell.test.dataset, cell.method.magnify)
        run_dir = self.out / "runs" / cell.run_id  # not the stored path: the study folder may have moved
        if cell.method.neural:
            report = self._evaluate_neural(run_dir, test_cache, ids["test"])
        else:
            report = self._evaluate_baseline(cell, run_dir, run, test_cache, ids["test"])
        report["cell"] = cell.id
        _write_json(cell_dir / "report.json", report)
        test = report["test"]
        result = {
            "format": FORMAT,
            "id": cell.id,
            "kind": cell.kind,
            "method": cell.method.name,
            "train": cell.train.key,
            "test": cell.test.key,
            "seed": cell.seed,
            "metrics": {
                k: test.get(k)
                for k in (
                    "hter",
                    "acc",
                    "far",
                    "frr",
                    "eer",
                    "auc",
                    "apcer",
                    "bpcer",
                    "acer",
                    "n_videos",
                    "n_bonafide",
                    "n_attack",
                )
            },
            "apcer_per_attack_type": test.get("apcer_per_attack_type", {}),
            "threshold": {
                "value": run["threshold"],
                "source": f"dev set of {cell.train.key}",
                "dev_eer": run["dev_eer"],
            },
            "run": run,
            "missing_videos": {s: len(v) for s, v in missing.items() if v},
            "report": str((cell_dir / "report.json").relative_to(self.out)),
            "seconds": time.perf_counter() - started,
            "trained_in_this_cell": trained,
            "spec": spec,
        }
        if result["missing_videos"]:
            self.log(
                f"warning: {cell.describe()}: videos missing from the cache (failed preparation): "
                f"{result['missing_videos']}"
            )
        _write_json(marker, result)  # last: its presence means the cell is complete
        return result, False

    def _evaluate_neural(self, run_dir: Path, cache: Path, test_ids: list[str]) -> dict:
        from .cache import ClipDataset
        from .evaluation import evaluate

        test_ds = ClipDataset(cache, test_ids)
        return evaluate(
            run_dir,
            test_ds,
            attack_types=test_ds.attack_types,
            batch_size=self.config.train["batch_size"],
            device=self.device,
            amp=self.config.train["amp"],
            aggregate=self.config.train["aggregate"],
            num_workers=self.config.train["num_workers"],
            progress=self.progress,
        )

    def _evaluate_baseline(self, cell: Cell, run_dir: Path, run: dict, cache: Path, test_ids: list[str]) -> dict:
        from .baselines import load_baseline
        from .cache import ClipDataset
        from .evaluation import video_metrics

        model = load_baseline(run_dir / "model")
        test_ds = ClipDataset(cache, test_ids)
        vids, scores = model.score_videos(_clips(test_ds), _clip_video_ids(test_ds))
        labels = _video_labels(test_ds, vids)
        types = [test_ds.attack_types[v] for v, lab in zip(vids, labels, strict=True) if lab != 1]
        return {
            "run": {"run_dir": str(run_dir), "method": cell.method.name},
            "aggregate": "mean",
            "threshold": {"value": run["threshold"], "source": "run", "criterion": "eer", "dev_eer": run["dev_eer"]},
            "test": video_metrics(scores, labels, run["threshold"], types),
            "videos": [
                {"video_id": v, "label": int(lab), "score": float(s), "attack_type": test_ds.attack_types[v]}
                for v, lab, s in zip(vids, labels, scores, strict=True)
            ],
        }


def _clips(ds) -> Iterator[np.ndarray]:
    """uint8 (T, H, W, 3) clips of a ClipDataset, one at a time (the SVMs keep features only)."""
    return (ds.clip_array(i) for i in range(len(ds)))


def _clip_video_ids(ds) -> list[str]:
    return [ds.rows[i]["video_id"] for i, _ in ds.items]


def _video_labels(ds, video_ids: Sequence[str]) -> np.ndarray:
    label = {r["video_id"]: int(r["label"]) for r in ds.rows}
    return np.array([label[v] for v in video_ids], dtype=np.int64)


def _read_json(path: Path) -> dict:
    try:
        return read_json(path)
    except (OSError, CorruptJSONError) as exc:
        reason = exc.detail if isinstance(exc, CorruptJSONError) else getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"{path}: unreadable ({reason}); delete it to recompute") from None


def _write_json(path: Path, obj: Any) -> None:
    from .evaluation import write_json_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, obj)


_ABSENT = object()


def _difference(old: Any, new: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """``(dotted path, old value, new value)`` of the first difference between two JSON values, or None."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            found = _difference(old.get(key, _ABSENT), new.get(key, _ABSENT), f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            found = _difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if old == new else (where or "(value)", old, new)


def _check_same(stored: Any, current: dict, folder: Path) -> None:
    """Refuse a stored result whose settings differ from the current ones (mixing them would be silent)."""
    current = json.loads(json.dumps(current))  # as stored: tuples become lists
    found = _difference(stored, current)
    if found is not None:
        key, old, new = found
        show = lambda v: "absent" if v is _ABSENT else repr(v)  # noqa: E731
        raise ConfigError(
            f"{folder} was computed with other settings ({key}: {show(old)} there, {show(new)} now); "
            "use another --out, or delete that folder to recompute it"
        )


def run_experiment(
    config: StudyConfig,
    out: str | os.PathLike,
    *,
    log: Callable[[str], None] | None = None,
    progress: bool = False,
    device: str | None = None,
    extra: Mapping[str, Any] | None = None,
    dry_run: bool = False,
) -> dict:
    """Run (or resume) a study: every cell, then the tables and ``experiment.json``.

    Parameters
    ----------
    config : StudyConfig
        From :func:`load_config` or :func:`synthetic_study`.
    out : path-like
        Study folder (created): ``cells/``, ``runs/``, ``cache/`` (unless ``study.cache``), tables, JSON.
    log : callable, optional
        Receives one line per cache and per cell (default: stderr).
    progress : bool
        Progress bars of preparation, training and evaluation.
    device : str, optional
        Overrides ``train.device`` (it does not change what a result means, so resumed cells stay valid).
    extra : mapping, optional
        JSON-ready facts stored under ``"extra"`` in ``experiment.json`` (e.g. the synthetic data settings).
    dry_run : bool
        Open the datasets, check every protocol and log the planned cells (marking those already done);
        prepare, train and write nothing. Returns ``{"planned_cells": [...], "done": [...]}``.

    Returns
    -------
    dict
        The content of ``experiment.json``: ``config``, ``caches``, ``cells`` (one result per planned cell),
        ``tables``, ``wall_seconds`` (this invocation), ``compute_seconds`` (sum over cells, including
        earlier invocations) and the written ``files``.

    Raises
    ------
    ConfigError
        A protocol the datasets do not have, or stored results made with other settings.
    """
    log = log or _log_stderr
    out = Path(out)
    started_at = time.time()
    started = time.perf_counter()
    cells = plan_cells(config)
    study = _Study(config, out, log, progress, device)
    study.check_protocols(cells)
    study.plan_records(cells)
    study.check_stored(cells)
    if any(c.method.neural for c in cells):
        from .evaluation import resolve_device

        resolve_device(study.device)  # "cuda" without a GPU fails now, not after the caches are built
    if dry_run:
        done = [c.id for c in cells if (out / "cells" / c.id / RESULT_FILE).is_file()]
        for cell in cells:
            state = "done" if cell.id in done else "to do"
            log(f"{cell.id}: {state} (training {cell.run_id})")
        log(f"{len(cells)} cells, {len(done)} done; caches in {study.cache_root}")
        return {"planned_cells": [c.id for c in cells], "done": done}
    out.mkdir(parents=True, exist_ok=True)
    study.history = _previous_invocations(out / "experiment.json")
    log(
        f"study {config.name!r}: {len(cells)} cells ({len(config.methods)} methods, {len(config.intra)} intra and "
        f"{len(config.cross)} cross rows, {len(config.seeds)} seed(s)) in {out}"
    )
    results: list[dict] = []
    resumed = 0
    threads = _torch_threads(config.train["threads"])
    try:
        for i, cell in enumerate(cells, 1):
            try:
                result, was_done = study.run_cell(cell)
            except BaseException:
                log(f"[{i}/{len(cells)}] {cell.describe()}: failed; rerun the same command to resume here")
                raise
            resumed += was_done
            results.append(result)
            m = result["metrics"]
            when = "done earlier" if was_done else f"{result['seconds']:.1f} s"
            if not was_done:
                when += ", trained" if result["trained_in_this_cell"] else ", shared training"
            log(f"[{i}/{len(cells)}] {cell.describe()}: HTER {_pct(m['hter'])} ACC {_pct(m['acc'])} ({when})")
            _write_outputs(out, config, study, results, cells, started, started_at, extra, resumed, final=False)
    finally:
        _torch_threads(threads)
    summary = _write_outputs(out, config, study, results, cells, started, started_at, extra, resumed, final=True)
    log(
        f"{len(cells)} cells ({resumed} from earlier runs) in {summary['wall_seconds']:.1f} s "
        f"wall time; tables in {out}"
    )
    return summary


def _previous_invocations(path: Path) -> list[dict]:
    """The invocation log of an earlier experiment.json (empty when there is none or it is unreadable)."""
    try:
        previous = json.loads(path.read_text())
        return [dict(i) for i in previous.get("invocations", [])]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def _torch_threads(n: int) -> int:
    """Set torch's intra-op threads (0: leave them); returns the previous count, to restore it."""
    import torch

    previous = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    return previous


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _write_outputs(out, config, study, results, cells, started, started_at, extra, resumed, *, final: bool) -> dict:
    """Tables (Markdown, CSV) and experiment.json for the results so far, each written atomically."""
    tables = build_tables(config, results)
    files = {}
    for key, stem in (("table1", "table1-intra"), ("table2", "table2-cross")):
        table = tables[key]
        if not table["rows"]:
            continue
        for suffix, text in ((".md", table_markdown(table)), (".csv", table_csv(table))):
            path = out / f"{stem}{suffix}"
            with atomic_write(path, "w") as fh:
                fh.write(text)
            files[f"{key}{suffix}"] = str(path)
    wall = time.perf_counter() - started
    summary = {
        "format": FORMAT,
        "name": config.name,
        "complete": final and len(results) == len(cells),
        "config": config.as_dict(),
        "extra": dict(extra or {}),
        "caches": study.cache_summary(cells),
        "cells": results,
        "planned_cells": [c.id for c in cells],
        "tables": tables,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started_at)),
        "wall_seconds": wall,
        "compute_seconds": sum(r["seconds"] for r in results),
        "versions": {"antispoof": __version__, "python": platform.python_version(), "numpy": np.__version__},
        "files": files,
    }
    # the synthetic study spends time generating its data before the runner starts
    summary["data_seconds"] = float((extra or {}).get("seconds", 0.0))
    summary["total_wall_seconds"] = wall + summary["data_seconds"]
    this = {
        "started": summary["started"],
        "wall_seconds": wall,
        "data_seconds": summary["data_seconds"],
        "cells_computed": len(results) - resumed,
    }
    summary["invocations"] = study.history + [this]
    summary["total_wall_seconds_all_invocations"] = sum(
        i["wall_seconds"] + i["data_seconds"] for i in summary["invocations"]
    )
    path = out / "experiment.json"
    files["json"] = str(path)
    _write_json(path, summary)
    return summary


# ------------------------------------------------------------------------------------------------ tables


def _stats(values: list[float]) -> dict:
    arr = np.asarray(values, dtype=np.float64) * 100.0
    return {
        "mean": float(arr.mean()),
        "sd": float(arr.std(ddof=1)) if arr.size > 1 else None,
        "n": int(arr.size),
        "values": [float(v) for v in arr],
    }


def build_tables(config: StudyConfig, results: Sequence[Mapping[str, Any]]) -> dict:
    """Table 1 (intra) and Table 2 (cross) from cell results: one row per protocol (pair) and metric.

    Returns
    -------
    dict
        ``{"table1": T, "table2": T}``; ``T = {"title", "kind", "methods", "rows"}``, each row
        ``{"train", "test", "label", "metric", "values": {method: {"mean", "sd", "n", "values"} or None},
        "paper": {method: str or None}}`` in percent. A configured cell without a result yet is None.
    """
    by_key: dict[tuple, list[Mapping]] = {}
    for r in results:
        by_key.setdefault((r["train"], r["test"], r["method"]), []).append(r)
    methods = [m.name for m in config.methods]

    def rows(pairs, paper_lookup):
        out = []
        for a, b in pairs:
            paper = paper_lookup(a, b) if config.paper_numbers else {}
            for metric in ("hter", "acc"):
                values = {}
                for m in methods:
                    found = [
                        r["metrics"][metric]
                        for r in by_key.get((a.key, b.key, m), [])
                        if r["metrics"].get(metric) is not None
                    ]
                    values[m] = _stats(found) if found else None
                out.append(
                    {
                        "train": a.key,
                        "test": b.key,
                        "label": a.label if a == b else f"{a.label} -> {b.label}",
                        "train_label": a.label,
                        "test_label": b.label,
                        "metric": metric,
                        "values": values,
                        "paper": {m: (paper.get(m) or {}).get(metric) for m in methods},
                    }
                )
        return out

    note = "percent; HTER at the EER threshold of the training side's dev set, ACC at the same threshold"
    return {
        "table1": {
            "title": "Table 1: intra-database tests (train, dev and test from the same protocol)",
            "kind": "intra",
            "note": note,
            "synthetic": config.source == "synthetic",
            "methods": methods,
            "rows": rows([(p, p) for p in config.intra], lambda a, b: PAPER_TABLE1.get(a.key, {})),
        },
        "table2": {
            "title": "Table 2: cross-database tests (train and dev from the first dataset, test on the second)",
            "kind": "cross",
            "note": note,
            "synthetic": config.source == "synthetic",
            "methods": methods,
            "rows": rows(config.cross, lambda a, b: PAPER_TABLE2.get((a.key, b.key), {})),
        },
    }


_METRIC_LABEL = {"hter": "HTER (%)", "acc": "ACC (%)"}


def _ours(v: Mapping | None) -> str:
    if v is None:
        return "–"
    return f"{v['mean']:.2f}" + (f" ± {v['sd']:.2f}" if v["sd"] is not None else "")


def table_markdown(table: Mapping[str, Any]) -> str:
    """A table as Markdown, laid out like the paper's: methods across, datasets and metrics down.

    Each entry is ours (mean ± standard deviation over seeds) with the paper's value in parentheses
    where the paper has one; "–" marks a configured cell without a result yet.
    """
    methods = table["methods"]
    cross = table["kind"] == "cross"
    head = ["Train", "Test"] if cross else ["Dataset"]
    lines = [f"**{table['title']}**", ""]
    if table.get("synthetic"):
        lines += [
            "*Synthetic data: these numbers check the pipeline; they are not anti-spoofing results and not "
            "comparable with the paper's values in parentheses.*",
            "",
        ]
    lines += [
        "| " + " | ".join(head + ["Metric"] + methods) + " |",
        "|" + "---|" * (len(head) + 1 + len(methods)),
    ]
    previous = None
    for row in table["rows"]:
        first = (row["train"], row["test"]) != previous
        previous = (row["train"], row["test"])
        where = [row["train_label"], row["test_label"]] if cross else [row["label"]]
        cells = []
        for m in methods:
            text = _ours(row["values"][m])
            if row["paper"].get(m) is not None:
                text += f" ({row['paper'][m]})"
            cells.append(text)
        lines.append(
            "| " + " | ".join((where if first else [""] * len(where)) + [_METRIC_LABEL[row["metric"]]] + cells) + " |"
        )
    shown = any(v is not None for row in table["rows"] for v in row["paper"].values())
    lines += ["", table["note"] + ("; in parentheses: the paper's published value." if shown else ".")]
    return "\n".join(lines) + "\n"


def table_csv(table: Mapping[str, Any]) -> str:
    """A table as CSV: per method three columns, ours (mean over seeds), its standard deviation, the paper's."""
    methods = table["methods"]
    cross = table["kind"] == "cross"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = ["train", "test"] if cross else ["dataset"]
    writer.writerow(head + ["metric"] + [c for m in methods for c in (m, f"{m} sd", f"{m} paper")])
    for row in table["rows"]:
        out = [row["train_label"], row["test_label"]] if cross else [row["label"]]
        out.append(_METRIC_LABEL[row["metric"]])
        for m in methods:
            v = row["values"][m]
            out += [
                "" if v is None else f"{v['mean']:.4f}",
                "" if v is None or v["sd"] is None else f"{v['sd']:.4f}",
                row["paper"].get(m) or "",
            ]
        writer.writerow(out)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- synthetic

#: The synthetic study: two generated trees standing in for Replay-Attack and MSU-MFSD. The two differ
#: in frame size, frame rate (the layouts' own: 25 and 30 fps), clip length, seed and subject count, so
#: a model trained on one meets a shifted domain on the other. ``quick`` is sized to finish in about
#: 10 minutes on 2 CPU cores.
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
        "study": {"methods": [m.name for m in METHODS], "seeds": [0]},
        "prepare": {"size": 64, "clip_len": 8, "frame_step": 2, "clips_per_video": 2, "workers": 2},
        "model": {"trunk": "small", "trunk_channels": [8, 16, 32, 32], "hidden_size": 32, "dropout": 0.3},
        "train": {"epochs": 10, "batch_size": 8, "lr": 1e-3, "patience": 0, "threads": 1},
    },
}


def _generate_one(root: str, layout: str, settings: dict) -> float:
    from .data.synth import generate

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
    from concurrent.futures import ProcessPoolExecutor

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
        with ProcessPoolExecutor(max_workers=len(todo)) as pool:
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
