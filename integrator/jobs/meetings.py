"""Peer-group meetings: one Teams or Meet event per work day, planned then applied.

Our memory of each meeting is an `ExternalResource` (kind "meeting", key
``meeting:<group>:<day>``). Its `state` holds the provider, a generation number, the
idempotency key of the current generation (Graph `transactionId` / Calendar event id), the
event id, join URL, onlineMeeting id and a fingerprint of what we last applied. The row is
written as "pending" *before* the provider call, so a crash between the call and our commit
is resumed with the same idempotency key and never makes a second meeting.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from integrator.config import OrganisationConfig, Settings
from integrator.domain import participation
from integrator.domain.types import MeetingProvider, WorkDayStatus
from integrator.domain.weeks import week_monday
from integrator.jobs.notify.outbox import scrub
from integrator.jobs.plan import Action, Plan
from integrator.jobs.rendering import render
from integrator.jobs.runs import RunRecorder
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.meetings import KeySpent, MeetingRef, MeetingService, MeetingSpec
from integrator.store.db import Store
from integrator.store.models import Client, ExternalResource, Membership, Organisation, PeerGroup, WorkDay

log = logging.getLogger(__name__)

KIND = "meeting"
RESOURCE = "meeting"
#: Events written before attendees were hidden from each other get one PATCH for it (F16).
HIDE_REASON = "osallistujien osoitteet piilotetaan toisilta"


def _safe(err: BaseException) -> str:
    """An error for the job run's record: vendor texts may quote attendee addresses."""
    return scrub(str(err))[:300]


def meeting_key(group_key: str, day: date) -> str:
    return f"meeting:{group_key}:{day.isoformat()}"


# ---- who takes part ------------------------------------------------------------------------


def takes_part(client: Client, membership: Membership, day: date) -> bool:
    """The one participation rule (integrator.domain.participation) for a loaded client."""
    return participation.takes_part(membership, client.periods, day)


def participants(group: PeerGroup, day: date) -> list[Client]:
    """Clients of `group` on `day`, sorted by code. Load memberships/clients/periods eagerly."""
    seen: dict[int, Client] = {}
    for m in group.memberships:
        if m.client_id not in seen and takes_part(m.client, m, day):
            seen[m.client_id] = m.client
    return sorted(seen.values(), key=lambda c: c.code)


def load_groups(s: Session, org_id: int, group_key: str | None = None) -> list[PeerGroup]:
    q = (
        select(PeerGroup)
        .where(PeerGroup.organisation_id == org_id)
        .options(
            selectinload(PeerGroup.memberships).selectinload(Membership.client).selectinload(Client.periods),
            selectinload(PeerGroup.coordinator),
        )
        .order_by(PeerGroup.key)
    )
    if group_key is not None:
        q = q.where(PeerGroup.key == group_key)
    return list(s.scalars(q))


def organisation_id(s: Session, org_key: str) -> int:
    org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key))
    if org_id is None:
        raise LookupError(f"organisation {org_key!r} is not in the store; run `integrator config apply` first")
    return org_id


# ---- the desired meeting -------------------------------------------------------------------


def meeting_spec(org_cfg: OrganisationConfig, settings: Settings, group: PeerGroup, wd: WorkDay,
                 attendees: Iterable[Client]) -> MeetingSpec:
    if group.coordinator is None:
        raise LookupError(f"group {group.key} has no coordinator: the meeting needs an organiser")
    tz = group.time_zone
    body = render(org_cfg.templates_dir, "meeting_body.html.j2", group_name=group.name, date=wd.day,
                  start=wd.meeting_start, end=wd.meeting_end, tz=tz, instructions=wd.instructions,
                  tasks=[t.title for t in wd.tasks], coordinator_name=group.coordinator.display_name)
    offsets = settings.schedule.reminder_offsets_minutes
    return MeetingSpec(
        organizer=group.coordinator.email,
        subject=f"{group.name}: ryhmätapaaminen {wd.day.day}.{wd.day.month}.",
        body_html=body,
        start=wd.meeting_start,
        end=wd.meeting_end,
        attendees=tuple(sorted(c.email for c in attendees if c.email)),
        reminder_minutes=offsets[0] if offsets else 15,
        time_zone=tz,
    )


