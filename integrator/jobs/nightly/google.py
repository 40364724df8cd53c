"""The Google half of the nightly sync: Classroom returns and Meet attendance (Drive: jobs.nightly.drive).

Each unit of work (a course, a Drive feed, a meeting) is stored in one transaction together
with its cursor, so a crash or a fault loses at most that unit, which the next run reads again.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from integrator.jobs.attendance.identity import ORGANIZER_ROLE, STAFF_ROLE, participant_key
from integrator.jobs.nightly.context import MeetingRow, SyncContext, get_cursor, set_cursor
from integrator.jobs.nightly.evidence import (
    MEETING_ID_KIND,
    MEETING_ID_UNKNOWN,
    AttendeeIn,
    ReturnIn,
    mark_checked,
    mark_report,
    remember_meeting_ids,
    store_attendees,
    upsert_returns,
)
from integrator.jobs.runs import RunRecorder
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.google import calendar, harvest
from integrator.providers.google.classroom import Classroom, marker, marker_of
from integrator.providers.google.client import GoogleClient
from integrator.store.db import Store
from integrator.store.models import Client

RETURN_STATES = frozenset({"TURNED_IN", "RETURNED", "RECLAIMED_BY_STUDENT"})
#: A copy of our work is known by the marker line in its description: nothing else is read.
COPY_FIELDS = "nextPageToken,courseWork(id,description)"


def _subject(ctx: SyncContext, group_key: str | None) -> str:
    google = ctx.org_cfg.google
    assert google is not None
    group = ctx.groups.get(group_key or "")
    if group is not None and group.id in ctx.coordinators:
        return ctx.coordinators[group.id]
    return google.admin_subject


def learn_google_ids(gc: GoogleClient, store: Store, ctx: SyncContext, user_ids: set[str]) -> dict[str, str]:
    """Ids nobody knows yet are looked up once (Classroom profile e-mail) and kept on the client.

    Returns the addresses looked up (id -> e-mail), so that a caller can tell staff apart; a
    staff member's id is not kept anywhere and is looked up again in the next run.
    """
    assert ctx.index is not None
    unknown = {u for u in user_ids if u not in ctx.index.by_google}
    if not unknown:
        return {}
    emails = harvest.user_emails(gc, _subject(ctx, None), sorted(unknown))
    with store.session() as s:
        for uid, email in emails.items():
            client_id = ctx.index.by_email.get(email)
            if client_id is not None:
                client = s.get(Client, client_id)
                if client is not None and not client.google_user_id:
                    client.google_user_id = uid
                ctx.index.by_google[uid] = client_id
    return emails


# ---- Classroom -------------------------------------------------------------------------------


def harvest_classroom(store: Store, ctx: SyncContext, gc: GoogleClient, rec: RunRecorder, *, force: bool) -> None:
    """Read the courses with a work day closed since their cursor (the last closed day read)."""
    todo: dict[str, date] = {}
    with store.session() as s:
        for course_id, group_key in sorted(ctx.courses.items()):
            group = ctx.groups.get(group_key)
            closed = [w.day for wid, w in ctx.work_days.items()
                      if group is not None and w.group_id == group.id and ctx.deadline(wid) <= ctx.now]
            if not closed:
                continue
            cursor = get_cursor(s, ctx.org_id, "classroom", course_id)
            if force or cursor is None or max(closed) > date.fromisoformat(cursor):
                todo[course_id] = max(closed)
    if not todo:
        return
    results = harvest.list_submissions(gc, [(cid, _subject(ctx, ctx.courses[cid])) for cid in todo])
    seen_users = {r.user_id for res in results.values() if not isinstance(res, ProviderError) for r in res}
    learn_google_ids(gc, store, ctx, seen_users)
    unlisted = learn_copies(gc, ctx, results)
    assert ctx.index is not None
    for course_id, res in results.items():
        res = unlisted.get(course_id, res)  # a copy we could not recognise: read the course again next night
        if isinstance(res, ProviderError):
            if isinstance(res, NeedsReauth):
                raise res
            rec.error(f"course:{ctx.courses[course_id]}", str(res)[:300], kind=type(res).__name__.lower())
            ctx.unread |= ctx.group_days(ctx.courses[course_id])
            continue
        items = [ReturnIn(source="classroom", external_id=r.submission_id,
                          client_id=ctx.index.by_google.get(r.user_id), work_day_id=ctx.coursework.get(r.course_work_id),
                          state=r.state, returned_at=r.turned_in_at, late=r.late_against(_due(ctx, r.course_work_id)),
                          mime_type=None, raw=r.raw())
                 for r in res if _returned(r)]
        with store.session() as s:
            rec.count("classroom_returns_written", upsert_returns(s, ctx, items))
            set_cursor(s, ctx.org_id, "classroom", course_id, todo[course_id].isoformat())
        rec.count("classroom_courses_read")


def _returned(r: harvest.ClassroomReturn) -> bool:
    return r.state in RETURN_STATES or r.turned_in_at is not None


def learn_copies(gc: GoogleClient, ctx: SyncContext, results: dict[str, list[harvest.ClassroomReturn] | ProviderError]
                 ) -> dict[str, ProviderError]:
    """Returns to coursework we do not know by id: if that work carries our marker line, it is a copy
    of our work (a re-sent create, say) and the return counts for that work's day.

    Only courses with such returns are read: one courseWork listing each (ids and descriptions,
    every page), all in batch envelopes; a night without them reads nothing more. Returns the
    courses whose listing failed: their returns are not written this night (their days stay
    unread, never absent), and the course is read again the next night.
    """
    unknown = {cid: ids for cid, res in results.items() if not isinstance(res, ProviderError)
               and (ids := {r.course_work_id for r in res if _returned(r) and r.course_work_id not in ctx.coursework})}
    if not unknown:
        return {}
    ours = {marker(key): key for key in ctx.coursework_keys}
    classroom = Classroom(gc)
    listed = gc.batch_list_all({cid: classroom.list_coursework(_subject(ctx, ctx.courses[cid]), cid, fields=COPY_FIELDS)
                                for cid in unknown}, "courseWork")
    failed: dict[str, ProviderError] = {}
    for cid, res in listed.items():
        if res.error is not None:
            failed[cid] = res.error
            continue
        for work in res.response or []:
            key, work_id = ours.get(marker_of(work.get("description")) or ""), str(work.get("id"))
            if key is not None and work_id in unknown[cid]:
                ctx.coursework[work_id], due = ctx.coursework_keys[key]
                if due is not None:
                    ctx.coursework_due[work_id] = due
    return failed


def _due(ctx: SyncContext, course_work_id: str) -> datetime | None:
    """When the coursework was due: as the weekly setup created it, else the end of its work day."""
    if course_work_id in ctx.coursework_due:
        return ctx.coursework_due[course_work_id]
    wd = ctx.coursework.get(course_work_id)
    return ctx.deadline(wd) if wd is not None and wd in ctx.work_days else None


# ---- Meet ------------------------------------------------------------------------------------


def _meet_role(ctx: SyncContext, organizer: str, emails: dict[str, str], p: harvest.MeetParticipant) -> str | None:
    """Meet names a signed-in participant only by account id ("users/<id>"): the address looked up
    for the id tells the meeting's organiser and other staff apart from clients."""
    email = emails.get(p.user_id or "") if p.kind == "signedin" else None
    if email is None:
        return None
    if email == organizer.lower():
        return ORGANIZER_ROLE
    return STAFF_ROLE if email in ctx.staff_emails else None


