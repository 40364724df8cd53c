"""Weekly setup: next week's courses, topics, enrolments, folders, sharing and coursework.

``run_weekly_setup`` is the one entry point for the CLI, the web service and the scheduler.
It takes every organisation's lock first (also for a dry run), then per organisation it
1. syncs the config into the store and materialises the week's work days and tasks
   (store rows only, `jobs.weekly.store_week`, for every organisation whatever its tenants; the
   meetings planner reads them too; a dry run does all of this inside one transaction that is
   rolled back, so a preview leaves the store's week as it was),
2. (organisations with Google Workspace) looks at invitations we sent earlier (reads only) to see who has accepted,
3. diffs the desired state with the store's ExternalResource rows -> a Plan,
4. unless ``dry_run``: applies the plan in batches (integrator.jobs.weekly.apply), recording
   each confirmed result at once, so that a crash resumes and a re-run writes nothing,
5. plans (and applies) the week's meetings through integrator.jobs.meetings (Teams or Meet).
An organisation on Microsoft 365 alone gets steps 1 and 5, and with `microsoft.task_folders` its
clients' task folders and documents in SharePoint/OneDrive (`jobs.weekly.sharepoint`).
A JobRun row records the plan, counts and per-item errors (also for a dry run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select
from sqlalchemy.orm import sessionmaker

from integrator.config import GoogleTenant, MicrosoftTenant, OrganisationConfig, Settings
from integrator.config.apply import apply_to_session
from integrator.domain.types import JobStatus
from integrator.domain.weeks import parse_iso_week
from integrator.jobs.locks import JobAlreadyRunning, Lease, job_lock
from integrator.jobs.meetings.apply import apply_meetings
from integrator.jobs.meetings.plan import plan_meetings
from integrator.jobs.plan import Plan
from integrator.jobs.runs import RunRecorder
from integrator.jobs.weekly.apply import Applier, observe_invitations
from integrator.jobs.weekly.duplicates import add_to_plan, find_duplicates
from integrator.jobs.weekly.plan import ALL_CONFIRMED, Confirmed, PlannedOrg, diff, hold_unconfirmed_removals
from integrator.jobs.weekly.state import desired_resources
from integrator.jobs.weekly.store_week import materialise_org_week, store_week_plan
from integrator.jobs.weekly.tasks import TaskFile, load_task_file
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.google.client import GoogleClient
from integrator.providers.limits import DRIVE_PAGE_SIZE_MAX
from integrator.store.db import Store
from integrator.store.models import Client, ExternalResource, Organisation, StaffUser

if TYPE_CHECKING:
    # Loaded where a task-folder organisation needs them: the SharePoint side and the Graph client
    # bring msgraph (~1.3 s, tens of MB), which a Google organisation's night and setup never use
    # (jobs.clients.access follows an early end with `plan_org` every night).
    from integrator.jobs.weekly.sharepoint import SharePointPlan
    from integrator.providers.microsoft.client import GraphClient

log = logging.getLogger(__name__)

ClientFactory = Callable[[GoogleTenant], GoogleClient]
GraphFactory = Callable[[MicrosoftTenant], "GraphClient"]


def _org_id(store: Store, key: str) -> int | None:
    with store.session() as s:
        return s.scalar(select(Organisation.id).where(Organisation.key == key))


def _material_bank(gc: GoogleClient, google: GoogleTenant, task_file: TaskFile | None) -> dict[str, str]:
    """File name -> id in the material bank folder, read only when the task file names materials."""
    if not task_file or not google.material_bank_folder_id or not any(t.material for t in task_file.tasks):
        return {}
    svc = gc.service("drive")
    files = gc.collect(svc.files().list(q=f"'{google.material_bank_folder_id}' in parents and trashed=false",
                                        supportsAllDrives=True, includeItemsFromAllDrives=True,
                                        fields="nextPageToken,files(id,name)", pageSize=DRIVE_PAGE_SIZE_MAX), "files")
    return {f["name"]: f["id"] for f in files}


def plan_org(store: Store, settings: Settings, org_cfg: OrganisationConfig, week: str, now: datetime,
             gc: GoogleClient, *, group_keys: frozenset[str] | None = None,
             task_file: TaskFile | None = None) -> PlannedOrg:
    """Materialise the week in the store and diff it against what exists: the organisation's plan."""
    assert org_cfg.google is not None
    bank = _material_bank(gc, org_cfg.google, task_file)
    with store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_cfg.key))
        rows = {(r.kind, r.local_key): r for r in s.scalars(
            select(ExternalResource).where(ExternalResource.organisation_id == org_id))}
        course_ids = {key: str(r.external_id) for (kind, key), r in rows.items()
                      if kind == "course" and r.external_id and r.status == "active"}
        emails = {c.code: (c.email or "").lower() for c in s.scalars(select(Client).where(
            Client.organisation_id == org_id))}
        staff: dict[int, str] = dict(s.execute(select(StaffUser.id, StaffUser.email)).all())
    accepted = observe_invitations(gc, rows, course_ids, emails)
    copies = find_duplicates(gc, rows, staff, org_cfg.google.admin_subject, group_keys)
    # The store's writes come after the tenant's reads: in a dry run (one rolled-back transaction)
    # SQLite then holds its write lock only while we compute, never while we wait for Google.
    ow = materialise_org_week(store, settings, org_cfg, week, now, task_file, bank)
    owners = {key: r.state.get("owner") for (kind, key), r in rows.items() if kind == "folder" and r.external_id}
    desired, notes = desired_resources(ow, org_cfg, now, owners)
    return add_to_plan(diff(ow, desired, notes, rows, accepted, now, group_keys), copies)


