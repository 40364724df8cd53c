"""The nightly sync: harvest the evidence, re-evaluate the recent attendance days, queue alerts.

Per organisation, under the `nightly_sync:<org>` lock:
1. harvest (each source stores its raw evidence with its cursor, unit by unit): Classroom
   returns, Drive returns (SharePoint/OneDrive returns without Google), Meet and Teams
   attendance; a failing source is recorded and the others still run;
2. re-evaluate the window (last `rules.reevaluate_days` days, or from --since) in ONE
   transaction: a crash leaves the register exactly as it was. Only the days whose evidence
   was stored now, whose other inputs changed or whose deadline or window passed are evaluated
   again (jobs.attendance.incremental); --since evaluates every day from it. A day is decided only when its
   evidence is final (its return deadline passed, its meeting's report in); a day that leaves
   the window still undecided stays pending and is flagged for the coordinator
   (`days_need_decision`);
3. follow the absence alerts: withdraw (or correct, once sent) those whose days are no longer
   all absent, always; queue new ones only when every source was read, so that a missing
   return can never make an alert; the next night catches up;
4. harvest the survey answers of the Google Forms rounds (jobs.surveys.forms), after the
   attendance so that a failure there never holds an alert back;
5. remove the course enrolments and folder access of clients whose period was ended early on a
   day that has now passed (jobs.clients).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from integrator.config import OrganisationConfig, Settings
from integrator.domain.types import JobStatus
from integrator.jobs.attendance.alerts import AlertResult, queue_absence_alerts, withdraw_untrue_alerts
from integrator.jobs.attendance.evaluate import EvaluationResult, evaluate_window, reevaluate_work_days
from integrator.jobs.locks import Lease, job_lock
from integrator.jobs.nightly.context import HARVEST_DAYS, SyncContext, load_context, local_today
from integrator.jobs.nightly.evidence import MEETING_ID_KIND
from integrator.jobs.runs import RunRecorder
from integrator.jobs.surveys.forms import harvest_forms
from integrator.jobs.surveys.rounds import uses_forms
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.store.db import Store
from integrator.store.models import Organisation
from integrator.store.types import utcnow

log = logging.getLogger(__name__)


def _default_google(org_cfg: OrganisationConfig) -> Any:
    from integrator.providers.google.client import GoogleClient

    return GoogleClient(org_cfg.google) if org_cfg.google else None


def _default_graph(org_cfg: OrganisationConfig) -> Any:
    from integrator.providers.microsoft.client import GraphClient

    return GraphClient(org_cfg.microsoft) if org_cfg.microsoft else None


@dataclass
class Providers:
    """How to reach each tenant; tests, the demo and the benchmark pass their own."""

    google: Callable[[OrganisationConfig], Any] = _default_google
    graph: Callable[[OrganisationConfig], Any] = _default_graph


@dataclass
class OrgSyncResult:
    org_key: str
    status: JobStatus
    run_id: int
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    evaluation: EvaluationResult | None = None
    alerts: AlertResult | None = None
    requests: int = 0


def run_nightly_sync(store: Store, settings: Settings, *, org_key: str | None = None, since: date | None = None,
                     now: datetime | None = None, providers: Providers | None = None,
                     triggered_by: str = "cli") -> list[OrgSyncResult]:
    """Run the sync for one organisation or all of them; one JobRun per organisation.

    For all organisations, one organisation's failure (a crash, a lock held, an organisation
    missing from the store) is recorded as its run's error and the others still run: one
    broken tenant must not leave every other organisation's attendance unread. The caller
    sees the failed result (the CLI exits non-zero at the end). For one organisation the
    exception propagates, after it has been recorded.
    """
    now = now or utcnow()
    providers = providers or Providers()
    orgs = [settings.organisation(org_key)] if org_key else list(settings.organisations)
    results = []
    for o in orgs:
        try:
            results.append(_run_org(store, settings, o, since=since, now=now, providers=providers,
                                    triggered_by=triggered_by, contain=org_key is None))
        except Exception as err:
            if org_key:
                raise
            results.append(_failed_before_run(store, o.key, err, triggered_by))
    return results


def _failed_before_run(store: Store, org_key: str, err: Exception, triggered_by: str) -> OrgSyncResult:
    """An organisation that failed before its run started (lock held, not in the store): a run
    of its own says so in the job history."""
    with store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key))
    rec = RunRecorder.start(store, "nightly_sync", organisation_id=org_id, triggered_by=triggered_by,
                            params={"org": org_key})
    rec.error(f"org:{org_key}", _describe(err), kind=type(err).__name__.lower())
    rec.finish(JobStatus.FAILED)
    log.error("nightly sync failed for an organisation", extra={"org": org_key, "error": type(err).__name__})
    return OrgSyncResult(org_key=org_key, status=JobStatus.FAILED, run_id=rec.run_id, errors=list(rec.errors))


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:300]


def _run_org(store: Store, settings: Settings, org_cfg: OrganisationConfig, *, since: date | None, now: datetime,
             providers: Providers, triggered_by: str, contain: bool = False) -> OrgSyncResult:
    """One organisation's run. `contain`: a crash is recorded and returned as a failed result
    instead of raised (the run over all organisations goes on with the next one)."""
    with store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_cfg.key))
    if org_id is None:
        raise LookupError(f"organisation {org_cfg.key!r} is not in the store; run `integrator config apply` first")
    rules = settings.rules_for(org_cfg.key)
    today = local_today(now, [settings.time_zone, *(g.time_zone for g in org_cfg.groups)])
    start = since or (today - timedelta(days=rules.reevaluate_days))
    with job_lock(store, f"nightly_sync:{org_cfg.key}") as lease:
        rec = RunRecorder.start(store, "nightly_sync", organisation_id=org_id, triggered_by=triggered_by,
                                params={"since": since.isoformat() if since else None, "now": now.isoformat()})
        result = OrgSyncResult(org_key=org_cfg.key, status=JobStatus.RUNNING, run_id=rec.run_id)
        try:
            with store.session() as s:
                ctx = load_context(s, org_id, org_cfg.key, org_cfg, rules, now=now, today=today,
                                   start=min(start, today - timedelta(days=HARVEST_DAYS)), tz=settings.time_zone)
                ctx.window_start = start
            result.requests = _harvest(store, ctx, providers, rec, lease, force=since is not None)
            lease.check()  # each write phase starts only while this run still holds the lock
            # Only the days whose evidence, other inputs or clock-decided flags changed since their
            # last evaluation (jobs.attendance.incremental); --since evaluates all of its days.
            result.evaluation = evaluate_window(store, org_id, rules, now=now, since=start, today=today,
                                                keep=ctx.unread, changed=None if since else ctx.touched)
            rec.count("work_days_evaluated", result.evaluation.work_days)
            rec.count("days_evaluated", result.evaluation.evaluated)
            rec.count("days_kept_unread_source", len(ctx.unread))
            late = sorted(wd for wd in ctx.new_reports - ctx.unread if ctx.work_days[wd].day < start)
            # Days before the window still without final meeting evidence (the sync was down the
            # night their window closed): evaluated again so that they are flagged, never left
            # unevaluated or unflagged. No report means no change: no writes.
            undecided = sorted(wd for wd, w in ctx.work_days.items() if w.day < start and wd not in ctx.reported
                               and wd not in ctx.unread and w.meeting_end <= now)
            need_decision = result.evaluation.need_decision
            if late or undecided:  # evidence of days before the window arrived late (the sync was down): decide them too
                lease.check()
                late_eval = reevaluate_work_days(store, org_id, sorted({*late, *undecided}), rules=rules,
                                                 actor="system:nightly_sync", now=now)
                rec.count("days_outside_window_evaluated", late_eval.evaluated)
                need_decision += late_eval.need_decision
            rec.count("days_need_decision", need_decision)
            for status, n in result.evaluation.by_status.items():
                rec.count(f"days_{status}", n)
            rec.count("days_changed", result.evaluation.changed)
            lease.check()
            if any(e["kind"] != MEETING_ID_KIND for e in rec.errors):
                # A source failed: a missing return must not alert. A meeting whose id is unknown
                # does not hold alerts back: its days stay pending (never absent), and it can
                # last for weeks, during which the social workers would hear of nobody.
                # Withdrawing still runs: a day kept unread stays as it was, so only a day that
                # really changed (a return came, a coordinator decided) withdraws an alert.
                rec.count("alerts_postponed")
                with store.session() as s:
                    withdrawn, corrections = withdraw_untrue_alerts(s, org_id, today=today)
                rec.count("alerts_withdrawn", withdrawn)
                rec.count("alert_corrections_queued", corrections)
            else:
                with store.session() as s:
                    result.alerts = queue_absence_alerts(s, org_id, rules, today=today)
                rec.count("alerts_queued", result.alerts.queued)
                rec.count("alerts_withdrawn", result.alerts.withdrawn)
                rec.count("alert_corrections_queued", result.alerts.corrections)
                for code in result.alerts.without_worker:
                    rec.error(code, "absence streak, but the client's period names no responsible worker",
                              kind="no_worker")
            if uses_forms(org_cfg):
                result.requests += _harvest_surveys(store, org_id, org_cfg, now, providers, rec)
            rec.count("requests", result.requests)
            if org_cfg.google is not None or (org_cfg.microsoft is not None and org_cfg.microsoft.task_folders):
                lease.check()  # course enrolments and Drive folders, or SharePoint task folders
                _end_access(store, settings, org_cfg, now, providers, rec)
            result.status = rec.finish()
        except BaseException as err:
            # Recorded on the run (redacted), so the job history tells why it failed.
            rec.error("run", _describe(err), kind="crash")
            rec.finish(JobStatus.FAILED)
            if not (contain and isinstance(err, Exception)):
                raise
            log.error("nightly sync failed for an organisation", extra={"org": org_cfg.key,
                                                                          "error": type(err).__name__})
            result.status = JobStatus.FAILED
        result.counts, result.errors = dict(rec.counts), list(rec.errors)
        return result


def _harvest_surveys(store: Store, org_id: int, org_cfg: OrganisationConfig, now: datetime, providers: Providers,
                     rec: RunRecorder) -> int:
    """The Forms rounds' new answers; returns the requests it made."""
    gc = providers.google(org_cfg)
    before = int(gc.stats.requests)
    try:
        counts = harvest_forms(store, gc, org_id, now)
    except (ProviderError, LookupError) as err:
        rec.error("survey_forms", str(err)[:300], kind=type(err).__name__.lower())
        return int(gc.stats.requests) - before
    rec.count("survey_answers_stored", counts["stored"])
    rec.count("survey_answers_replaced", counts["replaced"])
    if counts["failed"]:
        rec.error("survey_forms", f"{counts['failed']} survey form(s) could not be read; read again next night",
                  kind="survey_forms")
    return int(gc.stats.requests) - before


