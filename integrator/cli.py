"""The `integrator` command.

Subcommands live beside the code they drive and are imported only when used, so that
`integrator --help` stays fast and one broken area cannot break every command.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

# name -> "module:attribute" of a click command or group
COMMANDS: dict[str, str] = {
    "db": "integrator.store.cli:db",
    "config": "integrator.config_cli:config",
    "import": "integrator.importer:import_cmd",
    "staff": "integrator.web.cli:staff",
    "sandbox": "integrator.sandbox.cli:sandbox",
    "tenant": "integrator.jobs.tenant_check:tenant",
    "weekly-setup": "integrator.jobs.weekly_setup_cli:weekly_setup",
    "notify": "integrator.jobs.notify_cli:notify",
    "nightly-sync": "integrator.jobs.nightly_sync_cli:nightly_sync",
    "report": "integrator.reports.cli:report",
    "serve": "integrator.web.cli:serve",
    "demo": "integrator.demo.run:demo",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="integrator")
@click.option("--log-level", envvar="INTEGRATOR_LOG_LEVEL", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
              help="JSON log lines on stderr at this level and above (pseudonymous codes only).")
def cli(log_level: str) -> None:
    """Remote rehabilitative work activity on Google Workspace and Microsoft Teams.

    Configuration: --config FILE on each command or INTEGRATOR_CONFIG; database:
    INTEGRATOR_DATABASE_URL (default: a SQLite file at ./var/integrator.db).
    """
    from integrator.observability.logs import setup_logging

    setup_logging(log_level)


def main(argv: list[str] | None = None) -> Any:
    from integrator.config import ConfigError

    try:
        rv = cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="integrator",
                      standalone_mode=False)
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        return rv if isinstance(rv, int) else 0
    except ConfigError as err:
        # Any command that loads the config reports its problems the same way `config check` does.
        for problem in err.problems:
            click.echo(problem.format(), err=True)
        click.echo(f"{len(err.problems)} problem(s) in the configuration; nothing was done.", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
