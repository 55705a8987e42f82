"""The methods of the paper's tables, protocol references and the paper's published numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A study configuration is invalid; the message names the key."""


# ----------------------------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Method:
    """One column of the paper's tables.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``"CNN-LSTM^AM"``.
    family : {"LBP", "LBP-TOP", "Pulse", "CNN", "CNN-LSTM"}
        ``Pulse``: the rPPG baseline (:class:`~antispoof.baselines.PulseSVM`), one feature row per video from
        the cache's pulse traces (never magnified: the traces are of the unmagnified crops).
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
    _method("Pulse"),
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
    from ..data import DATASETS

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
