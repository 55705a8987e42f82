"""Dataset adapters: list the videos of a dataset tree as :class:`VideoRecord` s, and its protocols.

``open_dataset(name, root)`` reads a tree without decoding any video (zero-byte placeholders are
fine), checks names against each dataset's grammar, reads every face annotation once, and returns a
:class:`Dataset`. What is wrong with the tree (missing folders, unknown files, incomplete subjects,
unreadable annotations) is collected in ``dataset.problems``; a tree with no usable video at all raises
:class:`DatasetError` listing everything found wrong. The layouts, protocols and the derived dev splits
are described in docs/datasets.md.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

from .annotations import AnnotationError, check_face_file, sniff_format
from .records import (
    ATTACK,
    BONA_FIDE,
    FLIP_ROT180,
    FLIPS,
    SPLITS,
    DatasetError,
    Problem,
    Protocol,
    VideoRecord,
)

#: Suffixes taken for videos in the generic ``folder`` layout.
VIDEO_SUFFIXES = (".avi", ".mov", ".mp4", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")
#: File-system litter that is never reported.
_LITTER = {".DS_Store", "Thumbs.db", "desktop.ini"}
#: At most this many problems are spelled out in an exception message.
_MESSAGE_ITEMS = 20

# --------------------------------------------------------------------------------------------------
# Built-in facts (antispoof-reference.md, sections 3.x)

#: Replay-Attack client ids: 1-31 and 101-119 (50 clients).
REPLAY_CLIENTS = tuple(range(1, 32)) + tuple(range(101, 120))
#: MSU-MFSD subjects (35).
MSU_SUBJECTS = (1, 2, 3, 5, 6, 7, 8, 9, 11, 12, 13, 14, 21, 22, 23, 24, 26, 28, 29, 30, 32, 33, 34, 35, 36, 37, 39,
                42, 48, 49, 50, 51, 53, 54, 55)  # fmt: skip
#: MSU-MFSD official ``train_sub_list.txt`` (15 subjects).
MSU_TRAIN = (2, 3, 5, 6, 7, 8, 9, 11, 12, 21, 22, 34, 53, 54, 55)
#: MSU-MFSD official ``test_sub_list.txt`` (20 subjects).
MSU_TEST = (1, 13, 14, 23, 24, 26, 28, 29, 30, 32, 33, 35, 36, 37, 39, 42, 48, 49, 50, 51)
#: MSU-MFSD android real clips stored upside down (bob.db.msu_mfsd_mod rotated_videos.txt).
MSU_UPSIDE_DOWN = tuple(f"real_client{c:03d}_android_SD_scene01" for c in (3, 5, 6, 7, 8, 9))

_REPLAY_SPLITS = (("train", "train"), ("devel", "dev"), ("test", "test"))
_REPLAY_REAL = re.compile(r"client(\d{3})_session(\d{2})_webcam_authenticate_(controlled|adverse)_([12])")
_REPLAY_ATTACK = re.compile(
    r"attack_(print|mobile|highdef)_client(\d{3})_session(\d{2})_(highdef|mobile)_(photo|video)_(controlled|adverse)"
)
# Per client: 2 lights x 2 takes of real access; per support and light: print photo, mobile and
# highdef photo and video (4 + 20 = 24 videos; 50 clients give the 200 + 1000 of bob's tests).
_REPLAY_ATTACK_KINDS = (("print", "photo"), ("mobile", "photo"), ("mobile", "video"), ("highdef", "photo"),
                        ("highdef", "video"))  # fmt: skip
_LIGHTS = ("controlled", "adverse")

_MSU_REAL = re.compile(r"real_client(\d{3})_(android|laptop)_SD_scene01")
_MSU_ATTACK = re.compile(r"attack_client(\d{3})_(android|laptop)_SD_(ipad_video|iphone_video|printed_photo)_scene01")
_MSU_SUFFIX = {"android": ".mp4", "laptop": ".mov"}
_MSU_PAIS = ("printed_photo", "ipad_video", "iphone_video")

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

_OULU_SPLITS = (("Train_files", "train", range(1, 21)), ("Dev_files", "dev", range(21, 36)),
                ("Test_files", "test", range(36, 56)))  # fmt: skip
_OULU_NAME = re.compile(r"([1-6])_([1-3])_(\d{2})_([1-5])")
_OULU_PAI = {1: None, 2: "print", 3: "print", 4: "replay", 5: "replay"}


# --------------------------------------------------------------------------------------------------
# The Dataset object


class Dataset(ABC):
    """The videos of one dataset tree, its protocols and what is wrong with it.

    Attributes
    ----------
    name : str
        Adapter name.
    root : Path
    records : list of VideoRecord
        Sorted by ``video_id``.
    problems : list of Problem
        Defects of the tree (see :class:`~antispoof.data.records.Problem`).
    notes : list of str
        Facts worth knowing that are not defects (e.g. no face annotations: faces will be detected).
    protocols : tuple of str
        Protocol names :meth:`protocol` accepts; the first is the default.
    """

    name = "dataset"
    #: Protocols whose dev split is empty by definition (thresholds must come from elsewhere).
    _dev_optional: tuple[str, ...] = ()

    def __init__(self, root: Path, records: list[VideoRecord], problems: list[Problem], notes: list[str]) -> None:
        self.root = root
        self.records = sorted(records, key=lambda r: r.video_id)
        self.problems = problems
        self.notes = notes
        self._by_id = {r.video_id: r for r in self.records}

    @abstractmethod
    def _protocol_table(self) -> dict[str, Callable[[], Protocol]]:
        """Protocol name -> function building it; the first entry is the default protocol."""

    @property
    def protocols(self) -> tuple[str, ...]:
        return tuple(self._protocol_table())

    @property
    def default_protocol(self) -> str:
        return self.protocols[0]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[VideoRecord]:
        return iter(self.records)

    def __repr__(self) -> str:
        n, p = len(self.records), len(self.problems)
        return f"<{type(self).__name__} {self.name} {self.root}: {n} videos, {p} problems>"

    def get(self, video_id: str) -> VideoRecord:
        """The record with this ``video_id`` (KeyError with a readable message if absent)."""
        try:
            return self._by_id[video_id]
        except KeyError:
            raise KeyError(f"{self.name}: no video {video_id!r}") from None

    def protocol(self, name: str | None = None) -> Protocol:
        """Records of each split of protocol ``name`` (None: the default protocol).

        Returns
        -------
        dict
            ``{"train": [...], "dev": [...], "test": [...]}``, each sorted by video_id.

        Raises
        ------
        DatasetError
            Unknown protocol name, or a split without videos (the message says which).
        """
        table = self._protocol_table()
        name = self.default_protocol if name is None else name
        if name not in table:
            raise DatasetError(f"{self.name}: unknown protocol {name!r}; known: {', '.join(table)}")
        result = table[name]()
        empty = [s for s in SPLITS if not result[s] and not (s == "dev" and name in self._dev_optional)]
        if empty:
            raise DatasetError(
                f"{self.name} ({self.root}): protocol {name!r} has no videos in {', '.join(empty)}"
                + (f" ({len(self.problems)} problems found in the tree; see dataset.problems)" if self.problems else "")
            )
        return {s: sorted(result[s], key=lambda r: r.video_id) for s in SPLITS}

    def check(self) -> None:
        """Raise :class:`DatasetError` listing every problem, if there is any."""
        if self.problems:
            raise DatasetError(_problem_message(f"{self.name} tree at {self.root}", self.problems), self.problems)

    def summary(self) -> dict:
        """Counts per split, label and attack type, per protocol, and the problems (JSON-ready)."""

        def counts(records: list[VideoRecord]) -> dict:
            attacks = Counter(r.attack_type for r in records if r.label == ATTACK)
            return {
                "videos": len(records),
                "bona_fide": sum(r.label == BONA_FIDE for r in records),
                "attack": sum(r.label == ATTACK for r in records),
                "subjects": len({r.subject for r in records}),
                "attack_types": dict(sorted(attacks.items())),
            }

        by_split: dict[str, list[VideoRecord]] = defaultdict(list)
        for r in self.records:
            by_split[r.split or "unassigned"].append(r)
        protocols = {}
        for name in self.protocols:
            try:
                p = self.protocol(name)
                protocols[name] = {s: len(p[s]) for s in SPLITS}
            except DatasetError as exc:
                protocols[name] = {"error": str(exc)}
        return {
            "dataset": self.name,
            "root": str(self.root),
            **counts(self.records),
            "splits": {s: counts(by_split[s]) for s in (*SPLITS, "unassigned") if s in by_split},
            "conditions": dict(sorted(Counter(r.condition for r in self.records if r.condition).items())),
            "devices": dict(sorted(Counter(r.device for r in self.records if r.device).items())),
            "annotated": sum(r.annotation is not None for r in self.records),
            "flipped": sum(r.flip is not None for r in self.records),
            "default_protocol": self.default_protocol,
            "protocols": protocols,
            "problems": [p.as_dict() for p in self.problems],
            "notes": list(self.notes),
        }

    def verify_videos(self, progress: Callable[[int, int], None] | None = None) -> list[Problem]:
        """Open every video with :func:`evm.io.probe` (two frames decoded); return and keep the failures.

        Unreadable files (MSU-MFSD has laptop ``.mov`` files some FFmpeg builds cannot decode) become
        problems of kind ``video``, so a training run can skip them knowingly.
        """
        from evm.io import VideoError, probe

        found = []
        for i, record in enumerate(self.records):
            try:
                probe(record.path, check_timestamps=2)
            except VideoError as exc:
                found.append(Problem("video", record.video_id, str(exc).split(": ", 1)[-1]))
            if progress is not None:
                progress(i + 1, len(self.records))
        self.problems.extend(found)
        return found


def _problem_message(what: str, problems: list[Problem]) -> str:
    lines = [f"{what}: {len(problems)} problem{'s' if len(problems) != 1 else ''}:"]
    lines += [f"  - {p}" for p in problems[:_MESSAGE_ITEMS]]
    if len(problems) > _MESSAGE_ITEMS:
        lines.append(f"  ... and {len(problems) - _MESSAGE_ITEMS} more (see dataset.problems)")
    return "\n".join(lines)


def format_summary(summary: dict) -> str:
    """Plain-text rendering of :meth:`Dataset.summary` (what ``antispoof index`` prints)."""
    lines = [
        f"{summary['dataset']} at {summary['root']}: {summary['videos']} videos "
        f"({summary['bona_fide']} bona fide, {summary['attack']} attack), {summary['subjects']} subjects",
        f"{'split':<11}{'videos':>7}{'bona':>6}{'attack':>8}{'subj':>6}  attack types",
    ]
    for split, c in summary["splits"].items():
        types = ", ".join(f"{k} {v}" for k, v in c["attack_types"].items())
        lines.append(f"{split:<11}{c['videos']:>7}{c['bona_fide']:>6}{c['attack']:>8}{c['subjects']:>6}  {types}")
    lines.append(f"annotated {summary['annotated']}, orientation-fixed {summary['flipped']}")
    lines.append("protocols (train / dev / test):")
    for name, c in summary["protocols"].items():
        mark = " (default)" if name == summary["default_protocol"] else ""
        text = c["error"] if "error" in c else f"{c['train']} / {c['dev']} / {c['test']}"
        lines.append(f"  {name}{mark}: {text}")
    for note in summary["notes"]:
        lines.append(f"note: {note}")
    problems = summary["problems"]
    lines.append(f"problems: {len(problems) or 'none'}")
    for p in problems:
        lines.append(f"  - [{p['kind']}] {p['path'] + ': ' if p['path'] else ''}{p['message']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Scanning helpers


class _Scan:
    """Collects records, problems and notes while walking a tree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.records: list[VideoRecord] = []
        self.problems: list[Problem] = []
        self.notes: list[str] = []

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def problem(self, kind: str, path: Path | str | None, message: str) -> None:
        if isinstance(path, Path):
            path = self.rel(path)
        self.problems.append(Problem(kind, path, message))

    def unknown(self, path: Path, why: str) -> None:
        self.problem("unknown-file", path, why)

    def video_id(self, path: Path) -> str:
        return self.rel(path.with_suffix(""))


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted, without file-system litter."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if name not in _LITTER:
                out.append(Path(dirpath) / name)
    return out


