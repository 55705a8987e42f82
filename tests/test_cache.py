"""The clip cache (antispoof.cache): prepare on a tiny synthetic Replay-Attack tree, ClipDataset, sampling."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import weakref
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import antispoof.cache
from antispoof.baselines.pulse import PulseSVM, PulseTrace, pulse_features, trace_features
from antispoof.cache import (
    CACHE_VERSION,
    ORDERS,
    ClipDataset,
    PrepareConfig,
    VideoTooShortError,
    all_clip_starts,
    cache_key,
    clip_starts,
    extract_clips,
    open_cache,
    prepare,
    prepare_video,
    read_oriented,
    read_trace,
    stream_clips,
)
from antispoof.data import open_dataset
from antispoof.data.annotations import AnnotationError, NoFaceError
from antispoof.data.faces import HaarDetector, crop_clip, crop_skin_roi, face_track
from antispoof.data.records import VideoRecord
from antispoof.data.synth import generate
from antispoof.training import EpochSampler, train
from cli.antispoof_cli import main
from evm.batch import MANIFEST, Job, read_manifest
from evm.io import VideoError, VideoReader
from evm.presets import MagnifyParams
from evm.pulse import RegionMean
from videos import grating_frames, write_video

ROOT = Path(__file__).resolve().parents[1]
SIZE, CLIP_LEN, STEP = 48, 4, 2
CONFIG = PrepareConfig(size=SIZE, clip_len=CLIP_LEN, frame_step=STEP, clips_per_video=3)
FRAMES, FPS = 40, 25.0  # 1.6 s at Replay-Attack's 25 fps


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = generate(tmp_path_factory.mktemp("synth") / "replay", "replay-attack", clients=3, size=(96, 72),
                    duration=1.6, seed=11)  # fmt: skip
    return open_dataset("replay-attack", root)


def pick(ds, per_split_bona=2, per_split_attack=2):
    """Some bona fide and attack videos of every split (attack types varied)."""
    chosen = []
    for split in ("train", "dev", "test"):
        recs = [r for r in ds if r.split == split]
        chosen += [r for r in recs if r.label == 1][:per_split_bona]
        attacks = sorted((r for r in recs if r.label == 0), key=lambda r: (r.attack_type, r.video_id))
        by_type = {}
        for r in attacks:
            by_type.setdefault(r.attack_type, r)
        chosen += list(by_type.values())[:per_split_attack]
    return chosen


def copy_tree(ds, records, dest):
    """A dataset tree holding only ``records`` (videos and their .face files), same relative paths."""
    for r in records:
        for path in (r.path, r.annotation):
            target = dest / path.relative_to(ds.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    return open_dataset("replay-attack", dest)


@pytest.fixture(scope="module")
def prepared(tree, tmp_path_factory):
    records = pick(tree)
    out = tmp_path_factory.mktemp("cache")
    result = prepare(tree, out, CONFIG, records=records, progress=False)
    return tree, records, out, result


def files_and_mtimes(folder):
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def partials(folder):
    return [p for p in folder.rglob(".*.partial*")]


def motion_energy(frames):
    """Mean absolute frame-to-frame change inside each clip (frames (clips * T, S, S, 3) uint8)."""
    clips = frames.astype(np.float64).reshape(-1, CLIP_LEN, *frames.shape[1:])
    return float(np.abs(np.diff(clips, axis=1)).mean())


# ------------------------------------------------------------------------------------------- clip positions


def test_clip_starts_spread_after_the_warmup_and_stay_inside():
    assert clip_starts(FRAMES, FPS, CONFIG) == [25, 29, 33]  # warm-up 1 s = 25 frames; last start 40 - 7
    span = CONFIG.span
    assert span == (CLIP_LEN - 1) * STEP + 1 == 7
    for n in (7, 8, 20, 31, 32, 33, 100, 1000):
        starts = clip_starts(n, FPS, CONFIG)
        assert starts == sorted(set(starts)) and 1 <= len(starts) <= CONFIG.clips_per_video
        assert starts[0] >= 0 and starts[-1] + span <= n
        if n - 25 >= span:
            assert starts[0] == 25  # the warm-up is skipped when the video allows
        else:
            assert starts[0] == 0 and starts[-1] == n - span  # too short for it: the whole video is used
    assert clip_starts(7, FPS, CONFIG) == [0]
    with pytest.raises(ValueError, match="6 frames, shorter than one clip"):
        clip_starts(6, FPS, CONFIG)


def test_all_clip_starts_tile_the_video_without_overlap():
    starts = all_clip_starts(100, FPS, CONFIG)
    assert starts == list(range(25, 94, 7))
    assert np.all(np.diff(starts) == CONFIG.span) and starts[-1] + CONFIG.span <= 100
    assert all_clip_starts(30, FPS, CONFIG) == [0, 7, 14, 21]  # no room after the warm-up: from frame 0
    with pytest.raises(ValueError, match="shorter than one clip"):
        all_clip_starts(3, FPS, CONFIG)


def test_prepare_config_validation_and_round_trip():
    for bad in (dict(size=0), dict(clip_len=1.5), dict(frame_step=True), dict(border=0.9), dict(warmup=-1),
                dict(order="both"), dict(track="jumpy"), dict(clips_per_video=0)):  # fmt: skip
        with pytest.raises(ValueError):
            PrepareConfig(**bad)
    for config in (
        CONFIG,
        PrepareConfig(magnify=None),
        PrepareConfig(magnify=MagnifyParams(alpha=20, temporal="iir", r1=0.4, r2=0.05)),
    ):
        data = json.loads(json.dumps(config.as_dict()))
        assert PrepareConfig.from_dict(data) == config


def test_extract_clips_indexes_frames_and_shares_overlapping_ones(rng):
    frames = rng.integers(0, 256, (20, 40, 50, 3), dtype=np.uint8)
    boxes = np.tile([10.0, 8.0, 20.0, 22.0], (20, 1))
    plain = PrepareConfig(size=16, clip_len=4, frame_step=2, magnify=None)
    out = extract_clips(frames, 25.0, boxes, [0, 2, 11], plain)
    assert out.shape == (12, 16, 16, 3) and out.dtype == np.uint8
    index = [0, 2, 4, 6, 2, 4, 6, 8, 11, 13, 15, 17]
    expected = crop_clip(frames[index], boxes[index], border=plain.border, size=16)
    np.testing.assert_array_equal(out, expected)
    common = dict(size=16, clip_len=4, frame_step=2)
    for config in (PrepareConfig(**common), PrepareConfig(order="magnify-first", **common),
                   PrepareConfig(magnify=MagnifyParams(temporal="ideal"), **common)):  # fmt: skip
        magnified = extract_clips(frames, 25.0, boxes, [0, 2, 11], config)
        assert magnified.shape == out.shape
        np.testing.assert_array_equal(magnified[1:4], magnified[4:7])  # frames 2, 4, 6 of both clips
        assert not np.array_equal(magnified, out)


# ------------------------------------------------------------------------------------------------ prepare


def test_prepare_writes_the_index_and_the_clips(prepared):
    ds, records, out, result = prepared
    assert (result.total, result.done, result.skipped, result.failed) == (12, 12, 0, 0)
    assert result.failures == []
    assert result.cache_dir == out / cache_key("replay-attack", str(ds.root), CONFIG, None)
    index = json.loads((result.cache_dir / "index.json").read_text())
    assert index["version"] == CACHE_VERSION and index["dataset"] == "replay-attack"
    assert index["root"] == str(ds.root) and index["config"] == CONFIG.as_dict() and index["detector"] is None
    rows = {r["video_id"]: r for r in index["videos"]}
    assert set(rows) == {r.video_id for r in records}
    assert Counter(r["split"] for r in rows.values()) == {"train": 4, "dev": 4, "test": 4}
    assert Counter((r["split"], r["label"]) for r in rows.values()) == {(s, lab): 2 for s in ("train", "dev", "test")
                                                                         for lab in (0, 1)}  # fmt: skip
    total = 0
    for rec in records:
        row = rows[rec.video_id]
        assert (row["label"], row["attack_type"], row["subject"]) == (rec.label, rec.attack_type, rec.subject)
        assert row["file"] == f"videos/{rec.video_id}.npy"
        assert row["frames_decoded"] == FRAMES and row["fps"] == FPS
        starts = row["clip_starts"]
        assert starts == [25, 29, 33]
        assert all(0 <= s and s + CONFIG.span <= row["frames_decoded"] for s in starts)
        frames = np.load(result.cache_dir / row["file"])
        assert frames.dtype == np.uint8 and frames.shape == (len(starts) * CLIP_LEN, SIZE, SIZE, 3)
        assert row["frames_stored"] == len(frames) and row["bytes"] == frames.nbytes == 3 * 4 * 48 * 48 * 3
        x, y, w, h = row["box"]
        assert w > 10 and h > 10 and -w < x < 96 and -h < y < 72
        assert frames.std() > 5  # a picture, not a constant
        total += frames.nbytes
    assert result.bytes == total
    manifest = read_manifest(result.cache_dir / MANIFEST)
    assert {k: v["status"] for k, v in manifest.items()} == {r.video_id: "done" for r in records}


def test_prepare_again_skips_everything_and_rewrites_nothing(prepared):
    ds, records, out, result = prepared
    before = files_and_mtimes(result.cache_dir)
    time.sleep(0.01)
    again = prepare(ds, out, CONFIG, records=records, progress=False)
    assert again.cache_dir == result.cache_dir
    assert (again.total, again.done, again.skipped, again.failed) == (12, 0, 12, 0)
    assert again.bytes == result.bytes
    assert files_and_mtimes(result.cache_dir) == before  # same files, none rewritten (index.json included)


def test_other_parameters_go_to_another_cache_folder(prepared, tmp_path):
    ds, records, out, result = prepared
    before = files_and_mtimes(result.cache_dir)
    other = PrepareConfig(size=40, clip_len=CLIP_LEN, frame_step=STEP, clips_per_video=2)
    second = prepare(ds, out, other, records=records[:2], progress=False)
    assert second.cache_dir.parent == out and second.cache_dir != result.cache_dir
    assert second.done == 2 and files_and_mtimes(result.cache_dir) == before
    _, index = open_cache(second.cache_dir)
    assert [np.load(second.cache_dir / r["file"]).shape for r in index["videos"]] == [(8, 40, 40, 3)] * 2
    # every parameter is in the key: detector, root, magnification
    keys = {cache_key("replay-attack", str(ds.root), c, d) for c, d in
            [(CONFIG, None), (other, None), (CONFIG, "yunet.onnx"), (PrepareConfig(size=SIZE, clip_len=CLIP_LEN,
             magnify=MagnifyParams(alpha=11)), None)]}  # fmt: skip
    keys.add(cache_key("replay-attack", str(tmp_path), CONFIG, None))
    assert len(keys) == 5
    assert cache_key("replay-attack", str(ds.root), PrepareConfig.from_dict(CONFIG.as_dict()), None) == \
        result.cache_dir.name  # fmt: skip
    with pytest.raises(ValueError, match="2 caches; name one of them"):
        open_cache(out)
    assert open_cache(result.cache_dir)[0] == result.cache_dir


def test_a_moved_or_respelled_cache_keeps_its_videos(prepared, tmp_path, monkeypatch):
    ds, records, out, result = prepared
    moved = tmp_path / "moved"
    shutil.copytree(result.cache_dir, moved / result.cache_dir.name)
    again = prepare(ds, moved, CONFIG, records=records, progress=False)
    assert (again.skipped, again.done, again.failed) == (12, 0, 0)
    assert len(open_cache(again.cache_dir)[1]["videos"]) == 12 and again.bytes == result.bytes
    monkeypatch.chdir(tmp_path)  # the same cache named by a relative path
    relative = prepare(ds, "moved", CONFIG, records=records, progress=False)
    assert relative.skipped == 12 and len(open_cache(relative.cache_dir)[1]["videos"]) == 12


def test_open_cache_errors(prepared, tmp_path):
    _, _, _, result = prepared
    with pytest.raises(ValueError, match="no such cache folder"):
        open_cache(tmp_path / "nope")
    with pytest.raises(ValueError, match="no prepared cache"):
        open_cache(tmp_path)
    old = tmp_path / "old"
    shutil.copytree(result.cache_dir, old)
    index = json.loads((old / "index.json").read_text())
    (old / "index.json").write_text(json.dumps({**index, "version": 99}))
    with pytest.raises(ValueError, match="cache version 99"):
        open_cache(old)
    (old / "index.json").write_text("{")
    with pytest.raises(ValueError, match="unreadable cache index"):
        open_cache(old)


def test_prepare_resumes_after_a_kill(tree, tmp_path, capsys):
    ds = copy_tree(tree, pick(tree), tmp_path / "tree")  # 12 videos
    total = len(list(ds))
    cache = tmp_path / "cache"
    args = ["prepare", str(ds.root), "--dataset", "replay-attack", "--out", str(cache), "--size", str(SIZE),
            "--clip-len", str(CLIP_LEN), "-q"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "cli.antispoof_cli", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    done_at_kill = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            manifests = list(cache.glob(f"*/{MANIFEST}"))
            if manifests:
                done_at_kill = sum('"status": "done"' in line for line in manifests[0].read_text().splitlines())
                if done_at_kill >= 1:
                    proc.send_signal(signal.SIGKILL)
                    break
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()
    (cache_dir,) = cache.iterdir()
    done_at_kill = sum(r["status"] == "done" for r in read_manifest(cache_dir / MANIFEST).values())
    assert 1 <= done_at_kill < total  # killed in the middle
    assert not (cache_dir / "index.json").exists()  # the index is written at the end only

    with pytest.raises(SystemExit) as exc:
        main(args)
    _, err = capsys.readouterr()
    assert exc.value.code == 0, err
    assert f"{total - done_at_kill} prepared, {done_at_kill} already done, 0 failed of {total}" in err
    manifest = read_manifest(cache_dir / MANIFEST)
    assert sorted(manifest) == sorted(r.video_id for r in ds)
    assert all(r["status"] == "done" for r in manifest.values())
    assert partials(cache_dir) == []
    _, index = open_cache(cache)
    assert len(index["videos"]) == total
    for row in index["videos"]:
        frames = np.load(cache_dir / row["file"])  # loads fully: no truncated file
        assert frames.shape == (row["frames_stored"], SIZE, SIZE, 3) == (len(row["clip_starts"]) * CLIP_LEN, SIZE,
                                                                          SIZE, 3)  # fmt: skip
    npys = sorted(p.relative_to(cache_dir / "videos").as_posix() for p in (cache_dir / "videos").rglob("*.npy"))
    assert npys == sorted(f"{r.video_id}.npy" for r in ds)


def test_a_corrupt_video_fails_alone_and_is_retried(tree, tmp_path, capsys):
    ds = copy_tree(tree, pick(tree, 1, 1), tmp_path / "tree")  # 6 videos
    bad = sorted(ds, key=lambda r: r.video_id)[2]
    original = bad.path.read_bytes()
    bad.path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    cache = tmp_path / "cache"
    args = ["prepare", str(ds.root), "--dataset", "replay-attack", "--out", str(cache), "--size", "32",
            "--clip-len", str(CLIP_LEN), "-q"]  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    assert exc.value.code == 1 and out == ""
    assert "5 prepared, 0 already done, 1 failed of 6" in err
    failed = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and failed[0].startswith(f"failed: {bad.video_id}: ")
    assert "Traceback" not in err
    (cache_dir,) = cache.iterdir()
    record = read_manifest(cache_dir / MANIFEST)[bad.video_id]
    assert record["status"] == "failed" and record["error"]
    index = open_cache(cache)[1]
    assert sorted(r["video_id"] for r in index["videos"]) == sorted(r.video_id for r in ds if r != bad)
    assert not (cache_dir / "videos" / f"{bad.video_id}.npy").exists() and partials(cache_dir) == []

    config = PrepareConfig.from_dict(index["config"])
    again = prepare(ds, cache, config, progress=False)  # failed videos are retried, done ones skipped
    assert (again.done, again.skipped, again.failed) == (0, 5, 1) and again.failures[0][0] == bad.video_id
    bad.path.write_bytes(original)
    fixed = prepare(ds, cache, config, progress=False)
    assert (fixed.done, fixed.skipped, fixed.failed) == (1, 5, 0)
    assert len(open_cache(cache)[1]["videos"]) == 6


def test_magnification_adds_motion_inside_the_crops_in_both_orders(tree, tmp_path):
    records = pick(tree, 1, 1)[:4]  # train and dev: a bona fide video and an attack each
    common = dict(size=SIZE, clip_len=CLIP_LEN, frame_step=STEP, clips_per_video=2, warmup=0.0)
    configs = {"plain": PrepareConfig(magnify=None, **common), "crop-first": PrepareConfig(**common),
               "magnify-first": PrepareConfig(order="magnify-first", **common)}  # fmt: skip
    caches = {}
    for name, config in configs.items():
        result = prepare(tree, tmp_path, config, records=records, progress=False)
        assert (result.done, result.failed) == (4, 0)
        caches[name] = result.cache_dir
    assert len(set(caches.values())) == 3
    _, index = open_cache(caches["plain"])
    for rec in records:
        row = next(r for r in index["videos"] if r["video_id"] == rec.video_id)
        assert row["clip_starts"] == [0, FRAMES - 7]
        clips = {name: np.load(folder / "videos" / f"{rec.video_id}.npy") for name, folder in caches.items()}
        # The plain cache holds the face crops of exactly the clip frames.
        frames, _ = read_oriented(rec.path)
        boxes = face_track(frames, record=rec)
        index_ = [s + STEP * k for s in row["clip_starts"] for k in range(CLIP_LEN)]
        expected = crop_clip([frames[i] for i in index_], boxes[index_], border=configs["plain"].border, size=SIZE)
        np.testing.assert_array_equal(clips["plain"], expected)
        energy = {name: motion_energy(c) for name, c in clips.items()}
        for name in ("crop-first", "magnify-first"):
            # Frame 0 is where the causal filter starts: nothing to add yet, the same picture.
            np.testing.assert_array_equal(clips[name][0], clips["plain"][0])
            # A live face's small in-band motion (sway, breathing, blinks) is amplified several times;
            # hand-held attacks move mostly outside the 0.4-3 Hz band, so no bound is asserted for them.
            if rec.label == 1:
                assert energy[name] > 2 * energy["plain"], (rec.video_id, energy)
        assert not np.array_equal(clips["crop-first"], clips["magnify-first"])


# ------------------------------------------------------------------------------------------------ streaming

MAGNIFY = {"none": None, "butterworth": MagnifyParams(), "ideal": MagnifyParams(temporal="ideal")}


def in_memory(path, config, *, flip=None, record=None, detector=None, starts=clip_starts):
    """The reference: the whole video decoded into memory, then face_track and extract_clips (what
    prepare and predict did before streaming). Returns (clips, n_frames, fps, starts, boxes)."""
    frames, fps = read_oriented(path, flip)
    first = starts(len(frames), fps, config)
    boxes = face_track(frames, record=record, detector=detector, stride=config.detect_stride, mode=config.track)
    return extract_clips(frames, fps, boxes, first, config), len(frames), fps, first, boxes


def outcome(function, *args, **kwargs):
    """The result of a call, or the type and message of the exception it raised."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return type(exc), str(exc)


