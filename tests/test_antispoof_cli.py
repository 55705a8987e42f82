"""The `antispoof` command line, end to end on a tiny synthetic Replay-Attack tree:
synth -> index -> prepare -> train -> evaluate -> predict, and one-line errors for bad input."""

import contextlib
import io
import json
import re
import shutil

import numpy as np
import pytest
import torch

from antispoof.cache import open_cache
from antispoof.data import open_dataset
from antispoof.data.faces import HaarDetector
from cli.antispoof_cli import main
from evm.io import VideoReader, VideoWriter

SIZE, CLIP_LEN = 32, 4
DURATION = 1.2  # 30 frames at 25 fps; prepared with a 0.2 s (5-frame) warm-up


def call(*args):
    """Run the CLI in-process; (exit code, stdout, stderr). Works outside tests (module fixtures) too."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code, out.getvalue(), err.getvalue()


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("antispoof: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The machine is shared: one intra-op thread avoids oversubscription stalls; restored afterwards.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def face_in_first_frame(path):
    with VideoReader(path) as reader:
        frame = next(iter(reader))
    return bool(HaarDetector()(frame))


TRAIN_OPTIONS = ("--profile", "paper", "--backbone", "small", "--batch-size", 8, "--hidden-size", 8, "--lr", 1e-3,
                 "--trunk-channels", "8,16,16", "--projection-dim", 12, "--weight-decay", 1e-4, "--temporal-delta",
                 "--augment-still", 0.5, "--still-noise", 0.01, "-q")  # fmt: skip


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    base = tmp_path_factory.mktemp("antispoof-cli")
    root, cache, run = base / "synth", base / "cache", base / "run"
    steps = {"base": base, "root": root, "cache": cache, "run": run}
    steps["synth"] = call("synth", root, "--clients", 3, "--size", "96x72", "--duration", DURATION, "--seed", 5)
    assert steps["synth"][0] == 0, steps["synth"]
    # the paper profile's settings but the sizes (the cpu profile's are checked in test_profiles.py)
    steps["prepare"] = call("prepare", root, "--dataset", "replay-attack", "--out", cache, "--profile", "paper",
                            "--size", SIZE, "--clip-len", CLIP_LEN, "--clips-per-video", 2, "--warmup", 0.2,
                            "-q")  # fmt: skip
    assert steps["prepare"][0] == 0, steps["prepare"]
    steps["train"] = call("train", cache, "--out", run, "--epochs", 1, *TRAIN_OPTIONS)
    assert steps["train"][0] == 0, steps["train"]
    # Videos the Haar detector finds a face in (predict detects: plain videos have no annotation).
    test = [r for r in open_dataset("replay-attack", root) if r.split == "test"]
    steps["bona_fide"] = next(r.path for r in test if r.label == 1 and face_in_first_frame(r.path))
    steps["attack"] = next(r.path for r in test if r.label == 0 and face_in_first_frame(r.path))
    return steps


def test_synth_and_index(flow, capsys):
    code, out, err = flow["synth"]
    assert out == "" and f"wrote a replay-attack tree with 3 clients to {flow['root']}" in err
    assert len(list(flow["root"].rglob("*.mov"))) == 72 and len(list(flow["root"].rglob("*.face"))) == 72

    code, out, err = run_cli(capsys, "index", flow["root"], "--dataset", "replay-attack")
    assert code == 0 and err == ""
    assert "72 videos (12 bona fide, 60 attack), 3 subjects" in out
    for split in ("train", "dev", "test"):
        assert re.search(rf"^{split}\s+24\s+4\s+20\s+1\s+highdef 8, mobile 8, print 4$", out, re.M), out
    assert "grandtest (default): 24 / 24 / 24" in out and "problems: none" in out

    code, out, err = run_cli(capsys, "index", flow["root"], "--dataset", "replay-attack", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["protocol"] == "grandtest" and data["problems"] == [] and "print" in data["protocols"]
    assert data["summary"]["videos"] == 72 and data["summary"]["bona_fide"] == 12
    assert {s: len(v) for s, v in data["splits"].items()} == {"train": 24, "dev": 24, "test": 24}
    assert all(r["split"] == s and r["path"].endswith(".mov") for s, v in data["splits"].items() for r in v)
    assert sum(r["label"] for r in data["splits"]["test"]) == 4

    code, out, _ = run_cli(capsys, "index", flow["root"], "--dataset", "replay-attack", "--protocol", "print", "--json")
    splits = json.loads(out)["splits"]
    assert code == 0 and {s: len(v) for s, v in splits.items()} == {"train": 8, "dev": 8, "test": 8}
    assert {r["attack_type"] for r in splits["test"]} == {None, "print"}


def test_index_reports_problems_with_exit_1(flow, tmp_path, capsys):
    root = tmp_path / "copy"
    shutil.copytree(flow["root"], root)
    next((root / "train" / "real").glob("*.mov")).unlink()  # an incomplete client
    code, out, err = run_cli(capsys, "index", root, "--dataset", "replay-attack")
    assert code == 1 and "71 videos" in out
    assert err.startswith("problem: ") and "Traceback" not in err


def test_prepare_output_and_rerun(flow, capsys):
    code, out, err = flow["prepare"]
    assert out == "" and "72 prepared, 0 already done, 0 failed of 72" in err
    cache_dir, index = open_cache(flow["cache"])
    assert f"MB in {cache_dir}" in err
    assert len(index["videos"]) == 72 and index["config"]["size"] == SIZE and index["config"]["clip_len"] == CLIP_LEN
    assert index["config"]["magnify"]["alpha"] == 10.0  # magnified by default
    arrays = [np.load(cache_dir / r["file"], mmap_mode="r") for r in index["videos"]]
    assert {a.shape for a in arrays} == {(2 * CLIP_LEN, SIZE, SIZE, 3)}

    assert err.rstrip().endswith("; profile paper")
    code, _, err = run_cli(capsys, "prepare", flow["root"], "--dataset", "replay-attack", "--out", flow["cache"],
                           "--profile", "paper", "--size", SIZE, "--clip-len", CLIP_LEN, "--clips-per-video", 2,
                           "--warmup", 0.2, "-q")  # fmt: skip
    assert code == 0 and "0 prepared, 72 already done, 0 failed of 72" in err


def test_prepare_and_train_without_options_take_the_cpu_profile(flow, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("antispoof.profiles.cuda_available", lambda: False)
    cache, run = tmp_path / "cache", tmp_path / "run"
    code, _, err = run_cli(capsys, "prepare", flow["root"], "--dataset", "replay-attack", "--out", cache, "-q")
    assert code == 0 and err.rstrip().endswith("; profile cpu (no CUDA GPU)"), err
    c = open_cache(cache)[1]["config"]
    assert (c["size"], c["clip_len"], c["frame_step"], c["clips_per_video"], c["warmup"]) == (64, 8, 3, 4, 0.5)
    assert c["border"] == 1.6 and c["magnify"]["alpha"] == 20.0
    # train follows the cache's profile, even where a GPU would choose the paper's; given options win
    monkeypatch.setattr("antispoof.profiles.cuda_available", lambda: True)
    code, _, err = run_cli(capsys, "train", cache, "--out", run, "--epochs", 1, "--hidden-size", 8,
                           "--trunk-channels", "4,8", "--motion-stream", 2, "-q")  # fmt: skip
    assert code == 0 and err.rstrip().endswith("; profile cpu (the cache was prepared with it)"), err
    config = json.loads((run / "config.json").read_text())
    m, t = config["model"], config["training"]
    assert (m["trunk"], m["trunk_channels"], m["hidden_size"], m["motion_stream"]) == ("small", [4, 8], 8, 2)
    assert m["temporal_delta"] is True and m["attention"] == "paper" and m["image_size"] == [64, 64]
    assert (t["lr"], t["lr_schedule"], t["batch_size"], t["patience"]) == (1e-3, "cosine", 16, 16)
    assert (t["epochs"], t["still_prob"], t["still_noise"]) == (1, 0.5, 0.01)
    # the paper's profile by name on the same cache: its training settings, the options still win
    code, _, err = run_cli(capsys, "train", cache, "--out", tmp_path / "paper", "--profile", "paper", "--epochs", 1,
                           "--backbone", "small", "--trunk-channels", "4,8", "--hidden-size", 8, "-q")  # fmt: skip
    assert code == 0 and err.rstrip().endswith("; profile paper"), err
    config = json.loads((tmp_path / "paper" / "config.json").read_text())
    m, t = config["model"], config["training"]
    assert m["temporal_delta"] is False and m["motion_stream"] == 0
    assert (t["lr"], t["lr_schedule"], t["batch_size"], t["patience"], t["still_prob"]) == (1e-5, "constant", 8, 5, 0)


def test_train_writes_a_run(flow):
    code, out, err = flow["train"]
    run = flow["run"]
    assert out == "" and re.search(r"run in .*run; best epoch 1, dev EER [01]\.\d{4}, threshold \d\.\d{4}", err), err
    for name in ("config.json", "best.pt", "last.pt", "metrics.jsonl", "threshold.json"):
        assert (run / name).is_file()
    config = json.loads((run / "config.json").read_text())
    cache_dir, index = open_cache(flow["cache"])
    assert config["model"]["trunk"] == "small" and config["model"]["image_size"] == [SIZE, SIZE]
    assert config["model"]["num_frames"] == CLIP_LEN and config["model"]["hidden_size"] == 8
    assert config["model"]["trunk_channels"] == [8, 16, 16] and config["model"]["projection_dim"] == 12
    assert config["model"]["temporal_delta"] is True
    assert config["training"]["still_prob"] == 0.5 and config["training"]["still_noise"] == 0.01
    assert index["config"]["warmup"] == 0.2
    assert config["data"]["prepare"] == index["config"] and config["data"]["dataset"] == "replay-attack"
    assert config["data"]["cache"] == str(cache_dir.resolve())
    assert config["training"]["epochs"] == 1 and config["training"]["lr"] == 1e-3
    assert config["training"]["lr_schedule"] == "constant" and config["training"]["weight_decay"] == 1e-4
    (line,) = (run / "metrics.jsonl").read_text().splitlines()
    epoch = json.loads(line)
    assert epoch["dev_videos"] == 24 and 0 <= epoch["dev_eer"] <= 1
    threshold = json.loads((run / "threshold.json").read_text())
    assert threshold["epoch"] == 1 and threshold["dev_eer"] == epoch["dev_eer"]


def test_train_resume_from_another_spelling_of_the_paths(flow, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    shutil.copytree(flow["run"], run)
    monkeypatch.chdir(flow["base"])  # the cache named relative to the cwd this time
    code, _, err = run_cli(capsys, "train", "cache", "--out", run, "--epochs", 1, *TRAIN_OPTIONS, "--resume",
                           "--lr-schedule", "cosine")  # fmt: skip
    assert code == 1 and "resume: training argument 'lr_schedule' is 'cosine' but the run has 'constant'" in err
    code, _, err = run_cli(capsys, "train", "cache", "--out", run, "--epochs", 2, *TRAIN_OPTIONS, "--resume")
    assert code == 0, err
    assert [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_evaluate_writes_report_and_figures(flow, capsys):
    run = flow["run"]
    code, out, err = run_cli(capsys, "evaluate", run, "--data", flow["cache"], "--device", "cpu", "--json")
    assert code == 0, err
    report = json.loads(out)
    folder = run / "eval-replay-attack-default-test"
    for name in ("report.json", "roc.png", "det.png", "score_histogram.png", "attention.png"):
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0
        if name.endswith(".png"):
            assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((folder / "report.json").read_text())["test"] == report["test"]
    t = report["test"]
    assert (t["n_videos"], t["n_bonafide"], t["n_attack"]) == (24, 4, 20)
    for key in ("far", "frr", "hter", "eer", "acc", "apcer", "bpcer", "acer", "auc"):
        assert 0.0 <= t[key] <= 1.0, key
    assert set(t["apcer_per_attack_type"]) == {"print", "mobile", "highdef"}
    assert t["apcer"] == max(t["apcer_per_attack_type"].values()) and t["bpcer"] == t["frr"]
    assert t["hter"] == pytest.approx((t["far"] + t["frr"]) / 2)
    assert t["acer"] == pytest.approx((t["apcer"] + t["bpcer"]) / 2)
    stored = json.loads((run / "threshold.json").read_text())
    assert report["threshold"]["source"] == "run" and report["threshold"]["value"] == stored["threshold"]
    assert len(report["videos"]) == 24 and all(v["n_clips"] == 2 and 0 <= v["score"] <= 1 for v in report["videos"])
    assert report["data"]["split"] == "test" and len(report["attention_examples"]) == 4

    code, out, err = run_cli(capsys, "evaluate", run, "--data", flow["cache"], "--device", "cpu", "--protocol", "print",
                             "--out", flow["base"] / "eval-print")  # fmt: skip
    assert code == 0, err
    values = dict(kv.split("=") for kv in out.split())
    assert set(values) == {"hter", "eer", "acc", "apcer", "bpcer", "acer", "auc"}
    assert all(0 <= float(v) <= 1 for v in values.values())
    print_report = json.loads((flow["base"] / "eval-print" / "report.json").read_text())
    assert (print_report["test"]["n_bonafide"], print_report["test"]["n_attack"]) == (4, 4)
    assert list(print_report["test"]["apcer_per_attack_type"]) == ["print"]
    assert "report: " in err
    still = print_report["still_check"]
    assert still["n_videos"] == 4 and 0 <= still["held_accepted"] <= 1
    live = [v["score"] for v in print_report["videos"] if v["label"] == 1]
    assert still["bonafide_mean_score"] == pytest.approx(np.mean(live))
    assert re.search(r"still check: bona fide test videos score \d\.\d{3} on average, \d\.\d{3} with their middle "
                     r"frame held still; \d+\.\d% of the held ones are accepted", err), err  # fmt: skip


def test_predict_scores_videos(flow, capsys):
    videos = [flow["bona_fide"], flow["attack"]]
    code, out, err = run_cli(capsys, "predict", *videos, "--model", flow["run"], "--json")
    assert code == 0 and err == ""
    results = json.loads(out)
    threshold = json.loads((flow["run"] / "threshold.json").read_text())["threshold"]
    assert [r["path"] for r in results] == [str(v) for v in videos]
    for r in results:
        assert r["error"] is None and 0.0 <= r["probability"] <= 1.0
        assert r["bona_fide"] == (r["probability"] >= threshold)
        # span 7 of 30 frames after the run's 0.2 s warm-up (5 frames): 5-11, 12-18, 19-25
        assert r["clips"] == 3 == len(r["clip_scores"])
        assert r["probability"] == pytest.approx(np.mean(r["clip_scores"]), abs=1e-6)
        assert r["seconds"] > 0
    code, out, err = run_cli(capsys, "predict", *videos, "--model", flow["run"])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 2
    for line, video, r in zip(lines, videos, results):
        verdict = "bona fide" if r["bona_fide"] else "ATTACK"
        assert line == f"{video}: {verdict}  p(bona fide)={r['probability']:.4f} threshold={threshold:.4f} clips=3"


def test_predict_aggregates_clips_as_the_threshold_did(flow, tmp_path, capsys):
    # A run trained (from Python) with aggregate="max" has a threshold on max-aggregated dev scores.
    run = tmp_path / "run"
    shutil.copytree(flow["run"], run)
    threshold = json.loads((run / "threshold.json").read_text())
    (run / "threshold.json").write_text(json.dumps({**threshold, "aggregate": "max"}))
    code, out, err = run_cli(capsys, "predict", flow["attack"], "--model", run, "--json")
    (result,) = json.loads(out)
    assert code == 0, err
    assert result["probability"] == pytest.approx(max(result["clip_scores"]), abs=1e-6)
    assert result["probability"] > min(result["clip_scores"])  # not the mean of differing clip scores
    (run / "threshold.json").write_text(json.dumps({**threshold, "aggregate": "mode"}))
    code, out, err = run_cli(capsys, "predict", flow["attack"], "--model", run)
    assert code == 1 and "unknown aggregate 'mode'" in one_error_line(err)


def test_predict_reports_each_bad_video_and_scores_the_others(flow, tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    short, gray = tmp_path / "short.mp4", tmp_path / "gray.mp4"
    with VideoWriter(short, 25) as writer:
        writer.write(np.full((3, 72, 96, 3), 90, np.uint8))
    with VideoWriter(gray, 25) as writer:
        writer.write(np.full((20, 72, 96, 3), 128, np.uint8))
    good = flow["bona_fide"]
    code, out, err = run_cli(capsys, "predict", good, bad, short, gray, tmp_path / "missing.mp4", "--model",
                             flow["run"])  # fmt: skip
    assert code == 1 and "Traceback" not in err
    assert out.startswith(f"{good}: ") and len(out.splitlines()) == 1  # the good one is still scored
    lines = err.splitlines()
    assert len(lines) == 4 and all(line.startswith("antispoof: error: ") for line in lines)
    assert lines[0].startswith(f"antispoof: error: {bad}: ")
    assert lines[1] == f"antispoof: error: {short}: video too short: 3 frames, one clip needs 7"
    assert lines[2] == f"antispoof: error: {gray}: no face found"
    assert lines[3].startswith(f"antispoof: error: {tmp_path / 'missing.mp4'}") and "no such file" in lines[3]

    code, out, err = run_cli(capsys, "predict", good, bad, "--model", flow["run"], "--json")
    results = json.loads(out)
    assert code == 1 and len(err.splitlines()) == 1
    assert results[0]["error"] is None and 0 <= results[0]["probability"] <= 1
    assert results[1]["error"] and results[1]["probability"] is None and results[1]["clips"] == 0


BAD_INPUTS = [
    # (arguments; {root}, {cache}, {run}, {tmp} are filled in), expected part of the message, exit code
    (["index", "{tmp}/nope", "--dataset", "replay-attack"], "no such folder", 1),
    (["index", "{root}", "--dataset", "msu-mfsd"], "not a MSU-MFSD tree", 1),
    (["index", "{root}", "--dataset", "oulu"], "Invalid value for '--dataset'", 2),
    (["index", "{root}", "--dataset", "replay-attack", "--protocol", "nope"], "unknown protocol 'nope'", 1),
    (["synth", "{root}"], "folder is not empty (pass --overwrite", 1),
    (["synth", "{tmp}/s", "--size", "big"], "expected WxH", 2),
    (["synth", "{tmp}/s", "--size", "33x32"], "even and at least 32x32", 1),
    (["synth", "{tmp}/s", "--clients", "two"], "Invalid value for '--clients'", 2),
    (["synth", "{tmp}/s", "--duration", "0.1"], "Invalid value for '--duration'", 2),
    (["synth", "{tmp}/s", "--live-motion", "nan"], "Invalid value for '--live-motion'", 2),
    (["synth", "{tmp}/s", "--live-motion", "11"], "Invalid value for '--live-motion'", 2),
    (["synth", "{tmp}/s", "--live-motion", "0.5", "--source-videos", "{tmp}"], "cannot be used with --source", 2),
    (["prepare", "{tmp}/nope", "--dataset", "replay-attack", "--out", "{tmp}/c"], "no such folder", 1),
    (["prepare", "{root}", "--dataset", "casia-fasd", "--out", "{tmp}/c"], "not a CASIA-FASD tree", 1),
    (
        ["prepare", "{root}", "--dataset", "replay-attack", "--out", "{tmp}/c", "--size", "abc"],
        "Invalid value for '--size'",
        2,
    ),
    (
        ["prepare", "{root}", "--dataset", "replay-attack", "--out", "{tmp}/c", "--alpha", "ten"],
        "Invalid value for '--alpha'",
        2,
    ),
    (["prepare", "{root}", "--dataset", "replay-attack", "--out", "{tmp}/c", "--high", "20"], "Nyquist", 1),
    (
        ["prepare", "{root}", "--dataset", "replay-attack", "--out", "{tmp}/c", "--detector", "{tmp}/yunet.onnx"],
        "not a usable YuNet ONNX model",
        1,
    ),
    (
        ["prepare", "{root}", "--dataset", "replay-attack", "--out", "{tmp}/c", "--detector", "{tmp}/none.onnx"],
        "does not exist",
        2,
    ),
    (["train", "{tmp}/nope", "--out", "{tmp}/r"], "no such cache folder", 1),
    (["train", "{root}", "--out", "{tmp}/r"], "no prepared cache (run `antispoof prepare` first)", 1),
    (["train", "{cache}", "--out", "{run}", "--backbone", "small"], "already holds a run: pass --resume", 1),
    (["train", "{cache}", "--out", "{tmp}/r", "--epochs", "two"], "Invalid value for '--epochs'", 2),
    (["train", "{cache}", "--out", "{tmp}/r", "--lr", "0"], "Invalid value for '--lr'", 2),
    (["train", "{cache}", "--out", "{tmp}/r", "--backbone", "resnet"], "Invalid value for '--backbone'", 2),
    (
        ["train", "{cache}", "--out", "{tmp}/r", "--backbone", "small", "--pretrained", "{tmp}/yunet.onnx"],
        "pretrained weights need trunk='vgg16'",
        1,
    ),
    (
        ["train", "{cache}", "--out", "{tmp}/r", "--pretrained", "{tmp}/yunet.onnx"],
        "yunet.onnx: not a loadable PyTorch state dict (not a PyTorch file of tensors",
        1,
    ),
    (["train", "{cache}", "--out", "{tmp}/r", "--protocol", "nope"], "unknown protocol 'nope'", 1),
    (["train", "{cache}", "--out", "{tmp}/r", "--backbone", "small", "--trunk-channels", "8,x"],
     "Invalid value for --trunk-channels: expected integers like 16,32,64,128, got '8,x'", 2),
    (["train", "{cache}", "--out", "{tmp}/r", "--backbone", "vgg16", "--trunk-channels", "8,16"],
     "--trunk-channels is for --backbone small", 2),
    (["train", "{cache}", "--out", "{tmp}/r", "--lr-schedule", "step"], "Invalid value for '--lr-schedule'", 2),
    # the flow's videos last less than the 3 s the pulse features need
    (["train", "{cache}", "--out", "{tmp}/r", "--backbone", "small", "--pulse-features"],
     "clip too short for pulse features", 1),
    (["evaluate", "{tmp}/nope", "--data", "{cache}"], "is not a run directory: config.json is missing", 1),
    (["evaluate", "{run}", "--data", "{tmp}/nope"], "no such cache folder", 1),
    (["evaluate", "{run}", "--data", "{cache}", "--split", "validation"], "the cache has no validation videos", 1),
    (["predict", "{tmp}/x.mp4", "--model", "{tmp}/nope"], "is not a run directory", 1),
    (["predict", "--model", "{run}"], "Missing argument 'VIDEOS...'", 2),
    (["predict", "{tmp}/x.mp4", "--model", "{run}", "--device", "gpu"], "Invalid value for '--device'", 2),
    (["predict", "{tmp}/x.mp4", "--model", "{run}", "--detector", "{tmp}/yunet.onnx"], "not a usable YuNet", 1),
    (["magnify", "x.mp4"], "No such command 'magnify'", 2),
]
if not torch.cuda.is_available():
    BAD_INPUTS.append((["train", "{cache}", "--out", "{tmp}/r", "--backbone", "small", "--device", "cuda"],
                       "CUDA is not available", 1))  # fmt: skip


@pytest.mark.parametrize("args, message, code", BAD_INPUTS, ids=[" ".join(a[:2] + a[-2:]) for a, _, _ in BAD_INPUTS])
def test_bad_input_is_one_error_line(flow, tmp_path, capsys, args, message, code):
    (tmp_path / "yunet.onnx").write_bytes(b"\x00garbage, not an ONNX model")
    places = {"root": flow["root"], "cache": flow["cache"], "run": flow["run"], "tmp": tmp_path}
    before = sorted(p.name for p in flow["run"].iterdir())
    got, out, err = run_cli(capsys, *(a.format(**places) for a in args))
    assert got == code and out == ""
    assert message in one_error_line(err)
    assert sorted(p.name for p in flow["run"].iterdir()) == before  # nothing written into the run
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_train_pulse_option_defaults_to_the_model_config():
    from antispoof.models import ModelConfig
    from cli.antispoof_cli import train

    option = next(p for p in train.params if p.name == "pulse_features")
    assert option.default is ModelConfig().pulse_features is False
    assert option.opts == ["--pulse-features"] and option.secondary_opts == ["--no-pulse-features"]
