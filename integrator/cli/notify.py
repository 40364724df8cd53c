"""`integrator notify ...`: meetings, weekly letters, reminders and the outbox."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import select

from integrator.cli.options import config_option, database_url_option, load, open_store
from integrator.config import Settings
from integrator.domain.types import OutboxStatus
from integrator.domain.weeks import week_after
from integrator.jobs.locks import job_lock
from integrator.jobs.meetings.apply import apply_meetings
from integrator.jobs.meetings.plan import organisation_id, plan_meetings
from integrator.jobs.notify.letters import letter_week_due, queue_weekly_letters
from integrator.jobs.notify.outbox import REQUEUABLE, cancel_key, requeue
from integrator.jobs.notify.reminders import queue_due_reminders
from integrator.jobs.notify.send_runs import Trigger
from integrator.jobs.notify.sender import counts_by_status, send_outbox
from integrator.jobs.notify.surveys import queue_surveys
from integrator.jobs.runs import RunRecorder
from integrator.store.db import Store
from integrator.store.models import OutboxMessage
from integrator.store.types import utcnow


def _load(config_file: Path | None, database_url: str | None) -> tuple[Settings, Store]:
    settings = load(config_file)
    return settings, open_store(database_url, settings)


def _now(value: str | None) -> datetime:
    if not value:
        return utcnow()
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _orgs(settings: Settings, org: str | None) -> list[str]:
    return [org] if org else [o.key for o in settings.organisations]


@click.group()
def notify() -> None:
    """Peer-group meetings, weekly letters and reminders to clients."""


@notify.command("meetings")
@config_option
@database_url_option
@click.option("--week", required=True, help="ISO week, e.g. 2026-W49.")
@click.option("--org", default=None, help="Organisation key (default: all).")
@click.option("--group", "group_key", default=None, help="Only this group.")
@click.option("--dry-run", is_flag=True, help="Print the plan, change nothing.")
def meetings_cmd(config_file: Path | None, database_url: str | None, week: str, org: str | None, group_key: str | None, dry_run: bool) -> None:
    """Create, update or cancel the week's meetings (weekly setup does this too)."""
    settings, store = _load(config_file, database_url)
    failed = False
    for org_key in _orgs(settings, org):
        plan = plan_meetings(store, settings, org_key, week, group_key)
        click.echo(f"[{org_key}]\n{plan.render()}")
        if dry_run:
            continue
        with job_lock(store, f"meetings:{org_key}") as lease:
            with store.session() as s:
                org_id = organisation_id(s, org_key)
            recorder = RunRecorder.start(store, "meetings", organisation_id=org_id,
                                         params={"week": week, "group": group_key})
            recorder.save_plan(plan.to_json())
            try:
                apply_meetings(store, settings, org_key, plan, recorder, lease=lease)
            finally:
                status = recorder.finish()
            click.echo(f"[{org_key}] {status.value}: {json.dumps(recorder.counts, sort_keys=True)}")
            for err in recorder.errors:
                click.echo(f"  error {err['item']}: {err['error']}", err=True)
            failed = failed or bool(recorder.errors)
    if failed:
        raise SystemExit(1)


@notify.command("letters")
@config_option
@database_url_option
@click.option("--week", default=None, help="ISO week the letters are about (default: next week).")
@click.option("--org", default=None, help="Organisation key (default: all).")
def letters_cmd(config_file: Path | None, database_url: str | None, week: str | None, org: str | None) -> None:
    """Queue next week's letter for each client (once per client and week)."""
    settings, store = _load(config_file, database_url)
    week = week or week_after(utcnow().date())
    for org_key in _orgs(settings, org):
        counts = queue_weekly_letters(store, settings, org_key, week)
        click.echo(f"[{org_key}] {week}: {json.dumps(counts, sort_keys=True)}")


@notify.command("surveys")
@config_option
@database_url_option
@click.option("--now", "now_s", default=None, help="Pretend it is this instant (ISO 8601; default: now).")
def surveys_cmd(config_file: Path | None, database_url: str | None, now_s: str | None) -> None:
    """Queue this week's survey links that no weekly letter carried, and the one reminder of an
    unanswered survey (once each; the nightly schedule runs this)."""
    settings, store = _load(config_file, database_url)
    click.echo(json.dumps(queue_surveys(store, settings, _now(now_s)), sort_keys=True))


@notify.command("reminders")
@config_option
@database_url_option
@click.option("--now", "now_s", default=None, help="Pretend it is this instant (ISO 8601; default: now).")
def reminders_cmd(config_file: Path | None, database_url: str | None, now_s: str | None) -> None:
    """Queue the reminders that are due now."""
    settings, store = _load(config_file, database_url)
    click.echo(json.dumps(queue_due_reminders(store, settings, _now(now_s)), sort_keys=True))