def assert_same_stream(streamed, reference):
    clips, n, fps, starts, boxes = reference
    np.testing.assert_array_equal(streamed.clips, clips, strict=True)  # bit for bit, same shape and dtype
    assert (streamed.n_frames, streamed.fps, streamed.starts) == (n, fps, starts)
    np.testing.assert_array_equal(streamed.boxes, boxes, strict=True)


def centroid_detector(frame):
    """A stand-in face detector whose box follows the frame's pixels (and so its orientation)."""
    red = frame[..., 0].astype(np.float64) + 1.0
    ys, xs = np.indices(red.shape)
    cx, cy = (red * xs).sum() / red.sum(), (red * ys).sum() / red.sum()
    return [(cx - 14.0, cy - 16.0, 28.0, 32.0, 1.0)]


def no_annotation(record, **changes):
    return replace(record, annotation=None, annotation_format=None, **changes)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("magnify", list(MAGNIFY))
def test_streamed_prepare_writes_what_the_in_memory_path_wrote(tree, tmp_path, magnify, order):
    config = PrepareConfig(size=SIZE, clip_len=CLIP_LEN, frame_step=STEP, clips_per_video=3, magnify=MAGNIFY[magnify],
                           order=order)  # fmt: skip
    records = sorted(tree, key=lambda r: r.video_id)
    bona_fide = next(r for r in records if r.label == 1)
    attack = next(r for r in records if r.attack_type == "mobile" and "/hand/" in r.video_id)
    frames, _ = read_oriented(bona_fide.path)
    upside_down = write_video(tmp_path / "upside-down.mp4", np.stack(frames)[:, ::-1, ::-1], 25)
    # Annotated, then detected (Haar), the last one stored upside down as some MSU-MFSD videos are.
    cases = [bona_fide, attack, no_annotation(attack), no_annotation(bona_fide, path=upside_down, flip="rot180")]
    for k, record in enumerate(cases):
        job = Job(record.video_id, str(record.path), str(tmp_path / f"{k}.npy"),
                  {"config": config.as_dict(), "record": record.as_dict(), "detector": None})  # fmt: skip
        row = prepare_video(job)
        clips, n, fps, starts, boxes = in_memory(record.path, config, flip=record.flip, record=record)
        assert row == {"video_id": record.video_id, "frames_decoded": n, "fps": fps, "clip_starts": starts,
                       "frames_stored": len(clips), "box": [round(float(v), 2) for v in np.median(boxes, axis=0)],
                       "bytes": clips.nbytes}  # fmt: skip
        np.testing.assert_array_equal(np.load(job.dst), clips, strict=True)
        assert len(clips) == 3 * CLIP_LEN and clips.std() > 5