def _check_root(root: str | os.PathLike, name: str) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such folder ({name} dataset root)")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder ({name} dataset root)")
    return root.resolve()


def _layout_error(root: Path, name: str, expected: str, markers: Iterable[str]) -> DatasetError:
    """The error for a root that does not look like the dataset, with a hint when a sub-folder does."""
    markers = tuple(markers)
    hint = ""
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        if any((child / m).exists() for m in markers):
            hint = f"; did you mean {child}?"
            break
    return DatasetError(f"{root}: not a {name} tree: expected {expected}{hint}")


def _annotation_problem(scan: _Scan, path: Path, fmt: str) -> bool:
    """Read an annotation once; record a problem and return False if it is unusable."""
    try:
        check_face_file(path, fmt)  # parsed, not allocated: the frame numbers of a file are bounded
    except AnnotationError as exc:
        where = scan.rel(path) + (f":{exc.line}" if exc.line else "")
        scan.problem("annotation", where, exc.reason)
        return False
    return True


def _missing_from_group(scan: _Scan, label: str, expected: set, present: Counter, describe) -> None:
    """Problems for a subject's expected video kinds that are absent or duplicated."""
    missing = sorted(expected - set(present))
    if missing:
        items = ", ".join(describe(k) for k in missing[:6]) + (" ..." if len(missing) > 6 else "")
        scan.problem("inconsistent", None, f"{label}: missing {len(missing)} of {len(expected)} videos: {items}")
    twice = sorted(k for k, n in present.items() if n > 1)
    if twice:
        scan.problem("inconsistent", None, f"{label}: more than one video of {', '.join(describe(k) for k in twice)}")


