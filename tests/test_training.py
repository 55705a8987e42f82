import json
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import Dataset

from antispoof import metrics as M
from antispoof.evaluation import evaluate, load_model, predict_clips, score_clips, write_report
from antispoof.models import build_model
from antispoof.training import EpochSampler, hold_still, seed_everything, train

T, SIZE = 4, 32
TINY = dict(
    trunk="small", trunk_channels=[8, 16, 16], image_size=[SIZE, SIZE], num_frames=T, hidden_size=16, dropout=0.0
)
WITH_DROPOUT = {**TINY, "dropout": 0.3}  # exercises the RNG state on resume
FAST = dict(batch_size=8, lr=3e-3, lambda_cnn=0.5, seed=0, device="cpu", progress=False)


class FlickerClips(Dataset):
    """Bona fide clips flicker in brightness from frame to frame, attacks are still; both noisy.

    ``n_videos`` videos with ``clips_per_video`` clips each; the first ``n_bonafide`` videos are bona fide,
    attacks alternate between two attack types. ``(T, 3, SIZE, SIZE)`` float32 in [0, 1].
    """

    def __init__(self, n_videos, clips_per_video, n_bonafide, seed, with_labels=True):
        g = torch.Generator().manual_seed(seed)
        flicker = torch.tensor([1.0, -1.0, 1.0, -1.0]).view(T, 1, 1, 1)
        self.items, self.attack_types = [], {}
        for v in range(n_videos):
            label = int(v < n_bonafide)
            vid = f"s{seed}_{'real' if label else 'attack'}_{v}"
            if not label:
                self.attack_types[vid] = "print" if v % 2 else "replay"
            for _ in range(clips_per_video):
                base = 0.3 + 0.4 * torch.rand(1, 3, SIZE, SIZE, generator=g)
                noise = 0.05 * torch.randn(T, 3, SIZE, SIZE, generator=g)
                clip = (base + 0.25 * label * flicker + noise).clamp(0, 1)
                self.items.append((clip.float(), label, vid))
        if with_labels:
            self.labels = [label for _, label, _ in self.items]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def make_data():
    # Attacks outnumber bona fide 3:1 in train, as in the real protocols.
    return FlickerClips(24, 1, 6, seed=0), FlickerClips(8, 2, 4, seed=1), FlickerClips(8, 2, 4, seed=2)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    train_set, dev_set, test_set = make_data()
    run = train(
        TINY,
        train_set,
        dev_set,
        tmp_path_factory.mktemp("run") / "run",
        epochs=8,
        patience=None,
        data={"cache": "synthetic-flicker", "evm": {"alpha": 10}},
        **FAST,
    )
    torch.set_num_threads(previous)
    return run, train_set, dev_set, test_set


def eval_loss(model, dataset, lambda_cnn=0.5):
    pred = predict_clips(model, dataset, batch_size=16, lambda_cnn=lambda_cnn)
    return pred.loss_sums["total"] / len(dataset)


@torch.no_grad()
def batch_stats_loss(model, dataset, lambda_cnn=0.5):
    """Loss of the whole set as one batch in train mode (BN batch statistics; the config has no dropout)."""
    model.train()
    clips = torch.stack([dataset[i][0] for i in range(len(dataset))])
    labels = torch.tensor([dataset[i][1] for i in range(len(dataset))])
    return float(model.loss(model(clips), labels, lambda_cnn).total)


# ---------------------------------------------------------------------------------------------- sampler


def test_epoch_sampler_balances_classes_and_shards():
    labels = np.array([1] * 10 + [0] * 50)
    sampler = EpochSampler(labels, balanced=True, seed=3)
    drawn = []
    for epoch in range(20):
        sampler.set_epoch(epoch)
        drawn += list(sampler)
    assert len(sampler) == 60 and len(drawn) == 1200
    assert 0.4 < labels[drawn].mean() < 0.6  # ~50% bona fide despite 1:5
    sampler.set_epoch(1)
    first = list(sampler)
    assert first == list(sampler)  # same epoch, same sample
    sampler.set_epoch(2)
    assert first != list(sampler)

    shards = [EpochSampler(labels[:7], balanced=False, seed=3, rank=r, world_size=2) for r in range(2)]
    for s in shards:
        s.set_epoch(5)
    a, b = list(shards[0]), list(shards[1])
    assert len(a) == len(b) == 4 and set(a) | set(b) == set(range(7))  # padded to 8, covers everything