def _meet_attendee(record_name: str, p: harvest.MeetParticipant, role: str | None = None) -> AttendeeIn:
    phone = p.kind == "phone"
    key = participant_key(user_id=p.user_id if p.kind == "signedin" else None, email=None,
                          display_name=p.display_name, via_phone=phone)
    seconds = int(sum((b - a).total_seconds() for a, b in p.intervals))
    raw: dict[str, object] = {"conference": record_name, "kind": p.kind, "rejected_intervals": p.rejected_intervals}
    if role is not None:
        raw["role"] = role
    return AttendeeIn(record_key=p.name, participant_key=key, user_id=p.user_id, email=None,
                      display_name=p.display_name, via_phone=phone, seconds=seconds, intervals=p.intervals, raw=raw)


def resolve_meeting_codes(store: Store, ctx: SyncContext, gc: GoogleClient, missing: list[MeetingRow],
                          rec: RunRecorder) -> None:
    """Read the meeting code of events created while their Meet conference was still being made.

    Calendar answers a create with `conferenceData.createRequest` pending and no conferenceId
    when the conference is not ready yet; the event gets it a moment later. Without the code
    no conference record can be found: whatever stays unresolved is a job-run error item.
    """
    for m in missing:
        code = None
        if m.event_id:
            try:
                event = calendar.get_event(gc, m.organizer, m.event_id)
            except NeedsReauth:
                raise
            except ProviderError:
                event = None
            conference = (event or {}).get("conferenceData") or {}
            code = conference.get("conferenceId") if isinstance(conference, dict) else None
        if isinstance(code, str) and code:
            m.meeting_code = code
            remember_meeting_ids(store, ctx, m.key, {"conference_id": code})
            rec.count("meeting_ids_resolved")
        else:
            rec.error(f"meeting:{ctx.group_of[m.work_day_id].key}:{ctx.work_days[m.work_day_id].day}",
                      MEETING_ID_UNKNOWN, kind=MEETING_ID_KIND)