@pytest.mark.parametrize("flip", [None, "rot180", "vertical"])
def test_streamed_prediction_clips_equal_the_in_memory_ones(tree, flip):
    path = next(r for r in sorted(tree, key=lambda r: r.video_id) if r.label == 1).path
    common = dict(size=SIZE, clip_len=CLIP_LEN, frame_step=STEP, detect_stride=3)
    configs = [PrepareConfig(magnify=m, order=o, track=t, **common) for m in MAGNIFY.values() for o in ORDERS
               for t in ("fixed", "smooth")]  # fmt: skip
    early = lambda n, fps, config: [0, 3]  # noqa: E731 - the last clip ends at frame 9 of 40: pass 2 stops there
    for config in configs:
        for starts in (all_clip_starts, early):
            streamed = stream_clips(path, config, flip=flip, detector=centroid_detector, starts=starts)
            assert_same_stream(streamed, in_memory(path, config, flip=flip, detector=centroid_detector, starts=starts))
    haar = PrepareConfig(**common)
    streamed = stream_clips(path, haar, flip=flip, starts=all_clip_starts)  # no detector given: Haar
    assert_same_stream(streamed, in_memory(path, haar, flip=flip, detector=HaarDetector(), starts=all_clip_starts))


def test_stream_clips_takes_the_annotation_as_face_track_does(tree, tmp_path):
    record = next(r for r in sorted(tree, key=lambda r: r.video_id) if r.label == 1)
    config = PrepareConfig(size=SIZE, clip_len=CLIP_LEN, frame_step=STEP, detect_stride=4)
    calls = []

    def detector(frame):
        calls.append(1)
        return centroid_detector(frame)

    face = tmp_path / "video.face"
    annotated = replace(record, annotation=face)
    boxes = "".join(f"{i} 30 20 28 32\n" for i in range(40))
    cases = {
        "the annotation": (boxes, 0),
        "no face annotated: detected in the first pass": ("0 0 0 0 0\n1 0 0 0 0\n", 10),
        "faces annotated after the last frame only: one more pass detects": ("100 30 20 28 32\n", 10),
    }
    for name, (text, detections) in cases.items():
        face.write_text(text)
        calls.clear()
        streamed = stream_clips(record.path, config, record=annotated, detector=detector)
        assert len(calls) == detections, name  # 40 frames, every 4th
        assert_same_stream(streamed, in_memory(record.path, config, record=annotated, detector=detector))
    face.write_text("0 1 2\n")
    expected = outcome(in_memory, record.path, config, record=annotated)
    assert expected[0] is AnnotationError and outcome(stream_clips, record.path, config, record=annotated) == expected
    face.unlink()
    expected = outcome(in_memory, record.path, config, record=annotated)
    assert expected[0] is AnnotationError and outcome(stream_clips, record.path, config, record=annotated) == expected