# --------------------------------------------------------------------------------------------- training


def test_training_lowers_the_loss_and_writes_a_self_describing_run(trained_run):
    run, train_set, dev_set, _ = trained_run
    assert sorted(p.name for p in run.iterdir()) == [
        "best.pt",
        "config.json",
        "last.pt",
        "metrics.jsonl",
        "threshold.json",
    ]
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == build_model(TINY).config.to_dict()
    assert config["training"]["epochs"] == 8 and config["training"]["lambda_cnn"] == 0.5
    assert config["data"] == {"cache": "synthetic-flicker", "evm": {"alpha": 10}}

    seed_everything(0)
    initial = build_model(TINY)  # train() seeds and builds the same initial model
    final = load_model(run, checkpoint="last")
    before, after = batch_stats_loss(initial, train_set), batch_stats_loss(final, train_set)
    assert after < 0.5 * before, (before, after)
    # In eval mode the BN running statistics still lag after so few steps, but the loss drops too.
    assert eval_loss(final, train_set) < 0.8 * eval_loss(initial, train_set)

    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert log[-1]["train_loss"] < log[0]["train_loss"]
    for r in log:
        assert r["train_loss"] == pytest.approx(r["train_lstm_loss"] + 0.5 * r["train_cnn_loss"])
        assert r["dev_videos"] == 8
    best = min(log, key=lambda r: (r["dev_eer"], r["dev_loss"]))
    threshold = json.loads((run / "threshold.json").read_text())
    assert threshold["epoch"] == best["epoch"] and threshold["threshold"] == best["dev_threshold"]
    assert threshold["dev_eer"] == best["dev_eer"] <= 0.25

    # The stored threshold is the EER threshold of the best model's dev video scores.
    model = load_model(run)
    pred = predict_clips(model, dev_set)
    _, scores, labels = M.aggregate_by_video(pred.video_ids, pred.scores, pred.labels)
    b, a = M.split_by_label(scores, labels)
    assert M.eer_threshold(b, a) == pytest.approx(threshold["threshold"], abs=1e-6)


def test_resume_after_an_epoch_is_bit_identical(tmp_path):
    train_set, dev_set, _ = make_data()
    full = train(WITH_DROPOUT, train_set, dev_set, tmp_path / "full", epochs=3, **FAST)
    part = train(WITH_DROPOUT, train_set, dev_set, tmp_path / "part", epochs=2, **FAST)
    assert torch.load(part / "last.pt", weights_only=True)["epoch"] == 2
    train(WITH_DROPOUT, train_set, dev_set, part, epochs=3, resume=True, **FAST)

    a = torch.load(full / "last.pt", weights_only=True)
    b = torch.load(part / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 3
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for pa, pb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert torch.equal(a["rng"][0]["torch"], b["rng"][0]["torch"])

    def log(run):
        lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "epoch_seconds"} for r in lines]

    assert log(full) == log(part)
    assert (full / "threshold.json").read_text() == (part / "threshold.json").read_text()
    # A second uninterrupted run with the same seed is identical too (determinism).
    again = train(WITH_DROPOUT, train_set, dev_set, tmp_path / "again", epochs=1, **FAST)
    assert log(again)[0] == log(full)[0]


