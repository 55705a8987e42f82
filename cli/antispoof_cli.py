"""``antispoof``: face anti-spoofing with a CNN-LSTM on motion-magnified clips.  Thin: parse, call, report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from antispoof import limits
from antispoof.data.datasets import DATASETS
from antispoof.profiles import CHOICES as PROFILE_CHOICES
from antispoof.train_config import LR_SCHEDULES, TrainConfig
from cli.common import run, show_progress
from cli.evm_cli import magnification_options, params_from_options


class Number(click.ParamType):
    """A number option checked by :mod:`evm.validation`: finite, in ``[minimum, maximum]``.

    click's ``FloatRange`` takes ``inf`` and ``nan`` and its ranges have no upper bound by default; here
    every number has both bounds, and the error is click's one line naming the option.
    """

    def __init__(self, kind: type = float, minimum=None, maximum=None, *, strict: bool = False) -> None:
        self.kind, self.minimum, self.maximum, self.strict = kind, minimum, maximum, strict
        self.name = "integer" if kind is int else "float"

    def convert(self, value, param, ctx):
        from evm.validation import integer, real

        if isinstance(value, str):
            try:
                value = int(value) if self.kind is int else float(value)
            except ValueError:
                self.fail(f"{value!r} is not a valid {self.name}", param, ctx)
        try:
            if self.kind is int:
                return integer(value, "value", minimum=self.minimum, maximum=self.maximum)
            return real(value, "value", minimum=self.minimum, maximum=self.maximum, strict=self.strict)
        except ValueError as exc:
            self.fail(str(exc).removeprefix("value "), param, ctx)

    def __repr__(self) -> str:
        return f"Number({self.kind.__name__}, {self.minimum}, {self.maximum})"


def _ints(minimum: int, maximum: int) -> Number:
    return Number(int, minimum, maximum)


PREP = limits.PREPARE
#: Largest side of a rendered synthetic frame (4K): a bigger one is an error before any frame is drawn.
SYNTH_MAX_SIDE = 4096


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evm-antispoof")
def main_group():
    """Face anti-spoofing (Tu et al., CNN-LSTM with attention on motion-magnified clips)."""


DATASET_NAMES = list(DATASETS)  # the adapters' registry


@main_group.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--layout", type=click.Choice(["replay-attack", "msu-mfsd"]), default="replay-attack", show_default=True)
@click.option("--clients", type=_ints(3, 1000), default=10, show_default=True, help="Number of subjects.")
@click.option("--seed", type=_ints(0, limits.MAX_SEED), default=0, show_default=True)
@click.option(
    "--source-videos",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of real face videos to use instead of rendered faces.",
)
@click.option("--size", default="160x120", show_default=True, help="Frame size WxH (even numbers).")
@click.option("--duration", type=Number(float, 0.5, 3600.0), default=2.0, show_default=True, help="Seconds per video.")
@click.option("--workers", type=_ints(1, limits.MAX_WORKERS), default=1, show_default=True, help="Parallel processes.")
@click.option(
    "--live-motion",
    type=Number(float, 0.0, limits.MAX_LIVE_MOTION),
    default=1.0,
    show_default=True,
    help="Scale of the rendered faces' motion (sway, breathing, turns, blinks, speech), live and replayed: "
    "0 motionless, 1 usual; the attack media's own motion is unchanged (docs/experiments.md).",
)
@click.option("--overwrite", is_flag=True)
def synth(
    out: Path,
    layout: str,
    clients: int,
    seed: int,
    source_videos: Path | None,
    size: str,
    duration: float,
    workers: int,
    live_motion: float,
    overwrite: bool,
):
    """Generate a synthetic dataset with the exact file names and annotations of LAYOUT."""
    from antispoof.data.synth import generate
    from evm.batch import find_inputs

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter("expected WxH, e.g. 320x240", param_hint="--size") from None
    if not (32 <= w <= SYNTH_MAX_SIDE and 32 <= h <= SYNTH_MAX_SIDE):
        raise click.BadParameter(f"sides must be in [32, {SYNTH_MAX_SIDE}], got {w}x{h}", param_hint="--size")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise click.ClickException(f"{out}: folder is not empty (pass --overwrite to write into it)")
    if source_videos and live_motion != 1.0:
        raise click.UsageError("--live-motion scales rendered faces; it cannot be used with --source-videos")
    sources = find_inputs(source_videos) if source_videos else None
    root = generate(
        out,
        layout,
        clients=clients,
        seed=seed,
        source_videos=sources,
        size=(w, h),
        duration=duration,
        overwrite=overwrite,
        workers=workers,
        live_motion=live_motion,
    )
    click.echo(f"wrote a {layout} tree with {clients} clients to {root}", err=True)


@main_group.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--dataset", "name", type=click.Choice(DATASET_NAMES), required=True)
@click.option("--protocol", help="A protocol of the dataset (default: its main one).")
@click.option("--json", "as_json", is_flag=True, help="Every record and the counts as JSON.")
@click.option("--verify", is_flag=True, help="Also open every video (slow): reports unreadable files.")
def index(root: Path, name: str, protocol: str | None, as_json: bool, verify: bool):
    """List a dataset's videos and split counts: check that a local copy is complete."""
    from antispoof.data import open_dataset
    from antispoof.data.datasets import format_summary

    ds = open_dataset(name, root)
    problems = list(ds.problems) + (ds.verify_videos() if verify else [])
    chosen = ds.protocol(protocol)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dataset": name,
                    "root": str(root),
                    "protocols": list(ds.protocols),
                    "protocol": protocol or ds.default_protocol,
                    "summary": ds.summary(),
                    "splits": {split: [r.as_dict() for r in recs] for split, recs in chosen.items()},
                    "problems": [p.as_dict() for p in problems],
                },
                indent=1,
            )
        )
    else:
        click.echo(format_summary(ds.summary()))
        for p in problems:
            click.echo(f"problem: {p}", err=True)
    if problems:
        raise click.exceptions.Exit(1)