def _subject_in_one_split(scan: _Scan, records: list[VideoRecord]) -> None:
    splits = defaultdict(set)
    for r in records:
        if r.split:
            splits[r.subject].add(r.split)
    for subject, found in sorted(splits.items()):
        if len(found) > 1:
            scan.problem(
                "inconsistent", None, f"subject {subject} appears in several splits: {', '.join(sorted(found))}"
            )


def _by_split(records: Iterable[VideoRecord], keep: Callable[[VideoRecord], bool] = lambda r: True) -> Protocol:
    out: Protocol = {s: [] for s in SPLITS}
    for r in records:
        if r.split in out and keep(r):
            out[r.split].append(r)
    return out


def _filters(records: list[VideoRecord], keep: dict[str, Callable[[VideoRecord], bool]]):
    """Protocols that keep the records passing a predicate, each in its own split."""
    return {name: partial(_by_split, records, predicate) for name, predicate in keep.items()}


def _is_real(r: VideoRecord) -> bool:
    return r.label == BONA_FIDE


def _official(records: list[VideoRecord]) -> Protocol:
    """The dataset's own train / test split, without a dev set (MSU-MFSD, CASIA-FASD)."""
    return {
        "train": [r for r in records if r.extra.get("official_split") == "train"],
        "dev": [],
        "test": [r for r in records if r.extra.get("official_split") == "test"],
    }


