"""Hostile input to antispoof (issue 11): no crash, no hang, no lost file.

Numbers that are not numbers, sizes that would allocate without bound, a huge frame number in an
annotation, a long video to predict, torn or corrupt JSON, bad checkpoints, and signals during training.
"""

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import default_sigint
from test_training import FAST, TINY, make_data

from antispoof.cache import PrepareConfig, all_clip_starts, stream_clips
from antispoof.data.annotations import AnnotationError, AnnotationWarning, read_face_file, read_replay_face
from antispoof.data.synth import generate
from antispoof.evaluation import load_model, read_run_config, read_threshold, score_clips
from antispoof.jsonio import append_jsonl, read_jsonl
from antispoof.predict import Predictor
from antispoof.training import train
from cli.antispoof_cli import main
from videos import grating_frames, write_video

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("torch_one_thread")


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


# ------------------------------------------------------------------------------ 1. numbers that are not numbers


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(border=float("inf")), "border must be a finite number, got inf"),
        (dict(warmup=float("nan")), "warmup must be a finite number, got nan"),
        (dict(size=100_000), "size must be <= 1024, got 100000"),
        (dict(clip_len=10**9), "clip_len must be <= 1024"),
        (dict(clips_per_video=10**12), "clips_per_video must be <= 10000"),
        (dict(border=1e300), "border must be <= 20"),
        (dict(size=1024, clip_len=1024, clips_per_video=100), "GiB of clips per video, more than 4 GiB"),
    ],
)
def test_prepare_config_refuses_numbers_that_are_not_numbers(fields, message):
    with pytest.raises(ValueError, match=message) as info:
        PrepareConfig(**fields)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "args, option, message",
    [
        (["prepare", "r", "--dataset", "folder", "--out", "c", "--border", "inf"], "--border", "finite"),
        (["prepare", "r", "--dataset", "folder", "--out", "c", "--warmup", "nan"], "--warmup", "finite"),
        (["prepare", "r", "--dataset", "folder", "--out", "c", "--size", "100000"], "--size", "<= 1024"),
        (["prepare", "r", "--dataset", "folder", "--out", "c", "--clip-len", "1000000"], "--clip-len", "<= 1024"),
        (
            ["prepare", "r", "--dataset", "folder", "--out", "c", "--clips-per-video", "1e9"],
            "--clips-per-video",
            "not a valid integer",
        ),
        (["prepare", "r", "--dataset", "folder", "--out", "c", "--workers", "100000"], "--workers", "<= 256"),
        (["train", "c", "--out", "r", "--epochs", "1000000000"], "--epochs", "<= 100000"),
        (["train", "c", "--out", "r", "--batch-size", "1000000000"], "--batch-size", "<= 65536"),
        (["train", "c", "--out", "r", "--lr", "nan"], "--lr", "finite"),
        (["train", "c", "--out", "r", "--lr", "inf"], "--lr", "finite"),
        (["train", "c", "--out", "r", "--weight-decay", "inf"], "--weight-decay", "finite"),
        (["train", "c", "--out", "r", "--still-noise", "nan"], "--still-noise", "finite"),
        (["train", "c", "--out", "r", "--workers", "100000"], "--workers", "<= 256"),
        (["train", "c", "--out", "r", "--hidden-size", "1000000000"], "--hidden-size", "<= 65536"),
        (["train", "c", "--out", "r", "--seed", "-1"], "--seed", ">= 0"),
        (["predict", "v.mp4", "--model", "r", "--batch-size", "0"], "--batch-size", ">= 1"),
        (["predict", "v.mp4", "--model", "r", "--batch-size", "10000000"], "--batch-size", "<= 65536"),
        (["synth", "s", "--duration", "inf"], "--duration", "finite"),
        (["synth", "s", "--duration", "nan"], "--duration", "finite"),
        (["synth", "s", "--clients", "1000000000"], "--clients", "<= 1000"),
        (["synth", "s", "--workers", "100000"], "--workers", "<= 256"),
        (["synth", "s", "--size", "100000x100000"], "--size", "sides must be in [32, 4096]"),
    ],
)
def test_cli_numbers_are_checked_before_anything_runs(tmp_path, monkeypatch, capsys, args, option, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, err
    assert lines[0].startswith("antispoof: error: ") and option in lines[0] and message in lines[0], err
    assert list(tmp_path.iterdir()) == []  # nothing created


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(epochs=10**9), "epochs must be <= 100000, got 1000000000"),
        (dict(batch_size=10**9), "batch_size must be <= 65536"),
        (dict(lr=float("nan")), "lr must be a finite number, got nan"),
        (dict(lambda_cnn=float("inf")), "lambda_cnn must be a finite number, got inf"),
        (dict(num_workers=10**6), "num_workers must be <= 256"),
        (dict(patience=10**9), "patience must be <= 100000"),
        (dict(max_grad_norm=float("nan")), "max_grad_norm must be a finite number"),
        (dict(still_prob=float("nan")), "still_prob must be a finite number"),
    ],
)
def test_training_arguments_are_finite_and_bounded(tmp_path, changes, message):
    args = {**FAST, "epochs": 1, **changes}
    with pytest.raises(ValueError, match=message):
        train(TINY, None, None, tmp_path / "run", **args)  # refused before the datasets are looked at
    assert not (tmp_path / "run").exists()