def fingerprint(provider: str, spec: MeetingSpec) -> str:
    data = {"provider": provider, "organizer": spec.organizer.lower(), "subject": spec.subject,
            "body": spec.body_html, "start": spec.start.isoformat(), "end": spec.end.isoformat(),
            "attendees": sorted(a.lower() for a in spec.attendees), "reminder": spec.reminder_minutes}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _changes(old: dict[str, Any], spec: MeetingSpec) -> list[str]:
    """What changed, in a coordinator's words (for the plan's reason)."""
    out = []
    if old.get("start") != spec.start.isoformat() or old.get("end") != spec.end.isoformat():
        out.append("aika muuttui")
    if sorted(old.get("attendees", [])) != sorted(a.lower() for a in spec.attendees):
        out.append("osallistujat muuttuivat")
    if not old.get("attendees_hidden"):
        out.append(HIDE_REASON)
    return out or ["sisältö muuttui"]


# ---- plan ----------------------------------------------------------------------------------


def plan_meetings(store: Store, settings: Settings, org_key: str, week: str,
                  group_key: str | None = None) -> Plan:
    """Create, update or cancel each group's meeting of each work day in `week`."""
    org_cfg = settings.organisation(org_key)
    plan = Plan()
    monday = week_monday(week)
    with store.session() as s:
        org_id = organisation_id(s, org_key)
        groups = load_groups(s, org_id, group_key)
        by_id = {g.id: g for g in groups}
        days = list(s.scalars(
            select(WorkDay).where(WorkDay.group_id.in_(by_id), WorkDay.iso_week == week)
            .options(selectinload(WorkDay.tasks)).order_by(WorkDay.day)))
        keys = [meeting_key(g.key, monday + timedelta(days=i)) for g in groups for i in range(7)]
        existing = {r.local_key: r for r in s.scalars(select(ExternalResource).where(
            ExternalResource.organisation_id == org_id, ExternalResource.kind == KIND,
            ExternalResource.local_key.in_(keys)))}
        wanted: set[str] = set()
        for wd in days:
            group = by_id[wd.group_id]
            key = meeting_key(group.key, wd.day)
            row = existing.get(key)
            alive = row is not None and row.status in ("active", "pending")
            if wd.status == WorkDayStatus.CANCELLED or not group.active:
                reason = wd.cancelled_reason or ("ryhmä ei ole toiminnassa" if not group.active else "päivä peruttu")
                if alive:
                    plan.add(Action("remove", RESOURCE, key, group=group.key, reason=reason,
                                    detail={"work_day_id": wd.id}))
                else:
                    plan.add(Action("skip", RESOURCE, key, group=group.key, reason=reason))
                continue
            wanted.add(key)
            people = participants(group, wd.day)
            if not people:
                plan.add(Action("skip", RESOURCE, key, group=group.key, reason="ryhmässä ei ole osallistujia"))
                if alive:
                    plan.add(Action("remove", RESOURCE, key, group=group.key, reason="ei osallistujia",
                                    detail={"work_day_id": wd.id}))
                continue
            if group.coordinator is None:
                plan.add(Action("skip", RESOURCE, key, group=group.key, reason="ryhmällä ei ole ohjaajaa"))
                continue
            spec = meeting_spec(org_cfg, settings, group, wd, people)
            provider = group.meeting_provider.value
            fp = fingerprint(provider, spec)
            detail = {"work_day_id": wd.id, "provider": provider}
            if row is None or row.status != "active":
                why = "kesken jäänyt luonti" if row is not None and row.status == "pending" else "uusi työpäivä"
                plan.add(Action("create", RESOURCE, key, group=group.key, reason=why, detail=detail))
            elif row.state.get("provider") != provider:
                plan.add(Action("create", RESOURCE, key, group=group.key, reason="tapaamisalusta vaihtui",
                                detail={**detail, "replace": True}))
            elif str(row.state.get("organizer", "")).lower() != spec.organizer.lower():
                # The event lives on the old coordinator's calendar: cancel it there, make a new one.
                plan.add(Action("create", RESOURCE, key, group=group.key, reason="ohjaaja vaihtui",
                                detail={**detail, "replace": True}))
            elif row.state.get("fingerprint") != fp:
                plan.add(Action("update", RESOURCE, key, group=group.key,
                                reason=", ".join(_changes(row.state, spec)), detail=detail))
            elif not row.state.get("attendees_hidden"):
                # Made before the event hid its guests: every client saw every client's address.
                plan.add(Action("update", RESOURCE, key, group=group.key, reason=HIDE_REASON, detail=detail))
            elif not row.state.get("join_url"):
                # Meet creates the conference asynchronously; the link may come after the event.
                plan.add(Action("update", RESOURCE, key, group=group.key,
                                reason="tapaamislinkki puuttuu", detail={**detail, "resolve_only": True}))
            elif provider == MeetingProvider.TEAMS.value and not row.state.get("online_meeting_id"):
                plan.add(Action("update", RESOURCE, key, group=group.key,
                                reason="Teams-kokouksen tunniste puuttuu", detail={**detail, "resolve_only": True}))
        # A work day that no longer exists (deleted from the store) leaves no meeting behind.
        for key, row in existing.items():
            if key not in wanted and row.status in ("active", "pending") and not any(
                    a.key == key for a in plan.actions):
                plan.add(Action("remove", RESOURCE, key, group=key.split(":")[1], reason="työpäivää ei ole enää"))
    return plan