# --------------------------------------------------------------------------------------------------
# Replay-Attack


class ReplayAttack(Dataset):
    """Idiap Replay-Attack: ``{train,devel,test}/real/*.mov``, ``.../attack/{fixed,hand}/*.mov``,
    face boxes in ``face-locations/`` mirroring the video paths (or next to the videos).

    Protocols: ``grandtest`` (360 / 360 / 480 videos), ``controlled`` and ``adverse`` (the grandtest
    videos of one lighting condition, real and attack, 180 / 180 / 240 each: the paper's two
    "datasets"), and bob's attack subsets, each with all real videos: ``print``, ``mobile``,
    ``highdef``, ``photo``, ``video``, ``digitalphoto`` (mobile/highdef photos).
    """

    name = "replay-attack"

    def _protocol_table(self):
        def sample(kind):
            return lambda r: _is_real(r) or r.extra.get("sample_type") == kind

        def pai(kind):
            return lambda r: _is_real(r) or r.attack_type == kind

        return _filters(
            self.records,
            {
                "grandtest": lambda r: True,
                "controlled": lambda r: r.condition == "controlled",
                "adverse": lambda r: r.condition == "adverse",
                "print": pai("print"),
                "mobile": pai("mobile"),
                "highdef": pai("highdef"),
                "photo": sample("photo"),
                "video": sample("video"),
                "digitalphoto": lambda r: (
                    _is_real(r) or (r.extra["sample_type"] == "photo" and r.attack_type != "print")
                ),
            },
        )

    @classmethod
    def scan(cls, root: Path, check_annotations: bool = True) -> _Scan:
        scan = _Scan(root)
        if not any((root / folder).is_dir() for folder, _ in _REPLAY_SPLITS):
            raise _layout_error(
                root,
                "Replay-Attack",
                "train/, devel/ and test/ folders (each with real/ and attack/{fixed,hand}/)",
                ("train", "devel", "test"),
            )
        faces_root = root / "face-locations"
        face_files: dict[str, Path] = {}
        if faces_root.is_dir():
            for f in _files(faces_root):
                if f.suffix == ".face":
                    face_files[f.relative_to(faces_root).with_suffix("").as_posix()] = f
                else:
                    scan.unknown(f, "not a .face file")
        else:
            scan.notes.append("no face-locations/ folder (separate archive): faces will be detected")
        if (root / "enroll").is_dir():
            scan.notes.append("enroll/ videos are not used for presentation attack detection and are not listed")
        beside: dict[str, Path] = {}
        absent = []
        for folder, split in _REPLAY_SPLITS:
            base = root / folder
            if not base.is_dir():
                scan.problem("missing", f"{folder}/", f"split folder missing: the {split} split has no videos")
                absent.append(folder)
                continue
            for sub in ("real", "attack/fixed", "attack/hand"):
                if not (base / sub).is_dir():
                    scan.problem("missing", f"{folder}/{sub}/", "folder missing")
            for f in _files(base):
                parts = f.relative_to(base).parts
                if f.suffix == ".face":
                    beside[scan.video_id(f)] = f
                    continue
                record = cls._parse(scan, f, parts, split)
                if record is not None:
                    scan.records.append(record)
        used = set()
        with_faces = []
        for r in scan.records:
            key = r.video_id
            face = beside.get(key) or face_files.get(key)
            if face is not None:
                used.add(face)
                if check_annotations and not _annotation_problem(scan, face, "replay"):
                    face = None
            elif face_files:
                scan.problem("missing", f"face-locations/{key}.face", "no face annotation for this video")
            with_faces.append(replace(r, annotation=face, annotation_format="replay" if face else None))
        scan.records = with_faces
        orphans = sorted((set(face_files.values()) | set(beside.values())) - used)
        for folder in absent:  # one line for the annotations of a missing split, not one per file
            inside = [f for f in orphans if f.is_relative_to(faces_root / folder)]
            if inside:
                scan.problem("annotation", f"face-locations/{folder}/", f"{len(inside)} annotations of a missing split")
            orphans = [f for f in orphans if f not in inside]
        for f in orphans:
            scan.problem("annotation", f, "annotation without a matching video")
        cls._check_clients(scan)
        return scan

    @staticmethod
    def _parse(scan: _Scan, f: Path, parts: tuple[str, ...], split: str) -> VideoRecord | None:
        stem = f.stem
        if len(parts) == 2 and parts[0] == "real":
            m = _REPLAY_REAL.fullmatch(stem)
            if not m or f.suffix != ".mov":
                scan.unknown(
                    f,
                    "not a Replay-Attack real-access name "
                    "(clientNNN_session01_webcam_authenticate_{controlled|adverse}_{1|2}.mov)",
                )
                return None
            client, session, light, take = m.groups()
            return VideoRecord(
                dataset="replay-attack",
                video_id=scan.video_id(f),
                path=f,
                label=BONA_FIDE,
                attack_type=None,
                subject=client,
                split=split,
                condition=light,
                device="webcam",
                extra={"session": int(session), "take": int(take)},
            )
        if len(parts) == 3 and parts[0] == "attack" and parts[1] in ("fixed", "hand"):
            m = _REPLAY_ATTACK.fullmatch(stem)
            if not m or f.suffix != ".mov":
                scan.unknown(
                    f,
                    "not a Replay-Attack attack name (attack_{print|mobile|highdef}_clientNNN_session01_"
                    "{highdef|mobile}_{photo|video}_{controlled|adverse}.mov)",
                )
                return None
            pai, client, session, sample_device, sample_type, light = m.groups()
            if pai == "print" and sample_type != "photo":
                scan.unknown(f, "print attacks are photos, not videos")
                return None
            return VideoRecord(
                dataset="replay-attack",
                video_id=scan.video_id(f),
                path=f,
                label=ATTACK,
                attack_type=pai,
                subject=client,
                split=split,
                condition=light,
                device="webcam",
                extra={
                    "support": parts[1],
                    "session": int(session),
                    "sample_device": sample_device,
                    "sample_type": sample_type,
                },
            )
        scan.unknown(f, "outside real/ and attack/{fixed,hand}/")
        return None

    @staticmethod
    def _check_clients(scan: _Scan) -> None:
        groups: dict[str, list[VideoRecord]] = defaultdict(list)
        for r in scan.records:
            groups[r.subject].append(r)
        for client in sorted(groups):
            if int(client) not in REPLAY_CLIENTS:
                scan.problem("inconsistent", None, f"client {client}: not a Replay-Attack client id (1-31, 101-119)")
        _subject_in_one_split(scan, scan.records)
        for client, records in sorted(groups.items()):
            expected = {("real", light, take) for light in _LIGHTS for take in (1, 2)}
            expected |= {(pai, kind, support, light) for pai, kind in _REPLAY_ATTACK_KINDS
                         for support in ("fixed", "hand") for light in _LIGHTS}  # fmt: skip
            present = Counter(
                ("real", r.condition, r.extra["take"])
                if r.label == BONA_FIDE
                else (r.attack_type, r.extra["sample_type"], r.extra["support"], r.condition)
                for r in records
            )
            _missing_from_group(scan, f"client {client}", expected, present, lambda k: " ".join(map(str, k)))


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