class _RolledBackStore(Store):
    """The store seen through one transaction that is rolled back: what a dry run computes on.

    Every session joins the same connection's transaction and its commit only flushes, so the
    week's work days and tasks are materialised for the plan (and the meetings planner) to read,
    and nothing of it stays.
    """

    def __init__(self, store: Store, conn: Connection) -> None:  # no super(): it shares the store's engine
        self.url, self.engine = store.url, store.engine
        self.sessions = sessionmaker(bind=conn, expire_on_commit=False, join_transaction_mode="rollback_only")

    def dispose(self) -> None:
        """The engine is the real store's: not ours to dispose."""


@contextmanager
def rolled_back(store: Store) -> Iterator[Store]:
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield _RolledBackStore(store, conn)
        finally:
            if transaction.is_active:
                transaction.rollback()


def lock_organisations(stack: ExitStack, store: Store, orgs: list[OrganisationConfig]) -> dict[str, Lease]:
    """Take every organisation's weekly-setup lock on `stack`, or none (JobAlreadyRunning);
    returns the leases by organisation key, for the apply to check before its writes.

    Taken before the JobRun is recorded, so that a refused run leaves no run row that claims to
    have done something. A run never waits for a lock: two runs over several organisations
    cannot deadlock.
    """
    leases: dict[str, Lease] = {}
    for org_cfg in orgs:
        try:
            leases[org_cfg.key] = stack.enter_context(job_lock(store, f"weekly_setup:{org_cfg.key}"))
        except JobAlreadyRunning as err:
            raise JobAlreadyRunning(f"another weekly setup is running for {org_cfg.key}: {err}") from err
    return leases


def run_weekly_setup(store: Store, settings: Settings, week: str, org_key: str | None = None,
                     group_key: str | None = None, dry_run: bool = False, triggered_by: str = "cli", *,
                     group_keys: Collection[str] | None = None, confirmed_removals: Confirmed = (),
                     tasks_file: Path | None = None, now: datetime | None = None,
                     client_factory: ClientFactory | None = None, include_meetings: bool = True,
                     echo: Callable[[str], None] | None = None,
                     graph_factory: GraphFactory | None = None) -> tuple[Plan, int]:
    """Plan (and unless `dry_run`, apply) the week for one or every organisation.

    `group_key` or `group_keys`: only that group or those groups (a coordinator's all at once).
    `confirmed_removals`: the removals of access (enrolments, folder sharing) a person confirmed,
    by key (what a preview showed), or ALL_CONFIRMED; every other one is held back as a note and
    the access stays. The scheduler confirms none.

    Returns the combined plan (Google and meetings) and the JobRun id. Raises NeedsReauth when
    an organisation's credentials or delegation are wrong (after recording it in the run), and
    JobAlreadyRunning, with no run recorded, when another weekly setup holds an organisation.
    """
    parse_iso_week(week)
    only = frozenset(group_keys) if group_keys is not None else frozenset({group_key}) if group_key else None
    now = now or datetime.now(UTC)
    orgs = [settings.organisation(org_key)] if org_key else list(settings.organisations)
    task_file = load_task_file(tasks_file, week) if tasks_file else None
    with ExitStack() as locks:
        # A dry run takes the locks too: it computes on the store (work days, tasks) and must
        # neither race an apply nor show a half-applied state.
        leases = lock_organisations(locks, store, orgs)
        return _locked_run(store, settings, week, orgs, org_key, only, dry_run, triggered_by, leases,
                           confirmed=confirmed_removals, tasks_file=tasks_file, task_file=task_file, now=now,
                           factory=client_factory or (lambda tenant: GoogleClient(tenant)),
                           graph=graph_factory or _graph_client,
                           meetings=include_meetings, say=echo or (lambda _line: None))


