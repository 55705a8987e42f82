"""``evm``: Eulerian video magnification from the command line.  Thin: parse, call evm, report."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path

import click

from cli.common import finite, run, show_progress

MODES = {"motion": "laplacian", "color": "gaussian", "colour": "gaussian", "phase": "riesz"}
POSITIVE = finite(min=0, min_open=True)


def _apply(options, f):
    for option in reversed(options):
        f = option(f)
    return f


def magnification_options(f):
    """The method's settings (``evm magnify``, ``evm batch``, ``antispoof prepare``)."""
    return _apply(MAGNIFICATION_OPTIONS, f)


def magnify_options(f):
    """Method settings and output file options, shared by ``evm magnify`` and ``evm batch``."""
    return _apply(MAGNIFICATION_OPTIONS + FILE_OPTIONS, f)


MAGNIFICATION_OPTIONS = [
    click.option("--preset", help="Named settings (see `evm presets`); other options override them."),
    click.option(
        "--alpha",
        type=finite(),
        help="Amplification factor (default 10; 10-60 motion, 50-150 colour; phase: motion x (1 + alpha),"
        " -1 to 0 attenuates).",
    ),
    click.option("--low", type=POSITIVE, help="Lower edge of the temporal band, Hz (default 0.4)."),
    click.option("--high", type=POSITIVE, help="Upper edge of the temporal band, Hz (default 3.0)."),
    click.option(
        "--mode",
        type=click.Choice(sorted(MODES)),
        help="motion: linear, Laplacian pyramid; color: Gaussian; phase: phase-based on a Riesz pyramid.",
    ),
    click.option(
        "--filter",
        "temporal",
        type=click.Choice(["butterworth", "ideal", "iir"]),
        help="Temporal filter (default butterworth; ideal needs the whole clip, two passes).",
    ),
    click.option("--order", type=int, help="Butterworth order (default 1)."),
    click.option("--levels", type=int, help="Pyramid levels (motion: entries incl. residual; color: halvings)."),
    click.option("--lambda-c", "lambda_c", type=POSITIVE, help="Cutoff wavelength in pixels (default 16)."),
    click.option("--chroma-attenuation", type=finite(min=0), help="Gain on I/Q of the added signal (default 0.1)."),
    click.option(
        "--sigma",
        type=finite(min=0, max=1000),
        help="Phase mode: Gaussian smoothing of the phase, pixels per level (default 2; 0: off).",
    ),
    click.option("--r1", type=finite(min=0, max=1, min_open=True), help="IIR rate of the fast low-pass (with --r2)."),
    click.option("--r2", type=finite(min=0, max=1, min_open=True), help="IIR rate of the slow low-pass (with --r1)."),
    click.option("--compat", type=click.Choice(["mit"]), help="Reproduce the MIT reference code's conventions."),
    click.option(
        "--fps",
        "sample_fps",
        type=POSITIVE,
        help="Sampling rate to assume, for high-speed footage stored at a playback rate.",
    ),
]
FILE_OPTIONS = [
    click.option("--crf", type=click.IntRange(0, 51), default=18, show_default=True, help="x264 quality."),
    click.option("--encoder-preset", default="medium", show_default=True, help="x264 speed preset."),
    click.option("--codec", help="Encoder (default libx264; ffv1 for .mkv)."),
    click.option("--side-by-side", is_flag=True, help="Write original | magnified."),
    click.option("--start", type=finite(min=0), default=0.0, help="Start at this second."),
    click.option("--duration", type=POSITIVE, help="Seconds to process."),
    click.option("--scale", type=finite(min=0, max=16, min_open=True), default=1.0, help="Resize first."),
    click.option("--no-audio", is_flag=True, help="Do not copy the input's audio."),
    click.option("--overwrite", is_flag=True, help="Replace existing outputs."),
]


def params_from_options(opts: dict):
    """MagnifyParams (and the preset's sampling rate) from parsed options."""
    from evm.presets import MagnifyParams, get_preset

    base, preset_fps = MagnifyParams(), None
    if opts.get("preset"):
        preset = get_preset(opts["preset"])
        base, preset_fps = preset.params, preset.fps
    mode = opts.get("mode")
    params = base.updated(
        alpha=opts.get("alpha"),
        low=opts.get("low"),
        high=opts.get("high"),
        pyramid=MODES[mode] if mode else None,
        temporal=opts.get("temporal"),
        order=opts.get("order"),
        levels=opts.get("levels"),
        lambda_c=opts.get("lambda_c"),
        chroma_attenuation=opts.get("chroma_attenuation"),
        r1=opts.get("r1"),
        r2=opts.get("r2"),
        compat=opts.get("compat"),
        sigma=opts.get("sigma"),
    )
    if params.pyramid != "riesz" and params.sigma is not None and opts.get("sigma") is None:
        params = replace(params, sigma=None)  # a phase preset switched to another --mode
    sample_fps = opts.get("sample_fps")
    return params, sample_fps if sample_fps is not None else preset_fps


