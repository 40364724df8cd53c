"""`integrator demo`: the whole story of one week on an in-process sandbox tenant, in seconds."""

from __future__ import annotations

from pathlib import Path

import click

from integrator.demo.run import run_demo


@click.command("demo")
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=Path("var/demo"), show_default=True,
              help="Where the demo writes its config, key files, database and register files (emptied first).")
def demo(folder: Path) -> None:
    """Play one week of remote work activity on a local sandbox tenant and print the register."""
    run_demo(folder, say=click.echo)
