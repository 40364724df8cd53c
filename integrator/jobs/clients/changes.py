"""A client's move to another group from a date, and an early end (keskeytys) of their period.

Each is previewed, then applied: the store first (`clients_import.lifecycle`, one transaction,
audited), then the tenants (`jobs.clients.access`). A preview computes the same inside one
rolled-back transaction, as the weekly setup's dry run does, so it shows exactly what the apply
would do. Both take the organisation's weekly-setup lock: the store's week and the tenant are the
weekly setup's too. A re-run changes nothing and audits nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.clients_import.lifecycle import (
    EndChange,
    LifecycleError,
    MoveChange,
    end_period_early,
    move_membership,
    undo_early_end,
)
from integrator.config import OrganisationConfig, Settings
from integrator.jobs.clients.access import (
    ClientFactory,
    Followed,
    access_due_to_end,
    cancel_future_messages,
    follow_in_tenant,
    future_meetings,
    requeue_messages,
)
from integrator.jobs.clients.preview import describe
from integrator.jobs.locks import job_lock
from integrator.jobs.runs import RunRecorder
from integrator.jobs.weekly.setup import rolled_back
from integrator.providers.google.client import GoogleClient
from integrator.store.db import Store
from integrator.store.models import AuditEvent, Client, Organisation, PeerGroup
from integrator.store.types import utcnow

__all__ = ["ClientChange", "LifecycleError", "end_period", "move_client", "undo_end_period"]


@dataclass
class ClientChange:
    """The outcome of a move, an early end or its undo: what changed, in the store and the tenants."""

    action: str  # move | end | undo
    code: str
    changed: bool
    details: dict[str, Any]
    followed: Followed = field(default_factory=Followed)
    messages: list[str] = field(default_factory=list)  # keys of the messages cancelled or queued again
    applied: bool = False
    run_id: int | None = None
    access_later: date | None = None  # a future early end: the nightly sync of this day removes access

    def preview(self) -> str:
        return describe(self)


def _default_factory(tenant: Any) -> GoogleClient:
    return GoogleClient(tenant)


def _today(settings: Settings, now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.time_zone)).date()


def _org(s: Session, settings: Settings, org_key: str | None) -> tuple[Organisation, OrganisationConfig]:
    if org_key is None:
        if len(settings.organisations) != 1:
            raise LifecycleError("org", "give the organisation: the config has several",
                                 "anna organisaatio: asetuksissa on useita")
        org_key = settings.organisations[0].key
    org = s.scalars(select(Organisation).where(Organisation.key == org_key)).one_or_none()
    if org is None:
        raise LifecycleError("org", f"no organisation '{org_key}' in the database; run `integrator config apply`",
                             f"organisaatiota '{org_key}' ei ole tietokannassa; aja `integrator config apply`")
    return org, settings.organisation(org_key)


def _client(s: Session, org: Organisation, code: str) -> Client:
    client = s.scalars(select(Client).where(Client.organisation_id == org.id, Client.code == code)).one_or_none()
    if client is None:
        raise LifecycleError("code", f"no client '{code}' in organisation '{org.key}'",
                             f"asiakasta '{code}' ei ole organisaatiossa '{org.key}'")
    return client


@contextmanager
def _view(store: Store, apply: bool) -> Iterator[Store]:
    if apply:
        yield store
    else:
        with rolled_back(store) as view:
            yield view


def _follow(store: Store, settings: Settings, org_cfg: OrganisationConfig, result: ClientChange, groups: set[str],
            now: datetime, factory: ClientFactory, apply: bool, *, tenant: bool = True) -> None:
    """The tenants after the store: the client's resources, then the groups' future meetings."""
    recorder = None
    if apply:
        with store.session() as s:
            org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_cfg.key))
        recorder = RunRecorder.start(store, "client_change", organisation_id=org_id, triggered_by=result.details.get(
            "actor", "cli"), params={"client": result.code, "action": result.action, "groups": sorted(groups)})
        result.run_id = recorder.run_id
    try:
        today = _today(settings, now)
        if tenant:
            follow_in_tenant(store, settings, org_cfg, result.code, groups, now, today, factory, recorder,
                             result.followed)
        future_meetings(store, settings, org_cfg.key, groups, today, recorder, result.followed)
    finally:
        if recorder is not None:
            recorder.save_plan(result.followed.tenant.to_json() + result.followed.meetings.to_json())
            recorder.finish()
            result.followed.errors = list(recorder.errors)


def _audit(s: Session, org: Organisation, actor: str, action: str, entity: str, entity_id: int,
           details: dict[str, Any]) -> None:
    s.add(AuditEvent(organisation_id=org.id, actor=actor, action=action, entity=entity, entity_id=str(entity_id),
                     details=details))


def move_client(store: Store, settings: Settings, code: str, to_group: str, from_date: date, actor: str, *,
                org_key: str | None = None, now: datetime | None = None, apply: bool = False,
                google_factory: ClientFactory | None = None) -> ClientChange:
    """Move the client to `to_group` from `from_date` (preview unless `apply`).

    The membership of that day ends the day before; every earlier day stays as it was. The client is
    enrolled in the new group's course and removed from the old one as the weekly setup does (now,
    when the old membership ended before today), and the groups' future meetings are re-planned.
    Raises LifecycleError (with the field) for a bad code, group or date.
    """
    now = now or utcnow()
    today = _today(settings, now)
    with store.session() as s:
        org, org_cfg = _org(s, settings, org_key)
    with job_lock(store, f"weekly_setup:{org_cfg.key}"), _view(store, apply) as view:
        with view.session() as s:
            org = s.get(Organisation, org.id)  # type: ignore[assignment]
            client = _client(s, org, code)
            group = s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org.id,
                                                      PeerGroup.key == to_group)).one_or_none()
            if group is None:
                raise LifecycleError("to_group", f"no group '{to_group}' in organisation '{org.key}'",
                                     f"ryhmää '{to_group}' ei ole organisaatiossa '{org.key}'")
            change: MoveChange = move_membership(s, client, group, from_date, today, settings.rules_for(org.key))
            if change.changed:
                _audit(s, org, actor, "client.moved", "client", client.id, change.audit())
        result = ClientChange("move", code, change.changed, {**change.audit(), "actor": actor},
                              access_later=from_date if change.changed and change.from_group
                              and from_date > today else None)
        groups = {g for g in (change.from_group, change.to_group) if g}
        _follow(view, settings, org_cfg, result, groups, now, google_factory or _default_factory, apply)
        result.applied = apply
    return result


def end_period(store: Store, settings: Settings, code: str, on: date, reason: str, actor: str, *,
               org_key: str | None = None, now: datetime | None = None, apply: bool = False,
               google_factory: ClientFactory | None = None) -> ClientChange:
    """End the client's period early, `on` being the last day (preview unless `apply`).

    Whatever the planned length. The planned end is kept for an undo. The client's queued letters
    and reminders after `on` are cancelled, the groups' future meetings no longer invite them, and
    their course enrolments and folder access end now when `on` is today or past (else the first
    nightly sync after `on` removes them). Every record stays.
    """
    now = now or utcnow()
    today = _today(settings, now)
    with store.session() as s:
        org, org_cfg = _org(s, settings, org_key)
    with job_lock(store, f"weekly_setup:{org_cfg.key}"), _view(store, apply) as view:
        with view.session() as s:
            org = s.get(Organisation, org.id)  # type: ignore[assignment]
            client = _client(s, org, code)
            change: EndChange = end_period_early(s, client, on, reason, actor, now)
            messages = cancel_future_messages(s, client.id, on)
            if change.changed or messages:
                _audit(s, org, actor, "period.ended", "period", change.period_id,
                       {**change.audit(), "cancelled": messages})
            # The groups it ends, and those of a move that starts after `on` (that membership is left
            # as it is, but the period no longer covers it: its course and invitations go as well).
            groups = set(change.groups) | {m.group.key for m in client.memberships if m.start_date > on} \
                or _groups_of(s, client)
        result = ClientChange("end", code, change.changed or bool(messages), {**change.audit(), "actor": actor},
                              messages=messages, access_later=None if on <= today else on + timedelta(days=1))
        _follow(view, settings, org_cfg, result, groups, now, google_factory or _default_factory, apply,
                tenant=on <= today)
        result.applied = apply
    return result


def undo_end_period(store: Store, settings: Settings, code: str, actor: str, *, org_key: str | None = None,
                    now: datetime | None = None, apply: bool = False,
                    google_factory: ClientFactory | None = None) -> ClientChange:
    """Undo the client's early end: the planned end, the memberships and the cancelled messages
    come back, and the access with them (by the same apply, at once)."""
    now = now or utcnow()
    with store.session() as s:
        org, org_cfg = _org(s, settings, org_key)
    with job_lock(store, f"weekly_setup:{org_cfg.key}"), _view(store, apply) as view:
        with view.session() as s:
            org = s.get(Organisation, org.id)  # type: ignore[assignment]
            client = _client(s, org, code)
            ended = [p for p in client.periods if p.planned_end_date is not None]
            event = s.scalars(select(AuditEvent).where(
                AuditEvent.action == "period.ended", AuditEvent.entity == "period",
                AuditEvent.entity_id.in_([str(p.id) for p in ended])).order_by(AuditEvent.id.desc())).first() \
                if ended else None
            recorded: dict[str, Any] = dict(event.details) if event is not None else {}
            change = undo_early_end(s, client, list(recorded.get("memberships", [])))
            messages: list[str] = []
            if change is not None:
                requeue_messages(s, list(recorded.get("cancelled", [])))
                messages = list(recorded.get("cancelled", []))
                _audit(s, org, actor, "period.end_undone", "period", change.period_id,
                       {**change.audit(), "requeued": messages})
            groups = set(change.groups) if change else set()
            groups |= _groups_of(s, client)
        result = ClientChange("undo", code, change is not None, {**(change.audit() if change else {}), "actor": actor},
                              messages=messages)
        if change is not None:
            _follow(view, settings, org_cfg, result, groups, now, google_factory or _default_factory, apply)
        result.applied = apply
    return result


def _groups_of(s: Session, client: Client) -> set[str]:
    return {m.group.key for m in client.memberships}


def follow_ended_periods(store: Store, settings: Settings, org_cfg: OrganisationConfig, now: datetime,
                         factory: Callable[[OrganisationConfig], Any]) -> list[str]:
    """For the nightly sync: clients whose move or early end has come but who still have the course
    enrolment or folder access it ends get them removed (a change from a future date, at its first
    night).

    Returns the client codes followed."""
    today = _today(settings, now)
    due = access_due_to_end(store, org_cfg.key, today)
    if not due:
        return []
    made: list[Any] = []

    def once(_tenant: Any) -> Any:  # an organisation on Microsoft 365 alone never builds a Google client
        if not made:
            made.append(factory(org_cfg))
        return made[0]

    for code, groups in due.items():
        result = ClientChange("end", code, False, {"actor": "system:nightly_sync"})
        _follow(store, settings, org_cfg, result, groups, now, once, True)
    return sorted(due)