def test_cosine_schedule_follows_its_curve_and_resumes_exactly(tmp_path):
    train_set, dev_set, _ = make_data()
    cosine = {**FAST, "lr_schedule": "cosine"}
    full = train(WITH_DROPOUT, train_set, dev_set, tmp_path / "full", epochs=3, patience=None, **cosine)
    # 24 clips / batch 8 = 3 steps per epoch, 9 in all: the rate after epoch e is lr * (1 + cos(pi * 3e / 9)) / 2.
    lrs = [json.loads(line)["lr"] for line in (full / "metrics.jsonl").read_text().splitlines()]
    assert lrs == pytest.approx([FAST["lr"] * 0.5 * (1 + np.cos(np.pi * e / 3)) for e in (1, 2, 3)], abs=1e-12)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)

    class DiesInEpoch2(Dataset):  # the same items; the process "dies" at the start of epoch 2
        labels = train_set.labels

        def __init__(self):
            self.calls = 0

        def __len__(self):
            return len(train_set)

        def __getitem__(self, i):
            self.calls += 1
            if self.calls > len(train_set):
                raise KeyboardInterrupt
            return train_set[i]

    with pytest.raises(KeyboardInterrupt):
        train(WITH_DROPOUT, DiesInEpoch2(), dev_set, tmp_path / "part", epochs=3, patience=None, **cosine)
    assert torch.load(tmp_path / "part" / "last.pt", weights_only=True)["scheduler"]["last_epoch"] == 3
    part = train(WITH_DROPOUT, train_set, dev_set, tmp_path / "part", epochs=3, patience=None, resume=True, **cosine)
    a, b = (torch.load(run / "last.pt", weights_only=True) for run in (full, part))
    assert a["scheduler"] == b["scheduler"] and a["scheduler"]["last_epoch"] == 9
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    # The schedule depends on the total number of epochs: a resumed cosine run must keep it.
    with pytest.raises(ValueError, match="resume: training argument 'epochs' is 4"):
        train(WITH_DROPOUT, train_set, dev_set, full, epochs=4, resume=True, patience=None, **cosine)