@main_group.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--dataset", "name", type=click.Choice(DATASET_NAMES), required=True)
@click.option("--out", "cache", type=click.Path(path_type=Path), required=True, help="Cache folder (created).")
@magnification_options
@click.option("--no-magnify", is_flag=True, help="Crop only (the paper's variants without M).")
@click.option(
    "--profile",
    type=click.Choice(PROFILE_CHOICES),
    default="auto",
    show_default=True,
    help="Starting settings: cpu (64-px crops for the small CPU network), paper (224 px for VGG-16); auto: "
    "paper with a CUDA GPU, cpu without. Options given explicitly override the profile's values.",
)
@click.option(
    "--size", type=_ints(16, PREP["size"]), help="Crop side in pixels [profile: cpu 64, paper 224].", default=None
)
@click.option(
    "--border",
    type=Number(float, 1.0, PREP["border"]),
    help="Crop side = border x face box side (background included) [profile: 1.6].",
    default=None,
)
@click.option("--clip-len", type=_ints(1, PREP["clip_len"]), help="Frames per clip [profile: 8].", default=None)
@click.option(
    "--frame-step",
    type=_ints(1, PREP["frame_step"]),
    help="Frame step inside a clip [profile: cpu 3, paper 2].",
    default=None,
)
@click.option(
    "--clips-per-video",
    type=_ints(1, PREP["clips_per_video"]),
    help="Clips spread evenly over each video [profile: cpu 4, paper 3].",
    default=None,
)
@click.option(
    "--warmup",
    type=Number(float, 0.0, PREP["warmup"]),
    help="Seconds skipped at the start of each video (the temporal filter's start-up), when it is long enough "
    "[profile: cpu 0.5, paper 1].",
    default=None,
)
@click.option(
    "--crop-order",
    "crop_order",
    type=click.Choice(["crop-first", "magnify-first"]),
    default="crop-first",
    show_default=True,
    help="Crop the face then magnify the crop (fast, default), or magnify full frames first.",
)
@click.option(
    "--detector",
    type=click.Path(exists=True, dir_okay=False),
    help="YuNet .onnx face model (default: OpenCV Haar, for videos without annotations).",
)
@click.option("--workers", type=_ints(1, limits.MAX_WORKERS), default=1, show_default=True)
@click.option("--executor", type=click.Choice(["process", "dask"]), default="process", show_default=True)
@click.option("--scheduler", help="Dask scheduler address.")
@click.option("--retry-crashed", is_flag=True, help="Retry videos whose worker process died in an earlier run.")
@click.option("-q", "--quiet", is_flag=True)
def prepare(
    root: Path,
    name: str,
    cache: Path,
    no_magnify: bool,
    profile: str,
    size: int | None,
    border: float | None,
    clip_len: int | None,
    frame_step: int | None,
    clips_per_video: int | None,
    warmup: float | None,
    crop_order: str,
    detector: str | None,
    workers: int,
    executor: str,
    scheduler: str | None,
    retry_crashed: bool,
    quiet: bool,
    **opts,
):
    """Face crops of every video, motion-magnified, as a memory-mappable clip cache (resumable)."""
    from antispoof.cache import PrepareConfig, check_magnify, first_video_fps
    from antispoof.cache import prepare as run_prepare
    from antispoof.data import open_dataset

    chosen, said = _resolve_profile(profile, None)
    given = {"size": size, "border": border, "clip_len": clip_len, "frame_step": frame_step,
             "clips_per_video": clips_per_video, "warmup": warmup}  # fmt: skip
    crops = {k: chosen.prepare[k] if v is None else v for k, v in given.items()}
    if opts.get("alpha") is None and not opts.get("preset"):  # a preset brings its own alpha
        opts["alpha"] = chosen.prepare["alpha"]
    params, sample_fps = params_from_options(opts)
    if sample_fps:
        raise click.UsageError("--fps is not used by prepare (each video's own frame rate is)")
    config = PrepareConfig(**crops, magnify=None if no_magnify else params, order=crop_order)
    if detector:
        _check_detector(detector)
    ds = open_dataset(name, root)
    fps = None if no_magnify else first_video_fps(ds)
    if fps:  # fail on bad settings now, not once per video
        check_magnify(config, fps)
    result = run_prepare(
        ds,
        cache,
        config,
        detector=detector,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        progress=show_progress(quiet),
        retry_crashed=retry_crashed,
    )
    click.echo(
        f"{result.done} prepared, {result.skipped} already done, {result.failed} failed of {result.total} "
        f"in {result.seconds:.1f} s ({result.videos_per_second:.2f} videos/s); "
        f"{result.bytes / 1e6:.1f} MB in {result.cache_dir}; {said}",
        err=True,
    )
    for key, error in result.failures:
        click.echo(f"failed: {key}: {error}", err=True)
    if result.failed:
        raise click.exceptions.Exit(1)


