"""MSU-MFSD: its tree, file names, derived dev split and protocols."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path

from ..records import (
    ATTACK,
    BONA_FIDE,
    FLIP_ROT180,
    FLIPS,
    DatasetError,
    VideoRecord,
)
from .base import (
    Dataset,
    _annotation_problem,
    _by_split,
    _files,
    _layout_error,
    _missing_from_group,
    _official,
    _Scan,
)

#: MSU-MFSD subjects (35).
MSU_SUBJECTS = (1, 2, 3, 5, 6, 7, 8, 9, 11, 12, 13, 14, 21, 22, 23, 24, 26, 28, 29, 30, 32, 33, 34, 35, 36, 37, 39,
                42, 48, 49, 50, 51, 53, 54, 55)  # fmt: skip
#: MSU-MFSD official ``train_sub_list.txt`` (15 subjects).
MSU_TRAIN = (2, 3, 5, 6, 7, 8, 9, 11, 12, 21, 22, 34, 53, 54, 55)
#: MSU-MFSD official ``test_sub_list.txt`` (20 subjects).
MSU_TEST = (1, 13, 14, 23, 24, 26, 28, 29, 30, 32, 33, 35, 36, 37, 39, 42, 48, 49, 50, 51)
#: MSU-MFSD android real clips stored upside down (bob.db.msu_mfsd_mod rotated_videos.txt).
MSU_UPSIDE_DOWN = tuple(f"real_client{c:03d}_android_SD_scene01" for c in (3, 5, 6, 7, 8, 9))


_MSU_REAL = re.compile(r"real_client(\d{3})_(android|laptop)_SD_scene01")
_MSU_ATTACK = re.compile(r"attack_client(\d{3})_(android|laptop)_SD_(ipad_video|iphone_video|printed_photo)_scene01")
_MSU_SUFFIX = {"android": ".mp4", "laptop": ".mov"}
_MSU_PAIS = ("printed_photo", "ipad_video", "iphone_video")


# --------------------------------------------------------------------------------------------------
# MSU-MFSD


def msu_dev_test_split(test_subjects: Iterable[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Split MSU-MFSD's official test subjects into (dev, test): alternately in ascending id order.

    The first, third, fifth... subject goes to dev, the others to test, so both halves span the
    whole id range (acquisition order). For the official 20 test subjects: dev = 1 14 24 28 30 33 36
    39 48 50, test = 13 23 26 29 32 35 37 42 49 51.
    """
    ordered = sorted(set(int(s) for s in test_subjects))
    return tuple(ordered[0::2]), tuple(ordered[1::2])