def test_train_config_is_the_one_home_of_the_training_defaults():
    from antispoof.experiment.config import _TRAIN_DEFAULTS
    from antispoof.train_config import TrainConfig
    from cli.antispoof_cli import train as train_command

    defaults = TrainConfig().to_dict()
    assert list(defaults)[:5] == ["epochs", "batch_size", "lr", "lambda_cnn", "seed"]  # config.json's order
    assert (defaults["epochs"], defaults["batch_size"], defaults["lr"], defaults["patience"]) == (20, 8, 1e-5, 5)
    options = {p.name: p.default for p in train_command.params}
    shared = set(options) & set(defaults)
    assert len(shared) == 13
    from antispoof.profiles import PAPER

    for k in shared:  # an option a profile sets has no default of its own: the paper profile's is TrainConfig's
        assert (options[k] == defaults[k]) if options[k] is not None else (PAPER.train[k] == defaults[k]), k
    assert {k for k in shared if options[k] is None} == set(PAPER.train)
    assert {k: _TRAIN_DEFAULTS[k] for k in defaults if k in _TRAIN_DEFAULTS} == {
        k: v for k, v in defaults.items() if k not in ("seed", "progress")
    }
    assert TrainConfig.from_dict(defaults) == TrainConfig() and TrainConfig.from_dict({"lr": 1}).lr == 1.0
    with pytest.raises(ValueError, match="unknown training setting 'epoch'"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'tpu'"):
        TrainConfig(device="tpu")
    with pytest.raises(ValueError, match="unknown training setting 'epoch'"):
        train(TINY, None, None, "unused", epoch=3)  # train() reads the same config


def test_training_input_errors(tmp_path):
    train_set, dev_set, _ = make_data()
    only_attacks = FlickerClips(3, 1, 0, seed=4)
    with pytest.raises(ValueError, match="dev_dataset has only attack samples: the dev EER needs both classes"):
        train(TINY, train_set, only_attacks, tmp_path / "a", epochs=1, **FAST)
    with pytest.raises(ValueError, match="train_dataset is empty"):
        train(TINY, FlickerClips(0, 1, 0, seed=4), dev_set, tmp_path / "b", epochs=1, **FAST)
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        train(TINY, train_set, dev_set, tmp_path / "c", epochs=0, **FAST)
    with pytest.raises(ValueError, match="data must be JSON-serialisable"):
        train(TINY, train_set, dev_set, tmp_path / "d", epochs=1, data={"x": object()}, **FAST)

    # A frame-CNN run on a dataset without a `labels` attribute (labels read from the items).
    frame_cfg = {**TINY, "architecture": "frame_cnn"}
    no_labels = FlickerClips(8, 1, 2, seed=5, with_labels=False)
    run = train(frame_cfg, no_labels, dev_set, tmp_path / "frame", epochs=1, **FAST)
    record = json.loads((run / "metrics.jsonl").read_text())
    assert record["train_lstm_loss"] is None and record["train_loss"] == record["train_cnn_loss"]

    with pytest.raises(ValueError, match="already holds a run: pass resume=True"):
        train(frame_cfg, no_labels, dev_set, run, epochs=2, **FAST)
    with pytest.raises(ValueError, match="resume: training argument 'lr' is 0.1"):
        train(frame_cfg, no_labels, dev_set, run, epochs=2, resume=True, **{**FAST, "lr": 0.1})
    with pytest.raises(ValueError, match="resume: model config 'hidden_size'"):
        train({**frame_cfg, "hidden_size": 3}, no_labels, dev_set, run, epochs=2, resume=True, **FAST)


def test_hold_still_turns_bona_fide_clips_into_still_attacks():
    g = torch.Generator().manual_seed(0)
    clips = torch.rand(6, T, 3, 8, 8, generator=g)
    labels = torch.tensor([1, 0, 1, 0, 1, 1])
    torch.manual_seed(1)
    held, clip_labels, frame_labels = hold_still(clips, labels, prob=1.0)
    assert clip_labels.tolist() == [0] * 6 and torch.equal(frame_labels, labels)
    for i in range(6):
        if labels[i] == 0:  # attacks untouched
            assert torch.equal(held[i], clips[i])
        else:  # one of the clip's own frames, for every time step
            assert (held[i] == held[i, :1]).all()
            assert any(torch.equal(held[i, 0], clips[i, k]) for k in range(T))
    assert held is not clips and torch.equal(clips, torch.rand(6, T, 3, 8, 8, generator=g.manual_seed(0)))
    # prob 0: nothing changes and no copy is made
    same, same_labels, _ = hold_still(clips, labels, prob=0.0)
    assert same is clips and torch.equal(same_labels, labels)
    # the share of bona fide clips held follows prob
    many = torch.ones(20000, dtype=torch.long)
    _, drawn, _ = hold_still(torch.zeros(20000, 2, 3, 1, 1), many, prob=0.3)
    assert abs(float((drawn == 0).float().mean()) - 0.3) < 4 * (0.3 * 0.7 / 20000) ** 0.5
    # noise: independent per frame, standard deviation at most `noise`, values kept in [0, 1]
    flat = torch.full((200, T, 3, 8, 8), 0.5)
    noisy, _, _ = hold_still(flat, torch.ones(200, dtype=torch.long), prob=1.0, noise=0.02)
    per_clip = (noisy - 0.5).flatten(1).std(dim=1)
    assert per_clip.max() <= 0.02 * 1.1 and per_clip.mean() == pytest.approx(0.01, rel=0.15)
    assert not torch.equal(noisy[:, 0], noisy[:, 1]) and 0 <= noisy.min() and noisy.max() <= 1
    with pytest.raises(ValueError, match="prob must be in"):
        hold_still(clips, labels, prob=1.5)


def test_still_frames_with_temporal_delta_teach_the_lstm_motion(tmp_path):
    # Bona fide clips flicker; held still they look like one bona fide frame. Trained with held clips as
    # attacks, the model must score a bona fide clip far above its own frames held still.
    train_set, dev_set, test_set = make_data()
    config = {**TINY, "temporal_delta": True}
    run = train(config, train_set, dev_set, tmp_path / "still", epochs=6, patience=None, still_prob=0.5,
                still_noise=0.01, **FAST)  # fmt: skip
    stored = json.loads((run / "config.json").read_text())
    assert stored["training"]["still_prob"] == 0.5 and stored["model"]["temporal_delta"] is True
    model = load_model(run)
    live = torch.stack([clip for clip, label, _ in test_set if label == 1])
    with torch.no_grad():
        moving = model(live).scores
        held = model(live[:, 1:2].expand_as(live).contiguous()).scores
    assert float((moving - held).min()) > 0.3, (moving, held)
    # resumable exactly, like every other argument; refused for the frame CNN
    part = train(config, train_set, dev_set, tmp_path / "part", epochs=2, patience=None, still_prob=0.5,
                 still_noise=0.01, **FAST)  # fmt: skip
    train(config, train_set, dev_set, part, epochs=3, patience=None, still_prob=0.5, still_noise=0.01,
          resume=True, **FAST)  # fmt: skip
    full = train(config, train_set, dev_set, tmp_path / "full", epochs=3, patience=None, still_prob=0.5,
                 still_noise=0.01, **FAST)  # fmt: skip
    a, b = (torch.load(r / "last.pt", weights_only=True)["model"] for r in (full, part))
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="resume: training argument 'still_prob' is 0.25"):
        train(config, train_set, dev_set, full, epochs=4, resume=True, still_prob=0.25, still_noise=0.01, **FAST)
    with pytest.raises(ValueError, match="still_prob needs the CNN-LSTM"):
        train({**TINY, "architecture": "frame_cnn"}, train_set, dev_set, tmp_path / "f", epochs=1, still_prob=0.5,
              **FAST)  # fmt: skip
    with pytest.raises(ValueError, match="still_prob must be <= 1, got 2"):
        train(config, train_set, dev_set, tmp_path / "g", epochs=1, still_prob=2.0, **FAST)


