"""The :class:`Dataset` base class and the tree-scanning helpers the adapters share."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from ..annotations import AnnotationError, check_face_file
from ..records import (
    ATTACK,
    BONA_FIDE,
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
    #: Keyword options of :meth:`scan` beyond ``check_annotations`` (:func:`open_dataset` passes these on).
    scan_options: tuple[str, ...] = ()
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
