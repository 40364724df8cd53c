"""`integrator worker`: runs the scheduled jobs from the PostgreSQL queue (jobs.engine:
procrastinate), on as many machines as needed; `integrator worker schema --apply` creates the
queue's tables. See docs/jobs-across-machines.md."""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime
from pathlib import Path

import click
import httpx

from integrator.cli.options import (
    config_option,
    database_url_option,
    load,
    load_if_present,
    resolve_database_url,
)
from integrator.config.models import sandbox_url
from integrator.jobs.kinds import Clock
from integrator.jobs.queue import (
    POLL_SECONDS,
    EngineError,
    Runtime,
    apply_schema,
    build_app,
    conninfo,
    run_worker,
)
from integrator.observability.logs import setup_logging
from integrator.store.db import Store
from integrator.store.types import utcnow

log = logging.getLogger(__name__)


def _postgres_url(database_url: str | None, settings: object | None) -> str:
    url = resolve_database_url(database_url, settings)  # type: ignore[arg-type]
    if not url:
        raise click.UsageError("the worker needs the PostgreSQL database: set --database-url, "
                               "$INTEGRATOR_DATABASE_URL or database_url in the config")
    try:
        conninfo(url)
    except EngineError as err:
        raise click.UsageError(str(err)) from err
    return url


class SandboxClock:
    """The sandbox tenant's clock, read over its admin API (a rehearsal or a test on the sandbox:
    the jobs' "now" is the tenant's, as in `serve --sandbox`). `speed`: a benchmark runs the
    tenant's clock that many times faster than the wall clock, so the senders' pacing sleeps and
    measures time at that speed too (the sandbox's quotas count on its clock)."""

    def __init__(self, url: str, speed: float = 1.0) -> None:
        self.base = str(sandbox_url(url)).rstrip("/")
        self.speed = speed
        self.client = httpx.Client(timeout=10)

    def __call__(self) -> datetime:
        return datetime.fromisoformat(self.client.get(f"{self.base}/_sandbox/clock").json()["result"])

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self.speed)

    def monotonic(self) -> float:
        return time.monotonic() * self.speed


@click.group(invoke_without_command=True)
@config_option
@database_url_option
@click.option("--concurrency", type=click.IntRange(1, 64), default=None,
              help="Jobs this worker runs at once (default: the config's jobs.concurrency, 4).")
@click.option("--sandbox-clock", "sandbox_clock_url", default=None, hidden=True,
              help="Rehearsals and tests: the jobs read 'now' from the local sandbox tenant at this URL.")
@click.option("--sandbox-speed", type=click.FloatRange(0.01, 1000), default=1.0, hidden=True,
              help="Benchmarks: the sandbox clock runs this many times faster than the wall clock.")
@click.option("--log-level", default="INFO", show_default=True)
@click.pass_context
def worker(ctx: click.Context, config_file: Path | None, database_url: str | None, concurrency: int | None,
           sandbox_clock_url: str | None, sandbox_speed: float, log_level: str) -> None:
    """Run the scheduled jobs from the PostgreSQL queue (jobs.engine: procrastinate).

    Run one or more on each machine (e.g. the systemd unit in docs/deploy/); they share the work:
    every firing runs once, one organisation's runs of a job never overlap, and the jobs of a
    worker that dies are taken up by another.
    """
    ctx.ensure_object(dict)
    ctx.obj.update(config_file=config_file, database_url=database_url)
    if ctx.invoked_subcommand is not None:
        return
    setup_logging(log_level)
    settings = load(config_file)
    url = _postgres_url(database_url, settings)
    if settings.jobs.engine != "procrastinate":
        raise click.UsageError("jobs.engine is 'embedded': `integrator serve` runs the jobs. Set jobs.engine: "
                               "procrastinate in the config to run them from workers")
    store = Store(url)
    clock: Clock = SandboxClock(sandbox_clock_url, sandbox_speed) if sandbox_clock_url else utcnow
    app = build_app(url, Runtime(store, settings, clock), pool_size=max(4, (concurrency or 4) + 2))
    name = f"{socket.gethostname()}:{os.getpid()}"
    n = concurrency or settings.jobs.concurrency
    click.echo(f"worker {name}: {n} jobs at once, {len(settings.organisations)} organisation(s)")
    try:
        # A paced sender's continuation is due on the sandbox clock: look for it as often in clock time.
        run_worker(app, settings, concurrency=n, name=name, poll_seconds=POLL_SECONDS / sandbox_speed)
    except EngineError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.dispose()


@worker.command("schema")
@click.option("--apply", "do_apply", is_flag=True, help="Create procrastinate's tables (idempotent).")
@click.pass_context
def schema(ctx: click.Context, do_apply: bool) -> None:
    """Create the job queue's tables in the PostgreSQL database (procrastinate's own schema)."""
    if not do_apply:
        raise click.UsageError("nothing done: add --apply to create the queue's tables")
    settings = load_if_present(ctx.obj.get("config_file"))
    url = _postgres_url(ctx.obj.get("database_url"), settings)
    created = apply_schema(url)
    click.echo("job queue tables created" if created else "job queue tables already present; nothing to do")