# ---- apply ---------------------------------------------------------------------------------


@dataclass
class _Target:
    key: str
    provider: str
    spec: MeetingSpec | None
    week: str | None


class MeetingProviders:
    """The vendor clients and meeting services of one organisation (one per run), each built when
    first needed."""

    def __init__(self, org_cfg: OrganisationConfig) -> None:
        self.org_cfg = org_cfg
        self._graph: Any = None
        self._google: Any = None
        self._services: dict[str, MeetingService] = {}

    def graph(self) -> Any:
        if self._graph is None:
            # Imported here: msgraph takes seconds to load, and an organisation on Meet never needs it.
            from integrator.providers.microsoft.client import GraphClient

            if self.org_cfg.microsoft is None:
                raise LookupError(f"organisation {self.org_cfg.key} has no Microsoft tenant configured")
            self._graph = GraphClient(self.org_cfg.microsoft)
        return self._graph

    def google(self) -> Any:
        if self._google is None:
            # Imported here: the Google API client takes seconds to load, and an organisation on Teams never needs it.
            from integrator.providers.google.client import GoogleClient

            if self.org_cfg.google is None:
                raise LookupError(f"organisation {self.org_cfg.key} has no Google tenant configured")
            self._google = GoogleClient(self.org_cfg.google)
        return self._google

    def service(self, provider: str) -> MeetingService:
        """The meetings of `provider` ("teams" or "meet"); its client is built on its first request."""
        if provider not in self._services:
            self._services[provider] = _SERVICES[provider](self)
        return self._services[provider]

    def requests(self) -> int:
        n = 0
        if self._graph is not None:
            n += int(self._graph.requests)
        if self._google is not None:
            n += int(self._google.stats.requests)
        return n

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()


def _teams(p: MeetingProviders) -> MeetingService:
    # Imported here: the Teams service loads msgraph (seconds), which an organisation on Meet never needs.
    from integrator.providers.microsoft.teams import TeamsMeetings

    return TeamsMeetings(p.graph)


def _meet(p: MeetingProviders) -> MeetingService:
    # Imported here: the Meet service loads the Google API client (seconds), which an organisation on Teams never needs.
    from integrator.providers.google.meet import MeetMeetings

    return MeetMeetings(p.google)