def _graph_client(tenant: MicrosoftTenant) -> GraphClient:
    from integrator.providers.microsoft.client import GraphClient  # lazy vendor SDK: see the imports

    return GraphClient(tenant)


def _locked_run(store: Store, settings: Settings, week: str, orgs: list[OrganisationConfig], org_key: str | None,
                only: frozenset[str] | None, dry_run: bool, triggered_by: str, leases: dict[str, Lease], *,
                confirmed: Confirmed,
                tasks_file: Path | None,
                task_file: TaskFile | None, now: datetime, factory: ClientFactory, meetings: bool,
                say: Callable[[str], None], graph: GraphFactory) -> tuple[Plan, int]:
    if not dry_run:  # a dry run syncs the config only inside its rolled-back transaction
        with store.session() as s:
            apply_to_session(s, settings)
    recorder = RunRecorder.start(
        store, "weekly_setup", organisation_id=_org_id(store, org_key) if org_key else None,
        params={"week": week, "org": org_key, "group": next(iter(only)) if only and len(only) == 1 else None,
                **({"groups": sorted(only)} if only and len(only) > 1 else {}),
                "tasks": str(tasks_file) if tasks_file else None},
        dry_run=dry_run, triggered_by=triggered_by)
    full = Plan()
    status: JobStatus | None = None
    try:
        if dry_run:
            for org_cfg in orgs:
                with rolled_back(store) as view:
                    full.extend(_plan_org_week(view, settings, org_cfg, week, now, factory, recorder,
                                               only=only, task_file=task_file, meetings=meetings,
                                               confirmed=ALL_CONFIRMED).plan)  # a preview shows every removal
        else:
            # Every organisation is planned before anything is applied, so that the run's progress
            # has its real total (Google and meetings actions) from the first step.
            planned = [_plan_org_week(store, settings, org_cfg, week, now, factory, recorder, only=only,
                                      task_file=task_file, meetings=meetings, confirmed=confirmed) for org_cfg in orgs]
            for op in planned:
                full.extend(op.plan)
            recorder.progress(0, sum(op.size for op in planned))
            for op in planned:
                _apply_org_week(store, settings, op, recorder, now, say, leases[op.org_cfg.key], graph)
    except NeedsReauth as err:
        recorder.error("credentials", str(err), kind="needs_reauth")
        status = JobStatus.FAILED
        raise
    except BaseException as err:
        recorder.error("run", f"{type(err).__name__}: {err}"[:300], kind="crash")
        status = JobStatus.FAILED
        raise
    finally:
        if dry_run:
            for k, v in full.counts().items():
                recorder.counts[k] = v
        recorder.save_plan(full.to_json())
        recorder.finish(status)
    return full, recorder.run_id


@dataclass
class OrgWeekPlan:
    """One organisation's week, planned: the Google part and the meetings part, kept apart to apply."""

    org_cfg: OrganisationConfig
    plan: Plan = field(default_factory=Plan)  # both parts together, for the report
    google: PlannedOrg | None = None
    gc: GoogleClient | None = None
    meetings: Plan | None = None
    sharepoint: SharePointPlan | None = None  # task folders of an organisation on Microsoft 365 alone

    @property
    def size(self) -> int:
        """How many actions an apply goes through: the length of the run's progress bar."""
        return sum(len(p.actions) for p in (self.google.plan if self.google else None, self.meetings,
                                            self.sharepoint.plan if self.sharepoint else None) if p is not None)


