"""Datasets for face anti-spoofing: adapters, protocols, annotations, face crops, synthetic trees.

>>> from antispoof.data import open_dataset                      # doctest: +SKIP
>>> ds = open_dataset("replay-attack", "/data/replayattack")    # doctest: +SKIP
>>> split = ds.protocol("grandtest")  # {"train": [...], "dev": [...], "test": [...]}  # doctest: +SKIP
>>> print(format_summary(ds.summary()))                         # doctest: +SKIP

See docs/datasets.md for the layouts and protocols.
"""

from .annotations import (
    AnnotationError,
    NoFaceError,
    fill_missing,
    read_face_file,
    read_msu_face,
    read_record_boxes,
    read_replay_face,
)
from .datasets import DATASETS, Dataset, cross_protocol, format_summary, open_dataset
from .records import (
    ATTACK,
    BONA_FIDE,
    SPLITS,
    DatasetError,
    Problem,
    Protocol,
    VideoRecord,
    apply_flip,
    flip_boxes,
    resolve_flip,
)

__all__ = [
    "ATTACK",
    "BONA_FIDE",
    "DATASETS",
    "SPLITS",
    "AnnotationError",
    "Dataset",
    "DatasetError",
    "NoFaceError",
    "Problem",
    "Protocol",
    "VideoRecord",
    "apply_flip",
    "cross_protocol",
    "fill_missing",
    "flip_boxes",
    "format_summary",
    "open_dataset",
    "read_face_file",
    "read_msu_face",
    "read_record_boxes",
    "read_replay_face",
    "resolve_flip",
]