_SERVICES: dict[str, Callable[[MeetingProviders], MeetingService]] = {
    MeetingProvider.TEAMS.value: _teams, MeetingProvider.MEET.value: _meet}


def _target(s: Session, org_cfg: OrganisationConfig, settings: Settings, action: Action) -> _Target:
    wd_id = action.detail.get("work_day_id")
    wd = s.get(WorkDay, wd_id) if wd_id is not None else None
    if wd is None or action.op == "remove":
        return _Target(action.key, str(action.detail.get("provider", "")), None, wd.iso_week if wd else None)
    group = load_groups(s, wd.group.organisation_id, wd.group.key)[0]
    spec = meeting_spec(org_cfg, settings, group, wd, participants(group, wd.day))
    return _Target(action.key, group.meeting_provider.value, spec, wd.iso_week)


def _row(s: Session, org_id: int, key: str) -> ExternalResource | None:
    return s.scalar(select(ExternalResource).where(
        ExternalResource.organisation_id == org_id, ExternalResource.kind == KIND,
        ExternalResource.local_key == key))


#: What belongs to one provider event, forgotten when that event is cancelled or gone.
_FORGOTTEN: dict[str, Any] = {"event_id": None, "join_url": None, "online_meeting_id": None,
                              "conference_id": None, "fingerprint": None}


def _record(state: dict[str, Any], ref: MeetingRef, spec: MeetingSpec, provider: str, *,
            written: bool = True) -> dict[str, Any]:
    """Our memory of the event after a create or patch (`written`), or after only reading it.

    An answer without an id or link (a Meet conference still being made, a read without
    conferenceData) never erases one we know: the nightly sync reads attendance with them.
    What we know belongs to one event, though: a new event starts from its own answer.
    """
    known = state if state.get("event_id") == ref.event_id else {}
    return {**state, "provider": provider, "event_id": ref.event_id,
            "join_url": ref.join_url or known.get("join_url"),
            "conference_id": ref.conference_id or known.get("conference_id"),
            "online_meeting_id": ref.online_meeting_id or known.get("online_meeting_id"),
            "organizer": spec.organizer, "start": spec.start.isoformat(), "end": spec.end.isoformat(),
            "attendees": sorted(a.lower() for a in spec.attendees), "fingerprint": fingerprint(provider, spec),
            # Every body we write hides the attendees from each other (event_body of each provider).
            "attendees_hidden": True if written else bool(state.get("attendees_hidden"))}


