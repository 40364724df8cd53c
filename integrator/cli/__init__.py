"""The `integrator` command: the root group, with the commands grouped as an admin looks for them.

Each command family is a module of this package. A family's module is imported only when its
command runs (or `--help` lists it), so that `integrator --help` stays fast and a command never
pays for the vendor SDKs another one needs (msgraph alone takes over a second to import).
Options every command shares live in `options`.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from integrator.config import ConfigError
from integrator.observability.logs import setup_logging

# (section, [(name, "module:attribute")]) in the order `integrator --help` shows them.
SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Installation", [
        ("config", "integrator.cli.config:config"),
        ("db", "integrator.cli.db:db"),
        ("tenant", "integrator.cli.tenant:tenant"),
        ("staff", "integrator.cli.staff:staff"),
        ("import", "integrator.cli.clients:import_cmd"),
    ]),
    ("The week", [
        ("weekly-setup", "integrator.cli.weekly:weekly_setup"),
        ("notify", "integrator.cli.notify:notify"),
        ("nightly-sync", "integrator.cli.nightly:nightly_sync"),
        ("attendance", "integrator.cli.attendance:attendance"),
        ("clients", "integrator.cli.client_lifecycle:clients"),
        ("report", "integrator.cli.report:report"),
    ]),
    ("Service", [
        ("serve", "integrator.cli.serve:serve"),
        ("worker", "integrator.cli.worker:worker"),
    ]),
    ("Trying it out", [
        ("demo", "integrator.cli.demo:demo"),
        ("sandbox", "integrator.cli.sandbox:sandbox"),
    ]),
]
COMMANDS: dict[str, str] = {name: target for _, commands in SECTIONS for name, target in commands}


class IntegratorGroup(click.Group):
    """Commands loaded on use, listed by section; a broken config file is reported the same way
    by every command: each problem as FILE:LINE: key.path: message, exit status 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for section, commands in SECTIONS:
            rows = []
            for name, _ in commands:
                cmd = self.get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=formatter.width - 6 - 14)))
            if rows:
                with formatter.section(section):
                    formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as err:
            for problem in err.problems:
                click.echo(problem.format(), err=True)
            click.echo(f"{len(err.problems)} problem(s) in the configuration; nothing was done.", err=True)
            ctx.exit(2)


@click.group(cls=IntegratorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="integrator")
@click.option("--log-level", envvar="INTEGRATOR_LOG_LEVEL", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
              help="JSON log lines on stderr at this level and above (pseudonymous codes only).")
def cli(log_level: str) -> None:
    """Remote rehabilitative work activity on Google Workspace and Microsoft 365.

    Configuration: --config FILE on each command, else $INTEGRATOR_CONFIG, else
    config/integrator.yaml. Database: --database-url, else $INTEGRATOR_DATABASE_URL, else the
    config's database_url, else a SQLite file at ./var/integrator.db.
    """
    setup_logging(log_level)


def main(argv: list[str] | None = None) -> Any:
    """The console script: exit status 0 on success, 1 on failure, 2 on bad input."""
    try:
        rv = cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="integrator",
                      standalone_mode=False)
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        if isinstance(rv, int) and rv:
            sys.exit(rv)
        return 0
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
