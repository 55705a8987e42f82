"""Idiap Replay-Attack: its tree, file names and protocols."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

from ..records import (
    ATTACK,
    BONA_FIDE,
    VideoRecord,
)
from .base import (
    Dataset,
    _annotation_problem,
    _files,
    _filters,
    _is_real,
    _layout_error,
    _missing_from_group,
    _Scan,
    _subject_in_one_split,
)

#: Replay-Attack client ids: 1-31 and 101-119 (50 clients).
REPLAY_CLIENTS = tuple(range(1, 32)) + tuple(range(101, 120))


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
