"""The Microsoft half of the nightly sync: Teams attendance reports of ended meetings.

Teams has no change feed for attendance; the "cursor" is per meeting: the ids of its reports
already stored. A meeting's reports are listed at every sync while its day is in the
re-evaluation window (`SyncContext.reads`), and the records are read only of reports not stored
yet: a report appears only when the last participant leaves, which may be long after the
scheduled end, and Teams cuts another one when someone rejoins the emptied meeting. "No report
yet" is never stored as final.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from integrator.jobs.attendance.identity import ORGANIZER_ROLE, looks_like_phone, participant_key
from integrator.jobs.nightly.context import MeetingRow, SyncContext
from integrator.jobs.nightly.evidence import (
    MEETING_ID_KIND,
    MEETING_ID_UNKNOWN,
    AttendeeIn,
    mark_checked,
    mark_report,
    remember_meeting_ids,
    store_attendees,
)
from integrator.jobs.runs import RunRecorder
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.microsoft import attendance as teams
from integrator.providers.microsoft import online_meetings
from integrator.providers.microsoft.client import BatchItem, GraphClient
from integrator.store.db import Store

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _id_only() -> RequestConfiguration[UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters]:
    return RequestConfiguration(query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
        select=["id"]))


async def _user_json(sdk: GraphServiceClient, user: str) -> dict[str, Any]:
    """One Graph user (`$select=id`) as its JSON object. Not through the SDK's `User` model: its
    deserializer imports most of msgraph's model classes (1.6 CPU s and +32 MB of a quiet night).
    Errors are the SDK call's own: `ODataError` is mapped, so a 404 is the same `APIError` (code and
    message) as `users.by_user_id(...).get()` raised."""
    info = sdk.users.by_user_id(user).to_get_request_information(_id_only())
    raw: Any = await sdk.request_adapter.send_primitive_async(  # type: ignore[func-returns-value]
        info, "bytes", {"XXX": ODataError})
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _attendee(report_id: str, r: teams.TeamsRecord, organizer_id: str | None = None) -> AttendeeIn:
    phone = not r.email and looks_like_phone(r.display_name)
    # A member of our tenant has a stable object id; a guest's id may change between meetings.
    user_id = r.identity_id if r.tenant_id else None
    key = participant_key(user_id=user_id, email=r.email, display_name=r.display_name, via_phone=phone)
    raw = {**r.raw(), "report": report_id}
    if organizer_id and r.identity_id == organizer_id:
        raw["role"] = ORGANIZER_ROLE  # the organiser's account, even where the report leaves the role out
    return AttendeeIn(record_key=f"{report_id}:{r.id}", participant_key=key, user_id=r.identity_id, email=r.email,
                      display_name=r.display_name, via_phone=phone, seconds=r.seconds, intervals=r.intervals,
                      raw=raw)


class _Organizers:
    """Organiser UPN -> Entra object id, looked up once per run: all of the run's organisers in
    `$batch` envelopes first (`prefetch`), one by one only for one missed there."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph
        self.known: dict[str, str] = {}
        self.failed: dict[str, ProviderError | LookupError] = {}

    def prefetch(self, organizers: Iterable[str]) -> None:
        wanted = [o for o in dict.fromkeys(organizers) if o and not _GUID.match(o) and o not in self.known]
        if len(wanted) < 2:
            return  # one is a plain call: an envelope around it would be one request more, not less
        items = [BatchItem(o, self.graph.sdk.users.by_user_id(o).to_get_request_information(_id_only()))
                 for o in wanted]
        for upn, res in self.graph.batch("users.get", items).items():
            user_id = (res.value or {}).get("id") if res.error is None else None
            if user_id:
                self.known[upn] = str(user_id)
            elif res.error is None or res.status == 404 or res.error.status == 404:
                self.failed[upn] = _not_found()
            else:
                self.failed[upn] = res.error

    def object_id(self, organizer: str) -> str:
        if _GUID.match(organizer):
            return organizer
        if organizer in self.failed:
            raise self.failed[organizer]
        if organizer not in self.known:
            user_id = self.graph.call("users.get", lambda sdk: _user_json(sdk, organizer)).get("id")
            if not user_id:
                raise _not_found()
            self.known[organizer] = str(user_id)
        return self.known[organizer]


def _not_found() -> LookupError:
    # No address in the message: run errors are shown and logged.
    return LookupError("the meeting organiser's account was not found in the Microsoft tenant")


