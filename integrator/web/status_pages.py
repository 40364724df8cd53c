"""The admin's status page ("Järjestelmän tila"): is each organisation's service working?

Per organisation the admin may see (an organisation's admin: their own; an admin without one:
every organisation, `access.organisations_query`):

1. the tenant check: its last result and time, each failing check with its fix hint in Finnish,
   and a button that runs it again (`jobs.tenant_check`, recorded as a "tenant_check" run, audited);
2. the last successful run of each job and its age, in red (and in words) when the nightly sync
   is older than NIGHTLY_MAX_AGE or the week's letters did not go out on their day;
3. the failing and partial runs of the last CAUSE_DAYS days, their errors grouped by cause
   (`web.run_errors`) with count, first and last seen and the codes they concern, and a button
   that starts the job again (`background.retry`, audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from integrator.config import Settings
from integrator.domain.finnish import fi_age, fi_count, fi_datetime, fi_day, fi_week
from integrator.domain.types import JobStatus, MessageKind
from integrator.domain.weeks import week_after
from integrator.jobs.tenant_check import KIND as TENANT_CHECK
from integrator.jobs.tenant_check import run_tenant_check
from integrator.store.models import (
    AuditEvent,
    Client,
    JobRun,
    Membership,
    Organisation,
    OutboxMessage,
    PeerGroup,
)
from integrator.web import access, background, context, services
from integrator.web.auth import current_principal
from integrator.web.context import get_store
from integrator.web.run_errors import ErrorGroup, failed_count, group_errors, success_summary

bp = Blueprint("status", __name__)

NIGHTLY_MAX_AGE = timedelta(hours=26)  # a night missed: the sync runs once a day
CAUSE_DAYS = 14
# (label, kind, the sending run's trigger or None)
JOBS: list[tuple[str, str, str | None]] = [
    ("Yöajo", "nightly_sync", None), ("Viikon valmistelu", "weekly_setup", None),
    ("Viikkokirjeet", "notify_send", "weekly_letters"), ("Muistutukset", "notify_send", "reminders"),
    ("Viestien lähetys (kaikki)", "notify_send", None), ("Vuokraajan tarkistus", TENANT_CHECK, None)]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass
class JobLine:
    label: str
    last_success: datetime | None
    last_run: JobRun | None
    alert: str = ""  # why it is red, in words; empty when fine

    @property
    def age(self) -> str:
        return fi_age(context.now() - _aware(self.last_success)) if self.last_success else ""


def _runs(kind: str, trigger: str | None, org_id: int) -> Any:
    where: list[ColumnElement[bool]] = [JobRun.organisation_id == org_id, JobRun.kind == kind,
                                        JobRun.dry_run.is_(False)]
    if trigger:
        where.append(JobRun.params["trigger"].as_string() == trigger)
    return select(JobRun).where(*where).order_by(JobRun.id.desc()).limit(1)


def _job_lines(s: Session, org_id: int, now: datetime) -> list[JobLine]:
    out = []
    for label, kind, trigger in JOBS:
        last = s.scalar(_runs(kind, trigger, org_id))
        ok = s.scalar(_runs(kind, trigger, org_id).where(JobRun.status == JobStatus.SUCCEEDED))
        at = (ok.finished_at or ok.started_at) if ok else None
        line = JobLine(label, at, last)
        if kind == "nightly_sync" and (at is None or now - _aware(at) > NIGHTLY_MAX_AGE):
            line.alert = ("Yöajo ei ole onnistunut koskaan." if at is None else
                          f"Yöajo on onnistunut viimeksi yli {NIGHTLY_MAX_AGE.total_seconds() / 3600:.0f} tuntia "
                          "sitten: läsnäolot ja palautukset eivät ole ajan tasalla.")
        out.append(line)
    return out


def _letters(s: Session, org: Organisation, settings: Settings | None, now: datetime) -> tuple[str, str]:
    """("ok" | "late" | "pending" | "off" | "unknown", the words): did the week's letters go out on their day?"""
    if settings is None:
        return "unknown", "Asetuksia ei voitu lukea, joten kirjeiden lähtöpäivää ei tiedetä."
    at = settings.schedule.weekly_letter
    if not at.enabled:
        return "off", "Viikkokirjeitä ei ole ajastettu (ne lähetetään käsin)."
    local = now.astimezone(ZoneInfo(settings.time_zone))
    back = (local.isoweekday() - at.weekday) % 7
    day = local.date() - timedelta(days=back)
    if back == 0 and local.time() < at.time:
        day -= timedelta(days=7)  # today's letters are not due yet: the previous letter day
    week = week_after(day)
    end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), ZoneInfo(settings.time_zone))
    letters = list(s.scalars(select(OutboxMessage).where(
        OutboxMessage.organisation_id == org.id, OutboxMessage.kind == MessageKind.WEEKLY_LETTER,
        OutboxMessage.key.like(f"letter:{org.key}:%:{week}"))))
    when, head = fi_day(day), f"{fi_week(week).capitalize()}:"
    if not letters:
        expected = s.scalar(select(Membership.id).join(PeerGroup, Membership.group_id == PeerGroup.id).where(
            PeerGroup.organisation_id == org.id, Membership.start_date <= day + timedelta(days=10),
            (Membership.end_date.is_(None)) | (Membership.end_date >= day)).limit(1))
        if expected is None:
            return "ok", f"{head} ei asiakkaita, joten viikkokirjeitä ei ollut lähetettävänä {when}."
        return ("late" if now >= end_of_day else "pending"), f"{head} viikkokirjeitä ei muodostettu {when}."
    late = [m for m in letters if m.sent_at is None or _aware(m.sent_at) >= end_of_day]
    if not late:
        return "ok", f"{head} viikkokirjeet ({len(letters)}) lähtivät ajallaan {when}."
    if now < end_of_day:
        return "pending", f"{head} viikkokirjeitä lähtee {when}: {len(letters) - len(late)}/{len(letters)} lähetetty."
    return "late", f"{head} {len(late)}/{len(letters)} viikkokirjettä ei lähtenyt päivänään {when}."


