"""The experiment runner (antispoof.experiment): config errors, a two-cell study that resumes after an
interruption, tables holding every configured cell, the paper's numbers, the CLI."""

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from antispoof import experiment as ex
from antispoof.data.synth import generate
from antispoof.experiment.methods import _T1_METHODS, _T2_METHODS, parse_method
from cli.antispoof_cli import main

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT.parent / "shared" / "reference" / "paper-cnn-lstm-antispoofing.txt"

# Tiny settings: 32x32 crops, 4-frame clips, a 4-channel trunk, one epoch.
SETTINGS = """
[datasets]
replay-attack = "{root}"

[prepare]
size = 32
clip_len = 4
frame_step = 1
clips_per_video = 2
warmup = 0

[model]
trunk = "small"
trunk_channels = [4, 4, 4, 4]
hidden_size = 8

[train]
epochs = 1
lr = 1e-3
device = "cpu"

[baselines]
calibration_folds = 2
"""


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def replay_root(tmp_path_factory):
    # 3 clients: one per split; each light condition has 2 bona fide + 10 attack videos per split
    return generate(tmp_path_factory.mktemp("synth") / "replay", "replay-attack", clients=3, size=(64, 48),
                    duration=1.0, seed=7)  # fmt: skip


def write_config(folder: Path, root: Path, study: str) -> Path:
    path = folder / "study.toml"
    path.write_text(study + SETTINGS.format(root=root))
    return path


# ------------------------------------------------------------------------------------------------ config


def load(tmp_path, text: str):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return ex.load_config(path)