def _resolve_profile(name: str, cache_config: dict | None):
    """The :class:`antispoof.profiles.Profile` of ``--profile`` (``auto`` resolved) and the words that
    say which and why, for the command's closing line."""
    from antispoof.profiles import auto_profile, get_profile

    if name != "auto":
        return get_profile(name), f"profile {name}"
    chosen, why = auto_profile(cache_config)
    return chosen, f"profile {chosen.name} ({why})"


def _check_detector(spec: str) -> None:
    """Load ``--detector`` once up front: an unusable model file is one user error, not a failure per video."""
    from antispoof.cache import make_detector
    from antispoof.data.faces import FaceDetectorError

    try:
        make_detector(spec)
    except FaceDetectorError as exc:
        raise click.ClickException(" ".join(str(exc).split())) from None


@main_group.command()
@click.argument("cache", type=click.Path(path_type=Path))
@click.option("--out", "run_dir", type=click.Path(path_type=Path), required=True, help="Run folder (created).")
@click.option("--protocol", help="Dataset protocol (default: the dataset's main one, e.g. grandtest).")
@click.option(
    "--profile",
    type=click.Choice(PROFILE_CHOICES),
    default="auto",
    show_default=True,
    help="Starting settings of the model and training: cpu (small trunk, minutes on a CPU) or paper (VGG-16, "
    "the paper's training, needs a GPU); auto: the one the cache was prepared with, else paper with a CUDA GPU "
    "and cpu without. Options given explicitly override the profile's values.",
)
@click.option(
    "--backbone", type=click.Choice(["vgg16", "small"]), help="[profile: cpu small, paper vgg16]", default=None
)
@click.option(
    "--architecture",
    type=click.Choice(["cnn_lstm", "frame_cnn"]),
    default="cnn_lstm",
    show_default=True,
    help="frame_cnn: the plain CNN baseline (no LSTM).",
)
@click.option(
    "--pretrained",
    type=click.Path(exists=True, dir_okay=False),
    help="VGG-Face or torchvision VGG-16 state dict (.pth) for the vgg16 trunk.",
)
@click.option("--attention", type=click.Choice(["paper", "soft", "none"]), help="[profile: paper]", default=None)
@click.option("--hidden-size", type=_ints(1, limits.MAX_WIDTH), help="LSTM size [profile: 256].", default=None)
@click.option(
    "--projection-dim",
    type=_ints(1, limits.MAX_WIDTH),
    help="Learned linear map of the flattened pool features to this size before the LSTM (default: none, the paper).",
)
@click.option(
    "--temporal-delta/--no-temporal-delta",
    default=None,
    help="Feed the LSTM each frame's features and their change since the previous frame (not in the paper) "
    "[profile: cpu on, paper off].",
)
@click.option(
    "--motion-stream",
    type=_ints(0, limits.MAX_WIDTH),
    help="Channels of a small CNN on the frame differences whose features join the LSTM input; 0: none (not in "
    "the paper) [profile: cpu 16, paper 0].",
    default=None,
)
@click.option(
    "--pulse-features/--no-pulse-features",
    default=False,  # ModelConfig's default (a test holds them equal; importing it here would import torch)
    show_default=True,
    help="CNN-LSTM: the classifier also reads the video's 9 rPPG features from the cache's pulse traces, "
    "standardised on the training videos (not in the paper; docs/pulse.md).",
)
@click.option(
    "--trunk-channels",
    help="Channels of the small backbone's stages, comma-separated, one conv + pool each [profile: cpu 16,32,64,128].",
    default=None,
)
@click.option("--epochs", type=_ints(1, limits.MAX_EPOCHS), help="[profile: cpu 16, paper 20]", default=None)
@click.option("--batch-size", type=_ints(1, limits.MAX_BATCH_SIZE), help="[profile: cpu 16, paper 8]", default=None)
@click.option(
    "--lr",
    type=Number(float, 0.0, 1e3, strict=True),
    help="Adam learning rate [profile: cpu 1e-3, paper 1e-5].",
    default=None,
)
@click.option(
    "--lr-schedule",
    type=click.Choice(LR_SCHEDULES),
    help="cosine: decay from --lr to 0 over --epochs [profile: cpu cosine, paper constant].",
    default=None,
)
@click.option("--weight-decay", type=Number(float, 0.0, 1e6), help="Adam L2 penalty [profile: 0].", default=None)
@click.option(
    "--lambda-cnn", type=Number(float, 0.0, 1e6), help="Weight of the per-frame CNN loss [profile: 1].", default=None
)
@click.option(
    "--patience",
    type=_ints(1, limits.MAX_EPOCHS),
    help="Early stopping (epochs without a better dev EER) [profile: cpu 16, paper 5].",
    default=None,
)
@click.option("--seed", type=_ints(0, limits.MAX_SEED), default=TrainConfig.default("seed"), show_default=True)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default=TrainConfig.default("device"), show_default=True
)
@click.option("--amp", is_flag=True, default=TrainConfig.default("amp"), help="Mixed precision (GPU).")
@click.option("--augment/--no-augment", default=True, show_default=True)
@click.option(
    "--augment-shift",
    type=_ints(0, PREP["size"] // 2),
    default=0,
    show_default=True,
    help="With --augment: translate each clip by up to this many pixels (one offset per clip).",
)
@click.option(
    "--augment-still",
    "still_prob",
    type=Number(float, 0.0, 1.0),
    help="Probability that a bona fide training clip becomes one of its frames held still, labelled attack "
    "(a photo shows no facial motion): the LSTM must then use the motion across frames [profile: cpu 0.5, paper 0].",
    default=None,
)
@click.option(
    "--still-noise",
    type=Number(float, 0.0, 1e6),
    help="With --augment-still: per-frame noise of standard deviation up to this (intensity range 0-1) "
    "[profile: cpu 0.01, paper 0].",
    default=None,
)
@click.option(
    "--workers",
    "num_workers",
    type=_ints(0, limits.MAX_WORKERS),
    default=TrainConfig.default("num_workers"),
    show_default=True,
    help="DataLoader workers.",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where it stopped.")
@click.option("-q", "--quiet", is_flag=True)
def train(
    cache: Path,
    run_dir: Path,
    protocol: str | None,
    profile: str,
    backbone: str | None,
    architecture: str,
    pretrained: str | None,
    attention: str | None,
    hidden_size: int | None,
    projection_dim: int | None,
    temporal_delta: bool | None,
    motion_stream: int | None,
    pulse_features: bool,
    trunk_channels: str | None,
    epochs: int | None,
    batch_size: int | None,
    lr: float | None,
    lr_schedule: str | None,
    weight_decay: float | None,
    lambda_cnn: float | None,
    patience: int | None,
    seed: int,
    device: str,
    amp: bool,
    augment: bool,
    augment_shift: int,
    still_prob: float | None,
    still_noise: float | None,
    num_workers: int,
    resume: bool,
    quiet: bool,
):
    """Train the CNN-LSTM on a prepared cache; the best dev-EER epoch is kept."""
    from antispoof.cache import ClipDataset, PrepareConfig, open_cache, protocol_ids
    from antispoof.rundir import RunDir
    from antispoof.training import train as run_train

    cache_dir, index = open_cache(cache)
    if not resume and RunDir(run_dir).holds_run():
        raise click.ClickException(f"{run_dir} already holds a run: pass --resume to continue it, or another --out")
    prep = PrepareConfig.from_dict(index["config"])
    chosen, said = _resolve_profile(profile, index["config"])
    m, t = chosen.model, chosen.train

    def pick(value, default):
        return default if value is None else value

    backbone = pick(backbone, "vgg16" if pretrained else m["trunk"])  # VGG-16 weights bring their trunk
    channels = {"trunk_channels": tuple(m["trunk_channels"])} if backbone == "small" else {}
    if trunk_channels is not None:
        if backbone != "small":
            raise click.UsageError("--trunk-channels is for --backbone small")
        try:
            channels = {"trunk_channels": tuple(int(c) for c in trunk_channels.split(","))}
        except ValueError:
            raise click.BadParameter(
                f"expected integers like 16,32,64,128, got {trunk_channels!r}", param_hint="--trunk-channels"
            ) from None
    ids = protocol_ids(index, protocol)
    for split in ("train", "dev"):
        if not ids[split]:
            raise click.ClickException(f"the cache has no {split} videos for protocol {protocol or 'default'}")
    train_ds = ClipDataset(cache_dir, ids["train"], augment=augment, seed=seed, shift=augment_shift,
                           pulse=pulse_features)  # fmt: skip
    dev_ds = ClipDataset(cache_dir, ids["dev"], pulse=pulse_features)
    model = {
        "architecture": architecture,
        "trunk": backbone,
        "image_size": prep.size,
        "num_frames": prep.clip_len,
        "attention": pick(attention, m["attention"]),
        "hidden_size": pick(hidden_size, m["hidden_size"]),
        "projection_dim": projection_dim,
        "temporal_delta": pick(temporal_delta, m["temporal_delta"]),
        "pulse_features": pulse_features,
        **channels,
        "weights": str(Path(pretrained).resolve()) if pretrained else None,
    }
    data = {  # absolute paths: `--resume` compares this with the stored run, whatever the cwd or spelling
        "cache": str(cache_dir.resolve()),
        "dataset": index["dataset"],
        "root": index["root"],
        "protocol": protocol,
        "prepare": index["config"],
        "detector": index.get("detector"),
    }
    if augment and augment_shift:  # recorded only when used, so that earlier runs still resume
        data["augment_shift"] = augment_shift
    if architecture == "cnn_lstm":  # the frame CNN has no LSTM to feed
        model["motion_stream"] = pick(motion_stream, m["motion_stream"])
    elif motion_stream:
        raise click.UsageError("--motion-stream is for --architecture cnn_lstm")
    settings = TrainConfig(
        epochs=pick(epochs, t["epochs"]),
        batch_size=pick(batch_size, t["batch_size"]),
        lr=pick(lr, t["lr"]),
        lr_schedule=pick(lr_schedule, t["lr_schedule"]),
        weight_decay=pick(weight_decay, t["weight_decay"]),
        lambda_cnn=pick(lambda_cnn, t["lambda_cnn"]),
        still_prob=pick(still_prob, t["still_prob"]),
        still_noise=pick(still_noise, t["still_noise"]),
        seed=seed,
        device=device,
        amp=amp,
        patience=pick(patience, t["patience"]),
        progress=show_progress(quiet),
        num_workers=num_workers,
    )
    out = run_train(model, train_ds, dev_ds, run_dir, settings, resume=resume, data=data)
    threshold = RunDir(out).read_threshold()
    click.echo(
        f"run in {out}; best epoch {threshold['epoch']}, dev EER {threshold['dev_eer']:.4f}, "
        f"threshold {threshold['threshold']:.4f}; {said}",
        err=True,
    )


@main_group.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--data", "cache", type=click.Path(path_type=Path), required=True, help="Prepared cache to test on.")
@click.option("--protocol", help="Protocol of that dataset (default: its main one).")
@click.option("--split", default="test", show_default=True)
@click.option("--out", "report_dir", type=click.Path(path_type=Path), help="Report folder (default RUN_DIR/eval-...).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def evaluate(
    run_dir: Path, cache: Path, protocol: str | None, split: str, report_dir: Path | None, device: str, as_json: bool
):
    """HTER at the training dev-set EER threshold, EER, ACC, APCER/BPCER/ACER, AUC; JSON + figures."""
    from antispoof.cache import ClipDataset, open_cache, protocol_ids
    from antispoof.evaluation import evaluate as run_evaluate
    from antispoof.evaluation import write_report

    cache_dir, index = open_cache(cache)
    ids = protocol_ids(index, protocol)
    if split not in ids or not ids[split]:
        raise click.ClickException(f"the cache has no {split} videos for protocol {protocol or 'default'}")
    from antispoof.rundir import RunDir

    run_config = RunDir(run_dir).read_config()
    trained_on = (run_config.get("data") or {}).get("prepare")
    if trained_on is not None and trained_on != index["config"]:
        # Cross-database tests use another dataset's cache, but it should be prepared the same way.
        click.echo(
            "antispoof: warning: the test cache was prepared differently from the run's training data "
            "(crop size, clips or magnification differ); the numbers may not mean what you expect",
            err=True,
        )
    test_ds = ClipDataset(cache_dir, ids[split], pulse=RunDir.takes_pulse(run_config))
    report = run_evaluate(run_dir, test_ds, attack_types=test_ds.attack_types, device=device)
    report["data"] = {"cache": str(cache_dir), "dataset": index["dataset"], "protocol": protocol, "split": split}
    report_dir = report_dir or Path(run_dir) / f"eval-{index['dataset']}-{protocol or 'default'}-{split}"
    report_dir.mkdir(parents=True, exist_ok=True)
    files = write_report(report, report_dir)
    if as_json:
        click.echo(json.dumps(report, indent=1, default=str))
    else:
        m = report["test"]
        click.echo(
            " ".join(
                f"{k}={m[k]:.4f}"
                for k in ("hter", "eer", "acc", "apcer", "bpcer", "acer", "auc")
                if isinstance(m.get(k), float)
            )
        )
        still = report.get("still_check")
        if still:
            click.echo(
                f"still check: bona fide test videos score {still['bonafide_mean_score']:.3f} on average, "
                f"{still['held_mean_score']:.3f} with their middle frame held still; "
                f"{still['held_accepted']:.1%} of the held ones are accepted",
                err=True,
            )
        click.echo(f"report: {', '.join(str(p) for p in files.values())}", err=True)


@main_group.command()
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "run_dir", type=click.Path(path_type=Path), required=True, help="Run folder of `train`.")
@click.option("--detector", type=click.Path(exists=True, dir_okay=False), help="YuNet .onnx face model.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--batch-size",
    type=_ints(1, limits.MAX_BATCH_SIZE),
    default=8,
    show_default=True,
    help="Clips scored at a time, as the video is decoded: memory does not grow with the video's length.",
)
@click.option("--json", "as_json", is_flag=True)
def predict(videos: tuple[Path, ...], run_dir: Path, detector: str | None, device: str, batch_size: int, as_json: bool):
    """Bona fide probability of each video and the decision at the run's threshold."""
    from antispoof.data.faces import FaceDetectorError
    from antispoof.predict import Predictor

    try:
        predictor = Predictor(run_dir, detector=detector, device=device, batch_size=batch_size)
    except FaceDetectorError as exc:  # an unusable --detector model: a user error, one line
        raise click.ClickException(" ".join(str(exc).split())) from None
    results = [predictor(v) for v in videos]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], indent=1))
    for r in results:
        if r.error:
            where = "" if r.error.startswith(r.path) else f"{r.path}: "
            click.echo(f"antispoof: error: {where}{r.error}", err=True)
        elif not as_json:
            verdict = "bona fide" if r.bona_fide else "ATTACK"
            click.echo(
                f"{r.path}: {verdict}  p(bona fide)={r.probability:.4f} threshold={predictor.threshold:.4f} "
                f"clips={r.clips}"
            )
    if any(r.error for r in results):
        raise click.exceptions.Exit(1)


from cli.antispoof_experiment import experiment  # noqa: E402

main_group.add_command(experiment)


def main(argv: list[str] | None = None) -> None:
    run(main_group, "antispoof", argv)  # warnings become one line each there


if __name__ == "__main__":
    main(sys.argv[1:])