def _check(s: Session, org_id: int) -> dict[str, Any] | None:
    run = s.scalar(_runs(TENANT_CHECK, None, org_id))
    if run is None:
        return None
    hints: dict[str, dict[str, str]] = (run.params or {}).get("hints") or {}
    failing = [{"name": e.get("item"), "detail": e.get("error"),
                "hint": (hints.get(str(e.get("item"))) or {}).get("fi") or "Katso ylläpito-ohje."}
               for e in run.errors or [] if e.get("kind") == TENANT_CHECK]
    crashed = [e for e in run.errors or [] if e.get("kind") != TENANT_CHECK]
    # What passed with a reservation (e.g. a sharing policy that could not be read): not red, but
    # the admin is told what to check and where.
    warnings = [{"name": name, "detail": w.get("detail", ""), "hint": w.get("fi") or "Katso ylläpito-ohje."}
                for name, w in sorted(((run.params or {}).get("warnings") or {}).items())]
    return {"run": run, "at": run.finished_at or run.started_at, "failing": failing, "crashed": crashed,
            "warnings": warnings, "counts": run.counts or {}, "running": run.status is JobStatus.RUNNING}


def _causes(s: Session, org_id: int, now: datetime) -> tuple[list[ErrorGroup], dict[int, JobRun]]:
    runs = list(s.scalars(select(JobRun).where(
        JobRun.organisation_id == org_id, JobRun.dry_run.is_(False), JobRun.kind != TENANT_CHECK,
        JobRun.status.in_((JobStatus.FAILED, JobStatus.PARTIAL)),
        JobRun.started_at >= now - timedelta(days=CAUSE_DAYS))
        .order_by(JobRun.id.desc()).limit(200)))
    codes = set(s.scalars(select(Client.code).where(Client.organisation_id == org_id)))
    keys = set(s.scalars(select(PeerGroup.key).where(PeerGroup.organisation_id == org_id)))
    return group_errors(runs, codes=codes, group_keys=keys), {r.id: r for r in runs}