# --------------------------------------------------------------------------------------------------
# OULU-NPU


class OuluNpu(Dataset):
    """OULU-NPU: ``{Train,Dev,Test}_files/Phone_Session_User_File.avi`` with eye positions in a
    same-stem ``.txt``; users 1-20 train, 21-35 dev, 36-55 test.

    Protocols ``P1``, ``P2``, ``P3_1`` ... ``P3_6``, ``P4_1`` ... ``P4_6`` are read from
    ``Protocols/Protocol_N/{Train,Dev,Test}[_k].txt`` when present, else built from their definition:
    P1 sessions 1-2 for train/dev, session 3 for test; P2 files {1, 2, 4} for train/dev and {1, 3, 5} for
    test (unseen printer and display); P3_k phones other than k for train/dev, phone k for test; P4_k
    all three restrictions together.
    """

    name = "oulu-npu"

    def __init__(self, root, records, problems, notes) -> None:
        super().__init__(root, records, problems, notes)
        self._stems = {Path(r.video_id).name: r for r in self.records}
        self._file_cache: dict[str, Protocol] = {}

    def _protocol_table(self):
        # each rule: (what train and dev keep, what test keeps), as allowed values of record.extra fields
        p1 = ({"session": {1, 2}}, {"session": {3}})
        p2 = ({"file": {1, 2, 4}}, {"file": {1, 3, 5}})  # unseen printer (3) and display (5) in test
        rules = {"P1": p1, "P2": p2}
        for k in range(1, 7):
            p3 = ({"phone": set(range(1, 7)) - {k}}, {"phone": {k}})
            rules[f"P3_{k}"] = p3
            rules[f"P4_{k}"] = tuple({**a, **b, **c} for a, b, c in zip(p1, p2, p3))
        return {name: self._from_files_or(name, self._rule(*rule)) for name, rule in rules.items()}

    def _rule(self, fit: dict[str, set], test: dict[str, set]) -> Callable[[], Protocol]:
        def keep(r: VideoRecord) -> bool:
            allowed = test if r.split == "test" else fit
            return all(r.extra[field] in values for field, values in allowed.items())

        return partial(_by_split, self.records, keep)

    def _from_files_or(self, name: str, rule: Callable[[], Protocol]) -> Callable[[], Protocol]:
        number, _, fold = name[1:].partition("_")
        folder = self.root / "Protocols" / f"Protocol_{number}"
        suffix = f"_{fold}" if fold else ""
        paths = {s: folder / f"{f}{suffix}.txt" for s, f in zip(SPLITS, ("Train", "Dev", "Test"))}
        if not all(p.is_file() for p in paths.values()):
            return rule

        def from_files():
            if name not in self._file_cache:
                out = {}
                for split, path in paths.items():
                    out[split] = self._read_list(path)
                self._file_cache[name] = out
            return self._file_cache[name]

        return from_files

    def _read_list(self, path: Path) -> list[VideoRecord]:
        records, problems = [], []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: cannot read protocol file ({type(exc).__name__})") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            label, _, stem = (t.strip() for t in line.partition(","))
            stem = Path(stem).stem if stem else label
            record = self._stems.get(stem)
            if record is None:
                problems.append(Problem("split-list", f"{path.relative_to(self.root)}:{number}", f"no video {stem!r}"))
                continue
            # +1 live, -1 print, -2 replay (some Train lists write -1 for replay): only the sign is checked
            where = f"{path.relative_to(self.root)}:{number}"
            try:
                live = int(label) > 0
            except ValueError:
                problems.append(Problem("split-list", where, f"label {label!r} is not +1, -1 or -2"))
                continue
            if live != (record.label == BONA_FIDE):
                kind = "live" if record.label == BONA_FIDE else "attack"
                problems.append(Problem("split-list", where, f"label {label} contradicts file {stem} ({kind})"))
            records.append(record)
        if problems:
            raise DatasetError(_problem_message(f"protocol file {path}", problems), problems)
        return records

    @classmethod
    def scan(cls, root: Path, check_annotations: bool = True) -> _Scan:
        scan = _Scan(root)
        if not any((root / folder).is_dir() for folder, *_ in _OULU_SPLITS):
            raise _layout_error(root, "OULU-NPU", "Train_files/, Dev_files/ and Test_files/ folders", ("Train_files",))
        if not (root / "Protocols").is_dir():
            scan.notes.append("no Protocols/ folder: protocols are built from their definition")
        for folder, split, users in _OULU_SPLITS:
            base = root / folder
            if not base.is_dir():
                scan.problem("missing", f"{folder}/", f"split folder missing: the {split} split has no videos")
                continue
            files = _files(base)
            eyes = {f.with_suffix("") for f in files if f.suffix == ".txt"}
            videos = set()
            for f in files:
                if f.suffix == ".txt":
                    continue
                m = _OULU_NAME.fullmatch(f.stem)
                if f.parent != base or f.suffix != ".avi" or not m:
                    scan.unknown(f, "not an OULU-NPU video (<folder>/Phone_Session_User_File.avi, e.g. 1_1_01_1.avi)")
                    continue
                phone, session, user, pai = (int(g) for g in m.groups())
                if user not in users:
                    scan.problem(
                        "inconsistent",
                        f,
                        f"user {user:02d} does not belong to {folder} (users {users.start}-{users.stop - 1})",
                    )
                videos.add(f.with_suffix(""))
                txt = f.with_suffix(".txt")
                if f.with_suffix("") not in eyes:
                    scan.problem("missing", txt, "no eye-position file for this video")
                scan.records.append(
                    VideoRecord(
                        dataset="oulu-npu",
                        video_id=scan.video_id(f),
                        path=f,
                        label=BONA_FIDE if pai == 1 else ATTACK,
                        attack_type=_OULU_PAI[pai],
                        subject=f"{user:02d}",
                        split=split,
                        condition=f"session{session}",
                        device=f"phone{phone}",
                        annotation=txt if f.with_suffix("") in eyes else None,
                        annotation_format="oulu-eyes" if f.with_suffix("") in eyes else None,
                        extra={"phone": phone, "session": session, "file": pai},
                    )
                )
            for stem in sorted(eyes - videos):
                scan.problem("annotation", stem.with_suffix(".txt"), "eye-position file without a matching video")
        groups = defaultdict(Counter)
        for r in scan.records:
            groups[r.subject][r.extra["phone"], r.extra["session"], r.extra["file"]] += 1
        expected = {(p, s, f) for p in range(1, 7) for s in range(1, 4) for f in range(1, 6)}
        for subject, present in sorted(groups.items()):
            _missing_from_group(scan, f"user {subject}", expected, present, lambda k: "{}_{}_{}".format(*k))
        return scan


