"""`integrator tenant check --org X [--deep]`: verify an organisation's tenants end to end, with fix hints.

`--deep` adds reversible probes (providers/google/probe.py, providers/microsoft/probe.py): they
make what the product makes, with its permissions, and delete it again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from integrator.cli.options import config_option, load, org_option
from integrator.config import OrganisationConfig
from integrator.providers.checks import CheckResult
from integrator.providers.google.check import run_checks as google_checks
from integrator.providers.google.probe import run_probes as google_probes
from integrator.providers.microsoft.check import run_checks as microsoft_checks
from integrator.providers.microsoft.probe import run_probes as microsoft_probes

MARK = {"ok": "  OK ", "fail": " FAIL", "warn": " WARN", "skip": " SKIP"}


def all_checks(org_cfg: OrganisationConfig) -> list[CheckResult]:
    return [*google_checks(org_cfg), *microsoft_checks(org_cfg)]


def all_probes(org_cfg: OrganisationConfig) -> list[CheckResult]:
    return [*google_probes(org_cfg), *microsoft_probes(org_cfg)]


def render(results: list[CheckResult]) -> str:
    lines: list[str] = []
    for r in results:
        lines.append(f"[{MARK[r.status]}] {r.name}: {r.detail}")
        if r.status in ("fail", "warn") and r.hint:
            lines.append(f"         fix: {r.hint}")
    return "\n".join(lines)


@click.group()
def tenant() -> None:
    """Tenant configuration: verify Google Workspace and Microsoft 365 settings."""


@tenant.command("check")
@config_option
@org_option(required=True)
@click.option("--deep", is_flag=True,
              help="Also make and delete what the product makes (a draft course with its alias, a shared folder, "
                   "a Meet or Teams meeting) and send one test message: proves every permission it needs.")
def check(config_file: Path | None, org_key: str, deep: bool) -> None:
    """Check token, delegation, every scope, Classroom, Drive, shared drive (and Microsoft)."""
    settings = load(config_file)
    try:
        org_cfg = settings.organisation(org_key)
    except KeyError as err:
        raise click.BadParameter(str(err), param_hint="--org") from err
    results = all_checks(org_cfg)
    if deep:
        results += all_probes(org_cfg)
    click.echo(f"Tenant check for {org_cfg.key} ({org_cfg.name}){' with probes' if deep else ''}:")
    click.echo(render(results))
    failed = [r for r in results if r.status == "fail"]
    click.echo(f"{len(failed)} check(s) failed." if failed else "All checks passed.")
    if failed:
        sys.exit(1)