def file_options(opts: dict, sample_fps: float | None) -> dict:
    """Keyword arguments of :func:`evm.pipeline.magnify_file` from parsed options."""
    return dict(
        fps=sample_fps,
        start=opts["start"],
        duration=opts["duration"],
        scale=opts["scale"],
        crf=opts["crf"],
        encoder_preset=opts["encoder_preset"],
        codec=opts["codec"],
        audio=not opts["no_audio"],
        side_by_side=opts["side_by_side"],
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evm-antispoof")
def main_group():
    """Eulerian Video Magnification: reveal subtle motion and colour change in video.

    EVM, phase-based processing and the Riesz pyramid are covered by MIT patents for commercial use.
    """


@main_group.command()
@click.argument("src", type=click.Path(dir_okay=True, path_type=Path))
@click.option("-o", "--output", "dst", type=click.Path(path_type=Path), help="Default: SRC-magnified.mp4 beside SRC.")
@magnify_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def magnify(src: Path, dst: Path | None, quiet: bool, **opts):
    """Magnify SRC and write a new video."""
    from evm.pipeline import magnify_file

    params, sample_fps = params_from_options(opts)
    dst = dst or src.with_name(f"{src.stem}-magnified.mp4")
    result = magnify_file(
        src,
        dst,
        params,
        **file_options(opts, sample_fps),
        overwrite=opts["overwrite"],
        progress=show_progress(quiet),
    )
    if not quiet:
        click.echo(
            f"{result.output}: {result.frames} frames {result.width}x{result.height} @ {result.fps:g} fps "
            f"in {result.seconds:.1f} s ({result.frames_per_second:.0f} frames/s)",
            err=True,
        )


@main_group.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(src: Path, as_json: bool):
    """Duration, frames, frame rate, size, rotation, codec and audio of a video."""
    from evm.io import probe

    i = probe(src)
    if as_json:
        click.echo(json.dumps(i.as_dict(), indent=2))
        return
    click.echo(f"file       {i.path}")
    click.echo(f"size       {i.width}x{i.height}" + (f" (rotated {i.rotation} deg)" if i.rotation else ""))
    click.echo(f"frames     {i.frames}" + ("" if i.frames_exact else " (estimated)"))
    click.echo(f"fps        {i.fps:.6g} ({i.fps_exact})" + (", VARIABLE frame rate" if i.variable_frame_rate else ""))
    click.echo(f"duration   {i.duration:.3f} s")
    click.echo(f"codec      {i.codec} {i.pix_fmt}")
    click.echo(f"audio      {i.audio or 'none'}")


@main_group.command()
@click.argument("src_dir", type=click.Path(path_type=Path))
@click.argument("out_dir", type=click.Path(path_type=Path))
@magnify_options
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Parallel processes (Numba threads per worker = cores / workers).",
)
@click.option("--pattern", "patterns", multiple=True, help="Glob(s) of input files (default: common video types).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mp4", "mkv", "npy"]),
    default="mp4",
    show_default=True,
    help="mp4: H.264; mkv: lossless FFV1; npy: raw frames (memory-mappable).",
)
@click.option("--executor", type=click.Choice(["process", "dask"]), default="process", show_default=True)
@click.option("--scheduler", help="Dask scheduler address (with --executor dask); default: a local cluster.")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True, help="Dask retries per file.")
@click.option(
    "--keep-suffix",
    is_flag=True,
    help="Name outputs after the whole input name (a.mov -> a.mov.mp4), for folders holding a.mp4 and a.mov.",
)
@click.option("--retry-crashed", is_flag=True, help="Retry files whose worker process died in an earlier run.")
@click.option("--dry-run", is_flag=True, help="List what would be done and exit.")
@click.option("-q", "--quiet", is_flag=True)
def batch(
    src_dir: Path,
    out_dir: Path,
    workers: int,
    patterns: tuple,
    fmt: str,
    executor: str,
    scheduler: str | None,
    retries: int,
    keep_suffix: bool,
    retry_crashed: bool,
    dry_run: bool,
    quiet: bool,
    **opts,
):
    """Magnify every video under SRC_DIR into OUT_DIR, mirroring the tree.

    Resumable: OUT_DIR/manifest.jsonl records each file; a re-run skips files done
    with the same parameters and retries failed ones (not those that crashed their
    worker process: see --retry-crashed).  Existing outputs this batch did not write
    are left alone unless --overwrite.  Exit status 1 if any file is not done.
    """
    from evm.batch import MANIFEST, VIDEO_PATTERNS, Job, check_clashes, find_inputs, plan_jobs, run_batch
    from evm.pipeline import batch_params, magnify_job

    params, sample_fps = params_from_options(opts)
    options = file_options(opts, sample_fps)
    options["audio"] = options["audio"] and fmt != "npy"
    job_params = batch_params(params, **options)
    inputs = find_inputs(src_dir, patterns or VIDEO_PATTERNS)
    out_root = out_dir.resolve()
    jobs = []
    for path in inputs:
        if out_root == path.resolve().parent or out_root in path.resolve().parents:
            continue  # never re-process our own outputs when OUT_DIR lies inside SRC_DIR
        rel = path.relative_to(src_dir)
        name = rel.name + "." + fmt if keep_suffix else rel.with_suffix("." + fmt).name
        jobs.append(Job(str(rel), str(path), str(out_dir / rel.parent / name), job_params))
    if not jobs:
        raise click.ClickException(f"no input videos found under {src_dir}")
    check_clashes(jobs, "" if keep_suffix else f"; --keep-suffix names outputs after the whole input name "
                                                  f"(a.mov -> a.mov.{fmt})")  # fmt: skip
    overwrite = opts["overwrite"]
    plan = plan_jobs(jobs, out_dir, overwrite=overwrite, retry_crashed=retry_crashed)
    if plan.todo:  # judged on a file to do: never on one held back for crashing its worker
        _check_settings_on(Path(plan.todo[0].src), params, sample_fps, opts["scale"])
    if dry_run:
        for job in plan.todo:
            click.echo(f"would magnify {job.src} -> {job.dst}")
        _report_left([(j.key, j.dst) for j in plan.refused], [(j.key, e) for j, e in plan.held_back])
        click.echo(f"{len(plan.todo)} to do, {len(plan.skipped)} already done", err=True)
        return
    summary = run_batch(
        jobs,
        magnify_job,
        out_dir,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        retries=retries,
        progress=show_progress(quiet),
        overwrite=overwrite,
        retry_crashed=retry_crashed,
    )
    left = "".join(f", {n} {what}" for n, what in ((len(summary.refused), "refused (existing output)"),
                   (len(summary.held_back), "held back (crashed before)")) if n)  # fmt: skip
    click.echo(
        f"{summary.done} done, {summary.skipped} skipped (already done), {summary.failed} failed{left} "
        f"of {summary.total} in {summary.seconds:.1f} s; manifest: {out_dir / MANIFEST}",
        err=True,
    )
    for key, error in summary.failures:
        click.echo(f"failed: {key}: {error}", err=True)
    _report_left(summary.refused, summary.held_back)
    if not summary.ok:
        raise click.exceptions.Exit(1)


