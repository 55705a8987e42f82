"""CASIA-FASD: its tree, file names, derived dev split and protocols."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from ..records import (
    ATTACK,
    BONA_FIDE,
    VideoRecord,
)
from .base import (
    Dataset,
    _by_split,
    _files,
    _filters,
    _is_real,
    _layout_error,
    _missing_from_group,
    _official,
    _Scan,
)

_CASIA_SPLITS = (("train_release", "train", 20, 0), ("test_release", "test", 30, 20))
# name -> (label, attack type, quality)
_CASIA_NAMES = {
    "1": (BONA_FIDE, None, "normal"),
    "2": (BONA_FIDE, None, "low"),
    "HR_1": (BONA_FIDE, None, "high"),
    "3": (ATTACK, "warped_print", "normal"),
    "4": (ATTACK, "warped_print", "low"),
    "HR_2": (ATTACK, "warped_print", "high"),
    "5": (ATTACK, "cut_print", "normal"),
    "6": (ATTACK, "cut_print", "low"),
    "HR_3": (ATTACK, "cut_print", "high"),
    "7": (ATTACK, "video_replay", "normal"),
    "8": (ATTACK, "video_replay", "low"),
    "HR_4": (ATTACK, "video_replay", "high"),
}


# --------------------------------------------------------------------------------------------------
# CASIA-FASD


def casia_dev_subjects(train_subjects: Iterable[int]) -> tuple[int, ...]:
    """The CASIA-FASD training subjects moved to dev: every fourth in ascending order (4, 8, ... 20)."""
    ordered = sorted(set(int(s) for s in train_subjects))
    return tuple(ordered[3::4])


class CasiaFasd(Dataset):
    """CASIA-FASD: ``train_release/<1..20>/`` and ``test_release/<1..30>/`` (test subjects 21-50 as in
    bob), 12 ``.avi`` per subject named 1-8 and HR_1-HR_4.

    Protocols: ``default``: train = 15 training subjects, dev = every fourth training subject (5:
    4, 8, 12, 16, 20, see :func:`casia_dev_subjects`), test = the 30 test subjects; ``official``: the 20
    / 30 split without dev; the CASIA test scenarios on the default splits: ``low``, ``normal``,
    ``high`` (all videos of one quality) and ``warped_print``, ``cut_print``, ``video_replay`` (all real
    videos and one attack).
    """

    name = "casia-fasd"
    _dev_optional = ("official",)

    def _protocol_table(self):
        def quality(q):
            return lambda r: r.condition == q

        def pai(kind):
            return lambda r: _is_real(r) or r.attack_type == kind

        return {
            "default": partial(_by_split, self.records),
            "official": partial(_official, self.records),
            **_filters(self.records, {q: quality(q) for q in ("low", "normal", "high")}),
            **_filters(self.records, {k: pai(k) for k in ("warped_print", "cut_print", "video_replay")}),
        }

    @classmethod
    def scan(cls, root: Path, check_annotations: bool = True) -> _Scan:
        scan = _Scan(root)
        if not any((root / folder).is_dir() for folder, *_ in _CASIA_SPLITS):
            raise _layout_error(root, "CASIA-FASD", "train_release/ and test_release/ folders", ("train_release",))
        for folder, split, count, offset in _CASIA_SPLITS:
            base = root / folder
            if not base.is_dir():
                scan.problem("missing", f"{folder}/", f"split folder missing: the {split} split has no videos")
                continue
            # fixed by the nominal numbering, so a partial copy keeps the same dev subjects
            dev = set(casia_dev_subjects(range(1, count + 1))) if split == "train" else set()
            for f in _files(base):
                parts = f.relative_to(base).parts
                if len(parts) != 2 or not parts[0].isdigit() or not 1 <= int(parts[0]) <= count:
                    scan.unknown(f, f"expected {folder}/<subject 1-{count}>/<name>.avi")
                    continue
                if f.suffix != ".avi" or f.stem not in _CASIA_NAMES:
                    scan.unknown(f, "not a CASIA-FASD video name (1.avi ... 8.avi, HR_1.avi ... HR_4.avi)")
                    continue
                label, pai, quality = _CASIA_NAMES[f.stem]
                local = int(parts[0])
                scan.records.append(
                    VideoRecord(
                        dataset="casia-fasd",
                        video_id=scan.video_id(f),
                        path=f,
                        label=label,
                        attack_type=pai,
                        subject=f"{local + offset:02d}",
                        split="dev" if local in dev else split,
                        condition=quality,
                        device=None,
                        extra={"official_split": split, "folder_subject": local},
                    )
                )
        scan.notes.append("CASIA-FASD ships no face annotations: faces will be detected")
        groups = defaultdict(Counter)
        for r in scan.records:
            groups[r.subject][Path(r.video_id).name] += 1
        for subject, present in sorted(groups.items()):
            _missing_from_group(scan, f"subject {subject}", set(_CASIA_NAMES), present, lambda k: f"{k}.avi")
        return scan
