"""Dataset adapters: list the videos of a dataset tree as :class:`VideoRecord` s, and its protocols.

``open_dataset(name, root)`` reads a tree without decoding any video (zero-byte placeholders are
fine), checks names against each dataset's grammar, reads every face annotation once, and returns a
:class:`Dataset`. What is wrong with the tree (missing folders, unknown files, incomplete subjects,
unreadable annotations) is collected in ``dataset.problems``; a tree with no usable video at all raises
:class:`DatasetError` listing everything found wrong. The layouts, protocols and the derived dev splits
are described in docs/datasets.md.

One module per adapter (``replay``, ``msu``, ``casia``, ``oulu``, ``folder``) on the shared base
(``base``); ``registry`` maps names to adapters. Every public name is re-exported here.
"""

from .base import VIDEO_SUFFIXES, Dataset, format_summary
from .casia import CasiaFasd, casia_dev_subjects
from .folder import FolderDataset
from .msu import MSU_SUBJECTS, MSU_TEST, MSU_TRAIN, MSU_UPSIDE_DOWN, MsuMfsd, msu_dev_test_split
from .oulu import OuluNpu
from .registry import DATASETS, cross_protocol, open_dataset
from .replay import REPLAY_CLIENTS, ReplayAttack

__all__ = [
    "DATASETS",
    "MSU_SUBJECTS",
    "MSU_TEST",
    "MSU_TRAIN",
    "MSU_UPSIDE_DOWN",
    "REPLAY_CLIENTS",
    "VIDEO_SUFFIXES",
    "CasiaFasd",
    "Dataset",
    "FolderDataset",
    "MsuMfsd",
    "OuluNpu",
    "ReplayAttack",
    "casia_dev_subjects",
    "cross_protocol",
    "format_summary",
    "msu_dev_test_split",
    "open_dataset",
]