def test_model_sizes_are_bounded():
    from antispoof.models import ModelConfig

    for changes, message in [
        (dict(hidden_size=10**9), "hidden_size must be <= 65536"),
        (dict(num_layers=10**6), "num_layers must be <= 64"),
        (dict(trunk_channels=[8, 10**9]), "trunk_channels must be in"),
        (dict(image_size=[10**6, 10**6]), "image_size must have sides <= 16384"),
        (dict(dropout=float("nan")), "dropout must be a finite number"),
    ]:
        with pytest.raises(ValueError, match=message):
            ModelConfig.from_dict({**TINY, **changes})


# ------------------------------------------------------------------------- 2. a frame number of 1e12 in a file


def test_a_huge_frame_number_is_an_error_not_an_allocation(tmp_path):
    path = tmp_path / "a.face"
    path.write_text("0 10 20 30 40\n1000000000000 10 20 30 40\n")
    with pytest.raises(AnnotationError, match=r"a.face:2: frame number 1000000000000 is beyond any video"):
        read_replay_face(path)  # before: numpy tried to allocate 29 TiB
    with pytest.raises(AnnotationError, match="is beyond any video"):
        read_face_file(path)
    # With the video's frame count known, rows past its end are ignored with a warning naming the file.
    with pytest.warns(AnnotationWarning, match=r"a.face: 1 annotated frame beyond the video's 10 frames ignored"):
        boxes = read_replay_face(path, n_frames=10)
    assert boxes.shape == (10, 4) and np.array_equal(boxes[0], [10, 20, 30, 40])


@pytest.fixture(scope="module")
def replay_tree(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synth") / "replay", "replay-attack", clients=3, size=(64, 48),
                    duration=0.5, seed=1)  # fmt: skip


def test_index_reports_a_huge_frame_number_in_one_line(replay_tree, capsys):
    face = sorted(replay_tree.glob("face-locations/**/*.face"))[0]
    original = face.read_text()
    try:
        face.write_text(original + "1000000000000 1 2 3 4\n")
        code, out, err = run_cli(capsys, "index", replay_tree, "--dataset", "replay-attack")
    finally:
        face.write_text(original)
    problems = [line for line in err.splitlines() if "beyond any video" in line]
    assert code == 1 and len(problems) == 1, err
    assert problems[0].startswith("problem: ") and face.name in problems[0]