GOOD_STUDY = '[study]\nmethods = ["LBP"]\nintra = ["msu"]\n'
GOOD_DATA = '[datasets]\nmsu-mfsd = "/nowhere/msu"\n'


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD_STUDY.replace("methods", "metods") + GOOD_DATA, "'study.metods'"),
        (GOOD_STUDY.replace('"LBP"', '"LBP^A"') + GOOD_DATA, "study.methods[0]: unknown method 'LBP^A'"),
        (GOOD_STUDY.replace('"msu"', '"casia"') + GOOD_DATA, "study.intra[0]: unknown protocol 'casia'"),
        (GOOD_STUDY.replace('"msu"', '"casia:default"') + GOOD_DATA, "unknown dataset 'casia'"),
        (GOOD_STUDY + '[datasets]\nreplay-attack = "/x"\n', "datasets.msu-mfsd: missing"),
        (GOOD_STUDY + '[datasets]\nmsu = "/x"\n', "datasets.msu: unknown dataset"),
        (GOOD_STUDY + 'cross = [["msu", "msu"]]\n' + GOOD_DATA, "study.cross[0]: train and test are both 'msu'"),
        (GOOD_STUDY + 'cross = ["msu"]\n' + GOOD_DATA, "study.cross[0] must be [TRAIN, TEST]"),
        (GOOD_STUDY + "seeds = [-1]\n" + GOOD_DATA, "study.seeds[0] must be a non-negative integer"),
        (GOOD_STUDY + "seeds = [1, 1]\n" + GOOD_DATA, "study.seeds: 1 is listed twice"),
        ('[study]\nintra = ["msu"]\n' + GOOD_DATA, "missing key study.methods"),
        ('[study]\nmethods = ["LBP"]\n' + GOOD_DATA, "nothing to run"),
        (GOOD_STUDY + GOOD_DATA + '[train]\nlr = "fast"\n', "train.lr must be a number"),
        (GOOD_STUDY + GOOD_DATA + "[train]\nepochs = 0\n", "train.epochs must be >= 1, got 0"),
        (GOOD_STUDY + GOOD_DATA + '[train]\nlr_schedule = "step"\n', "train.lr_schedule must be one of"),
        (GOOD_STUDY + GOOD_DATA + '[train]\ndevice = "tpu"\n', "train.device must be"),
        (GOOD_STUDY + GOOD_DATA + "[train]\nepoch = 3\n", "unknown key 'train.epoch'"),
        (GOOD_STUDY + GOOD_DATA + '[model]\nattention = "soft"\n', "model.attention is set by the method"),
        (GOOD_STUDY + GOOD_DATA + '[model]\ntrunk = "resnet"\n', "model.trunk must be one of"),
        (GOOD_STUDY + GOOD_DATA + "[prepare]\nsize = 0\n", "prepare.size must be >= 1, got 0"),
        (GOOD_STUDY + GOOD_DATA + '[prepare]\nborder = "wide"\n', "prepare.border must be a number"),
        (GOOD_STUDY + GOOD_DATA + '[prepare.magnify]\nalpha = "x"\n', "prepare.magnify.alpha must be a number"),
        (GOOD_STUDY + GOOD_DATA + "[prepare.magnify]\nlow = 5.0\nhigh = 1.0\n", "prepare.magnify:"),
        (GOOD_STUDY + GOOD_DATA + "[prepare]\nmagnify = 3\n", "prepare.magnify must be a table"),
        (GOOD_STUDY + GOOD_DATA + '[baselines]\nkernel = "poly"\n', "baselines: kernel must be"),
        (GOOD_STUDY + GOOD_DATA + "[extra]\n", "unknown key 'extra'"),
        ("[study\n", "not valid TOML"),
        # numbers that are not numbers, and sizes that would allocate without bound (issue 11)
        (GOOD_STUDY + GOOD_DATA + "[prepare]\nborder = inf\n", "prepare.border must be a finite number, got inf"),
        (GOOD_STUDY + GOOD_DATA + "[prepare]\nwarmup = nan\n", "prepare.warmup must be a finite number, got nan"),
        (GOOD_STUDY + GOOD_DATA + "[prepare]\nsize = 100000\n", "prepare.size must be <= 1024, got 100000"),
        (GOOD_STUDY + GOOD_DATA + "[prepare]\nclip_len = 100000\n", "prepare.clip_len must be <= 1024"),
        (GOOD_STUDY + GOOD_DATA + "[prepare]\nclips_per_video = 1000000\n", "prepare.clips_per_video must be <="),
        (GOOD_STUDY + GOOD_DATA + "[prepare]\nworkers = 100000\n", "prepare.workers must be <= 256"),
        (GOOD_STUDY + GOOD_DATA + "[prepare.magnify]\nalpha = inf\n", "prepare.magnify.alpha must be a finite number"),
        (GOOD_STUDY + GOOD_DATA + "[train]\nlr = nan\n", "train.lr must be a finite number, got nan"),
        (GOOD_STUDY + GOOD_DATA + "[train]\nepochs = 1000000000\n", "train.epochs must be <= 100000"),
        (GOOD_STUDY + GOOD_DATA + "[train]\nbatch_size = 1000000000\n", "train.batch_size must be <= 65536"),
        (GOOD_STUDY + GOOD_DATA + "[train]\nnum_workers = 100000\n", "train.num_workers must be <= 256"),
        (GOOD_STUDY + GOOD_DATA + "[train]\nthreads = 100000\n", "train.threads must be in [0, 256]"),
        (GOOD_STUDY + GOOD_DATA + "[model]\nhidden_size = 1000000000\n", "model.hidden_size must be <= 65536"),
        (GOOD_STUDY + GOOD_DATA + "[model]\ndropout = nan\n", "model.dropout must be a finite number"),
    ],
)
def test_config_errors_name_the_key(tmp_path, text, message):
    with pytest.raises(ex.ConfigError) as info:
        load(tmp_path, text)
    text = str(info.value)
    assert message in text, text
    assert "\n" not in text and text.startswith(str(tmp_path / "bad.toml"))