def harvest_meet(store: Store, ctx: SyncContext, gc: GoogleClient, rec: RunRecorder) -> None:
    """Each ended Meet meeting of the window: its conference records of the day not stored yet.

    Final means the day's conference record(s) have ended; a meeting still going on, or without
    any record yet, is read again at the next sync while its day is in the re-evaluation
    window (`SyncContext.reads`), never stored as final. A meeting whose attendance is in is
    listed too while in the window: a second conference of the same meeting code the same day
    (everyone left, someone came back) is read once it has ended.

    Reads are batched across meetings: records of all meetings, then their participants,
    then the participants' sessions - three rounds of envelopes however many meetings.
    """
    pending = [m for m in ctx.meetings if m.provider == "meet" and ctx.reads(m)]
    missing = [m for m in pending if not m.meeting_code]
    if missing:
        resolve_meeting_codes(store, ctx, gc, missing, rec)
    todo = {m.work_day_id: m for m in pending if m.meeting_code}
    if not todo:
        return
    found = harvest.conference_records_for(
        gc, {wd: (m.organizer, str(m.meeting_code), m.start - timedelta(hours=3)) for wd, m in todo.items()})
    complete: dict[int, list[harvest.MeetRecord]] = {}
    for wd, res in found.items():
        label = f"meeting:{ctx.group_of[wd].key}:{ctx.work_days[wd].day}"
        if isinstance(res, ProviderError):
            if isinstance(res, NeedsReauth):
                raise res
            rec.error(label, str(res)[:300], kind="meet")
            continue
        day, stored = ctx.work_days[wd].day, ctx.report_ids.get(wd, set())
        records = [r for r in res if r.start is not None and ctx.local_date(r.start) == day
                   and r.name.split("/")[-1] not in stored]
        if wd in ctx.reported:
            # The day's attendance is in: a later conference is added once it has ended.
            records = [r for r in records if r.end is not None]
            if records:
                complete[wd] = records
            continue
        if not records or any(r.end is None for r in records):
            mark_checked(store, ctx, todo[wd])  # still going on, or no conference yet: next run
            rec.count("meet_meetings_not_final")
            continue
        complete[wd] = records
    people = harvest.participants_for(gc, {r.name: todo[wd].organizer for wd, rs in complete.items() for r in rs})
    emails = learn_google_ids(gc, store, ctx, {p.user_id for ps in people.values()
                                               if not isinstance(ps, ProviderError) for p in ps if p.user_id})
    for wd, records in complete.items():
        failed = [people[r.name] for r in records if isinstance(people[r.name], ProviderError)]
        if failed:
            rec.error(f"meeting:{ctx.group_of[wd].key}:{ctx.work_days[wd].day}", str(failed[0])[:300], kind="meet")
            continue
        with store.session() as s:
            for r in records:
                participants = people[r.name]
                assert not isinstance(participants, ProviderError)
                n = store_attendees(s, ctx, "meet", wd, [
                    _meet_attendee(r.name, p, _meet_role(ctx, todo[wd].organizer, emails, p)) for p in participants])
                rec.count("meet_attendees_written", n)
                rejected = sum(p.rejected_intervals for p in participants)
                if rejected:  # visible in the job history, not only in the stored record
                    rec.count("meet_intervals_rejected", rejected)
                mark_report(s, ctx, wd, "meet", r.name.split("/")[-1], {"participants": n})
        rec.count("meet_meetings_read")
