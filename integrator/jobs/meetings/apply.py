"""The meetings plan, applied: each action through its provider's MeetingService, our memory of
the event written as "pending" before the provider call and "active" after it (see the package
docstring); plain Teams creates go together in `$batch` envelopes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.config import OrganisationConfig, Settings
from integrator.jobs.locks import Lease
from integrator.jobs.meetings.plan import (
    KIND,
    RESOURCE,
    fingerprint,
    load_groups,
    meeting_spec,
    organisation_id,
    participants,
)
from integrator.jobs.meetings.services import MeetingProviders
from integrator.jobs.plan import Action, Plan
from integrator.jobs.runs import RunRecorder
from integrator.observability.redaction import redact
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.meetings import KeySpent, MeetingRef, MeetingService, MeetingSpec
from integrator.store.db import Store
from integrator.store.models import ExternalResource, WorkDay

log = logging.getLogger(__name__)


def _safe(err: BaseException) -> str:
    """An error for the job run's record: vendor texts may quote attendee addresses."""
    return redact(str(err))[:300]


@dataclass
class _Target:
    key: str
    provider: str
    spec: MeetingSpec | None
    week: str | None


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
                   providers: MeetingProviders | None = None, lease: Lease | None = None) -> None:
    """Apply the plan's meeting actions one by one; an item's failure never stops the others
    (except NeedsReauth: nothing else can succeed with those credentials). Plain creates of a
    provider that batches them (Teams) are prepared one by one and sent together at the end.

    `lease`: the caller's lock, checked before each action and before the batched creates; a run
    that lost it stops there (LeaseLost)."""
    org_cfg = settings.organisation(org_key)
    with store.session() as s:
        org_id = organisation_id(s, org_key)
    own = providers is None
    p = providers or MeetingProviders(org_cfg)
    actions = [a for a in plan.actions if a.resource == RESOURCE]
    batched: dict[str, list[_Prepared]] = {}
    try:
        for i, action in enumerate(actions, 1):
            if lease is not None:
                lease.check()
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
            if lease is not None:
                lease.check()
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
