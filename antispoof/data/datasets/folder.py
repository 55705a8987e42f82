"""The generic ``real/`` + ``attack/<type>/`` folder layout."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

from ..annotations import AnnotationError, sniff_format
from ..records import (
    ATTACK,
    BONA_FIDE,
    SPLITS,
    VideoRecord,
)
from .base import (
    _LITTER,
    VIDEO_SUFFIXES,
    Dataset,
    _annotation_problem,
    _by_split,
    _files,
    _layout_error,
    _Scan,
    _subject_in_one_split,
)

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
