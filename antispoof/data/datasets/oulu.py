"""OULU-NPU: its tree, file names and protocols P1-P4."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path

from ..records import (
    ATTACK,
    BONA_FIDE,
    SPLITS,
    DatasetError,
    Problem,
    Protocol,
    VideoRecord,
)
from .base import (
    Dataset,
    _by_split,
    _files,
    _layout_error,
    _missing_from_group,
    _problem_message,
    _Scan,
)

_OULU_SPLITS = (("Train_files", "train", range(1, 21)), ("Dev_files", "dev", range(21, 36)),
                ("Test_files", "test", range(36, 56)))  # fmt: skip
_OULU_NAME = re.compile(r"([1-6])_([1-3])_(\d{2})_([1-5])")
_OULU_PAI = {1: None, 2: "print", 3: "print", 4: "replay", 5: "replay"}


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