def _end_access(store: Store, settings: Settings, org_cfg: OrganisationConfig, now: datetime, providers: Providers,
                rec: RunRecorder) -> None:
    """A period ended early on a day still to come (keskeytys): its first night after that day
    removes the client's course enrolments and folder access, with the weekly setup's apply."""
    # The weekly setup's plan and apply load both vendors' SDKs (msgraph alone ~1.3 s, most of the
    # memory of a quiet night): only when an organisation follows access.
    from integrator.jobs.clients.changes import follow_ended_periods

    try:
        followed = follow_ended_periods(store, settings, org_cfg, now, providers.google)
    except (ProviderError, LookupError) as err:
        rec.error("access", str(err)[:300], kind=type(err).__name__.lower())
        return
    if followed:
        rec.count("access_ended", len(followed))


def _harvest(store: Store, ctx: SyncContext, providers: Providers, rec: RunRecorder, lease: Lease, *,
             force: bool) -> int:
    # The halves load their vendor SDKs (msgraph alone costs ~1.3 s): only when an organisation runs.
    from integrator.jobs.nightly import drive, google, sharepoint, teams

    requests = 0
    org_cfg = ctx.org_cfg
    if org_cfg.google is not None:
        gc = providers.google(org_cfg)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("classroom", lambda: google.harvest_classroom(store, ctx, gc, rec, force=force)),
            ("drive", lambda: drive.harvest_drive(store, ctx, gc, rec)),
            ("meet", lambda: google.harvest_meet(store, ctx, gc, rec)),
        ]
        failed = _steps(steps, rec, lease)
        if failed & {"classroom", "drive"}:
            ctx.unread |= set(ctx.work_days)  # returns of anyone may be missing
        requests += int(gc.stats.requests)
    ms_steps: list[tuple[str, Callable[[], None]]] = []
    if org_cfg.microsoft is not None and any(m.provider == "teams" for m in ctx.meetings):
        ms_steps.append(("teams", lambda: teams.harvest_teams(store, ctx, graph, rec)))
    if org_cfg.microsoft is not None and org_cfg.microsoft.task_folders is not None and org_cfg.google is None:
        # Client task folders in SharePoint/OneDrive: the returns of an organisation without Google.
        ms_steps.append(("sharepoint", lambda: sharepoint.harvest_sharepoint(store, ctx, graph, rec)))
    if ms_steps:
        graph = providers.graph(org_cfg)
        try:
            if "sharepoint" in _steps(ms_steps, rec, lease):
                ctx.unread |= set(ctx.work_days)  # returns of anyone may be missing
            requests += int(graph.requests)
        finally:
            graph.close()
    return requests


def _steps(steps: list[tuple[str, Callable[[], None]]], rec: RunRecorder, lease: Lease) -> set[str]:
    """Run the harvest steps; returns the names of those that failed as a whole. Each step
    stores its evidence as it reads: it starts only while the run holds its lock."""
    failed: set[str] = set()
    for i, (name, step) in enumerate(steps):
        lease.check()  # LeaseLost is not a step's failure: it stops the run
        try:
            step()
        except NeedsReauth as err:
            # Credentials are wrong: every further call of this tenant would fail the same way.
            rec.error(name, f"needs re-authorisation: {err}"[:300], kind="reauth")
            return failed | {n for n, _ in steps[i:]}
        except (ProviderError, LookupError) as err:
            rec.error(name, str(err)[:300], kind=type(err).__name__.lower())
            failed.add(name)
    return failed