def test_streamed_prepare_keeps_the_error_messages(tmp_path, monkeypatch):
    short, gray, bad = tmp_path / "short.mp4", tmp_path / "gray.mp4", tmp_path / "bad.mp4"
    write_video(short, np.full((6, 48, 64, 3), 90, np.uint8), 25)
    write_video(gray, np.full((20, 48, 64, 3), 128, np.uint8), 25)
    bad.write_bytes(b"not a video at all" * 100)
    expected = {short: (VideoTooShortError, "video has 6 frames, shorter than one clip (7 frames)"),
                gray: (NoFaceError, "no face in any of the 20 frames"), bad: VideoError,
                tmp_path / "missing.mp4": VideoError}  # fmt: skip
    for path, error in expected.items():
        record = VideoRecord("replay-attack", path.stem, path, 1, None, "001", "train")
        job = Job(record.video_id, str(path), str(tmp_path / "out.npy"),
                  {"config": CONFIG.as_dict(), "record": record.as_dict(), "detector": None})  # fmt: skip
        streamed, reference = outcome(prepare_video, job), outcome(in_memory, path, CONFIG, record=record)
        assert streamed == reference and (streamed == error or streamed[0] is error), (path, streamed)
    assert not (tmp_path / "out.npy").exists()
    monkeypatch.setattr(VideoReader, "__iter__", lambda self: iter(()))  # a file that probes but decodes to nothing
    assert outcome(stream_clips, gray, CONFIG) == outcome(in_memory, gray, CONFIG) == (
        ValueError, f"{gray}: no decodable frames")  # fmt: skip


