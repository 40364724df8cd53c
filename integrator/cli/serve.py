"""`integrator serve`: the web service under waitress, with the in-process scheduler (jobs.engine:
embedded) or, on PostgreSQL with jobs.engine: procrastinate, no job threads at all: the
`integrator worker` processes run the jobs and the web only queues them."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import waitress
from werkzeug.middleware.proxy_fix import ProxyFix

from integrator.cli.options import config_option, database_url_option, load, open_store, resolve_database_url
from integrator.config.apply import apply_settings
from integrator.demo.rehearsal import start_rehearsal
from integrator.jobs.queue import EngineError, conninfo
from integrator.jobs.schedule import build_scheduler
from integrator.observability.logs import setup_logging
from integrator.store.migrate import upgrade
from integrator.web import create_app
from integrator.web.context import close_app, get_settings, get_store

log = logging.getLogger(__name__)


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
@config_option
@database_url_option
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Serve only; run no scheduled jobs in this process")
@click.option("--sandbox", is_flag=True, help="Start an in-process sandbox tenant and a demo organisation "
                                             "to rehearse a week (nothing leaves this machine)")
@click.option("--proxy", is_flag=True, help="Behind a TLS-terminating reverse proxy: trust X-Forwarded-*")
@click.option("--log-level", default="INFO", show_default=True)
def serve(host: str, port: int, config_file: Path | None, database_url: str | None, threads: int,
          no_scheduler: bool, sandbox: bool, proxy: bool, log_level: str) -> None:
    """Run the web service (waitress) with the in-process scheduler."""
    setup_logging(log_level)
    # $INTEGRATOR_CONFIG too: the app reads the file again when a page needs the settings.
    config_file = config_file or (Path(os.environ["INTEGRATOR_CONFIG"]) if os.environ.get("INTEGRATOR_CONFIG") else None)
    secret = os.environ.get("INTEGRATOR_SECRET_KEY")
    if not secret:
        if not sandbox:
            raise click.UsageError("set INTEGRATOR_SECRET_KEY to a long random string (sessions are signed with it)")
        secret = secrets.token_urlsafe(32)  # a rehearsal: sessions may end with the process
    app_config: dict[str, Any] = {"SECRET_KEY": secret, "CONFIG_FILE": str(config_file) if config_file else None,
                                  # Plain http is fine only on this machine; anywhere else TLS is assumed.
                                  "INSECURE_HTTP": _is_loopback(host) and not proxy}
    settings = None
    url: str | None
    if config_file and not sandbox:
        # Loaded here so that a broken file stops the start with every problem listed (exit 2).
        settings = app_config["SETTINGS"] = load(config_file)
    if sandbox:
        # A rehearsal never writes into the real database by accident: only an explicit
        # --database-url is used, not $INTEGRATOR_DATABASE_URL.
        url = database_url or f"sqlite:///{tempfile.mkdtemp(prefix='integrator-rehearsal-db-')}/rehearsal.db"
    else:
        url = resolve_database_url(database_url, settings)
    workers_run_jobs = settings is not None and settings.jobs.engine == "procrastinate"
    if workers_run_jobs:
        try:
            conninfo(url or "sqlite:///var/integrator.db")  # the default database is a SQLite file
        except EngineError as err:
            raise click.UsageError(str(err)) from err
    upgrade(url)
    app_config["DATABASE_URL"] = url
    rehearsal = None
    if sandbox:
        rehearsal = start_rehearsal(open_store(url))
        app_config["SETTINGS"] = rehearsal.settings
        app_config["CLOCK"] = rehearsal.clock  # the pages' "today" is the sandbox tenant's
        click.echo(f"sandbox tenant running; log in as {rehearsal.login_email} "
                   f"with the password in {rehearsal.password_file}")
        for shown in {host, "127.0.0.1", "localhost"} if _is_loopback(host) else {host}:
            rehearsal.allow_sign_in_at(f"http://{shown}:{port}")
        click.echo(f"or with the sandbox's Microsoft or Google sign-in as {rehearsal.login_email} (the sandbox's "
                   "Entra ID serves TLS with its own CA: the browser asks to accept its certificate)")
    app = create_app(app_config)
    wsgi: Any = app
    if proxy:
        wsgi = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
        app.wsgi_app = wsgi  # type: ignore[method-assign]
    _apply_config(app)
    scheduler = None
    if workers_run_jobs:
        click.echo("jobs.engine: procrastinate: `integrator worker` runs the jobs; this process only queues them")
    elif not no_scheduler:
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
        close_app(app)


def _apply_config(app: Any) -> None:
    """The config file is the source of truth for organisations, staff and groups: apply it at
    start so the pages show what the file says (the same as `integrator config apply`)."""
    try:
        settings = get_settings(app)
    except LookupError:
        return
    counts = apply_settings(get_store(app), settings)
    log.info("configuration applied", extra={"counts": counts})


def _start_scheduler(app: Any) -> Any:
    try:
        settings = get_settings(app)
    except LookupError as err:
        log.warning("scheduler not started: %s", err)
        return None
    scheduler = build_scheduler(get_store(app), settings, now=app.config.get("CLOCK"))  # a rehearsal: the sandbox clock
    scheduler.start()
    log.info("scheduler started", extra={"jobs": [j.id for j in scheduler.get_jobs()]})
    return scheduler