# --------------------------------------------------------------------------------------------------
# Generic folder layout


class FolderDataset(Dataset):
    """Any collection laid out as ``real/**/<video>`` and ``attack/<type>/**/<video>``.

    The subject is the file stem up to its first ``_`` (``alice_01.mp4`` -> ``alice``). Optional
    ``train.txt``, ``dev.txt``, ``test.txt`` at the root assign splits, one entry a line (``#``
    comments): a video path relative to the root (suffix optional) or a subject name (all its
    videos). A same-stem ``.face`` file (Replay-Attack or MSU-MFSD format) beside a video is its
    annotation. Protocol ``default`` follows the lists.
    """

    name = "folder"

    def _protocol_table(self):
        return {"default": lambda: _by_split(self.records)}

    @classmethod
    def scan(cls, root: Path, check_annotations: bool = True) -> _Scan:
        scan = _Scan(root)
        if not (root / "real").is_dir() and not (root / "attack").is_dir():
            raise _layout_error(root, "folder-layout", "real/ and attack/<type>/ folders", ("real", "attack"))
        for sub in ("real", "attack"):
            if not (root / sub).is_dir():
                scan.problem("missing", f"{sub}/", "folder missing")
        for entry in sorted(root.iterdir()):
            if entry.is_dir() and entry.name not in ("real", "attack"):
                scan.problem("unknown-file", f"{entry.name}/", "unknown folder (expected only real/ and attack/)")
            elif (
                entry.is_file() and entry.name not in _LITTER and entry.name not in ("train.txt", "dev.txt", "test.txt")
            ):
                if not entry.name.lower().startswith("readme"):
                    scan.unknown(entry, "unknown file at the root")
        faces, records = {}, []
        for sub in ("real", "attack"):
            if not (root / sub).is_dir():
                continue
            for f in _files(root / sub):
                parts = f.relative_to(root).parts
                if f.suffix == ".face":
                    faces[scan.video_id(f)] = f
                    continue
                if f.suffix.lower() not in VIDEO_SUFFIXES:
                    scan.unknown(f, f"not a video ({', '.join(VIDEO_SUFFIXES)}) nor a .face annotation")
                    continue
                if sub == "attack" and len(parts) < 3:
                    scan.unknown(f, "attack videos go in attack/<type>/")
                    continue
                real = sub == "real"
                records.append(
                    VideoRecord(
                        dataset="folder",
                        video_id=scan.video_id(f),
                        path=f,
                        label=BONA_FIDE if real else ATTACK,
                        attack_type=None if real else parts[1],
                        subject=f.stem.split("_", 1)[0],
                        split=None,
                    )
                )
        ids = [r.video_id for r in records]
        for dup, n in Counter(ids).items():
            if n > 1:
                scan.problem("inconsistent", dup, f"{n} videos share this name with different suffixes")
        splits = cls._split_lists(scan, records)
        used = set()
        for r in records:
            face = faces.get(r.video_id)
            fmt = None
            if face is not None:
                used.add(face)
                try:
                    fmt = sniff_format(face)
                except AnnotationError as exc:
                    scan.problem("annotation", face, exc.reason)
                    face = None
                if face is not None and check_annotations and not _annotation_problem(scan, face, fmt):
                    face, fmt = None, None
            scan.records.append(replace(r, split=splits.get(r.video_id), annotation=face, annotation_format=fmt))
        for f in sorted(set(faces.values()) - used):
            scan.problem("annotation", f, "annotation without a matching video")
        _subject_in_one_split(scan, scan.records)
        return scan

    @staticmethod
    def _split_lists(scan: _Scan, records: list[VideoRecord]) -> dict[str, str]:
        lists = {s: scan.root / f"{s}.txt" for s in SPLITS}
        present = {s: p for s, p in lists.items() if p.is_file()}
        if not present:
            scan.notes.append("no train.txt / dev.txt / test.txt: videos have no split")
            return {}
        for s, p in lists.items():
            if s not in present:
                scan.problem("split-list", p, f"missing while other split lists exist: the {s} split is empty")
        by_id = {r.video_id: r for r in records}
        by_subject = defaultdict(list)
        for r in records:
            by_subject[r.subject].append(r.video_id)
        assigned: dict[str, str] = {}
        for split, path in present.items():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                scan.problem("split-list", path, f"unreadable ({type(exc).__name__})")
                continue
            for number, line in enumerate(lines, start=1):
                entry = line.split("#", 1)[0].strip()
                if not entry:
                    continue
                key = Path(entry).with_suffix("").as_posix() if Path(entry).suffix.lower() in VIDEO_SUFFIXES else entry
                targets = [key] if key in by_id else by_subject.get(entry, [])
                if not targets:
                    scan.problem("split-list", f"{path.name}:{number}", f"{entry!r} matches no video and no subject")
                for vid in targets:
                    if assigned.get(vid, split) != split:
                        scan.problem("split-list", vid, f"listed in both {assigned[vid]}.txt and {split}.txt")
                    assigned.setdefault(vid, split)
        for r in records:
            if r.video_id not in assigned:
                scan.problem("split-list", r.video_id, "in no split list")
        return assigned


# --------------------------------------------------------------------------------------------------
# Entry points

_ADAPTERS: dict[str, type[Dataset]] = {
    "replay-attack": ReplayAttack,
    "msu-mfsd": MsuMfsd,
    "casia-fasd": CasiaFasd,
    "oulu-npu": OuluNpu,
    "folder": FolderDataset,
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
    options = {"check_annotations": check_annotations}
    if cls is MsuMfsd:
        options["msu_flip"] = msu_flip
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
