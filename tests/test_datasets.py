"""Dataset adapters on fake trees with the real file names (zero-byte videos: nothing is decoded)."""

import json

import numpy as np
import pytest

from antispoof.data import (
    ATTACK,
    BONA_FIDE,
    AnnotationError,
    DatasetError,
    NoFaceError,
    apply_flip,
    cross_protocol,
    fill_missing,
    flip_boxes,
    format_summary,
    open_dataset,
    read_face_file,
    read_msu_face,
    read_replay_face,
    resolve_flip,
)
from antispoof.data.annotations import AnnotationWarning
from antispoof.data.datasets import (
    MSU_SUBJECTS,
    MSU_TEST,
    MSU_TRAIN,
    REPLAY_CLIENTS,
    casia_dev_subjects,
    msu_dev_test_split,
)

# --------------------------------------------------------------------------------------------------
# Fake trees

REPLAY_ATTACKS = [("print", "highdef", "photo"), ("mobile", "mobile", "photo"), ("mobile", "mobile", "video"),
                  ("highdef", "highdef", "photo"), ("highdef", "highdef", "video")]  # fmt: skip
REPLAY_FACE = "0 10 20 30 40\n1 0 0 0 0\n2 11 21 30 40\n3 0 0 0 0\n"


def touch(path, text=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        path.touch()
    else:
        path.write_text(text)
    return path


def make_replay(root, clients=None, faces=True):
    """Replay-Attack tree: 24 videos per client (4 real, 20 attacks), face-locations mirrored."""
    clients = clients or {"train": (1, 2, 3), "devel": (4, 5, 30), "test": (101, 102, 103, 119)}
    for folder, ids in clients.items():
        for c in ids:
            for light in ("controlled", "adverse"):
                rels = [f"{folder}/real/client{c:03d}_session01_webcam_authenticate_{light}_{take}" for take in (1, 2)]
                for support in ("fixed", "hand"):
                    rels += [f"{folder}/attack/{support}/attack_{pai}_client{c:03d}_session01_{dev}_{kind}_{light}"
                             for pai, dev, kind in REPLAY_ATTACKS]  # fmt: skip
                for rel in rels:
                    touch(root / f"{rel}.mov")
                    if faces:
                        touch(root / "face-locations" / f"{rel}.face", REPLAY_FACE)
    return root


def make_msu(root, subjects=MSU_SUBJECTS, faces=True):
    """MSU-MFSD tree: 8 videos per subject with .face files beside them."""
    row = (
        "0, 283, 107, 500, 375, 330.62, 235.40, 437.58, 232.54\n2, 280, 105, 498, 370, 330.00, 235.00, 437.00, 232.00\n"
    )
    for c in subjects:
        for device, ext in (("android", ".mp4"), ("laptop", ".mov")):
            stems = [f"real/real_client{c:03d}_{device}_SD_scene01"]
            stems += [f"attack/attack_client{c:03d}_{device}_SD_{pai}_scene01"
                      for pai in ("ipad_video", "iphone_video", "printed_photo")]  # fmt: skip
            for stem in stems:
                touch(root / "scene01" / f"{stem}{ext}")
                if faces:
                    touch(root / "scene01" / f"{stem}.face", row)
    return root


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    return open_dataset("replay-attack", make_replay(tmp_path_factory.mktemp("replay")))


@pytest.fixture(scope="module")
def msu(tmp_path_factory):
    return open_dataset("msu-mfsd", make_msu(tmp_path_factory.mktemp("msu")))


# --------------------------------------------------------------------------------------------------
# Replay-Attack


def test_replay_fields_follow_the_file_names(replay):
    r = replay.get("train/real/client001_session01_webcam_authenticate_adverse_1")
    assert (r.label, r.attack_type, r.subject, r.split, r.condition, r.device) == (BONA_FIDE, None, "001", "train",
                                                                                   "adverse", "webcam")  # fmt: skip
    assert r.extra["take"] == 1 and r.path.name == "client001_session01_webcam_authenticate_adverse_1.mov"
    assert (
        r.annotation == replay.root / "face-locations/train/real/client001_session01_webcam_authenticate_adverse_1.face"
    )
    assert r.annotation_format == "replay" and r.flip is None
    a = replay.get("devel/attack/fixed/attack_highdef_client030_session01_highdef_photo_adverse")
    assert (a.label, a.attack_type, a.subject, a.split, a.condition) == (ATTACK, "highdef", "030", "dev", "adverse")
    assert a.extra == {"support": "fixed", "session": 1, "sample_device": "highdef", "sample_type": "photo"}
    h = replay.get("test/attack/hand/attack_mobile_client119_session01_mobile_video_controlled")
    assert (h.extra["support"], h.attack_type, h.extra["sample_type"], h.split) == ("hand", "mobile", "video", "test")
    assert not replay.problems
    assert json.loads(json.dumps(r.as_dict()))["annotation"].endswith(".face")


# Official Replay-Attack counts (bob.db.replay tests); the fake tree has 3 / 3 / 4 clients, a fifth of 15 / 15 / 20.
OFFICIAL_REPLAY = {
    "grandtest": (360, 360, 480), "controlled": (180, 180, 240), "adverse": (180, 180, 240),
    "print": (120, 120, 160), "mobile": (180, 180, 240), "highdef": (180, 180, 240),
    "photo": (240, 240, 320), "video": (180, 180, 240), "digitalphoto": (180, 180, 240),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(OFFICIAL_REPLAY))
def test_replay_protocol_counts_scale_as_the_official_ones(replay, name):
    p = replay.protocol(name)
    assert tuple(len(p[s]) for s in ("train", "dev", "test")) == tuple(n // 5 for n in OFFICIAL_REPLAY[name])
    for split in ("train", "dev", "test"):
        assert all(r.split == split for r in p[split])
        reals = [r for r in p[split] if r.label == BONA_FIDE]
        assert len(reals) == {"train": 12, "dev": 12, "test": 16}[split] // (
            2 if name in ("controlled", "adverse") else 1
        )
    if name in ("controlled", "adverse"):
        assert {r.condition for s in p.values() for r in s} == {name}


def test_replay_default_protocol_and_summary(replay):
    assert replay.default_protocol == "grandtest"
    s = replay.summary()
    assert (s["videos"], s["bona_fide"], s["attack"], s["subjects"]) == (240, 40, 200, 10)
    assert s["splits"]["train"] == {"videos": 72, "bona_fide": 12, "attack": 60, "subjects": 3,
                                    "attack_types": {"highdef": 24, "mobile": 24, "print": 12}}  # fmt: skip
    assert s["protocols"]["grandtest"] == {"train": 72, "dev": 72, "test": 96}
    assert s["annotated"] == 240 and s["problems"] == []
    json.dumps(s)
    text = format_summary(s)
    assert "grandtest (default): 72 / 72 / 96" in text and "problems: none" in text


def test_replay_corrupt_tree_is_reported_not_raised_deep(tmp_path):
    root = make_replay(tmp_path / "ra", {"train": (1,), "devel": (2,), "test": (3,)})
    import shutil

    shutil.rmtree(root / "devel")
    touch(root / "train/real/notes.txt")
    touch(root / "train/attack/fixed/attack_print_client001_session01_highdef_video_adverse.mov")  # print is photo
    touch(root / "train/attack/attack_print_client001_session01_highdef_photo_adverse.mov")  # no support folder
    bad = root / "face-locations/train/real/client001_session01_webcam_authenticate_adverse_1.face"
    bad.write_text("0 10 20 30 40\n1 10 twenty 30 40\n")
    (root / "face-locations/test/real/client003_session01_webcam_authenticate_adverse_2.face").unlink()
    touch(root / "face-locations/test/real/client099_session01_webcam_authenticate_adverse_1.face", REPLAY_FACE)
    (root / "test/attack/hand/attack_mobile_client003_session01_mobile_video_controlled.mov").unlink()

    ds = open_dataset("replay-attack", root)
    problems = {(p.kind, p.path): p.message for p in ds.problems}
    assert ("missing", "devel/") in problems
    assert ("unknown-file", "train/real/notes.txt") in problems
    assert ("unknown-file", "train/attack/fixed/attack_print_client001_session01_highdef_video_adverse.mov") in problems
    assert ("unknown-file", "train/attack/attack_print_client001_session01_highdef_photo_adverse.mov") in problems
    assert problems[("annotation", f"{bad.relative_to(root).as_posix()}:2")] == "not a number: 'twenty'"
    assert ("missing", "face-locations/test/real/client003_session01_webcam_authenticate_adverse_2.face") in problems
    assert ("annotation", "face-locations/test/real/client099_session01_webcam_authenticate_adverse_1.face") in problems
    assert problems[("annotation", "face-locations/devel/")] == "24 annotations of a missing split"
    orphan = "face-locations/test/attack/hand/attack_mobile_client003_session01_mobile_video_controlled.face"
    assert problems[("annotation", orphan)] == "annotation without a matching video"
    assert len(ds.problems) == 10
    incomplete = [p.message for p in ds.problems if p.kind == "inconsistent"]
    assert incomplete == ["client 003: missing 1 of 24 videos: mobile video hand controlled"]
    # the unreadable annotation is not used; unknown files are not records
    assert ds.get("train/real/client001_session01_webcam_authenticate_adverse_1").annotation is None
    assert all("notes" not in r.video_id for r in ds) and len(ds) == 24 + 23
    with pytest.raises(DatasetError, match=r"protocol 'grandtest' has no videos in dev"):
        ds.protocol()
    with pytest.raises(DatasetError) as info:
        open_dataset("replay-attack", root, strict=True)
    message = str(info.value)
    assert message.count("\n  - ") == len(ds.problems) and "notes.txt" in message
    assert len(info.value.problems) == len(ds.problems)


def test_replay_without_face_locations_is_a_note(tmp_path):
    ds = open_dataset("replay-attack", make_replay(tmp_path, {"train": (1,), "devel": (2,), "test": (3,)}, faces=False))
    assert not ds.problems and all(r.annotation is None for r in ds)
    assert any("face-locations" in n for n in ds.notes)


def test_wrong_roots_give_one_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        open_dataset("replay-attack", tmp_path / "nope")
    with pytest.raises(DatasetError, match="unknown dataset 'replay-mobile'; known: replay-attack, msu-mfsd"):
        open_dataset("replay-mobile", tmp_path)
    make_replay(tmp_path / "replayattack", {"train": (1,), "devel": (2,), "test": (3,)})
    with pytest.raises(DatasetError, match=r"not a Replay-Attack tree: .*did you mean .*replayattack\?"):
        open_dataset("replay-attack", tmp_path)
    with pytest.raises(DatasetError, match="not a MSU-MFSD tree"):
        open_dataset("msu", tmp_path)
    (tmp_path / "empty" / "train").mkdir(parents=True)
    with pytest.raises(DatasetError, match="has no usable video") as info:
        open_dataset("replay-attack", tmp_path / "empty")
    assert "devel/: split folder missing" in str(info.value)


def test_unknown_protocol_lists_the_known_ones(replay):
    with pytest.raises(DatasetError, match="unknown protocol 'P1'; known: grandtest, controlled, adverse"):
        replay.protocol("P1")


def test_verify_videos_records_unreadable_files(tmp_path):
    ds = open_dataset("replay-attack", make_replay(tmp_path, {"train": (1,), "devel": (2,), "test": (3,)}))
    found = ds.verify_videos()
    assert len(found) == len(ds) and all(p.kind == "video" and p.message == "empty file" for p in found)
    assert ds.problems[-1] is found[-1]


# --------------------------------------------------------------------------------------------------
# MSU-MFSD


def test_msu_fields_extensions_and_counts(msu):
    r = msu.get("scene01/real/real_client001_android_SD_scene01")
    assert (r.label, r.attack_type, r.subject, r.device, r.path.suffix) == (BONA_FIDE, None, "001", "android", ".mp4")
    a = msu.get("scene01/attack/attack_client055_laptop_SD_printed_photo_scene01")
    assert (a.label, a.attack_type, a.device, a.path.suffix, a.split) == (ATTACK, "printed_photo", "laptop", ".mov",
                                                                          "train")  # fmt: skip
    assert a.annotation.name == "attack_client055_laptop_SD_printed_photo_scene01.face" and a.annotation_format == "msu"
    s = msu.summary()
    assert (s["videos"], s["bona_fide"], s["attack"]) == (280, 70, 210)
    # 15 train subjects -> 120 videos (30 real, 90 attack); 20 test subjects halved -> 80 + 80
    assert s["protocols"]["default"] == {"train": 120, "dev": 80, "test": 80}
    assert s["protocols"]["official"] == {"train": 120, "dev": 0, "test": 160}
    assert s["splits"]["dev"]["bona_fide"] == 20 and s["splits"]["test"]["attack"] == 60
    assert not msu.problems


def test_msu_dev_split_is_the_documented_alternation(msu):
    dev, test = msu_dev_test_split(MSU_TEST)
    assert dev == (1, 14, 24, 28, 30, 33, 36, 39, 48, 50)
    assert test == (13, 23, 26, 29, 32, 35, 37, 42, 49, 51)
    assert set(dev) | set(test) == set(MSU_TEST) and not set(dev) & set(test)
    p = msu.protocol()
    assert {int(r.subject) for r in p["dev"]} == set(dev)
    assert {int(r.subject) for r in p["test"]} == set(test)
    assert {int(r.subject) for r in p["train"]} == set(MSU_TRAIN)
    assert {r.extra["official_split"] for r in p["dev"] + p["test"]} == {"test"}


def test_msu_upside_down_clips_carry_a_flip_and_no_annotation(msu, tmp_path):
    flipped = sorted(r.video_id for r in msu if r.flip)
    assert flipped == [f"scene01/real/real_client00{c}_android_SD_scene01" for c in (3, 5, 6, 7, 8, 9)]
    r = msu.get(flipped[0])
    assert r.flip == "rot180" and r.annotation is None and r.extra["unreliable_annotation"].suffix == ".face"
    assert msu.get("scene01/real/real_client003_laptop_SD_scene01").flip is None
    assert msu.get("scene01/attack/attack_client003_android_SD_ipad_video_scene01").flip is None
    bob = open_dataset("msu-mfsd", msu.root, msu_flip="vertical")
    assert {bob.get(v).flip for v in flipped} == {"vertical"}
    with pytest.raises(DatasetError, match="msu_flip must be one of rot180, vertical"):
        open_dataset("msu-mfsd", msu.root, msu_flip="horizontal")


def test_flip_conventions():
    frame = np.arange(4 * 6 * 3).reshape(4, 6, 3)
    assert np.array_equal(apply_flip(frame, "rot180"), np.rot90(frame, 2))  # a real 180 degree turn
    assert np.array_equal(apply_flip(frame, "vertical"), frame[::-1])  # bob: rows only, a mirror image
    assert apply_flip(frame, None) is frame
    clip = np.stack([frame, frame + 1])
    assert np.array_equal(apply_flip(clip, "rot180")[1], np.rot90(frame + 1, 2))
    # a box follows its content through the flip
    box = np.array([[1.0, 0.0, 2.0, 3.0]])
    for flip in ("rot180", "vertical"):
        x, y, w, h = flip_boxes(box, flip, width=6, height=4)[0].astype(int)
        before = frame[0:3, 1:3]
        after = apply_flip(frame, flip)[y : y + h, x : x + w]
        assert np.array_equal(apply_flip(before, flip), after)
    with pytest.raises(ValueError, match="unknown flip 'rot90'"):
        apply_flip(frame, "rot90")
    # a container that declares a rotation has already been turned by the reader
    assert resolve_flip("rot180", 180) is None and resolve_flip("rot180", 0) == "rot180"


def test_msu_reads_the_subject_lists_shipped_with_the_data(tmp_path):
    root = make_msu(tmp_path, subjects=(1, 2, 3, 13))
    (root / "train_sub_list.txt").write_text("01\n02\n")
    (root / "test_sub_list.txt").write_text("03 13\n")
    ds = open_dataset("msu-mfsd", root)
    assert {r.subject: r.split for r in ds if r.label == BONA_FIDE} == {"001": "train", "002": "train", "003": "dev",
                                                                        "013": "test"}  # fmt: skip
    assert not ds.problems


def test_msu_problems(tmp_path):
    root = make_msu(tmp_path, subjects=(1, 2, 13, 4))
    (root / "scene01/real/real_client001_android_SD_scene01.mp4").rename(
        root / "scene01/real/real_client001_android_SD_scene01.mov"
    )
    (root / "scene01/attack/attack_client002_laptop_SD_ipad_video_scene01.face").write_text("0 1 2 3 4\n")
    touch(root / "scene01/attack/attack_client002_laptop_SD_ipad_scene01.mov")
    (root / "train_sub_list.txt").write_text("02 13\n")
    ds = open_dataset("msu-mfsd", root)
    problems = {(p.kind, p.path): p.message for p in ds.problems}
    assert (
        problems[("unknown-file", "scene01/real/real_client001_android_SD_scene01.mov")]
        == "android videos are .mp4 files"
    )
    assert (
        "not an MSU-MFSD attack name"
        in problems[("unknown-file", "scene01/attack/attack_client002_laptop_SD_ipad_scene01.mov")]
    )
    assert (
        "comma-separated"
        in problems[("annotation", "scene01/attack/attack_client002_laptop_SD_ipad_video_scene01.face:1")]
    )
    assert ("annotation", "scene01/real/real_client001_android_SD_scene01.face") in problems  # orphan now
    messages = [p.message for p in ds.problems]
    assert "only one of train_sub_list.txt / test_sub_list.txt is present" in messages
    assert "subjects in both the train and test lists: 13" in messages
    assert "subject 004 is in neither train_sub_list nor test_sub_list" in messages
    assert "subject 001: missing 1 of 8 videos: real android" in messages
    assert ds.get("scene01/real/real_client004_laptop_SD_scene01").split is None


# --------------------------------------------------------------------------------------------------
# CASIA-FASD and OULU-NPU


def test_casia(tmp_path):
    names = ["1", "2", "HR_1", "3", "4", "HR_2", "5", "6", "HR_3", "7", "8", "HR_4"]
    for folder, subjects in (("train_release", (1, 4, 5)), ("test_release", (1, 30))):
        for s in subjects:
            for n in names:
                touch(tmp_path / folder / str(s) / f"{n}.avi")
    touch(tmp_path / "train_release/5/9.avi")
    ds = open_dataset("casia", tmp_path)
    assert casia_dev_subjects(range(1, 21)) == (4, 8, 12, 16, 20)
    r = ds.get("test_release/30/HR_4")
    assert (r.label, r.attack_type, r.condition, r.subject, r.split) == (ATTACK, "video_replay", "high", "50", "test")
    r = ds.get("train_release/4/2")
    assert (r.label, r.attack_type, r.condition, r.split, r.extra["official_split"]) == (BONA_FIDE, None, "low", "dev",
                                                                                         "train")  # fmt: skip
    p = ds.protocol()
    assert [len(p[s]) for s in ("train", "dev", "test")] == [24, 12, 24]
    official = ds.protocol("official")
    assert [len(official[s]) for s in ("train", "dev", "test")] == [36, 0, 24]
    assert len(ds.protocol("cut_print")["test"]) == 2 * (3 + 3) and len(ds.protocol("high")["train"]) == 2 * 4
    assert [(p.kind, p.path) for p in ds.problems] == [("unknown-file", "train_release/5/9.avi")]


def make_oulu(root, users=(1, 2, 21, 36)):
    for user in users:
        folder = "Train_files" if user <= 20 else "Dev_files" if user <= 35 else "Test_files"
        for phone in range(1, 7):
            for session in range(1, 4):
                for f in range(1, 6):
                    stem = f"{phone}_{session}_{user:02d}_{f}"
                    touch(root / folder / f"{stem}.avi")
                    touch(root / folder / f"{stem}.txt", "0,10,20,30,20\n")
    return root


def test_oulu_protocols_by_definition(tmp_path):
    ds = open_dataset("oulu-npu", make_oulu(tmp_path))
    r = ds.get("Train_files/6_3_02_5")
    assert (r.label, r.attack_type, r.subject, r.device, r.condition, r.split) == (ATTACK, "replay", "02", "phone6",
                                                                                   "session3", "train")  # fmt: skip
    assert r.annotation.name == "6_3_02_5.txt" and r.annotation_format == "oulu-eyes"
    assert not ds.problems
    p1 = ds.protocol("P1")  # per user: 6 phones x 2 sessions x 5 files = 60; test: session 3 only = 30
    assert [len(p1[s]) for s in ("train", "dev", "test")] == [120, 60, 30]
    assert {r.extra["session"] for r in p1["test"]} == {3}
    p2 = ds.protocol("P2")
    assert {r.extra["file"] for r in p2["train"]} == {1, 2, 4} and {r.extra["file"] for r in p2["test"]} == {1, 3, 5}
    p3 = ds.protocol("P3_2")
    assert {r.extra["phone"] for r in p3["train"]} == {1, 3, 4, 5, 6} and {r.extra["phone"] for r in p3["test"]} == {2}
    p4 = ds.protocol("P4_6")
    assert [len(p4[s]) for s in ("train", "dev", "test")] == [2 * 5 * 2 * 3, 5 * 2 * 3, 1 * 1 * 3]
    assert ds.protocols[:3] == ("P1", "P2", "P3_1") and len(ds.protocols) == 14


def test_oulu_protocol_files_win_and_are_checked(tmp_path):
    root = make_oulu(tmp_path)
    folder = root / "Protocols" / "Protocol_1"
    touch(folder / "Train.txt", "+1,1_1_01_1\n-1,1_1_01_2\n-1,1_1_01_4\n")  # a Train list writing -1 for replay
    touch(folder / "Dev.txt", "+1,1_1_21_1\n")
    touch(folder / "Test.txt", "-2,1_3_36_4\n")
    ds = open_dataset("oulu-npu", root)
    p = ds.protocol("P1")
    assert [r.video_id for r in p["train"]] == ["Train_files/1_1_01_1", "Train_files/1_1_01_2", "Train_files/1_1_01_4"]
    assert [r.video_id for r in p["test"]] == ["Test_files/1_3_36_4"]
    touch(folder / "Test.txt", "+1,1_3_36_4\n-2,9_9_99_9\n")
    with pytest.raises(DatasetError) as info:
        open_dataset("oulu-npu", root).protocol("P1")
    assert "Protocols/Protocol_1/Test.txt:1: label +1 contradicts file 1_3_36_4 (attack)" in str(info.value)
    assert "Protocols/Protocol_1/Test.txt:2: no video '9_9_99_9'" in str(info.value)


# --------------------------------------------------------------------------------------------------
# Generic folder layout


def test_folder_layout(tmp_path):
    touch(tmp_path / "real/alice_01.mp4")
    touch(tmp_path / "real/alice_01.face", "0, 1, 2, 11, 12\n")
    touch(tmp_path / "real/bob_01.mov")
    touch(tmp_path / "real/carol_01.mp4")
    touch(tmp_path / "attack/print/alice_02.mp4")
    touch(tmp_path / "attack/replay/ipad/bob_02.avi")
    touch(tmp_path / "attack/loose.mp4")
    touch(tmp_path / "real/notes.doc")
    touch(tmp_path / "train.txt", "alice   # a subject: all her videos\n")
    touch(tmp_path / "dev.txt", "real/bob_01.mov\nattack/replay/ipad/bob_02\n")
    touch(tmp_path / "test.txt", "dave\n")
    ds = open_dataset("folder", tmp_path)
    assert {r.video_id: (r.label, r.attack_type, r.subject, r.split) for r in ds} == {
        "real/alice_01": (1, None, "alice", "train"),
        "real/bob_01": (1, None, "bob", "dev"),
        "real/carol_01": (1, None, "carol", None),
        "attack/print/alice_02": (0, "print", "alice", "train"),
        "attack/replay/ipad/bob_02": (0, "replay", "bob", "dev"),
    }
    assert ds.get("real/alice_01").annotation_format == "msu"
    problems = {(p.kind, p.path): p.message for p in ds.problems}
    assert problems[("unknown-file", "attack/loose.mp4")] == "attack videos go in attack/<type>/"
    assert ("unknown-file", "real/notes.doc") in problems
    assert problems[("split-list", "test.txt:1")] == "'dave' matches no video and no subject"
    assert problems[("split-list", "real/carol_01")] == "in no split list"
    with pytest.raises(DatasetError, match="has no videos in test"):
        ds.protocol()


# --------------------------------------------------------------------------------------------------
# Cross-database protocols


def test_cross_protocol(replay, msu):
    p = cross_protocol(replay, replay, train_protocol="adverse", test_protocol="controlled")
    assert {r.condition for r in p["train"] + p["dev"]} == {"adverse"} and {r.condition for r in p["test"]} == {
        "controlled"
    }
    assert len(p["train"]) == 36 and len(p["test"]) == 48
    q = cross_protocol(msu, replay)
    assert q["train"] == msu.protocol()["train"] and q["dev"] == msu.protocol()["dev"]
    assert q["test"] == replay.protocol()["test"]
    with pytest.raises(DatasetError, match="80 test videos are also used for training or dev"):
        cross_protocol(msu, msu, test_protocol="official")  # official test holds the default dev half


def test_replay_client_ids_are_the_documented_50():
    assert len(REPLAY_CLIENTS) == 50 and {3, 21, 101, 119} <= set(REPLAY_CLIENTS)
    assert not {0, 32, 100, 120} & set(REPLAY_CLIENTS)
    assert len(MSU_SUBJECTS) == 35 and set(MSU_TRAIN) | set(MSU_TEST) == set(MSU_SUBJECTS)


# --------------------------------------------------------------------------------------------------
# Annotation files


def test_replay_face_reader(tmp_path):
    path = touch(tmp_path / "a.face", "0 10 20 30 40\n1 0 0 0 0\n\n3 12 22 31 41\n")
    boxes = read_replay_face(path)
    assert boxes.shape == (4, 4) and boxes.dtype == np.float64
    assert np.array_equal(boxes[0], [10, 20, 30, 40]) and np.array_equal(boxes[3], [12, 22, 31, 41])
    assert np.isnan(boxes[1]).all() and np.isnan(boxes[2]).all()  # all-zero row, and no row
    assert read_replay_face(path, n_frames=6).shape == (6, 4)
    with pytest.warns(AnnotationWarning, match="a.face: 1 annotated frame beyond the video's 2 frames ignored"):
        assert read_replay_face(path, n_frames=2).shape == (2, 4)
    assert np.array_equal(read_face_file(path), boxes, equal_nan=True)


def test_msu_face_reader(tmp_path):
    # the sample row of bob.pad.face's real_client001_android_SD_scene01.face
    path = touch(
        tmp_path / "m.face", "0, 283, 107, 500, 375, 330.62, 235.40, 437.58, 232.54\n2, 0, 0, 0, 0, 0, 0, 0, 0\n"
    )
    boxes = read_msu_face(path, n_frames=3)
    assert np.array_equal(boxes[0], [283, 107, 217, 268]) and np.isnan(boxes[1:]).all()
    assert np.array_equal(read_face_file(path), read_msu_face(path), equal_nan=True)


@pytest.mark.parametrize(
    "text, fmt, message",
    [
        ("", "replay", r"a\.face: empty annotation file"),
        ("0 1 2 3\n", "replay", r"a\.face:1: expected 5 fields \(frame x y w h\), got 4"),
        ("0 1 2 3 4\n0 1 2 3 4\n", "replay", r"a\.face:2: frame 0 annotated twice"),
        ("-1 1 2 3 4\n", "replay", r"a\.face:1: frame number must be a whole number >= 0"),
        ("0 1 2 3 4\n1 1 2 x 4\n", "replay", r"a\.face:2: not a number: 'x'"),
        ("0 1 2 3 4\n", "msu", r"a\.face:1: expected comma-separated fields"),
        ("0, 1, 2\n", "msu", r"a\.face:1: expected at least 5 fields"),
    ],
)
def test_annotation_errors_name_file_and_line(tmp_path, text, fmt, message):
    path = touch(tmp_path / "a.face", text)
    with pytest.raises(AnnotationError, match=message):
        read_face_file(path, fmt)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(AnnotationError, match="no such annotation file"):
        read_replay_face(tmp_path / "none.face")
    (tmp_path / "bin.face").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(AnnotationError, match="not a text file"):
        read_replay_face(tmp_path / "bin.face")


def test_fill_missing_takes_the_nearest_detection():
    nan = [np.nan] * 4
    boxes = np.array([nan, nan, [1, 1, 1, 1], nan, nan, nan, [5, 5, 5, 5], nan, [0, 0, 0, 0]], float)
    filled = fill_missing(boxes)
    # frames 0-1 take the first detection (after), 3 the nearer before, 4 ties -> earlier, 5 the later one
    assert filled[:, 0].tolist() == [1, 1, 1, 1, 1, 5, 5, 5, 5]
    assert np.isnan(boxes[0]).all()  # input untouched
    with pytest.raises(NoFaceError):
        fill_missing(np.full((3, 4), np.nan))