def _report_left(refused, held_back) -> None:
    """One line per file a batch leaves alone, with the option that changes it."""
    for _, dst in refused:
        click.echo(f"refused: {dst}: exists and this batch did not write it (--overwrite replaces it)", err=True)
    for key, error in held_back:
        click.echo(f"held back: {key}: {error} (--retry-crashed tries it again)", err=True)


def _check_settings_on(path: Path, params, sample_fps: float | None, scale: float) -> None:
    """Fail before the batch starts when the settings cannot work (e.g. a band above Nyquist),
    judged on the first input; an unreadable first input is left to the batch to report."""
    from evm.io import VideoError, probe
    from evm.magnify import Magnifier

    try:
        info = probe(path)
    except VideoError:
        return
    h, w = max(1, round(info.height * scale)), max(1, round(info.width * scale))
    try:
        Magnifier((h, w, 3), sample_fps or info.fps, **params.as_kwargs())
    except ValueError as exc:
        raise click.ClickException(
            f"{exc} (checked on {path.name}: {w}x{h} @ {sample_fps or info.fps:g} fps)"
        ) from None


@main_group.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--roi", help="Region x,y,w,h in pixels (default: the whole frame).")
@click.option(
    "--low", type=finite(min=0), default=0.1, show_default=True, help="Search the peak from this frequency (Hz)."
)
@click.option("--high", type=POSITIVE, help="... up to this frequency (Hz); default Nyquist.")
@click.option("-o", "--output", "plot", type=click.Path(path_type=Path), help="Write a plot (PNG).")
@click.option("--start", type=finite(min=0), default=0.0)
@click.option("--duration", type=POSITIVE)
@click.option("--overwrite", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def spectrum(
    src: Path,
    roi: str | None,
    low: float,
    high: float | None,
    plot: Path | None,
    start: float,
    duration: float | None,
    overwrite: bool,
    as_json: bool,
):
    """Temporal spectrum of the mean intensity of a region: which band to magnify.

    Prints the dominant frequency (Hz and per minute, e.g. a pulse in bpm).
    """
    from evm.io import VideoReader, atomic_output, check_output_path
    from evm.visualize import dominant_frequency, mean_intensity, temporal_spectrum

    region = parse_roi(roi) if roi else None
    reader = VideoReader(src, start=start, duration=duration)
    if plot is not None:  # fail early, before decoding
        check_output_path(plot, overwrite=overwrite)
    signal = mean_intensity(reader, region)
    freqs, amp = temporal_spectrum(signal, reader.fps)
    luma = amp @ [0.299, 0.587, 0.114]
    peak = dominant_frequency(freqs, luma, low, high)
    result = {
        "file": str(src),
        "fps": reader.fps,
        "frames": len(signal),
        "resolution_hz": reader.fps / len(signal),
        "dominant_hz": peak,
        "dominant_per_minute": peak * 60,
        "roi": region,
    }
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(
            f"dominant frequency {peak:.3f} Hz ({peak * 60:.1f} per minute), "
            f"resolution {result['resolution_hz']:.3f} Hz over {len(signal)} frames"
        )
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4))
        for c, colour in enumerate(("tab:red", "tab:green", "tab:blue")):
            ax.plot(freqs, amp[:, c], color=colour, lw=0.8, alpha=0.7, label="RGB"[c])
        ax.plot(freqs, luma, color="black", lw=1.2, label="Y")
        ax.axvline(peak, color="gray", ls="--", lw=1)
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("amplitude (grey levels)")
        ax.set_title(f"{src.name}: peak {peak:.3f} Hz = {peak * 60:.1f}/min")
        ax.set_xlim(0, freqs[-1])
        ax.legend()
        fig.tight_layout()
        with atomic_output(plot, overwrite=overwrite) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)
        click.echo(f"wrote {plot}", err=True)