def test_stream_clips_holds_a_few_frames_at_a_time(tmp_path, monkeypatch):
    """Decoded frames alive at once: a few (read-ahead), not the whole video."""
    path = write_video(tmp_path / "grating.mp4", grating_frames(frames=60, height=48, width=64), 25)
    alive, most = set(), [0]

    class CountingReader(VideoReader):
        def __iter__(self):
            for frame in super().__iter__():
                alive.add(id(frame))
                weakref.finalize(frame, alive.discard, id(frame))
                most[0] = max(most[0], len(alive))
                yield frame

    def peak(function, *args, **kwargs):
        alive.clear()
        most[0] = 0
        function(*args, **kwargs)
        return most[0]

    monkeypatch.setattr(antispoof.cache, "VideoReader", CountingReader)
    fixed = lambda frame: [(20.0, 10.0, 24.0, 28.0, 1.0)]  # noqa: E731
    common = dict(size=16, clip_len=CLIP_LEN, frame_step=STEP, detect_stride=1)
    assert peak(in_memory, path, PrepareConfig(**common), detector=fixed) == 60  # the reference holds them all
    for magnify in MAGNIFY:
        for order in ORDERS:
            # (ideal + magnify-first passes too, but its Magnifier keeps a copy of every full frame: the FFT
            # over the whole video needs them all.)
            held = peak(stream_clips, path, PrepareConfig(magnify=MAGNIFY[magnify], order=order, **common),
                        detector=fixed)  # fmt: skip
            assert held <= 10, (magnify, order, held)  # read-ahead queue (4) and the frames in hand