def test_config_values_and_method_names(tmp_path):
    config = load(
        tmp_path,
        '[study]\nmethods = ["cnn-lstm^{MA}", "lbp-top-m", "CNN"]\nintra = ["replay-attack:adverse"]\n'
        'cross = ["msu -> replay-controlled", ["msu", "replay-attack:grandtest"]]\n'
        '[datasets]\nreplay-attack = "data/replay"\nmsu-mfsd = "/abs/msu"\n'
        "[prepare]\nborder = 2\n[prepare.magnify]\nalpha = 20\n[train]\npatience = 0\n",
    )
    assert [m.name for m in config.methods] == ["CNN-LSTM^AM", "LBP-TOP^M", "CNN"]
    assert config.intra[0].key == "replay-adverse"  # the paper's row, so its numbers apply
    assert [(a.key, b.key) for a, b in config.cross] == [
        ("msu", "replay-controlled"),
        ("msu", "replay-attack:grandtest"),
    ]
    assert config.datasets["replay-attack"] == (tmp_path / "data" / "replay").resolve()
    # ints where floats are meant become floats: the same cache key as `antispoof prepare --alpha 20`
    assert config.prepare.border == 2.0 and isinstance(config.prepare.border, float)
    assert config.prepare.magnify.alpha == 20.0 and isinstance(config.prepare.magnify.alpha, float)
    assert config.prepare_config(False).magnify is None and config.prepare_config(True).magnify is not None
    assert config.train["patience"] is None and config.seeds == (0,)
    cells = ex.plan_cells(config)
    assert len(cells) == 3 * 3 and cells[0].kind == "intra" and cells[-1].kind == "cross"
    assert cells[3].id == "cross-msu-to-replay-controlled-cnn-lstm-am-seed0"
    assert cells[3].run_id == "cnn-lstm-am/msu/seed0"


def test_cnn_lstm_options_reach_the_cnn_lstm_cells_only(tmp_path):
    config = load(tmp_path, '[study]\nmethods = ["CNN", "CNN-LSTM"]\nintra = ["replay-attack:adverse"]\n'
                            '[datasets]\nreplay-attack = "data/replay"\n'
                            "[model]\ntrunk = \"small\"\nmotion_stream = 4\npulse_features = true\n")  # fmt: skip
    assert config.model["motion_stream"] == 4
    from antispoof.experiment.runner import _Study

    runner = _Study(config, tmp_path / "out", log=lambda line: None, progress=False, device="cpu")
    cnn, lstm = (runner.model_config(cell) for cell in ex.plan_cells(config))
    assert cnn["architecture"] == "frame_cnn" and "motion_stream" not in cnn and "pulse_features" not in cnn
    assert (lstm["architecture"], lstm["motion_stream"], lstm["pulse_features"]) == ("cnn_lstm", 4, True)
    with pytest.raises(ex.ConfigError, match="motion_stream"):
        load(tmp_path, '[study]\nmethods = ["CNN"]\nintra = ["replay-attack:adverse"]\n'
                       '[datasets]\nreplay-attack = "data/replay"\n[model]\nmotion_stream = -1\n')  # fmt: skip


def test_example_config_parses():
    config = ex.load_config(ROOT / "docs" / "paper-study.toml")
    assert [m.name for m in config.methods] == [m.name for m in ex.METHODS]
    assert [p.key for p in config.intra] == ["replay-controlled", "replay-adverse", "msu"]
    assert [(a.key, b.key) for a, b in config.cross] == list(ex.PAPER_TABLE2)
    assert config.prepare.size == 224 and config.model.get("trunk", "vgg16") == "vgg16"


