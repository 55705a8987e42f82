"""``antispoof``: face anti-spoofing with a CNN-LSTM on motion-magnified clips."""

from __future__ import annotations

import click

from cli.common import run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evm-antispoof")
def main_group():
    """Face anti-spoofing (Tu et al., CNN-LSTM with attention on motion-magnified clips)."""


def main(argv: list[str] | None = None) -> None:
    run(main_group, "antispoof", argv)


if __name__ == "__main__":
    main()