@notify.command("send")
@config_option
@database_url_option
@click.option("--now", "now_s", default=None, help="Pretend it is this instant (ISO 8601; default: now).")
def send_cmd(config_file: Path | None, database_url: str | None, now_s: str | None) -> None:
    """Send the due messages of the outbox, paced to the senders' limits."""
    settings, store = _load(config_file, database_url)
    counts = send_outbox(store, settings, _now(now_s) if now_s else None, trigger=Trigger("send"))
    click.echo(json.dumps(counts, sort_keys=True))
    if counts.get("busy"):
        click.echo(f"{counts['busy']} organisation(s) skipped: their sender is running in another process, "
                   "which sends their queue.", err=True)
    if counts.get("recovered_uncertain") or counts.get("uncertain"):
        click.echo("Some messages may or may not have been sent: see `integrator notify outbox --status "
                   "uncertain`.", err=True)


@notify.command("outbox")
@config_option
@database_url_option
@click.option("--status", type=click.Choice([s.value for s in OutboxStatus]), default=None)
@click.option("--limit", default=50, show_default=True)
def outbox_cmd(config_file: Path | None, database_url: str | None, status: str | None, limit: int) -> None:
    """List outbox messages (keys carry client codes only; no addresses are printed)."""
    _, store = _load(config_file, database_url)
    click.echo(json.dumps(counts_by_status(store), sort_keys=True))
    with store.session() as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if status:
            q = q.where(OutboxMessage.status == OutboxStatus(status))
        for m in s.scalars(q):
            when = m.sent_at or m.not_before
            click.echo(f"{m.status.value:<10} {m.key:<60} attempts={m.attempts} "
                       f"{when.isoformat() if when else '-'} {m.last_error or ''}".rstrip())


STATUS_FI = {OutboxStatus.UNCERTAIN: "epävarma (lähetys saattoi mennä perille)",
             OutboxStatus.FAILED: "epäonnistui", OutboxStatus.CANCELLED: "peruttu"}
CHECK_SENT = ("Lähetys saattoi mennä perille — tarkista lähettäjän Lähetetyt-kansio ennen uudelleenlähetystä. "
              "Jos viesti on siellä, älä lähetä sitä uudelleen vaan peru se: integrator notify cancel {key}")


@notify.command("requeue")
@config_option
@database_url_option
@click.option("--yes", is_flag=True, help="Do not ask: the sender's Sent Items were checked.")
@click.argument("key")
def requeue_cmd(config_file: Path | None, database_url: str | None, key: str, yes: bool) -> None:
    """Send an uncertain/failed/cancelled message (again) – after checking the Sent Items.

    Asks first (an uncertain message may have arrived: a second one confuses a client);
    `--yes` when the Sent Items were checked. Without a terminal and without --yes it refuses."""
    _, store = _load(config_file, database_url)
    with store.session() as s:
        msg = s.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        status, last_error = (msg.status, msg.last_error) if msg is not None else (None, None)
    if status not in REQUEUABLE:
        raise click.ClickException(f"no uncertain, failed or cancelled message with key {key}")
    if not yes:
        if not sys.stdin.isatty():
            raise click.ClickException(
                f"Uudelleenlähetys vaatii vahvistuksen. {CHECK_SENT.format(key=key)} Kun olet tarkistanut, "
                "aja komento päätteessä tai lisää --yes.")
        click.echo(f"Viesti {key}: tila {STATUS_FI[status]}" + (f"; viimeisin virhe: {last_error}" if last_error else ""))
        click.echo(CHECK_SENT.format(key=key))
        if not click.confirm("Lähetetäänkö viesti uudelleen?", default=False):
            click.echo("Viestiä ei lähetetty uudelleen.")
            raise SystemExit(1)
    if not requeue(store, key):
        raise click.ClickException(f"no uncertain, failed or cancelled message with key {key}")
    click.echo(f"requeued {key}")


@notify.command("cancel")
@config_option
@database_url_option
@click.argument("key")
def cancel_cmd(config_file: Path | None, database_url: str | None, key: str) -> None:
    """Do not send this message (e.g. an uncertain one that did arrive)."""
    _, store = _load(config_file, database_url)
    if not cancel_key(store, key, "cancelled by a coordinator"):
        raise click.ClickException(f"no queued, parked or uncertain message with key {key}")
    click.echo(f"cancelled {key}")


@notify.command("run")
@config_option
@database_url_option
@click.option("--now", "now_s", default=None, help="Pretend it is this instant (ISO 8601; default: now).")
def run_cmd(config_file: Path | None, database_url: str | None, now_s: str | None) -> None:
    """What a scheduler runs every few minutes: the weekly letters once they are due (default
    Thursday 12:00 for next week), the reminders that are due, then the outbox. Idempotent."""
    settings, store = _load(config_file, database_url)
    now = _now(now_s)
    out: dict[str, object] = {}
    week = letter_week_due(settings, now)
    if week:
        out["letters"] = {o: queue_weekly_letters(store, settings, o, week) for o in _orgs(settings, None)}
    out["reminders"] = queue_due_reminders(store, settings, now)
    # An organisation whose sender is busy elsewhere is counted as "busy": that sender sends the rest.
    out["send"] = send_outbox(store, settings, now if now_s else None, trigger=Trigger("run"))
    click.echo(json.dumps(out, sort_keys=True))