@pytest.mark.skipif(not PAPER.is_file(), reason="the paper text is not present")
def test_paper_numbers_are_the_papers():
    lines = PAPER.read_text().splitlines()

    def numbers(prefix: str, after: int = 0) -> tuple[list[str], list[str]]:
        i = next(k for k, line in enumerate(lines) if k >= after and line.startswith(prefix))
        return re.findall(r"\d+(?:\.\d+)?", lines[i].split("(%)")[1]), re.findall(r"\d+(?:\.\d+)?", lines[i + 1])

    table2 = next(k for k, line in enumerate(lines) if line.startswith("Table 2"))
    for key, prefix in (("replay-controlled", "Replay-attack (controlled)\tHTER"),
                        ("replay-adverse", "Replay-attack (adverse)\tHTER"), ("msu", "MSU- MFSD\tHTER")):  # fmt: skip
        hter, acc = numbers(prefix)
        assert [ex.PAPER_TABLE1[key][m]["hter"] for m in _T1_METHODS] == hter
        assert [ex.PAPER_TABLE1[key][m]["acc"] for m in _T1_METHODS] == acc
    for pair, prefix in ((("replay-adverse", "replay-controlled"), "Replay-attack (adverse)\tReplay-attack"),
                         (("replay-adverse", "msu"), "Replay-attack (adverse)\tMSU"),
                         (("msu", "replay-controlled"), "MSU- MFSD\tReplay")):  # fmt: skip
        hter, acc = numbers(prefix, table2)
        assert [ex.PAPER_TABLE2[pair][m]["hter"] for m in _T2_METHODS] == hter
        assert [ex.PAPER_TABLE2[pair][m]["acc"] for m in _T2_METHODS] == acc


# ------------------------------------------------------------------------------------------------ runner


class Killed(RuntimeError):
    pass


def test_two_cell_study_resumes_after_interruption(tmp_path, replay_root, monkeypatch, capsys):
    config_path = write_config(tmp_path, replay_root, '[study]\nmethods = ["LBP", "CNN-LSTM^A"]\n'
                                                      'intra = ["replay-controlled"]\n')  # fmt: skip
    config = ex.load_config(config_path)
    out = tmp_path / "study"
    lbp_cell = out / "cells" / "intra-replay-controlled-lbp-seed0"
    lstm_cell = out / "cells" / "intra-replay-controlled-cnn-lstm-a-seed0"

    # first run: the process "dies" when the second cell starts training
    def killed_train(*args, **kwargs):
        raise Killed("killed")

    monkeypatch.setattr("antispoof.training.train", killed_train)
    lines = []
    with pytest.raises(Killed):
        ex.run_experiment(config, out, log=lines.append)
    assert (lbp_cell / "result.json").is_file() and not (lstm_cell / "result.json").exists()
    assert any("failed; rerun the same command" in line for line in lines)
    first = (lbp_cell / "result.json").read_text()
    monkeypatch.undo()

    # second run: the LBP cell must not be recomputed (its training would raise now)
    def no_fit(*args, **kwargs):
        raise AssertionError("the finished cell was recomputed")

    monkeypatch.setattr("antispoof.baselines.svm._SVMBaseline.fit", no_fit)
    lines = []
    summary = ex.run_experiment(config, out, log=lines.append)
    assert (lbp_cell / "result.json").read_text() == first
    cell_lines = [line for line in lines if line.startswith("[")]
    assert cell_lines[0] == "[1/2] intra replay-controlled LBP seed 0: " + cell_lines[0].split(": ", 1)[1]
    assert cell_lines[0].endswith("(done earlier)")
    assert "CNN-LSTM^A" in cell_lines[1] and cell_lines[1].endswith(", trained)")
    assert summary["complete"] and [c["method"] for c in summary["cells"]] == ["LBP", "CNN-LSTM^A"]
    for cell in summary["cells"]:
        assert 0 <= cell["metrics"]["hter"] <= 1 and 0 <= cell["metrics"]["acc"] <= 1
        assert cell["metrics"]["n_videos"] == 12 and cell["threshold"]["source"] == "dev set of replay-controlled"
    assert summary["cells"][1]["run"]["epochs_run"] == 1
    stored = json.loads((out / "experiment.json").read_text())
    assert stored["complete"] and len(stored["cells"]) == 2 and stored["total_wall_seconds"] > 0
    # both invocations are logged: the interrupted one computed 1 cell, this one the other
    assert [i["cells_computed"] for i in stored["invocations"]] == [1, 1]
    assert stored["total_wall_seconds_all_invocations"] >= stored["total_wall_seconds"]
    assert set(stored["caches"]) == {"replay-attack/plain"}  # no M method: no magnified cache

    # a finished study reruns through the CLI in no time and prints both... here the one table it has
    monkeypatch.undo()
    monkeypatch.setattr("antispoof.baselines.svm._SVMBaseline.fit", no_fit)
    monkeypatch.setattr("antispoof.training.train", killed_train)
    with pytest.raises(SystemExit) as info:
        main(["experiment", str(config_path), "--out", str(out), "-q"])
    assert info.value.code == 0
    printed = capsys.readouterr()
    assert "Table 1" in printed.out and "| LBP | CNN-LSTM^A |" in printed.out and "total wall time" in printed.out
    assert "Table 2" not in printed.out

    # other settings with the same folder: refused before any work, naming the setting
    changed = config_path.read_text().replace("lr = 1e-3", "lr = 2e-3")
    config_path.write_text(changed)
    with pytest.raises(ex.ConfigError, match=r"run\.train\.lr: 0\.001 there, 0\.002 now"):
        ex.run_experiment(ex.load_config(config_path), out, log=lines.append)
    assert json.loads((out / "experiment.json").read_text())["complete"]


