"""The dataset names, :func:`open_dataset` and :func:`cross_protocol`."""

from __future__ import annotations

import os

from ..records import (
    FLIP_ROT180,
    DatasetError,
    Problem,
    Protocol,
)
from .base import (
    Dataset,
    _check_root,
    _problem_message,
)
from .casia import CasiaFasd
from .folder import FolderDataset
from .msu import MsuMfsd
from .oulu import OuluNpu
from .replay import ReplayAttack

# --------------------------------------------------------------------------------------------------
# Entry points

#: The registry: one adapter per dataset name (a new dataset is one module and one entry here).
_ADAPTERS: dict[str, type[Dataset]] = {
    cls.name: cls for cls in (ReplayAttack, MsuMfsd, CasiaFasd, OuluNpu, FolderDataset)
}
_ALIASES = {"replay": "replay-attack", "replayattack": "replay-attack", "msu": "msu-mfsd", "casia": "casia-fasd",
            "oulu": "oulu-npu"}  # fmt: skip
#: Names :func:`open_dataset` accepts.
DATASETS = tuple(_ADAPTERS)


def open_dataset(
    name: str,
    root: str | os.PathLike,
    *,
    strict: bool = False,
    check_annotations: bool = True,
    msu_flip: str = FLIP_ROT180,
) -> Dataset:
    """List the videos of a dataset tree.

    Parameters
    ----------
    name : str
        ``replay-attack``, ``msu-mfsd``, ``casia-fasd``, ``oulu-npu`` or ``folder`` (short forms
        ``replay``, ``msu``, ``casia``, ``oulu`` work too).
    root : path-like
        The dataset's top folder (see docs/datasets.md for each layout).
    strict : bool
        Raise :class:`DatasetError` if anything at all is wrong, instead of listing it in ``problems``.
    check_annotations : bool
        Read every face annotation once, so unreadable ones are reported now (and not used).
    msu_flip : str
        Orientation fix recorded for MSU-MFSD's upside-down clips: ``rot180`` (default) or
        ``vertical`` (bob's).

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        Unknown name; root missing or not this dataset's layout; no usable video found; with
        ``strict``, any problem. The message lists the problems, one per line.
    """
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _ADAPTERS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    cls = _ADAPTERS[key]
    root = _check_root(root, key)
    given = {"msu_flip": msu_flip}
    options = {"check_annotations": check_annotations, **{k: given[k] for k in cls.scan_options}}
    scan = cls.scan(root, **options)
    if not scan.records:
        problems = scan.problems or [Problem("missing", None, "no videos found")]
        raise DatasetError(_problem_message(f"{key} tree at {root} has no usable video", problems), problems)
    dataset = cls(root, scan.records, scan.problems, scan.notes)
    if strict:
        dataset.check()
    return dataset


def cross_protocol(
    train_ds: Dataset,
    test_ds: Dataset,
    *,
    train_protocol: str | None = None,
    test_protocol: str | None = None,
) -> Protocol:
    """Cross-database evaluation: train and dev (threshold) from ``train_ds``, test from ``test_ds``.

    The EER threshold is taken on A's dev set and applied to B's test set (never chosen on B).
    Passing the same dataset with two protocols gives e.g. Replay-Attack adverse -> controlled.

    Raises
    ------
    DatasetError
        A protocol is unknown or empty, or a video would be in both the training side and the test.
    """
    a = train_ds.protocol(train_protocol)
    b = test_ds.protocol(test_protocol)
    result = {"train": a["train"], "dev": a["dev"], "test": b["test"]}
    fit = {r.path for r in result["train"]} | {r.path for r in result["dev"]}
    shared = sorted(r.video_id for r in result["test"] if r.path in fit)
    if shared:
        raise DatasetError(
            f"cross protocol {train_ds.name}:{train_protocol or train_ds.default_protocol} -> "
            f"{test_ds.name}:{test_protocol or test_ds.default_protocol}: {len(shared)} test videos are also "
            f"used for training or dev, e.g. {shared[0]}"
        )
    return result