class MsuMfsd(Dataset):
    """MSU-MFSD: ``scene01/{real,attack}/`` with ``.face`` files beside the videos (android ``.mp4``,
    laptop ``.mov``).

    Protocols: ``default``: train = the 15 official training subjects, dev and test = the 20 official
    test subjects split in two halves of 10 by :func:`msu_dev_test_split` (the paper's "equally split
    the testing set"); ``official``: the official 15 / 20 split with no dev set.
    """

    name = "msu-mfsd"
    scan_options = ("msu_flip",)
    _dev_optional = ("official",)

    def _protocol_table(self):
        return {"default": partial(_by_split, self.records), "official": partial(_official, self.records)}

    @classmethod
    def scan(cls, root: Path, check_annotations: bool = True, msu_flip: str = FLIP_ROT180) -> _Scan:
        if msu_flip not in FLIPS:
            raise DatasetError(f"msu_flip must be one of {', '.join(FLIPS)}, got {msu_flip!r}")
        scan = _Scan(root)
        scene = root / "scene01"
        if not scene.is_dir():
            raise _layout_error(root, "MSU-MFSD", "a scene01/ folder with real/ and attack/", ("scene01",))
        train, test = cls._subject_lists(scan, root)
        dev_half, test_half = msu_dev_test_split(test)
        split_of = {s: "train" for s in train} | {s: "dev" for s in dev_half} | {s: "test" for s in test_half}
        for sub in ("real", "attack"):
            if not (scene / sub).is_dir():
                scan.problem("missing", f"scene01/{sub}/", "folder missing")
        faces: dict[str, Path] = {}
        for f in _files(scene):
            if f.suffix == ".face":
                faces[scan.video_id(f)] = f
                continue
            record = cls._parse(scan, f, f.relative_to(scene).parts, split_of, set(train), msu_flip)
            if record is not None:
                scan.records.append(record)
        used = set()
        final = []
        for r in scan.records:
            face = faces.get(r.video_id)
            if face is None:
                scan.problem("missing", f"{r.video_id}.face", "no face annotation for this video")
            else:
                used.add(face)
                if check_annotations and not _annotation_problem(scan, face, "msu"):
                    face = None
            if face is not None and r.flip is not None:
                # bob.pad.face: "some (6 videos) face-locations are not reliable, because the videos
                # are not correctly oriented" -> keep the path for reference, detect faces instead.
                final.append(replace(r, extra={**r.extra, "unreliable_annotation": face}))
                continue
            final.append(replace(r, annotation=face, annotation_format="msu" if face else None))
        scan.records = final
        for f in sorted(set(faces.values()) - used):
            scan.problem("annotation", f, "annotation without a matching video")
        flipped = sum(r.flip is not None for r in final)
        if flipped:
            scan.notes.append(
                f"{flipped} android real clips are stored upside down: flip={msu_flip}, "
                "their face annotations are not used"
            )
        cls._check_subjects(scan, split_of)
        return scan

    @staticmethod
    def _subject_lists(scan: _Scan, root: Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
        lists = {}
        for name, builtin in (("train_sub_list.txt", MSU_TRAIN), ("test_sub_list.txt", MSU_TEST)):
            path = root / name
            if not path.is_file():
                lists[name] = builtin
                continue
            try:
                tokens = re.split(r"[\s,]+", path.read_text(encoding="utf-8").strip())
                ids = tuple(int(t) for t in tokens if t)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                scan.problem(
                    "split-list", path, f"unreadable subject list ({type(exc).__name__}); using the built-in list"
                )
                ids = builtin
            if not ids:
                scan.problem("split-list", path, "empty subject list; using the built-in list")
                ids = builtin
            lists[name] = ids
        present = [n for n in lists if (root / n).is_file()]
        if len(present) == 1:
            scan.problem("split-list", present[0], "only one of train_sub_list.txt / test_sub_list.txt is present")
        elif not present:
            scan.notes.append("no train_sub_list.txt / test_sub_list.txt: using the official lists built in")
        train, test = lists["train_sub_list.txt"], lists["test_sub_list.txt"]
        both = sorted(set(train) & set(test))
        if both:
            scan.problem("split-list", None, f"subjects in both the train and test lists: {', '.join(map(str, both))}")
        return train, tuple(s for s in test if s not in both)

    @staticmethod
    def _parse(scan, f, parts, split_of, train, msu_flip) -> VideoRecord | None:
        stem = f.stem
        if len(parts) != 2 or parts[0] not in ("real", "attack"):
            scan.unknown(f, "outside scene01/real/ and scene01/attack/")
            return None
        m = (_MSU_REAL if parts[0] == "real" else _MSU_ATTACK).fullmatch(stem)
        if not m:
            grammar = (
                "real_clientNNN_{android|laptop}_SD_scene01"
                if parts[0] == "real"
                else "attack_clientNNN_{android|laptop}_SD_{ipad_video|iphone_video|printed_photo}_scene01"
            )
            scan.unknown(f, f"not an MSU-MFSD {parts[0]} name ({grammar})")
            return None
        client, device = m.group(1), m.group(2)
        if f.suffix != _MSU_SUFFIX[device]:
            scan.unknown(f, f"{device} videos are {_MSU_SUFFIX[device]} files")
            return None
        subject = int(client)
        split = split_of.get(subject)
        real = parts[0] == "real"
        return VideoRecord(
            dataset="msu-mfsd",
            video_id=scan.video_id(f),
            path=f,
            label=BONA_FIDE if real else ATTACK,
            attack_type=None if real else m.group(3),
            subject=client,
            split=split,
            condition=None,
            device=device,
            flip=msu_flip if real and stem in MSU_UPSIDE_DOWN else None,
            extra={"official_split": None if split is None else ("train" if subject in train else "test")},
        )

    @staticmethod
    def _check_subjects(scan: _Scan, split_of: dict[int, str]) -> None:
        groups: dict[str, list[VideoRecord]] = defaultdict(list)
        for r in scan.records:
            groups[r.subject].append(r)
        for client, records in sorted(groups.items()):
            if int(client) not in split_of:
                scan.problem("split-list", None, f"subject {client} is in neither train_sub_list nor test_sub_list")
            elif int(client) not in MSU_SUBJECTS:
                scan.problem("inconsistent", None, f"subject {client}: not one of the 35 MSU-MFSD subjects")
            expected = {("real", d) for d in _MSU_SUFFIX} | {(pai, d) for pai in _MSU_PAIS for d in _MSU_SUFFIX}
            present = Counter(("real" if r.label == BONA_FIDE else r.attack_type, r.device) for r in records)
            _missing_from_group(scan, f"subject {client}", expected, present, lambda k: f"{k[0]} {k[1]}")