def _plan_org_week(store: Store, settings: Settings, org_cfg: OrganisationConfig, week: str, now: datetime,
                   factory: ClientFactory, recorder: RunRecorder, *, only: frozenset[str] | None,
                   task_file: TaskFile | None, meetings: bool, confirmed: Confirmed) -> OrgWeekPlan:
    out = OrgWeekPlan(org_cfg)
    if org_cfg.google is None:
        # The store part of the week (work days, tasks, variants) is every organisation's: the
        # meetings plan below, the letters and the nightly sync read its rows.
        ow = materialise_org_week(store, settings, org_cfg, week, now, task_file)
        out.plan.extend(store_week_plan(ow, org_cfg, only))
        if org_cfg.microsoft is not None and org_cfg.microsoft.task_folders is not None:
            from integrator.jobs.weekly.sharepoint import plan_sharepoint  # lazy vendor SDK: see the imports

            out.sharepoint = plan_sharepoint(store, org_cfg, ow, now, only)  # the store alone: no tenant read
            held = hold_unconfirmed_removals(out.sharepoint.plan, confirmed)
            if held:
                recorder.count("held_removals", held)
            out.plan.extend(out.sharepoint.plan)
    else:
        out.gc = factory(org_cfg.google)
        out.google = plan_org(store, settings, org_cfg, week, now, out.gc, group_keys=only, task_file=task_file)
        held = hold_unconfirmed_removals(out.google.plan, confirmed)
        if held:
            recorder.count("held_removals", held)
        out.plan.extend(out.google.plan)
    if meetings:
        try:
            out.meetings = plan_meetings(store, settings, org_cfg.key, week, only)
            out.plan.extend(out.meetings)
        except NeedsReauth:
            raise
        except (ProviderError, KeyError, LookupError) as err:
            recorder.error(f"meetings:{org_cfg.key}", str(err), kind="meetings")
    return out


def _apply_org_week(store: Store, settings: Settings, op: OrgWeekPlan, recorder: RunRecorder, now: datetime,
                    say: Callable[[str], None], lease: Lease, graph: GraphFactory) -> None:
    """Apply one organisation's week; the lease is checked before each batch of writes (the
    Google stages and batches, each task-folder step, each meeting): a run that lost its lock stops there."""
    key = op.org_cfg.key
    if op.sharepoint is not None and op.sharepoint.plan.actions and op.org_cfg.microsoft is not None:
        say(f"{key}: applying {len(op.sharepoint.plan.actions)} task-folder change(s)")
        from integrator.jobs.weekly.sharepoint import SharePointApplier  # lazy vendor SDK: see the imports

        with graph(op.org_cfg.microsoft) as gc:
            SharePointApplier(store, op.sharepoint, gc, recorder, now, lease=lease).apply()
    if op.google is not None and op.gc is not None and op.google.plan.actions:
        say(f"{key}: applying {len(op.google.plan.actions)} Google change(s)")
        Applier(store, op.org_cfg, op.gc, op.google, recorder, now, lease=lease).apply()
    if op.meetings is not None and op.meetings.actions:
        try:
            apply_meetings(store, settings, key, op.meetings, MeetingsProgress.over(recorder), lease=lease)
        except NeedsReauth:
            raise
        except (ProviderError, KeyError, LookupError) as err:
            recorder.error(f"meetings:{key}", str(err), kind="meetings")


@dataclass
class MeetingsProgress(RunRecorder):
    """The run's recorder as the meetings apply sees it.

    The meetings apply counts its progress from 0 to its own number of actions; the run's bar
    goes on from where the Google part ended. Counts and errors are the run's own (shared).
    """

    parent: RunRecorder | None = None
    base: int = 0

    @classmethod
    def over(cls, parent: RunRecorder) -> MeetingsProgress:
        return cls(store=parent.store, run_id=parent.run_id, counts=parent.counts, errors=parent.errors,
                   done=parent.done, total=parent.total, parent=parent, base=parent.done)

    def progress(self, done: int | None = None, total: int | None = None, *, flush: bool = True) -> None:
        assert self.parent is not None
        self.parent.progress(None if done is None else self.base + done, flush=flush)