def resolve_meeting_ids(store: Store, ctx: SyncContext, graph: GraphClient, organizers: _Organizers,
                        missing: list[MeetingRow], rec: RunRecorder) -> None:
    """Find the onlineMeeting ids the weekly setup could not (`$filter=JoinWebUrl`, batched).

    Without the id no attendance report can be read and the days would stay pending with no
    word of why: whatever stays unresolved is a job-run error item the coordinator sees.
    """
    lookups: list[tuple[str, str, str]] = []
    for m in missing:
        if not m.join_url:
            continue
        try:
            lookups.append((str(m.work_day_id), organizers.object_id(m.organizer), m.join_url))
        except NeedsReauth:
            raise
        except (ProviderError, LookupError):
            continue
    found = online_meetings.find_many_by_join_url(graph, lookups) if lookups else {}
    for m in missing:
        answer = found.get(str(m.work_day_id))
        if isinstance(answer, NeedsReauth):
            raise answer
        if isinstance(answer, str) and answer:
            m.online_meeting_id = answer
            remember_meeting_ids(store, ctx, m.key, {"online_meeting_id": answer})
            rec.count("meeting_ids_resolved")
        else:
            rec.error(_label(ctx, m.work_day_id), MEETING_ID_UNKNOWN, kind=MEETING_ID_KIND)


def harvest_teams(store: Store, ctx: SyncContext, graph: GraphClient, rec: RunRecorder) -> None:
    """Reports of every meeting read at this sync in `$batch` envelopes (one listing each), then the
    records of every report not stored yet."""
    organizers = _Organizers(graph)
    pending = [m for m in ctx.meetings if m.provider == "teams" and ctx.reads(m)]
    organizers.prefetch(m.organizer for m in pending if m.online_meeting_id or m.join_url)
    missing = [m for m in pending if not m.online_meeting_id]
    if missing:
        resolve_meeting_ids(store, ctx, graph, organizers, missing, rec)
    todo = {str(m.work_day_id): m for m in pending if m.online_meeting_id}
    if not todo:
        return
    ids: dict[str, tuple[str, str]] = {}
    for key, m in todo.items():
        try:
            ids[key] = (organizers.object_id(m.organizer), str(m.online_meeting_id))
        except (ProviderError, LookupError) as err:
            if isinstance(err, NeedsReauth):
                raise
            rec.error(_label(ctx, m.work_day_id), str(err)[:300], kind="teams")
    listed = teams.reports_for(graph, ids)
    reports = {key: rs if isinstance(rs, ProviderError)
               else [r for r in rs if r.id not in ctx.report_ids.get(todo[key].work_day_id, set())]
               for key, rs in listed.items()}
    wanted = {f"{key}/{r.id}": (*ids[key], r.id) for key, rs in reports.items()
              if not isinstance(rs, ProviderError) for r in rs}
    records = teams.records_for(graph, wanted)
    for key, rs in reports.items():
        m = todo[key]
        if isinstance(rs, ProviderError):
            if isinstance(rs, NeedsReauth):
                raise rs
            rec.error(_label(ctx, m.work_day_id), str(rs)[:300], kind="teams")
            continue
        if not rs and m.work_day_id in ctx.reported:
            continue  # every report of it is stored already
        if not rs:
            # Not published yet (someone may still be in the meeting): the days stay pending, and
            # the meeting is read again at the next sync.
            mark_checked(store, ctx, m)
            rec.count("teams_meetings_without_report")
            continue
        failed = [records[f"{key}/{r.id}"] for r in rs if isinstance(records[f"{key}/{r.id}"], ProviderError)]
        if failed:
            rec.error(_label(ctx, m.work_day_id), str(failed[0])[:300], kind="teams")
            continue
        with store.session() as s:
            for r in rs:
                recs = records[f"{key}/{r.id}"]
                assert not isinstance(recs, ProviderError)
                n = store_attendees(s, ctx, "teams", m.work_day_id, [_attendee(r.id, x, ids[key][0]) for x in recs])
                rec.count("teams_attendees_written", n)
                rejected = sum(x.rejected_intervals for x in recs)
                if rejected:  # visible in the job history, not only in the stored record
                    rec.count("teams_intervals_rejected", rejected)
                mark_report(s, ctx, m.work_day_id, "teams", r.id, {"records": n})
        rec.count("teams_meetings_read")


def _label(ctx: SyncContext, work_day_id: int) -> str:
    return f"meeting:{ctx.group_of[work_day_id].key}:{ctx.work_days[work_day_id].day}"