def parse_roi(text: str) -> tuple[int, int, int, int]:
    """``--roi x,y,w,h`` as four integers."""
    try:
        region = tuple(int(v) for v in text.split(","))
    except ValueError:
        region = ()
    if len(region) != 4:
        raise click.BadParameter(f"expected x,y,w,h integers, got {text!r}", param_hint="--roi")
    return region


@main_group.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--roi", help="Region x,y,w,h in pixels, or 'face' (detected in the first 2 s). Default: the whole frame."
)
@click.option("--method", type=click.Choice(["pos", "chrom", "green", "evm"]), default="pos", show_default=True)
@click.option("--skin/--no-skin", default=None, help="Average skin pixels only (default: on, off with --roi x,y,w,h).")
@click.option("--low", type=POSITIVE, default=40.0, show_default=True, help="Lowest heart rate searched, bpm.")
@click.option("--high", type=POSITIVE, default=180.0, show_default=True, help="Highest heart rate searched, bpm.")
@click.option("--window", type=POSITIVE, default=10.0, show_default=True, help="Sliding window, seconds.")
@click.option("--hop", type=POSITIVE, default=1.0, show_default=True, help="Step of the sliding window, seconds.")
@click.option("--start", type=finite(min=0), default=0.0, help="Start at this second.")
@click.option("--duration", type=POSITIVE, help="Seconds to analyse.")
@click.option("-o", "--output", "plot", type=click.Path(path_type=Path), help="Plot: trace, rate over time, spectrum.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), help="Write the pulse trace (frame, time, value).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output, sliding windows included.")
def pulse(src: Path, roi, method, skin, low, high, window, hop, start, duration, plot, csv_path, overwrite, as_json):
    """Heart rate of the face in SRC (remote photoplethysmography), with its quality (spectral SNR).

    Prints the whole-clip estimate in bpm and its SNR in dB; an estimate under 3 dB, or from a region
    too dark or without skin, is reported as not reliable with the reason.
    """
    from evm.io import VideoReader, atomic_output, check_output_path
    from evm.pulse import estimate_pulse

    outputs = [p for p in (plot, csv_path) if p is not None]
    if len(outputs) == 2 and plot.resolve() == csv_path.resolve():
        raise click.UsageError("-o and --csv name the same file")
    for path in outputs:  # fail early, before decoding
        check_output_path(path, overwrite=overwrite, inputs=[src])
    reader = VideoReader(src, start=start, duration=duration)
    if reader.expected_frames == 0:
        lasts = reader.info.duration
        raise click.ClickException(f"{src}: no frames after --start {start:g} s (it lasts {lasts:.1f} s)")
    region = None
    if roi == "face":
        region = _face_region(reader)
    elif roi:
        region = parse_roi(roi)
    skin = (roi is None or roi == "face") if skin is None else skin
    trace, rows = [], None
    with contextlib.ExitStack() as stack:
        if csv_path is not None:
            rows = stack.enter_context(atomic_output(csv_path, overwrite=overwrite)).open("w")
            stack.callback(rows.close)
            rows.write("frame,time_s,pulse\n")

        def keep(first: int, samples) -> None:
            if plot is not None:
                trace.append(samples)
            if rows is not None:
                rows.writelines(f"{first + i},{(first + i) / reader.fps:.4f},{v:.6g}\n" for i, v in enumerate(samples))

        result = estimate_pulse(
            reader, reader.fps, method=method, roi=region, skin=skin, window=window, hop=hop,
            band_bpm=(low, high), on_trace=keep,
        )  # fmt: skip
        if rows is not None:
            rows.close()
    _report_pulse(src, result, as_json)
    if plot is not None:
        import numpy as np

        from evm.visualize import pulse_figure

        fig = pulse_figure(result, np.concatenate(trace), title=src.name)
        with atomic_output(plot, overwrite=overwrite) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        click.echo(f"wrote {plot}", err=True)
    if csv_path is not None:
        click.echo(f"wrote {csv_path}", err=True)


def _face_region(reader) -> tuple[int, int, int, int]:
    """``--roi face``: the skin rectangle of the face found in the first 2 s."""
    from evm.face import face_box, skin_region

    try:
        box = face_box(reader, max_frames=max(1, round(2 * reader.fps)))
    except ValueError as exc:
        raise click.ClickException(f"{exc} of {reader.path}; give the region with --roi x,y,w,h") from None
    return skin_region(box, (reader.height, reader.width))


def _report_pulse(src: Path, result, as_json: bool) -> None:
    import numpy as np

    from evm.pulse import MIN_SNR_DB

    if as_json:
        click.echo(json.dumps({"file": str(src), **result.as_dict()}, indent=2))
        return
    x, y, w, h = result.roi
    where = f"{result.method.upper()}, {result.frames} frames = {result.seconds:.1f} s, roi {x},{y},{w},{h}" + (
        ", skin" if result.skin else ""
    )
    if result.reliable:
        click.echo(f"{src.name}: {result.bpm:.1f} bpm, SNR {result.snr_db:.1f} dB ({where})")
    else:
        peak = f"strongest in-band peak {result.bpm:.1f} bpm" if np.isfinite(result.bpm) else "no signal in the band"
        click.echo(f"{src.name}: no reliable pulse: {result.reason}; {peak} ({where})")
    rates = result.window_bpm[np.isfinite(result.window_bpm)]
    if len(rates):
        good = int((result.window_snr_db >= MIN_SNR_DB).sum())
        click.echo(
            f"over time: {len(result.times)} window(s) of {result.window:g} s, {good} with SNR >= {MIN_SNR_DB:g} dB; "
            f"{rates.min():.1f}-{rates.max():.1f} bpm, median {float(np.median(rates)):.1f}"
        )


@main_group.command(name="slice")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--row", type=click.IntRange(min=0), help="Image row for an XT slice.")
@click.option("--col", type=click.IntRange(min=0), help="Image column for a YT slice.")
@click.option(
    "--compare", type=click.Path(path_type=Path), help="A second video (e.g. the magnified one), shown beside."
)
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="PNG to write.")
@click.option("--overwrite", is_flag=True)
def slice_cmd(src: Path, row: int | None, col: int | None, compare: Path | None, out: Path, overwrite: bool):
    """Spatio-temporal slice image (XT: one row over time; YT: one column), before | after."""
    from evm.io import VideoReader, check_output_path
    from evm.visualize import save_png, side_by_side_slices, spatiotemporal_slice

    if (row is None) == (col is None):
        raise click.UsageError("give exactly one of --row and --col")
    check_output_path(out, overwrite=overwrite)  # fail early, before decoding
    image = spatiotemporal_slice(VideoReader(src), row=row, col=col)
    if compare is not None:
        other = spatiotemporal_slice(VideoReader(compare), row=row, col=col)
        n = min(image.shape[0 if row is not None else 1], other.shape[0 if row is not None else 1])
        if row is not None:
            image, other = image[:n], other[:n]
        else:
            image, other = image[:, :n], other[:, :n]
        if image.shape != other.shape:
            raise click.ClickException(f"{src} and {compare} differ in size: {image.shape} vs {other.shape}")
        image = side_by_side_slices(image, other)
    save_png(out, image, overwrite=overwrite)
    click.echo(f"wrote {out} ({image.shape[1]}x{image.shape[0]})", err=True)


