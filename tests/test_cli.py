"""The `integrator` command: every subcommand is importable and documents itself."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from integrator.cli import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_loads_and_has_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert len(result.output.strip().splitlines()) > 2


def test_top_level_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_the_console_script_runs_as_a_real_process(tmp_path: object) -> None:
    out = subprocess.run([sys.executable, "-m", "integrator", "--version"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "0.1.0" in out.stdout


def test_a_job_given_a_broken_config_prints_the_problems_and_exits_2(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("organisations:\n  - key: raisio\n    name: Raisio\n    groupz: []\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "integrator", "weekly-setup", "--week", "2026-W49",
                          "--config", str(bad), "--dry-run"], capture_output=True, text=True, timeout=120,
                         check=False, env={**__import__("os").environ,
                                           "INTEGRATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "bad.yaml:4" in out.stderr and "groupz" in out.stderr