# ------------------------------------------------------------------------------------------ ClipDataset


def test_clip_dataset_items(prepared):
    _, records, _, result = prepared
    ds = ClipDataset(result.cache_dir)
    assert len(ds) == 12 * 3 and len(ds.labels) == len(ds)
    assert ds.attack_types == {r.video_id: r.attack_type for r in records}
    by_id = {r.video_id: r for r in records}
    seen = Counter()
    for i in range(len(ds)):
        clip, label, video_id = ds[i]
        assert isinstance(clip, torch.Tensor) and clip.dtype == torch.float32
        assert clip.shape == (CLIP_LEN, 3, SIZE, SIZE)
        assert 0.0 <= float(clip.min()) and float(clip.max()) <= 1.0
        assert label == ds.labels[i] == by_id[video_id].label
        raw = ds.clip_array(i)
        assert raw.shape == (CLIP_LEN, SIZE, SIZE, 3) and raw.dtype == np.uint8
        torch.testing.assert_close(clip, torch.from_numpy(raw.transpose(0, 3, 1, 2).astype(np.float32) / 255))
        seen[video_id] += 1
    assert seen == {r.video_id: 3 for r in records}
    # the clips of a video are its stored frames in order
    video_id = records[0].video_id
    items = [i for i in range(len(ds)) if ds[i][2] == video_id]
    stored = np.load(result.cache_dir / "videos" / f"{video_id}.npy")
    np.testing.assert_array_equal(np.concatenate([ds.clip_array(i) for i in items]), stored)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_clip_dataset_does_not_hold_a_file_per_video(prepared):
    # OULU-NPU has 4950 videos: one open memory map per video would pass the usual limit of 1024 files.
    _, _, _, result = prepared
    ds = ClipDataset(result.cache_dir)
    before = len(os.listdir("/proc/self/fd"))
    clips = [ds[i][0] for i in range(len(ds))]
    assert len(os.listdir("/proc/self/fd")) - before < 3  # 12 videos read, ds still alive
    assert len(clips) == 36


def test_clip_dataset_split_and_video_filters(prepared):
    _, records, _, result = prepared
    for split in ("train", "dev", "test"):
        ds = ClipDataset(result.cache_dir.parent / result.cache_dir.name, split=split)
        assert {ds[i][2] for i in range(len(ds))} == {r.video_id for r in records if r.split == split}
        assert len(ds) == 4 * 3 and sorted(Counter(ds.labels).values()) == [6, 6]
    chosen = [records[0].video_id, records[5].video_id]
    ds = ClipDataset(result.cache_dir, chosen)
    assert len(ds) == 6 and {ds[i][2] for i in range(6)} == set(chosen)
    ds = ClipDataset(result.cache_dir, chosen, split=records[0].split)
    assert {ds[i][2] for i in range(len(ds))} == {records[0].video_id}
    with pytest.raises(ValueError, match="1 video\\(s\\) not in the cache, e.g. nope"):
        ClipDataset(result.cache_dir, [chosen[0], "nope"])
    with pytest.raises(ValueError, match="no cached videos in split 'validation'"):
        ClipDataset(result.cache_dir, split="validation")


def _fit_augmentation(plain, augmented):
    """(flipped, gains, offsets, residual) with augmented = clip(flip?(plain) * gain + offset) per frame."""
    best = None
    for flipped, source in ((False, plain), (True, plain[..., ::-1])):
        gains, offsets, worst = [], [], 0.0
        for p, a in zip(source, augmented):
            keep = (a > 0.001) & (a < 0.999)
            g, o = np.polyfit(p[keep].astype(np.float64), a[keep].astype(np.float64), 1)
            worst = max(worst, float(np.abs(np.clip(p * g + o, 0, 1) - a).max()))
            gains.append(g)
            offsets.append(o)
        if best is None or worst < best[3]:
            best = (flipped, np.array(gains), np.array(offsets), worst)
    return best


def test_augmentation_keeps_shape_and_range_is_per_clip_and_deterministic(prepared):
    _, _, _, result = prepared
    plain = ClipDataset(result.cache_dir, split="train")

    def draw(seed, torch_seed):
        ds = ClipDataset(result.cache_dir, split="train", augment=True, seed=seed)
        torch.manual_seed(torch_seed)
        return [ds[i][0] for i in range(len(ds))]

    first, again, other_seed, other_torch = draw(3, 0), draw(3, 0), draw(4, 0), draw(3, 1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other_seed))
    assert not all(torch.equal(a, b) for a, b in zip(first, other_torch))
    flips, gains = [], []
    for i, clip in enumerate(first):
        assert clip.shape == (CLIP_LEN, 3, SIZE, SIZE) and clip.dtype == torch.float32
        assert 0.0 <= float(clip.min()) and float(clip.max()) <= 1.0
        flipped, g, o, residual = _fit_augmentation(plain[i][0].numpy(), clip.numpy())
        assert residual < 1e-4  # a flip and one gain and offset explain every pixel ...
        assert np.ptp(g) < 1e-3 and np.ptp(o) < 1e-3  # ... the same for all frames of the clip
        assert 0.85 - 1e-3 <= g.mean() <= 1.15 + 1e-3 and abs(o.mean()) <= 0.06 + 1e-3
        flips.append(flipped)
        gains.append(g.mean())
    assert 0 < sum(flips) < len(flips) and np.ptp(gains) > 0.05