@main_group.command()
def presets():
    """List the named settings and where they come from."""
    from evm.presets import PRESETS

    for p in PRESETS.values():
        q = p.params
        mode = {"gaussian": "color ", "riesz": "phase "}.get(q.pyramid, "motion")
        extra = f", fps {p.fps:g}" if p.fps else ""
        if q.pyramid == "riesz":
            from evm.phase import DEFAULT_SIGMA

            spatial = f"sigma {DEFAULT_SIGMA if q.sigma is None else q.sigma:g}"
        else:
            spatial = f"lambda_c {q.lambda_c:g}, chroma {q.chroma_attenuation:g}"
        click.echo(
            f"{p.name:15s} {mode} alpha {q.alpha:g}, {q.low:.3g}-{q.high:.3g} Hz, {q.temporal}, {spatial}{extra}"
        )
        click.echo(f"{'':15s} {p.description}")
        click.echo(f"{'':15s} source: {p.source}")


@main_group.command()
@click.option(
    "-o",
    "--output",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("evm-demo"),
    show_default=True,
    help="Folder for the demo's files (created).",
)
@click.option("--overwrite", is_flag=True, help="Replace files from an earlier demo.")
def demo(folder: Path, overwrite: bool):
    """Magnify a built-in synthetic clip: side-by-side video and an XT slice image.

    The clip is a disc that 'breathes' by 0.35 pixel at 1.2 Hz on a textured
    background: invisible in the input, obvious in the output.
    """
    import time

    import numpy as np

    from evm import Magnifier
    from evm.io import VideoWriter
    from evm.synthetic import demo_scene
    from evm.visualize import save_png, side_by_side_slices, spatiotemporal_slice

    folder.mkdir(parents=True, exist_ok=True)
    fps = 30.0
    clip = demo_scene(frames=150, fps=fps)
    m = Magnifier(clip.shape[1:], fps, alpha=15, low=0.8, high=2.0, lambda_c=16)
    first = m.process(clip[:2])  # compiles the kernels on the very first run (cached afterwards)
    t0 = time.perf_counter()
    out = np.concatenate([first, m.process(clip[2:])])
    seconds = time.perf_counter() - t0
    with VideoWriter(folder / "demo-input.mp4", fps, overwrite=overwrite) as w:
        w.write(clip)
    with VideoWriter(folder / "demo-side-by-side.mp4", fps, overwrite=overwrite) as w:
        w.write(np.concatenate([clip, out], axis=2))
    row = clip.shape[1] // 2
    image = side_by_side_slices(spatiotemporal_slice(clip, row=row), spatiotemporal_slice(out, row=row))
    save_png(folder / "demo-xt-slice.png", image, overwrite=overwrite)
    click.echo(
        f"magnified {len(clip)} frames {clip.shape[2]}x{clip.shape[1]} in {seconds:.2f} s "
        f"({(len(clip) - 2) / seconds:.0f} frames/s)"
    )
    for name in ("demo-input.mp4", "demo-side-by-side.mp4", "demo-xt-slice.png"):
        click.echo(f"wrote {folder / name}")


def main(argv: list[str] | None = None) -> None:
    from evm._kernels import skip_blas_probe

    skip_blas_probe()  # this process is the evm command's own: a faster, leaner start
    run(main_group, "evm", argv)


if __name__ == "__main__":
    main()
