"""The Microsoft half of the nightly sync: Teams attendance reports of ended meetings.

Teams has no change feed for attendance; the "cursor" is per meeting: once a meeting's
report (or its certain absence, after the grace) is stored, that meeting is never read again.
"""

from __future__ import annotations

import re

from integrator.jobs.identity import looks_like_phone, participant_key
from integrator.jobs.nightly_sync_context import REPORT_GRACE, SyncContext
from integrator.jobs.nightly_sync_store import AttendeeIn, mark_report, store_attendees
from integrator.jobs.runs import RunRecorder
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.microsoft import attendance as teams
from integrator.providers.microsoft.client import GraphClient
from integrator.store.db import Store

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _attendee(report_id: str, r: teams.TeamsRecord) -> AttendeeIn:
    phone = not r.email and looks_like_phone(r.display_name)
    # A member of our tenant has a stable object id; a guest's id may change between meetings.
    user_id = r.identity_id if r.tenant_id else None
    key = participant_key(user_id=user_id, email=r.email, display_name=r.display_name, via_phone=phone)
    return AttendeeIn(record_key=f"{report_id}:{r.id}", participant_key=key, user_id=r.identity_id, email=r.email,
                      display_name=r.display_name, via_phone=phone, seconds=r.seconds, intervals=r.intervals,
                      raw={**r.raw(), "report": report_id})


class _Organizers:
    """Organiser UPN -> Entra object id, looked up once per run."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph
        self.known: dict[str, str] = {}

    def object_id(self, organizer: str) -> str:
        if _GUID.match(organizer):
            return organizer
        if organizer not in self.known:
            user = self.graph.call("users.get", lambda sdk: sdk.users.by_user_id(organizer).get())
            if user is None or not user.id:
                raise LookupError(f"the meeting organiser's account was not found in the tenant ({organizer})")
            self.known[organizer] = str(user.id)
        return self.known[organizer]


def harvest_teams(store: Store, ctx: SyncContext, graph: GraphClient, rec: RunRecorder) -> None:
    organizers = _Organizers(graph)
    for m in ctx.meetings:
        if m.provider != "teams" or not m.online_meeting_id or m.work_day_id in ctx.reported or m.end > ctx.now:
            continue
        label = f"meeting:{ctx.group_of[m.work_day_id].key}:{ctx.work_days[m.work_day_id].day}"
        try:
            oid = organizers.object_id(m.organizer)
            reports = teams.list_reports(graph, oid, m.online_meeting_id)
            records = {r.id: teams.list_records(graph, oid, m.online_meeting_id, r.id) for r in reports}
        except NeedsReauth:
            raise
        except ProviderError as err:
            rec.error(label, str(err)[:300], kind="teams")
            continue
        if not reports and ctx.now < m.end + REPORT_GRACE:
            continue  # the report is not published yet: the day stays pending
        with store.session() as s:
            for report_id, recs in records.items():
                n = store_attendees(s, ctx, "teams", m.work_day_id, [_attendee(report_id, r) for r in recs])
                rec.count("teams_attendees_written", n)
                mark_report(s, ctx, m.work_day_id, "teams", report_id, {"records": n})
            if not reports:
                mark_report(s, ctx, m.work_day_id, "teams", "none", {"records": 0, "note": "no report"})
        rec.count("teams_meetings_read")
