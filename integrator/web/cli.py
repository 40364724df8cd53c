"""`integrator serve` (waitress + scheduler) and `integrator staff` (accounts and API tokens)."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import signal
import sys
from typing import Any

import click

from integrator.store.db import Store
from integrator.web import accounts

log = logging.getLogger(__name__)
DB_OPTION = click.option("--database-url", envvar="INTEGRATOR_DATABASE_URL", default=None,
                         help="SQLAlchemy URL; default ./var/integrator.db")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--config", "config_file", envvar="INTEGRATOR_CONFIG", type=click.Path(dir_okay=False),
              default=None, help="Tenant configuration (YAML)")
@DB_OPTION
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Serve only; run no scheduled jobs in this process")
@click.option("--sandbox", is_flag=True, help="Start an in-process sandbox tenant and a demo organisation "
                                             "to rehearse a week (nothing leaves this machine)")
@click.option("--proxy", is_flag=True, help="Behind a TLS-terminating reverse proxy: trust X-Forwarded-*")
@click.option("--log-level", default="INFO", show_default=True)
def serve(host: str, port: int, config_file: str | None, database_url: str | None, threads: int,
          no_scheduler: bool, sandbox: bool, proxy: bool, log_level: str) -> None:
    """Run the web service (waitress) with the in-process scheduler."""
    import waitress

    from integrator import create_app
    from integrator.observability.logs import setup_logging
    from integrator.store.migrate import upgrade

    setup_logging(log_level)
    secret = os.environ.get("INTEGRATOR_SECRET_KEY")
    if not secret:
        if not sandbox:
            raise click.UsageError("set INTEGRATOR_SECRET_KEY to a long random string (sessions are signed with it)")
        secret = secrets.token_urlsafe(32)  # a rehearsal: sessions may end with the process
    if sandbox and not database_url:
        # A rehearsal never writes into the real database by accident.
        import tempfile

        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='integrator-rehearsal-db-')}/rehearsal.db"
    upgrade(database_url)
    app_config: dict[str, Any] = {"SECRET_KEY": secret, "DATABASE_URL": database_url,
                                  "CONFIG_FILE": config_file,
                                  # Plain http is fine only on this machine; anywhere else TLS is assumed.
                                  "INSECURE_HTTP": _is_loopback(host) and not proxy}
    if config_file and not sandbox:
        from integrator.config import ConfigError, load_settings

        try:
            # Loaded here so that a broken file stops the start with every problem listed.
            app_config["SETTINGS"] = load_settings(config_file)
        except ConfigError as err:
            for problem in err.problems:
                click.echo(problem.format(), err=True)
            raise SystemExit(2) from None
    rehearsal = None
    if sandbox:
        from integrator.demo.rehearsal import start_rehearsal

        rehearsal = start_rehearsal(Store(database_url))
        app_config["SETTINGS"] = rehearsal.settings
        app_config["CLOCK"] = rehearsal.clock  # the pages' "today" is the sandbox tenant's
        click.echo(f"sandbox tenant running; log in as {rehearsal.login_email} "
                   f"with the password in {rehearsal.password_file}")
    app = create_app(app_config)
    wsgi: Any = app
    if proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        wsgi = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
        app.wsgi_app = wsgi  # type: ignore[method-assign]
    _apply_config(app)
    scheduler = None
    if not no_scheduler:
        scheduler = _start_scheduler(app)
    click.echo(f"serving on http://{host}:{port}/")
    # SIGTERM (systemd, docker stop) ends the process through the finally below: the scheduler
    # stops cleanly and a rehearsal removes its key files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="integrator")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        if rehearsal is not None:
            rehearsal.stop()


def _apply_config(app: Any) -> None:
    """The config file is the source of truth for organisations, staff and groups: apply it at
    start so the pages show what the file says (the same as `integrator config apply`)."""
    from integrator.config.apply import apply_settings
    from integrator.web.context import get_settings, get_store

    try:
        settings = get_settings(app)
    except LookupError:
        return
    counts = apply_settings(get_store(app), settings)
    log.info("configuration applied", extra={"counts": counts})


def _start_scheduler(app: Any) -> Any:
    from integrator.jobs.schedule import build_scheduler
    from integrator.web.context import get_settings, get_store

    try:
        settings = get_settings(app)
    except LookupError as err:
        log.warning("scheduler not started: %s", err)
        return None
    scheduler = build_scheduler(get_store(app), settings, now=app.config.get("CLOCK"))  # a rehearsal: the sandbox clock
    scheduler.start()
    log.info("scheduler started", extra={"jobs": [j.id for j in scheduler.get_jobs()]})
    return scheduler


@click.group()
def staff() -> None:
    """Staff accounts (admins, coordinators) and API tokens."""


def _password(password_env: str | None) -> str:
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise click.UsageError(f"environment variable {password_env} is empty or not set")
        return value
    value = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    assert isinstance(value, str)
    return value


@staff.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "coordinator", "social_worker"]))
@click.option("--org", "org_key", default=None, help="Organisation key; an admin without one sees all")
@click.option("--password-env", default=None, help="Read the password from this environment variable")
@DB_OPTION
def staff_add(email: str, name: str, role: str, org_key: str | None, password_env: str | None,
              database_url: str | None) -> None:
    """Add a staff user. Social workers get no password: they receive alerts, they do not log in."""
    password = None if role == "social_worker" else _password(password_env)
    store = Store(database_url)
    try:
        staff_id = accounts.add_staff(store, email=email, name=name, role=role, org_key=org_key,
                                      password=password)
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.dispose()
    click.echo(f"staff user {staff_id} added ({role})")


@staff.command("password")
@click.option("--email", required=True)
@click.option("--password-env", default=None)
@DB_OPTION
def staff_password(email: str, password_env: str | None, database_url: str | None) -> None:
    """Set a staff user's password."""
    store = Store(database_url)
    try:
        accounts.set_password(store, accounts.staff_id_by_email(store, email), _password(password_env))
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.dispose()
    click.echo("password changed")