def test_tables_hold_every_configured_cell(tmp_path, replay_root):
    study = (
        '[study]\nmethods = ["LBP", "LBP-TOP^M"]\nintra = ["replay-adverse"]\n'
        'cross = [["replay-adverse", "replay-controlled"]]\nseeds = [0, 1]\n'
    )
    config = ex.load_config(write_config(tmp_path, replay_root, study))
    out = tmp_path / "study"
    lines = []
    summary = ex.run_experiment(config, out, log=lines.append)
    cells = ex.plan_cells(config)
    assert len(cells) == 2 * 2 * 2 == len(summary["cells"])
    assert [c["id"] for c in summary["cells"]] == [c.id for c in cells]
    # the cross cells reuse the trainings of the intra cells on replay-adverse
    cross = [c for c in summary["cells"] if c["kind"] == "cross"]
    assert all(not c["trained_in_this_cell"] for c in cross)
    assert {c["run"]["run_dir"] for c in cross} == {
        f"runs/{m}/replay-adverse/seed{s}" for m in ("lbp", "lbp-top-m") for s in (0, 1)
    }
    # one cache per dataset and variant, shared by every cell, holding only the videos the cells use:
    # adverse train + dev + test (12 each) and the controlled test split (12)
    assert set(summary["caches"]) == {"replay-attack/plain", "replay-attack/magnified"}
    assert [c["videos"] for c in summary["caches"].values()] == [48, 48]
    assert len(list((out / "cache").iterdir())) == 2

    t1 = (out / "table1-intra.md").read_text()
    t2 = (out / "table2-cross.md").read_text()
    assert "| Dataset | Metric | LBP | LBP-TOP^M |" in t1
    assert "| Train | Test | Metric | LBP | LBP-TOP^M |" in t2
    assert "| Replay-attack (adverse) | HTER (%) |" in t1 and "|  | ACC (%) |" in t1
    assert "| Replay-attack (adverse) | Replay-attack (controlled) | HTER (%) |" in t2
    assert "–" not in t1 + t2  # every cell has a value
    assert " ± " in t1  # two seeds: mean ± sd
    # the paper's values beside ours, exactly as printed
    assert "(4.67)" in t1 and "(95.06)" in t1 and "(13.25)" in t1 and "(87.86)" in t1
    assert "(14.00)" in t2 and "(80.00)" in t2
    assert "(13.94)" not in t2  # the paper's LBP-TOP is without M

    rows1 = list(csv.DictReader(io.StringIO((out / "table1-intra.csv").read_text())))
    rows2 = list(csv.DictReader(io.StringIO((out / "table2-cross.csv").read_text())))
    assert [(r["dataset"], r["metric"]) for r in rows1] == [
        ("Replay-attack (adverse)", "HTER (%)"),
        ("Replay-attack (adverse)", "ACC (%)"),
    ]
    assert [(r["train"], r["test"], r["metric"]) for r in rows2] == [
        ("Replay-attack (adverse)", "Replay-attack (controlled)", m) for m in ("HTER (%)", "ACC (%)")
    ]
    for row in rows1 + rows2:
        for method in ("LBP", "LBP-TOP^M"):
            assert 0 <= float(row[method]) <= 100 and float(row[f"{method} sd"]) >= 0
    assert rows1[0]["LBP paper"] == "4.67" and rows1[1]["LBP paper"] == "95.06" and rows2[0]["LBP paper"] == "14.00"
    assert rows1[0]["LBP-TOP^M paper"] == "13.25" and rows2[0]["LBP-TOP^M paper"] == ""
    # the table entries are the mean over the seeds of the cells' own numbers
    for rows, kind in ((rows1, "intra"), (rows2, "cross")):
        hters = [c["metrics"]["hter"] for c in summary["cells"] if c["kind"] == kind and c["method"] == "LBP"]
        assert len(hters) == 2 and float(rows[0]["LBP"]) == pytest.approx(100 * sum(hters) / 2, abs=1e-4)


