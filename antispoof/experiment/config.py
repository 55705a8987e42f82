"""Study files: parsing and validation of the TOML tables into a :class:`StudyConfig`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evm.presets import MagnifyParams
from evm.validation import integer, real

from ..cache import PrepareConfig
from ..limits import MAX_WORKERS
from ..train_config import RUNTIME as TRAIN_RUNTIME
from ..train_config import TrainConfig
from .methods import (
    ConfigError,
    Method,
    ProtocolRef,
    parse_method,
    parse_protocol,
)

# ------------------------------------------------------------------------------------------------ config


#: ``[train]`` keys beyond the :class:`~antispoof.train_config.TrainConfig` fields, with their defaults: the
#: training clips' augmentation (:class:`~antispoof.cache.ClipDataset`) and torch's threads (0: its default).
_TRAIN_EXTRA: dict[str, Any] = {"augment": True, "threads": 0}
#: TrainConfig fields a study sets itself: the seed from ``study.seeds``, progress from the command line.
_TRAIN_FROM_STUDY = ("seed", "progress")
_TRAIN_DEFAULTS: dict[str, Any] = {
    **{k: TrainConfig.default(k) for k in TrainConfig.names() if k not in _TRAIN_FROM_STUDY},
    **_TRAIN_EXTRA,
}
# Training settings that do not change the results (left out of the stored cell settings).
_TRAIN_RUNTIME = (*TRAIN_RUNTIME, "threads")
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
    from ..data import DATASETS

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
        from ..cache import make_detector
        from ..data.faces import FaceDetectorError

        detector = str(_path(detector, "prepare.detector", base_dir))
        try:  # an unusable model file is one error now, not a failure per video later
            make_detector(detector)
        except FaceDetectorError as exc:
            raise ConfigError(f"prepare.detector: {' '.join(str(exc).split())}") from None
    try:
        workers = integer(table.get("workers", 1), "prepare.workers", minimum=1, maximum=MAX_WORKERS)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return config, detector, workers


def _named(exc: Exception, table: str, keys) -> str:
    """A validation message naming a field (``size must be ...``) as the config key (``prepare.size must be ...``)."""
    text = " ".join(str(exc).split())
    key = next((k for k in sorted(keys, key=len, reverse=True) if text.startswith(f"{k} ")), None)
    return f"{table}.{text}" if key else f"{table}: {text}"


def _check_magnify(config: PrepareConfig, fps: float, where: str) -> None:
    from ..cache import check_magnify

    try:
        check_magnify(config, fps)
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
    from ..models import ModelConfig
    from ..models.cnn_lstm import CNN_LSTM_ONLY

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
                    # CNN-LSTM options: the runner leaves them out of the frame CNN's config
                    **{k: v for k, v in model.items() if architecture == "cnn_lstm" or k not in CNN_LSTM_ONLY},
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
    kinds = {**_field_kinds(TrainConfig), "augment": (bool, False), "threads": (int, False)}
    _check_keys(table, list(_TRAIN_DEFAULTS), "train")
    train = dict(_TRAIN_DEFAULTS)
    for key, value in table.items():
        kind, optional = kinds[key]
        train[key] = _coerce(value, kind, f"train.{key}", optional=optional)
    if train["patience"] == 0:  # TOML has no null: 0 means no early stopping
        train["patience"] = None
    try:
        # the trainer's own validation, so that a bad value fails before hours of preparation
        train_config(train, seed=0)
    except ValueError as exc:
        raise ConfigError(_named(exc, "train", train)) from None
    if not 0 <= train["threads"] <= MAX_WORKERS:
        raise ConfigError(f"train.threads must be in [0, {MAX_WORKERS}] (0: torch's default), got {train['threads']!r}")
    return train


def train_config(train: Mapping[str, Any], **study: Any) -> TrainConfig:
    """The :class:`TrainConfig` of a parsed ``[train]`` table, with the fields the study sets (``seed`` ...)."""
    return TrainConfig.from_dict({**{k: v for k, v in train.items() if k not in _TRAIN_EXTRA}, **study})


def _parse_baselines(table: dict) -> dict:
    from ..baselines import LBPSVM

    _check_keys(table, list(_BASELINE_DEFAULTS), "baselines")
    baselines = {**_BASELINE_DEFAULTS, **table}
    if "C" in table:
        baselines["C"] = _coerce(table["C"], float, "baselines.C")
    try:
        LBPSVM(**baselines)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"baselines: {exc}") from None
    return baselines
