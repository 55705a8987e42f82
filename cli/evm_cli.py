"""``evm``: Eulerian video magnification from the command line.  Thin: parse, call evm, report."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.common import run

MODES = {"motion": "laplacian", "color": "gaussian", "colour": "gaussian"}


def magnify_options(f):
    """Options shared by ``evm magnify`` and ``evm batch``."""
    options = [
        click.option("--preset", help="Named settings (see `evm presets`); other options override them."),
        click.option("--alpha", type=float, help="Amplification factor (default 10; 10-60 motion, 50-150 colour)."),
        click.option("--low", type=float, help="Lower edge of the temporal band, Hz (default 0.4)."),
        click.option("--high", type=float, help="Upper edge of the temporal band, Hz (default 3.0)."),
        click.option("--mode", type=click.Choice(sorted(MODES)), help="motion: Laplacian pyramid; color: Gaussian."),
        click.option("--filter", "temporal", type=click.Choice(["butterworth", "ideal", "iir"]),
                     help="Temporal filter (default butterworth; ideal needs the whole clip, two passes)."),
        click.option("--order", type=int, help="Butterworth order (default 1)."),
        click.option("--levels", type=int, help="Pyramid levels (motion: entries incl. residual; color: halvings)."),
        click.option("--lambda-c", "lambda_c", type=float, help="Cutoff wavelength in pixels (default 16)."),
        click.option("--chroma-attenuation", type=float, help="Gain on I/Q of the added signal (default 0.1)."),
        click.option("--r1", type=float, help="IIR rate of the fast low-pass (with --r2)."),
        click.option("--r2", type=float, help="IIR rate of the slow low-pass (with --r1)."),
        click.option("--compat", type=click.Choice(["mit"]), help="Reproduce the MIT reference code's conventions."),
        click.option("--fps", "sample_fps", type=float,
                     help="Sampling rate to assume, for high-speed footage stored at a playback rate."),
        click.option("--crf", type=click.IntRange(0, 51), default=18, show_default=True, help="x264 quality."),
        click.option("--encoder-preset", default="medium", show_default=True, help="x264 speed preset."),
        click.option("--codec", help="Encoder (default libx264; ffv1 for .mkv)."),
        click.option("--side-by-side", is_flag=True, help="Write original | magnified."),
        click.option("--start", type=click.FloatRange(min=0), default=0.0, help="Start at this second."),
        click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="Seconds to process."),
        click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, help="Resize first."),
        click.option("--no-audio", is_flag=True, help="Do not copy the input's audio."),
        click.option("--overwrite", is_flag=True, help="Replace existing outputs."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


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
    )
    return params, opts.get("sample_fps") or preset_fps


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evm-antispoof")
def main_group():
    """Eulerian Video Magnification: reveal subtle motion and colour change in video.

    EVM is covered by MIT patents for commercial use.
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
        src, dst, params, fps=sample_fps, start=opts["start"], duration=opts["duration"], scale=opts["scale"],
        crf=opts["crf"], encoder_preset=opts["encoder_preset"], codec=opts["codec"], audio=not opts["no_audio"],
        side_by_side=opts["side_by_side"], overwrite=opts["overwrite"], progress=not quiet,
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
def presets():
    """List the named settings and where they come from."""
    from evm.presets import PRESETS

    for p in PRESETS.values():
        q = p.params
        mode = "color " if q.pyramid == "gaussian" else "motion"
        extra = f", fps {p.fps:g}" if p.fps else ""
        click.echo(
            f"{p.name:10s} {mode} alpha {q.alpha:g}, {q.low:.3g}-{q.high:.3g} Hz, {q.temporal}, "
            f"lambda_c {q.lambda_c:g}, chroma {q.chroma_attenuation:g}{extra}"
        )
        click.echo(f"{'':10s} {p.description}")
        click.echo(f"{'':10s} source: {p.source}")


@main_group.command()
@click.option("-o", "--output", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("evm-demo"),
              show_default=True, help="Folder for the demo's files (created).")
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
    first = m.process(clip[:1])  # compiles the kernels on the very first run (cached afterwards)
    t0 = time.perf_counter()
    out = np.concatenate([first, m.process(clip[1:])])
    seconds = time.perf_counter() - t0
    with VideoWriter(folder / "demo-input.mp4", fps, overwrite=overwrite) as w:
        w.write(clip)
    with VideoWriter(folder / "demo-side-by-side.mp4", fps, overwrite=overwrite) as w:
        w.write(np.concatenate([clip, out], axis=2))
    row = clip.shape[1] // 2
    image = side_by_side_slices(spatiotemporal_slice(clip, row=row), spatiotemporal_slice(out, row=row))
    save_png(folder / "demo-xt-slice.png", image, overwrite=overwrite)
    click.echo(f"magnified {len(clip)} frames {clip.shape[2]}x{clip.shape[1]} in {seconds:.2f} s "
               f"({(len(clip) - 1) / seconds:.0f} frames/s)")
    for name in ("demo-input.mp4", "demo-side-by-side.mp4", "demo-xt-slice.png"):
        click.echo(f"wrote {folder / name}")


def main(argv: list[str] | None = None) -> None:
    run(main_group, "evm", argv)


if __name__ == "__main__":
    main()