def _apply_one(store: Store, settings: Settings, org_cfg: OrganisationConfig, org_id: int,
               p: MeetingProviders, action: Action) -> str:
    """Apply one action; returns what was done (for counts)."""
    with store.session() as s:
        target = _target(s, org_cfg, settings, action)
        row = _row(s, org_id, action.key)
        if row is None:
            if action.op == "remove":
                return "noop"
            row = ExternalResource(organisation_id=org_id, kind=KIND, local_key=action.key, status="pending",
                                   state={"generation": 1})
            s.add(row)
            s.flush()
        state = dict(row.state or {})
        status = row.status

    # Cancel the old meeting first when replacing (provider changed) or removing.
    if action.op == "remove" or action.detail.get("replace"):
        if state.get("event_id") and status in ("active", "pending"):
            p.service(str(state.get("provider"))).cancel(str(state.get("organizer")), str(state["event_id"]))
        state = {**state, **_FORGOTTEN}
        if action.op == "remove":
            _save(store, org_id, action.key, "removed", state)
            return "removed"
        status = "removed"

    spec = target.spec
    assert spec is not None
    provider = target.provider
    service = p.service(provider)
    if action.op == "update" and status == "active" and state.get("event_id"):
        ref: MeetingRef | None
        if action.detail.get("resolve_only"):
            ref = service.get(spec.organizer, str(state["event_id"]))
        else:
            ref = service.update(spec, str(state["event_id"]))
        if ref is not None:
            state = _record(state, ref, spec, provider, written=not action.detail.get("resolve_only"))
            state = _with_meeting_id(service, spec, state)
            _save(store, org_id, action.key, "active", state)
            return "updated"
        # Gone at the provider: create a new one below, under the next generation's id
        # (a deleted Calendar id can never be used again).
        log.info("meeting gone at the provider, made again", extra={"key": action.key, "provider": provider})
        state = {**state, **_FORGOTTEN}
        status = "removed"

    state = _pending(store, org_cfg, org_id, action.key, target, service, state, status)
    try:
        ref = service.create(spec, str(state["idempotency_key"]))
    except KeySpent:
        # A pending Meet create whose event was made (its answer lost) and since deleted:
        # Calendar never gives a deleted id back, so this generation can never be created.
        # Move to the next generation (a new deterministic id) and create once.
        state = _pending(store, org_cfg, org_id, action.key, target, service, state, status, renew=True)
        ref = service.create(spec, str(state["idempotency_key"]))
    state = _record(state, ref, spec, provider)
    # Active as soon as the event exists; the onlineMeeting id may follow in a later run.
    _save(store, org_id, action.key, "active", state, external_id=ref.event_id)
    state = _with_meeting_id(service, spec, state)
    _save(store, org_id, action.key, "active", state, external_id=ref.event_id)
    return "created"


def _pending(store: Store, org_cfg: OrganisationConfig, org_id: int, key: str, target: _Target,
             service: MeetingService, state: dict[str, Any], status: str, *, renew: bool = False
             ) -> dict[str, Any]:
    """Write the row as pending with the idempotency key the create will use (committed first,
    so a crash after the provider call resumes with the same key). A pending row is resumed
    with its key (unless `renew`: its key can no longer be used); anything else starts a new
    generation."""
    assert target.spec is not None
    provider = target.provider
    resume = status == "pending" and not renew
    if resume and state.get("idempotency_key") and state.get("provider") == provider:
        return state
    generation = int(state.get("generation", 0)) + (0 if resume else 1)
    idem = service.idempotency_key(f"{org_cfg.key}:{key}:{generation}")
    state = {**state, "generation": generation, "idempotency_key": idem, "provider": provider,
             "organizer": target.spec.organizer, "week": target.week}
    _save(store, org_id, key, "pending", state)
    return state


@dataclass
class _Prepared:
    key: str
    provider: str
    spec: MeetingSpec
    state: dict[str, Any]


def _prepare_create(store: Store, settings: Settings, org_cfg: OrganisationConfig, org_id: int,
                    p: MeetingProviders, action: Action) -> _Prepared:
    """The store half of a create (the pending row and its key), so that the provider half can
    go with others in one round trip (`MeetingService.create_many`)."""
    with store.session() as s:
        target = _target(s, org_cfg, settings, action)
        row = _row(s, org_id, action.key)
        if row is None:
            row = ExternalResource(organisation_id=org_id, kind=KIND, local_key=action.key, status="pending",
                                   state={"generation": 1})
            s.add(row)
            s.flush()
        state, status = dict(row.state or {}), row.status
    assert target.spec is not None
    service = p.service(target.provider)
    state = _pending(store, org_cfg, org_id, action.key, target, service, state, status)
    return _Prepared(action.key, target.provider, target.spec, state)