def test_band_checked_at_the_datasets_frame_rate(tmp_path, replay_root):
    # 14 Hz is a valid band edge in general but above Replay-Attack's Nyquist rate (12.5 Hz at 25 fps)
    study = '[study]\nmethods = ["LBP^M"]\nintra = ["replay-controlled"]\n'
    path = write_config(tmp_path, replay_root, study)
    path.write_text(path.read_text() + "\n[prepare.magnify]\nlow = 4.0\nhigh = 14.0\n")
    config = ex.load_config(path)
    with pytest.raises(ex.ConfigError, match=r"prepare\.magnify \(at replay-attack's 25 fps\)"):
        ex.run_experiment(config, tmp_path / "study", log=lambda line: None)
    assert not (tmp_path / "study").exists()  # nothing was prepared or written


def test_cli_usage_errors(tmp_path, capsys):
    for argv in (["experiment"], ["experiment", "x.toml", "--synthetic"], ["experiment", "x.toml", "--quick"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "--quick only applies to --synthetic" in capsys.readouterr().err
    (tmp_path / "bad.toml").write_text('[study]\nmethods = ["RNN"]\nintra = ["msu"]\n')
    with pytest.raises(SystemExit) as info:
        main(["experiment", str(tmp_path / "bad.toml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 1 and len(err) == 1 and "unknown method 'RNN'" in err[0]


@pytest.fixture(scope="module")
def long_replay_root(tmp_path_factory):
    # 3.2 s videos: a pulse needs seconds (antispoof.baselines.pulse.MIN_SECONDS = 3)
    return generate(tmp_path_factory.mktemp("synth") / "replay", "replay-attack", clients=3, size=(64, 48),
                    duration=3.2, seed=7)  # fmt: skip


def test_the_pulse_baseline_runs_on_the_cache_traces_in_both_tables(tmp_path, long_replay_root):
    from antispoof.baselines import PulseSVM, load_baseline
    from antispoof.cache import ClipDataset, read_trace

    study = (
        '[study]\nmethods = ["LBP-TOP", "pulse"]\nintra = ["replay-adverse"]\n'
        'cross = [["replay-adverse", "replay-controlled"]]\n'
    )
    config = ex.load_config(write_config(tmp_path, long_replay_root, study))
    assert [m.name for m in config.methods] == ["LBP-TOP", "Pulse"] and not config.methods[1].magnify
    out = tmp_path / "study"
    summary = ex.run_experiment(config, out, log=lambda line: None)
    cells = {(c["kind"], c["method"]): c for c in summary["cells"]}
    assert set(cells) == {(k, m) for k in ("intra", "cross") for m in ("LBP-TOP", "Pulse")}
    pulse = cells[("intra", "Pulse")]
    # one feature row per video: the 12 training videos, not their clips
    assert pulse["run"]["train_clips"] == 12 and cells[("intra", "LBP-TOP")]["run"]["train_clips"] == 24
    assert pulse["metrics"]["n_videos"] == 12 and 0 <= pulse["metrics"]["hter"] <= 1
    assert set(summary["caches"]) == {"replay-attack/plain"}  # the pulse reads the plain cache's traces
    # the stored model scores the test videos' traces as the cell did
    model = load_baseline(out / pulse["run"]["run_dir"] / "model")
    assert isinstance(model, PulseSVM)
    report = json.loads((out / pulse["report"]).read_text())
    cache = Path(summary["caches"]["replay-attack/plain"]["dir"])
    test = ClipDataset(cache, [v["video_id"] for v in report["videos"]])
    vids, scores = model.score_videos([read_trace(cache, r) for r in test.rows], [r["video_id"] for r in test.rows])
    by_id = {v["video_id"]: v["score"] for v in report["videos"]}
    np.testing.assert_allclose(scores, [by_id[v] for v in vids])
    # live skin pulses, replays carry a weakened one, prints none: the bona fide videos score above every attack
    bona_fide = [by_id[r["video_id"]] for r in test.rows if r["label"] == 1]
    attack = [by_id[r["video_id"]] for r in test.rows if r["label"] == 0]
    assert len(bona_fide) == 2 and len(attack) == 10 and min(bona_fide) > max(attack)
    for table in ("table1-intra.md", "table2-cross.md"):
        assert "| LBP-TOP | Pulse |" in (out / table).read_text()
    with pytest.raises(ex.ConfigError, match=r"unknown method 'Pulse\^M'"):
        parse_method("Pulse^M")


def test_a_cnn_lstm_with_pulse_features_in_a_study_and_in_predict(tmp_path, long_replay_root):
    import torch

    from antispoof.baselines.pulse import trace_features
    from antispoof.cache import PrepareConfig, all_clip_starts, stream_clips
    from antispoof.predict import Predictor
    from antispoof.rundir import RunDir

    study = '[study]\nmethods = ["CNN", "CNN-LSTM"]\nintra = ["replay-adverse"]\n'
    path = write_config(tmp_path, long_replay_root, study)
    path.write_text(path.read_text().replace("hidden_size = 8", "hidden_size = 8\npulse_features = true"))
    config = ex.load_config(path)
    out = tmp_path / "study"
    summary = ex.run_experiment(config, out, log=lambda line: None)
    cnn, lstm = summary["cells"]
    assert lstm["metrics"]["n_videos"] == 12 and 0 <= lstm["metrics"]["hter"] <= 1
    run_dir = out / lstm["run"]["run_dir"]
    assert RunDir(run_dir).read_config()["model"]["pulse_features"] is True
    assert not RunDir.takes_pulse(RunDir(out / cnn["run"]["run_dir"]).read_config())  # a CNN-LSTM option only
    # predict streams the video once: clips encoded as they come, classified with the whole video's features
    from antispoof.data import open_dataset

    video = next(r for r in open_dataset("replay-attack", long_replay_root).records
                 if r.split == "test" and r.label == 1 and r.condition == "adverse")  # fmt: skip
    predictor = Predictor(run_dir, device="cpu")
    result = predictor(video.path)
    assert result.error is None and result.clips >= 1
    prep = PrepareConfig.from_dict(RunDir(run_dir).read_config()["data"]["prepare"])
    streamed = stream_clips(video.path, prep, detector=predictor.detector, starts=all_clip_starts, trace=True)
    x = torch.from_numpy(streamed.clips).view(-1, prep.clip_len, prep.size, prep.size, 3).permute(0, 1, 4, 2, 3)
    pulse = torch.as_tensor(trace_features(streamed.trace, streamed.fps), dtype=torch.float32).expand(len(x), -1)
    with torch.no_grad():
        direct = predictor.model.eval()(x.float() / 255, pulse).scores.numpy()
    np.testing.assert_allclose(result.clip_scores, direct, atol=2e-6)