def _settings() -> Settings | None:
    try:
        return context.get_settings()
    except LookupError:
        return None


@bp.get("/admin/status")
def status_page() -> ResponseReturnValue:
    p = current_principal()
    access.require_admin(p)
    now, settings = context.now(), _settings()
    orgs = []
    with get_store().session() as s:
        for org in s.scalars(access.organisations_query(p)):
            causes, runs = _causes(s, org.id, now)
            letters_state, letters_text = _letters(s, org, settings, now)
            orgs.append({"org": org, "check": _check(s, org.id), "jobs": _job_lines(s, org.id, now),
                         "letters_state": letters_state, "letters_text": letters_text, "causes": causes,
                         "runs": runs,
                         "summaries": {r.id: success_summary(r.counts or {}, failed_count(r))
                                       for r in runs.values() if r.status is JobStatus.PARTIAL}})
    return render_template("status.html", orgs=orgs, now=now, retryable=background.RETRYABLE, cause_days=CAUSE_DAYS,
                           fi_count=fi_count, fi_datetime=fi_datetime)


@bp.post("/admin/status/<id:org_id>/check")
def run_check(org_id: int) -> ResponseReturnValue:
    p = current_principal()
    access.require_admin(p)
    with get_store().session() as s:
        org_key = access.organisation_or_404(s, p, org_id).key
    result = services.call_job(lambda settings: run_tenant_check(get_store(), settings, org_key,
                                                                 triggered_by=f"web:{p.actor}", actor=p.actor))
    failed = len(result.failed)
    flash("Vuokraajan tarkistus: kaikki kunnossa." if not failed else
          f"Vuokraajan tarkistus: {fi_count(failed, 'tarkistus', 'tarkistusta')} epäonnistui. Korjausohjeet alla.",
          "ok" if not failed else "error")
    return redirect(url_for("status.status_page") + f"#org-{org_id}")


@bp.post("/admin/status/runs/<id:run_id>/retry")
def retry_run(run_id: int) -> ResponseReturnValue:
    p = current_principal()
    access.require_admin(p)
    store = get_store()
    with store.session() as s:
        run = access.job_run_or_404(s, p, run_id)
        if run.kind not in background.RETRYABLE or run.dry_run:
            abort(409, description="ajo: tämän tyyppistä ajoa ei voi käynnistää uudelleen tilasivulta")
        if run.status not in (JobStatus.FAILED, JobStatus.PARTIAL):
            abort(409, description="ajo: vain epäonnistuneen tai osittain onnistuneen ajon voi käynnistää uudelleen")
        org = s.get(Organisation, run.organisation_id) if run.organisation_id is not None else None
        org_key, org_id = (org.key, org.id) if org else (None, None)
        s.expunge(run)
    new_id = services.call_job(lambda settings: background.retry(store, settings, run, org_key, actor=p.actor,
                                                                 today_=context.today(), now=context.now()))
    with store.session() as s:
        s.add(AuditEvent(organisation_id=org_id, actor=p.actor, action="job.retry", entity="job_run",
                         entity_id=str(run_id), details={"kind": run.kind, "new_run": new_id}))
    if new_id is None:
        flash("Ajo käynnistettiin, mutta tehtävää ei ollut (esim. ei lähetettäviä viestejä).", "ok")
        return redirect(url_for("status.status_page") + (f"#org-{org_id}" if org_id else ""))
    flash(f"Ajo käynnistettiin uudelleen (ajo #{new_id}).", "ok")
    return redirect(url_for("ui.job_page", run_id=new_id))