def _create_many(store: Store, org_id: int, service: MeetingService, items: list[_Prepared],
                 recorder: RunRecorder) -> None:
    refs = service.create_many([(i.key, i.spec, str(i.state["idempotency_key"])) for i in items])
    created: list[_Prepared] = []
    for item in items:
        ref = refs[item.key]
        if isinstance(ref, ProviderError):
            if isinstance(ref, NeedsReauth):
                recorder.error(item.key, _safe(ref), kind="reauth")
                raise ref
            recorder.error(item.key, _safe(ref), kind=type(ref).__name__.lower())
            recorder.count("meeting:error")
            continue
        item.state = _record(item.state, ref, item.spec, item.provider)
        _save(store, org_id, item.key, "active", item.state, external_id=ref.event_id)
        recorder.count("meeting:created")
        created.append(item)
    if not service.needs_meeting_id:
        return
    lookups = [(i.key, i.spec.organizer, str(i.state["join_url"])) for i in created if i.state.get("join_url")]
    found = service.meeting_ids(lookups) if lookups else {}
    for item in created:
        answer = found.get(item.key)
        if isinstance(answer, ProviderError):
            item.state["online_meeting_error"] = str(answer)[:200]
        elif answer:
            item.state.update(online_meeting_id=answer, online_meeting_error=None)
        else:
            item.state.setdefault("online_meeting_error", "not found")
        _save(store, org_id, item.key, "active", item.state)


def _with_meeting_id(service: MeetingService, spec: MeetingSpec, state: dict[str, Any]) -> dict[str, Any]:
    """The meeting id attendance needs (Teams: the onlineMeeting), when the event does not carry it."""
    if not service.needs_meeting_id or state.get("online_meeting_id"):
        return state
    try:
        found = service.meeting_id(spec.organizer, state.get("join_url"))
    except ProviderError as err:
        # The event stands; attendance needs the id, and the next run tries again.
        log.warning("online meeting not resolved", extra={"status": err.status, "reason": err.reason})
        return {**state, "online_meeting_error": str(err)[:200]}
    return {**state, "online_meeting_id": found, "online_meeting_error": None if found else "not found"}


def _save(store: Store, org_id: int, key: str, status: str, state: dict[str, Any],
          external_id: str | None = None) -> None:
    with store.session() as s:
        row = _row(s, org_id, key)
        assert row is not None
        row.status = status
        row.state = state
        if external_id is not None:
            row.external_id = external_id
        elif status == "removed":
            row.external_id = None


def apply_meetings(store: Store, settings: Settings, org_key: str, plan: Plan, recorder: RunRecorder, *,
                   providers: MeetingProviders | None = None) -> None:
    """Apply the plan's meeting actions one by one; an item's failure never stops the others
    (except NeedsReauth: nothing else can succeed with those credentials). Plain creates of a
    provider that batches them (Teams) are prepared one by one and sent together at the end."""
    org_cfg = settings.organisation(org_key)
    with store.session() as s:
        org_id = organisation_id(s, org_key)
    own = providers is None
    p = providers or MeetingProviders(org_cfg)
    actions = [a for a in plan.actions if a.resource == RESOURCE]
    batched: dict[str, list[_Prepared]] = {}
    try:
        for i, action in enumerate(actions, 1):
            try:
                provider = str(action.detail.get("provider", ""))
                if (action.op == "create" and not action.detail.get("replace")
                        and p.service(provider).batches_creates):
                    prepared = _prepare_create(store, settings, org_cfg, org_id, p, action)
                    batched.setdefault(prepared.provider, []).append(prepared)
                    continue
                done = _apply_one(store, settings, org_cfg, org_id, p, action)
                recorder.count(f"meeting:{done}")
            except NeedsReauth as err:
                recorder.error(action.key, _safe(err), kind="reauth")
                raise
            except (ProviderError, LookupError) as err:
                kind = type(err).__name__.lower()
                recorder.error(action.key, _safe(err), kind=kind)
                recorder.count("meeting:error")
            recorder.progress(done=i, total=len(actions), flush=(i % 20 == 0 or i == len(actions)))
        for provider, items in batched.items():
            try:
                _create_many(store, org_id, p.service(provider), items, recorder)
            except LookupError as err:
                for item in items:
                    recorder.error(item.key, _safe(err), kind="lookuperror")
        if batched:
            recorder.progress(done=len(actions), total=len(actions))
    finally:
        recorder.count("meeting:requests", p.requests())
        if own:
            p.close()