def test_prediction_warns_in_one_line_about_annotation_rows_past_the_end(capsys):
    import warnings

    from cli.common import _warn

    with warnings.catch_warnings():
        warnings.showwarning = lambda message, *args, **kwargs: _warn("antispoof", message)  # as cli.common.run
        warnings.simplefilter("always")
        warnings.warn(
            "x.face: 3 annotated frames beyond\nthe video's 10 frames ignored", AnnotationWarning, stacklevel=1
        )
    assert (
        capsys.readouterr().err
        == "antispoof: warning: x.face: 3 annotated frames beyond the video's 10 frames ignored\n"
    )


# ------------------------------------------------------------------------------- runs for the tests below

PREP = PrepareConfig(size=32, clip_len=4, frame_step=1, clips_per_video=1, warmup=0.0, magnify=None)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    torch.set_num_threads(1)
    train_set, dev_set, _ = make_data()
    return train(TINY, train_set, dev_set, tmp_path_factory.mktemp("run") / "run", epochs=2,
                 data={"prepare": PREP.as_dict()}, **FAST)  # fmt: skip


def centroid_detector(frame):
    red = frame[..., 0].astype(np.float64) + 1.0
    ys, xs = np.indices(red.shape)
    cx, cy = (red * xs).sum() / red.sum(), (red * ys).sum() / red.sum()
    return [(cx - 14.0, cy - 16.0, 28.0, 32.0, 1.0)]


# ------------------------------------------------------------------- 3. predict streams clips, bounded batches


def test_predict_scores_clips_as_they_stream_with_the_old_result(tiny_run, tmp_path, monkeypatch):
    video = write_video(tmp_path / "v.mp4", grating_frames(frames=90))
    predictor = Predictor(tiny_run, batch_size=3)
    predictor.detector = centroid_detector
    # The old path: every clip of the video in one array, then scored batch_size clips at a time.
    streamed = stream_clips(video, PREP, detector=centroid_detector, starts=all_clip_starts)
    clips = streamed.clips.reshape(len(streamed.starts), PREP.clip_len, PREP.size, PREP.size, 3)
    model = load_model(tiny_run)
    old = np.concatenate([
        score_clips(model, torch.from_numpy(clips[s : s + 3]).permute(0, 1, 4, 2, 3).float() / 255)
        for s in range(0, len(clips), 3)
    ])  # fmt: skip
    assert len(old) == 90 // PREP.span > 3 * 3

    import antispoof.inference

    batches, real_score = [], antispoof.inference.score_clips

    def spy(model, x, **kwargs):
        batches.append(len(x))
        return real_score(model, x, **kwargs)

    monkeypatch.setattr(antispoof.inference, "score_clips", spy)
    result = predictor(video)
    assert result.error is None, result.error
    assert result.clips == len(old) and result.clip_scores == [round(float(s), 6) for s in old]
    assert result.probability == float(np.mean(old))  # exactly as before
    assert max(batches) == 3 and sum(batches) == len(old)


def test_clips_come_out_while_the_video_is_still_being_read():
    from antispoof.cache import _iter_extract

    consumed = []

    def frames():
        for i, frame in enumerate(grating_frames(frames=80)):
            consumed.append(i)
            yield frame

    boxes = np.tile([10.0, 5.0, 30.0, 30.0], (80, 1))
    starts = all_clip_starts(80, 30.0, PREP)
    stream = _iter_extract(frames(), 80, 30.0, boxes, starts, PREP)
    first = next(stream)
    assert first.shape == (PREP.clip_len, PREP.size, PREP.size, 3)
    assert len(consumed) == PREP.span  # one clip's frames decoded, not the video's
    assert sum(1 for _ in stream) == len(starts) - 1


# ---------------------------------------------------------------------------- 4. torn and corrupt JSON files