@staff.command("deactivate")
@click.option("--email", required=True)
@DB_OPTION
def staff_deactivate(email: str, database_url: str | None) -> None:
    """End a staff user's access at once (sessions and tokens stop working)."""
    store = Store(database_url)
    try:
        revoked = accounts.deactivate(store, accounts.staff_id_by_email(store, email))
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.dispose()
    click.echo(f"deactivated; {revoked} token(s) revoked")


@staff.group("token")
def token() -> None:
    """API tokens for automation (sent as `Authorization: Bearer <token>`)."""


@token.command("create")
@click.option("--email", required=True, help="The staff user the token acts as")
@click.option("--name", "token_name", required=True, help="What the token is for, e.g. prometheus")
@DB_OPTION
def token_create(email: str, token_name: str, database_url: str | None) -> None:
    """Create a token and print it once; only its hash is stored."""
    store = Store(database_url)
    try:
        value = accounts.create_token(store, accounts.staff_id_by_email(store, email), token_name)
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.dispose()
    click.echo(value)


@token.command("list")
@click.option("--email", required=True)
@DB_OPTION
def token_list(email: str, database_url: str | None) -> None:
    """List a staff user's tokens (id, name, created, revoked)."""
    store = Store(database_url)
    try:
        for token_id, name, created, revoked in accounts.list_tokens(store, accounts.staff_id_by_email(store, email)):
            click.echo(f"{token_id}\t{name}\tcreated {created}\t{'revoked ' + revoked if revoked else 'active'}")
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.dispose()


@token.command("revoke")
@click.argument("token_id", type=int)
@DB_OPTION
def token_revoke(token_id: int, database_url: str | None) -> None:
    """Revoke a token by its id (see `staff token list`); it stops working at once."""
    store = Store(database_url)
    try:
        accounts.revoke_token(store, token_id)
    except accounts.AccountError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.dispose()
    click.echo(f"token {token_id} revoked")