def test_shift_translates_each_clip_as_a_whole(prepared):
    _, _, _, result = prepared
    plain = ClipDataset(result.cache_dir, split="train")
    ds = ClipDataset(result.cache_dir, split="train", augment=True, seed=3, shift=3)
    torch.manual_seed(0)
    found = []
    for i in range(min(len(ds), 12)):
        clip, source = ds[i][0].numpy(), plain[i][0].numpy()
        keep = (clip > 0.001) & (clip < 0.999)
        best = (np.inf, None)
        for flip in (False, True):
            padded = np.pad(source[..., ::-1] if flip else source, ((0, 0), (0, 0), (3, 3), (3, 3)), mode="edge")
            for dy in range(-3, 4):
                for dx in range(-3, 4):
                    moved = padded[:, :, 3 + dy : 3 + dy + SIZE, 3 + dx : 3 + dx + SIZE]
                    g, o = np.polyfit(moved[keep].astype(np.float64), clip[keep].astype(np.float64), 1)
                    err = float(np.abs(np.clip(moved * g + o, 0, 1) - clip).max())
                    best = min(best, (err, (dy, dx)))
        assert best[0] < 1e-4  # one offset (and one flip, gain, offset) explains every frame of the clip
        found.append(best[1])
    assert len(set(found)) > 3
    with pytest.raises(ValueError, match=r"shift must be an int in \[0, 24\), got 24"):
        ClipDataset(result.cache_dir, split="train", shift=SIZE // 2)


def test_augmented_training_resumes_exactly(prepared, tmp_path):
    """Augmentation draws must follow the training RNG that checkpoints restore."""
    _, _, _, result = prepared
    model = dict(trunk="small", trunk_channels=[4, 8], image_size=SIZE, num_frames=CLIP_LEN, hidden_size=4)
    options = dict(batch_size=6, lr=1e-3, lambda_cnn=1.0, seed=0, device="cpu", progress=False, patience=None)

    def data():
        return ClipDataset(result.cache_dir, split="train", augment=True, seed=0), ClipDataset(
            result.cache_dir, split="dev"
        )

    train({**model}, *data(), tmp_path / "straight", epochs=2, **options)
    train({**model}, *data(), tmp_path / "resumed", epochs=1, **options)
    train({**model}, *data(), tmp_path / "resumed", epochs=2, resume=True, **options)
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------------------------------------- sampling


def epochs_drawn(labels, epochs: int, seed: int) -> list[int]:
    """What training's balanced sampler draws over ``epochs`` epochs (it reseeds from (seed, epoch))."""
    sampler = EpochSampler(labels, balanced=True, seed=seed)
    drawn = []
    for epoch in range(1, epochs + 1):
        sampler.set_epoch(epoch)
        drawn += list(sampler)
    return drawn


def test_balanced_sampler_draws_both_classes_about_equally():
    # (cache.balanced_sampler, never used by training, is gone: these are its checks on training's sampler)
    labels = [1] * 10 + [0] * 50
    drawn = epochs_drawn(labels, 100, seed=1)
    assert len(drawn) == 6000 and min(drawn) >= 0 and max(drawn) < 60
    share = np.mean([labels[i] for i in drawn])
    assert abs(share - 0.5) < 0.03  # 1/6 without balancing
    counts = np.bincount(drawn, minlength=60)
    assert counts[:10].min() > 200 and counts[10:].min() > 25  # uniform inside each class: ~300 and ~60
    assert drawn == epochs_drawn(labels, 100, seed=1)
    assert drawn != epochs_drawn(labels, 100, seed=2)
    assert len(list(EpochSampler(labels, balanced=True, seed=0))) == 60


def test_balanced_sampler_feeds_a_loader_over_the_cache(prepared):
    _, _, _, result = prepared
    ds = ClipDataset(result.cache_dir)
    keep = [i for i in range(len(ds)) if ds.labels[i] == 0 or ds[i][2].startswith("train/")]  # 6 bona fide, 18 attack
    subset = torch.utils.data.Subset(ds, keep)
    labels = [ds.labels[i] for i in keep]
    assert Counter(labels) == {0: 18, 1: 6}
    sampler = EpochSampler(labels, balanced=True, seed=0)
    seen = []
    for epoch in range(1, 18):  # 17 epochs of 24 clips: 408 drawn
        sampler.set_epoch(epoch)
        for clips, batch_labels, video_ids in torch.utils.data.DataLoader(subset, batch_size=8, sampler=sampler):
            assert clips.shape[1:] == (CLIP_LEN, 3, SIZE, SIZE) and len(video_ids) == len(batch_labels)
            seen += batch_labels.tolist()
    assert len(seen) == 408 and abs(np.mean(seen) - 0.5) < 0.1


# ------------------------------------------------------------------------------------------ pulse traces


def direct_trace(record, config, *, detector=None):
    """The reference trace: every frame decoded, face-tracked and cropped unmagnified, then RegionMean."""
    frames, _ = read_oriented(record.path, record.flip)
    boxes = face_track(frames, record=record, detector=detector, stride=config.detect_stride, mode=config.track)
    crops = crop_clip(frames, boxes, border=config.border, size=config.size)
    region = RegionMean((config.size, config.size), roi=crop_skin_roi(config.size, config.size))
    return np.array([region(c) for c in crops], np.float32), crops


def test_prepare_stores_every_frames_skin_mean_as_a_direct_computation_gives_it(prepared):
    ds, records, out, result = prepared
    cache_dir, index = open_cache(result.cache_dir)  # other tests add caches beside it
    rows = {r["video_id"]: r for r in index["videos"]}
    x, y, w, h = crop_skin_roi(SIZE, SIZE)
    assert (x, y, w, h) == (15, 21, 17, 13)  # 0.32..0.68 x 0.45..0.72 of 48 px
    for rec in records:
        row = rows[rec.video_id]
        assert row["trace"] == f"traces/{rec.video_id}.npy" and row["trace_frames"] == FRAMES
        trace = read_trace(cache_dir, row)
        assert isinstance(trace, PulseTrace) and trace.fps == FPS
        assert trace.means.dtype == np.float32 and trace.means.shape == (FRAMES, 3)
        reference, crops = direct_trace(rec, CONFIG)
        # the same frames, boxes and crops (unmagnified, though the cache's clips are magnified), bit for bit
        np.testing.assert_array_equal(trace.means, reference, strict=True)
        # and the maths: the plain mean of the skin rectangle, in [0, 1]
        plain = crops[:, y : y + h, x : x + w].reshape(FRAMES, -1, 3).mean(axis=1) / 255.0
        np.testing.assert_allclose(trace.means, plain, atol=1e-6)
        assert 0.05 < trace.means.mean() < 0.95 and trace.means.std(axis=0).max() > 0


@pytest.mark.parametrize("magnify", sorted(MAGNIFY))
@pytest.mark.parametrize("order", ORDERS)
def test_the_trace_is_the_unmagnified_crops_whatever_the_order_and_filter(tree, magnify, order):
    record = next(r for r in sorted(tree, key=lambda r: r.video_id) if r.label == 1)
    config = PrepareConfig(size=SIZE, clip_len=CLIP_LEN, frame_step=STEP, magnify=MAGNIFY[magnify], order=order)
    early = lambda n, fps, config: [0]  # noqa: E731 - the only clip ends at frame 6: the trace goes on to the end
    streamed = stream_clips(record.path, config, record=record, starts=early, trace=True)
    np.testing.assert_array_equal(streamed.trace, direct_trace(record, config)[0], strict=True)
    # the clips are those of a run without the trace
    assert_same_stream(streamed, in_memory(record.path, config, record=record, starts=early))
    assert stream_clips(record.path, config, record=record, starts=early).trace is None


def test_trace_features_of_the_cached_trace_are_the_crops_pulse_features(tree, tmp_path):
    record = next(r for r in sorted(tree, key=lambda r: r.video_id) if r.label == 1)
    frames, fps = read_oriented(record.path)
    long = write_video(tmp_path / "long.mp4", np.concatenate([frames, frames[::-1]] * 2), fps)  # 160 frames, 6.4 s
    config = PrepareConfig(size=SIZE, clip_len=CLIP_LEN, frame_step=STEP, magnify=None)
    job = Job("long", str(long), str(tmp_path / "videos" / "long.npy"),
              {"config": config.as_dict(), "record": {**record.as_dict(), "path": str(long), "annotation": None},
               "detector": None, "trace": "../traces/long.npy"})  # fmt: skip
    row = prepare_video(job)
    assert row["trace_frames"] == 160
    trace = read_trace(tmp_path, {"video_id": "long", "fps": row["fps"], "trace": "traces/long.npy",
                                  "trace_frames": 160})  # fmt: skip
    crops = direct_trace(VideoRecord(**{**record.as_dict(), "path": long, "annotation": None}), config,
                         detector=HaarDetector())[1]  # fmt: skip
    np.testing.assert_allclose(trace_features(trace.means, trace.fps), pulse_features(crops, fps), rtol=1e-5, atol=1e-6)
    assert PulseSVM(fps=99.0).features(trace).shape == (1, 9)  # a trace brings its own frame rate


def test_a_version_1_cache_is_read_but_has_no_traces(prepared, tmp_path):
    result = prepared[3]
    old = tmp_path / "v1"
    shutil.copytree(result.cache_dir, old)
    index = json.loads((old / "index.json").read_text())
    rows = [{k: v for k, v in r.items() if k not in ("trace", "trace_frames")} for r in index["videos"]]
    (old / "index.json").write_text(json.dumps({**index, "version": 1, "videos": rows}))
    path, index = open_cache(old)
    assert len(ClipDataset(old)) == 12 * 3
    with pytest.raises(ValueError, match=r"no pulse trace for .* \(a version-1 cache: prepare it again\)"):
        read_trace(path, index["videos"][0])
    row = {**index["videos"][0], "trace": "traces/x.npy", "trace_frames": 3}
    (old / "traces" / "x.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match=r"x.npy: unreadable pulse trace"):
        read_trace(path, row)
    np.save(old / "traces" / "x.npy", np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"not the pulse trace of .* \(float32, 3 x 3\)"):
        read_trace(path, row)
