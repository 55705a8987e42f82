"""``antispoof experiment``: the paper's intra- and cross-database tables from a study file, or on synthetic data."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import show_progress


@click.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Study folder (default: experiment-<config name>, or synthetic-study[-quick]).",
)
@click.option("--synthetic", is_flag=True, help="Run the study on generated datasets instead of CONFIG.")
@click.option("--quick", is_flag=True, help="With --synthetic: a reduced study (about 10 minutes on 2 CPU cores).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Overrides train.device.")
@click.option("--dry-run", is_flag=True, help="Check the configuration and list the cells; run nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars (cell lines are still printed).")
def experiment(
    config: Path | None, out: Path | None, synthetic: bool, quick: bool, device: str | None, dry_run: bool, quiet: bool
):
    """Reproduce the paper's Table 1 (intra) and Table 2 (cross-database); resumable cell by cell.

    CONFIG is a TOML study file (docs/experiments.md, docs/paper-study.toml). Rerunning the same command
    continues an interrupted study at its first unfinished cell. Writes table1-intra.{md,csv},
    table2-cross.{md,csv} and experiment.json to --out and prints both tables.
    """
    from antispoof.experiment import load_config, run_experiment, synthetic_study, table_markdown

    if synthetic == (config is not None):
        raise click.UsageError("give either CONFIG or --synthetic")
    if quick and not synthetic:
        raise click.UsageError("--quick only applies to --synthetic")

    def log(line: str) -> None:
        click.echo(line, err=True)

    if synthetic:
        out = out or Path("synthetic-study-quick" if quick else "synthetic-study")
        if dry_run:
            from antispoof.experiment import SYNTHETIC

            preset = SYNTHETIC["quick" if quick else "full"]
            click.echo(f"synthetic study ({'quick' if quick else 'full'}) in {out}: data {preset['data']}")
            click.echo(f"methods {preset['study']['methods']}, seeds {preset['study']['seeds']}")
            return
        study, extra = synthetic_study(out, quick=quick, log=log)
    else:
        study = load_config(config)
        out = out or Path(f"experiment-{config.stem}")
        extra = {}
    if dry_run:
        run_experiment(study, out, log=log, device=device, dry_run=True)
        return
    summary = run_experiment(study, out, log=log, progress=show_progress(quiet), device=device, extra=extra)
    for key in ("table1", "table2"):
        if summary["tables"][key]["rows"]:
            click.echo(table_markdown(summary["tables"][key]))
    click.echo(
        f"total wall time {summary['total_wall_seconds']:.1f} s (data generation {summary['data_seconds']:.1f} s, "
        f"cells {summary['wall_seconds']:.1f} s); details in {out / 'experiment.json'}"
    )