def test_runs_from_before_the_still_augmentation_still_resume(tmp_path):
    train_set, dev_set, _ = make_data()
    run = train(TINY, train_set, dev_set, tmp_path / "old", epochs=1, **FAST)
    config = json.loads((run / "config.json").read_text())
    for key in ("still_prob", "still_noise"):
        del config["training"][key]
    (run / "config.json").write_text(json.dumps(config))
    train(TINY, train_set, dev_set, run, epochs=2, resume=True, **FAST)
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2


def test_early_stopping(tmp_path):
    train_set, dev_set, _ = make_data()
    # lr 0 is refused; a tiny lr makes no dev progress after the first epoch, so patience 1 stops at 2.
    run = train(TINY, train_set, dev_set, tmp_path / "es", epochs=5, patience=1, **{**FAST, "lr": 1e-12})
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(log) < 5 and log[-1]["stopped_early"] and not log[-1]["improved"]


# ------------------------------------------------------------------------------------------- evaluation


def test_evaluate_and_write_report(trained_run, tmp_path):
    run, _, dev_set, test_set = trained_run
    threshold = json.loads((run / "threshold.json").read_text())["threshold"]
    report = evaluate(run, test_set, attack_types=test_set.attack_types, device="cpu")

    assert report["threshold"]["source"] == "run" and report["threshold"]["value"] == threshold
    videos = report["videos"]
    assert len(videos) == 8 and all(v["n_clips"] == 2 for v in videos)
    # Video scores are the mean of the clip scores of the best model.
    model = load_model(run)
    first = videos[0]
    clips = torch.stack([c for c, _, vid in test_set.items if vid == first["video_id"]])
    assert first["score"] == pytest.approx(score_clips(model, clips).mean(), abs=1e-6)
    single, attention = score_clips(model, clips[0], return_attention=True)  # one (T, 3, H, W) clip
    assert single.shape == (1,) and attention.shape == (1, T)
    assert single[0] == pytest.approx(score_clips(model, clips)[0], abs=1e-6)

    test = report["test"]
    b = [v["score"] for v in videos if v["label"] == 1]
    a = [v["score"] for v in videos if v["label"] == 0]
    assert test["hter"] == M.hter(b, a, threshold)
    assert (test["far"], test["frr"]) == M.far_frr(b, a, threshold)
    assert test["eer"] == M.eer(b, a)[0] and test["auc"] == M.roc_auc(b, a)
    rates = M.apcer_bpcer_acer(
        b, {t: [v["score"] for v in videos if v["attack_type"] == t] for t in ("print", "replay")}, threshold
    )
    assert test["apcer_per_attack_type"] == rates["apcer_per_attack_type"]
    assert (test["apcer"], test["bpcer"], test["acer"]) == (rates["apcer"], rates["bpcer"], rates["acer"])
    assert test["acc"] == M.accuracy(b, a, threshold)
    assert report["run"]["data"]["cache"] == "synthetic-flicker"
    assert len(report["attention_examples"]) == 4
    for example in report["attention_examples"]:
        assert len(example["weights"]) == T and sum(example["weights"]) == pytest.approx(1.0, abs=1e-5)
    # The still check: every bona fide clip with its middle frame (index T // 2) held, video means.
    live_ids = sorted({vid for _, label, vid in test_set.items if label == 1})
    held = [
        score_clips(model, torch.stack([c[T // 2].expand_as(c) for c, _, v in test_set.items if v == vid])).mean()
        for vid in live_ids
    ]
    still = report["still_check"]
    assert still["n_videos"] == len(live_ids) == 4 and still["frame"] == "middle"
    assert still["held_mean_score"] == pytest.approx(np.mean(held), abs=1e-6)
    assert still["held_accepted"] == np.mean(np.asarray(held) >= threshold)
    assert still["bonafide_mean_score"] == pytest.approx(np.mean(b))
    assert evaluate(run, test_set, device="cpu", still_check=False)["still_check"] is None

    written = write_report(report, tmp_path / "report")
    assert set(written) == {"report", "roc", "det", "score_histogram", "attention"}
    for name, path in written.items():
        assert path.is_file() and path.stat().st_size > 0
        if name != "report":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(written["report"].read_text()) == json.loads(json.dumps(report))

    # Cross-dataset protocol: the threshold comes from the given dev set, never from the test set.
    cross = evaluate(run, test_set, dev_dataset=dev_set, device="cpu")
    assert cross["threshold"]["source"] == "dev_dataset"
    assert cross["threshold"]["value"] == pytest.approx(threshold, abs=1e-6)
    assert cross["test"]["apcer_per_attack_type"].keys() == {"attack"}

    with pytest.raises(ValueError, match="has no entry in attack_types"):
        evaluate(run, test_set, attack_types={}, device="cpu")
    with pytest.raises(ValueError, match="dev_dataset has a single class"):
        evaluate(run, test_set, dev_dataset=FlickerClips(2, 1, 2, seed=6), device="cpu")


# ------------------------------------------------------------------------------------------ distributed


def _ddp_worker(rank, world_size, init_file, run_dir, result_dir):
    import antispoof.training as training

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    built = []
    original = training.build_model
    training.build_model = lambda *a, **k: built.append(original(*a, **k)) or built[-1]  # keep each rank's model
    try:
        train_set, dev_set, _ = make_data()
        train(TINY, train_set, dev_set, run_dir, epochs=2, **{**FAST, "batch_size": 4})
        state = {k: v.clone() for k, v in built[0].state_dict().items()}
        torch.save(state, f"{result_dir}/rank{rank}.pt")
    finally:
        training.build_model = original
        dist.destroy_process_group()


def test_ddp_two_processes_gloo(tmp_path):
    context = mp.spawn(
        _ddp_worker, args=(2, str(tmp_path / "pg-init"), str(tmp_path / "run"), str(tmp_path)), nprocs=2, join=False
    )
    deadline = time.monotonic() + 90
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("DDP workers did not finish in 90 s")

    run = tmp_path / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["world_size"] == 2
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and all(r["dev_videos"] == 8 for r in log)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    saved = torch.load(run / "last.pt", weights_only=True)["model"]
    for key in saved:  # gradients were averaged: both ranks hold the saved model (BN stats from rank 0)
        assert torch.equal(ranks[0][key], saved[key]) and torch.equal(ranks[1][key], saved[key]), key
    # 24 clips over 2 ranks, batch 4 per rank: 3 steps per epoch; the model did move.
    seed_everything(0)
    initial = build_model(TINY).state_dict()
    assert not torch.equal(initial["classifier.weight"], saved["classifier.weight"])
    # The dev threshold computed from the two gathered halves is what a single process computes.
    _, dev_set, _ = make_data()
    pred = predict_clips(load_model(run), dev_set)
    _, scores, labels = M.aggregate_by_video(pred.video_ids, pred.scores, pred.labels)
    threshold = json.loads((run / "threshold.json").read_text())["threshold"]
    assert M.eer_threshold(*M.split_by_label(scores, labels)) == pytest.approx(threshold, abs=1e-6)


# ------------------------------------------------------------------------------------------ pulse features


class WithPulse(Dataset):
    """FlickerClips with each video's pulse features as a fourth item (as ClipDataset(..., pulse=True) gives):
    bona fide videos have a higher first feature. ``pulse_features``: one row per video, in first-seen order."""

    def __init__(self, clips: FlickerClips, seed: int):
        rng = np.random.default_rng(seed)
        videos = list(dict.fromkeys(vid for _, _, vid in clips.items))
        label = {vid: lab for _, lab, vid in clips.items}
        self.pulse_features = np.array([[3.0 * label[v], *rng.normal(size=8)] for v in videos], np.float32)
        row = {v: i for i, v in enumerate(videos)}
        self.items = [(c, lab, vid, torch.from_numpy(self.pulse_features[row[vid]])) for c, lab, vid in clips.items]
        self.labels, self.attack_types = clips.labels, clips.attack_types

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_a_pulse_model_trains_saves_its_statistics_resumes_and_evaluates(tmp_path):
    from antispoof.rundir import RunDir

    plain_train, plain_dev, plain_test = make_data()
    train_set, dev_set, test_set = WithPulse(plain_train, 0), WithPulse(plain_dev, 1), WithPulse(plain_test, 2)
    config = {**TINY, "pulse_features": True}
    run = train(config, train_set, dev_set, tmp_path / "run", epochs=1, **FAST)
    stored = RunDir(run).read_config()
    assert stored["model"]["pulse_features"] is True and RunDir.takes_pulse(stored)
    model = load_model(run)
    assert model.classifier.in_features == 16 + 9
    np.testing.assert_allclose(model.pulse_mean.numpy(), train_set.pulse_features.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.pulse_std.numpy(), train_set.pulse_features.std(axis=0, ddof=1), rtol=1e-5)
    report = evaluate(run, test_set, attack_types=test_set.attack_types, device="cpu")
    assert report["test"]["n_videos"] == 8 and 0 <= report["test"]["hter"] <= 1
    # resumed with the option flipped, or given data without the features: refused, naming the problem
    with pytest.raises(ValueError, match=r"resume: model config 'pulse_features' is False but the run has True"):
        train(TINY, plain_train, plain_dev, run, epochs=2, resume=True, **FAST)
    train(config, train_set, dev_set, run, epochs=2, resume=True, **FAST)  # the same settings continue
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 2
    with pytest.raises(ValueError, match=r"train_dataset: the model takes pulse features and the dataset has none"):
        train(config, plain_train, plain_dev, tmp_path / "other", epochs=1, **FAST)
    with pytest.raises(ValueError, match=r"train_dataset: the model takes no pulse features and the dataset has them"):
        train(TINY, train_set, dev_set, tmp_path / "other", epochs=1, **FAST)