def test_a_torn_metrics_line_is_skipped_and_the_run_resumes(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    metrics = run / "metrics.jsonl"
    whole = metrics.read_text()
    metrics.write_text(whole + '{"epoch": 3, "train_loss": 0.6')  # killed mid-write of the next epoch's line
    train_set, dev_set, _ = make_data()
    with pytest.warns(RuntimeWarning, match=r"metrics.jsonl:3: skipped a torn or corrupt line"):
        train(TINY, train_set, dev_set, run, epochs=3, resume=True, data={"prepare": PREP.as_dict()}, **FAST)
    records = read_jsonl(metrics)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert metrics.read_text().startswith(whole)


def test_appended_lines_stay_whole_after_a_torn_one(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"epoch": 1}\n{"epo')
    append_jsonl(path, {"epoch": 2})
    with pytest.warns(RuntimeWarning, match="log.jsonl:2: skipped a torn or corrupt line"):
        assert read_jsonl(path) == [{"epoch": 1}, {"epoch": 2}]


@pytest.mark.parametrize("content", ["{", "[1, 2]", "\xff\xfe garbage", '{"threshold": "high"}'])
def test_corrupt_run_files_are_one_line_naming_the_file(tiny_run, tmp_path, capsys, content):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    for name, reader in (("config.json", read_run_config), ("threshold.json", read_threshold)):
        if name == "config.json" and content.startswith('{"threshold"'):
            continue  # a valid JSON object as a config: caught later by what reads it
        original = (run / name).read_bytes()
        (run / name).write_bytes(content.encode("latin-1"))
        with pytest.raises(ValueError, match=rf"{name}: corrupt") as info:
            reader(run)
        assert str(run / name) in str(info.value) and "\n" not in str(info.value)
        code, out, err = run_cli(capsys, "predict", "v.mp4", "--model", run)
        assert code == 1 and err.count("\n") == 1 and f"{name}: corrupt" in err, err
        (run / name).write_bytes(original)


def test_a_corrupt_cache_config_is_one_line(tmp_path):
    from antispoof.cache import write_index

    (tmp_path / "manifest.jsonl").write_text("")
    (tmp_path / "config.json").write_text('{"version": 1, "data')
    with pytest.raises(ValueError, match=r"config.json: corrupt cache config \(Unterminated string"):
        write_index(tmp_path)


# ------------------------------------------------------------------------------------------- 5. checkpoints


class Arbitrary:
    pass


def bad_checkpoints(real: Path, folder: Path):
    data = real.read_bytes()
    yield "garbage", b"\x00garbage, not a checkpoint" * 40, "not a PyTorch file of tensors"
    yield "truncated", data[: len(data) // 2], "truncated or corrupt file"
    buffer = io.BytesIO()
    torch.save({"model": {}, "config": {}, "payload": Arbitrary()}, buffer)
    yield "object", buffer.getvalue(), "Arbitrary object, refused"
    yield "pickle", pickle.dumps({"run": os.system}), "not a PyTorch file of tensors"
    with zipfile.ZipFile(buffer := io.BytesIO(), "w") as z:
        z.writestr("a.txt", "hello")
    yield "zip", buffer.getvalue(), "not an antispoof checkpoint"


def test_bad_checkpoints_are_refused_with_one_line_and_no_unsafe_advice(tiny_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    best, last = run / "best.pt", run / "last.pt"
    real_best, real_last = best.read_bytes(), last.read_bytes()
    train_set, dev_set, _ = make_data()
    for kind, content, reason in bad_checkpoints(tiny_run / "best.pt", tmp_path):
        best.write_bytes(content)
        with pytest.raises(ValueError) as info:
            load_model(run)
        text = str(info.value)
        assert text.startswith(f"{best}: not an antispoof checkpoint (") and reason in text, (kind, text)
        assert "weights_only" not in text and "\n" not in text, (kind, text)
        code, out, err = run_cli(capsys, "predict", "v.mp4", "--model", run)
        assert code == 1 and err.count("\n") == 1 and "not an antispoof checkpoint" in err, (kind, err)
        assert "weights_only" not in err
        best.write_bytes(real_best)
        last.write_bytes(content)  # resume refuses it the same way
        with pytest.raises(ValueError) as info:
            train(TINY, train_set, dev_set, run, epochs=3, resume=True, data={"prepare": PREP.as_dict()}, **FAST)
        assert str(info.value).startswith(f"{last}: not an antispoof checkpoint (") and "weights_only" not in str(
            info.value
        ), (kind, str(info.value))
        last.write_bytes(real_last)


def test_pretrained_weights_errors_do_not_suggest_unsafe_loading(tmp_path):
    from antispoof.models.weights import read_state_dict

    for kind, content, _reason in bad_checkpoints(Path(__file__), tmp_path):
        if kind in ("truncated", "zip"):
            continue
        path = tmp_path / f"{kind}.pth"
        path.write_bytes(content)
        with pytest.raises(ValueError) as info:
            read_state_dict(path)
        assert "weights_only" not in str(info.value) and str(path) in str(info.value), str(info.value)


# ------------------------------------------------------------------------------- 6. signals during training


def make_cache(folder: Path) -> Path:
    """A clip cache written directly (what prepare would write): 24 train and 8 dev videos of 2 clips."""
    config = PrepareConfig(size=16, clip_len=4, frame_step=1, clips_per_video=2, warmup=0.0, magnify=None)
    rng = np.random.default_rng(0)
    rows = []
    (folder / "videos").mkdir(parents=True)
    for split, n in (("train", 24), ("dev", 8)):
        for v in range(n):
            label = int(v % 3 == 0)
            vid = f"{split}_{v}"
            frames = rng.integers(60, 120, (8, 16, 16, 3), dtype=np.uint8)
            if label:
                frames[1::2] += 60  # bona fide clips flicker
            np.save(folder / "videos" / f"{vid}.npy", frames)
            rows.append({"video_id": vid, "label": label, "split": split, "attack_type": None if label else "print",
                         "frames_stored": 8, "file": f"videos/{vid}.npy"})  # fmt: skip
    index = {"version": 1, "dataset": "folder", "root": str(folder), "config": config.as_dict(), "detector": None,
             "videos": rows}  # fmt: skip
    (folder / "index.json").write_text(json.dumps(index))
    return folder


TRAIN_ARGS = ["--backbone", "small", "--trunk-channels", "8,16", "--hidden-size", "8", "--epochs", "12",
              "--batch-size", "4", "--lr", "0.003", "--patience", "1000", "--device", "cpu",
              "--no-augment", "-q"]  # fmt: skip
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def train_process(cache, run, *extra):
    return subprocess.Popen([sys.executable, "-m", "cli.antispoof_cli", "train", str(cache), "--out", str(run),
                             *TRAIN_ARGS, *extra], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)  # fmt: skip


def comparable(run):
    return [{k: v for k, v in r.items() if k != "epoch_seconds"} for r in read_jsonl(run / "metrics.jsonl")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_training_keeps_finished_epochs_and_resumes_exactly(tmp_path, signum):
    cache = make_cache(tmp_path / "cache")
    reference = train_process(cache, tmp_path / "reference")
    run = tmp_path / "run"
    proc = train_process(cache, run)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            metrics = run / "metrics.jsonl"
            if metrics.is_file() and metrics.read_text().count("\n") >= 1:
                proc.send_signal(signum)
                break
            time.sleep(0.005)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("antispoof: "), err
    assert sorted(p.name for p in run.iterdir() if ".partial" in p.name or p.name.startswith(".")) == []
    kept = read_jsonl(run / "metrics.jsonl")
    ckpt = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert 1 <= ckpt["epoch"] < 12 and [r["epoch"] for r in kept][: ckpt["epoch"]] == list(range(1, ckpt["epoch"] + 1))

    resumed = train_process(cache, run, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    _, err = reference.communicate(timeout=300)
    assert reference.returncode == 0, err
    assert comparable(run) == comparable(tmp_path / "reference")
    assert json.loads((run / "threshold.json").read_text()) == json.loads(
        (tmp_path / "reference" / "threshold.json").read_text()
    )
