"""Reading the evidence of a work day from Google: Classroom returns, Drive changes, Meet records.

Every list reads every page. Classroom submissions of many courses are read in batch envelopes
(courseWorkId "-" lists all of a course's work at once); Drive is read through the changes feed
from a saved page token, so a night without new files costs one request per feed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from integrator.providers.errors import ProviderError
from integrator.providers.google.client import GoogleClient, next_page_request
from integrator.providers.limits import DRIVE_PAGE_SIZE_MAX, MEET_CONFERENCE_RECORDS_PAGE_MAX

FILE_FIELDS = "id,name,mimeType,parents,createdTime,trashed,owners(emailAddress)"
K = TypeVar("K")
CHANGE_FIELDS = f"nextPageToken,newStartPageToken,changes(fileId,removed,time,driveId,file({FILE_FIELDS}))"


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# ---- Classroom ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassroomReturn:
    course_id: str
    course_work_id: str
    submission_id: str
    user_id: str
    state: str
    turned_in_at: datetime | None  # the FIRST TURNED_IN in the history: when the work was returned
    late: bool  # Classroom's own flag: judged on the LAST turn-in, so a resubmission can flip it
    updated_at: datetime | None
    turned_in_count: int = 0

    def raw(self) -> dict[str, Any]:
        return {"courseId": self.course_id, "courseWorkId": self.course_work_id, "userId": self.user_id,
                "state": self.state, "late": self.late, "turnedInCount": self.turned_in_count,
                "firstTurnedIn": self.turned_in_at.isoformat() if self.turned_in_at else None,
                "updateTime": self.updated_at.isoformat() if self.updated_at else None}

    def late_against(self, due: datetime | None) -> bool:
        """Late only if the FIRST turn-in came after the due time.

        A client who turned in on time and later reclaimed and resubmitted (a correction, a
        better photo) did return the day's work on time: the day must not flip to late. Without
        a known due time, Classroom's own flag is all there is.
        """
        if due is None or self.turned_in_at is None:
            return self.late
        return self.turned_in_at > due


def _turned_in(sub: dict[str, Any]) -> tuple[datetime | None, int]:
    stamps = []
    for h in sub.get("submissionHistory", []) or []:
        state = h.get("stateHistory") if isinstance(h, dict) else None
        if isinstance(state, dict) and state.get("state") == "TURNED_IN":
            try:
                stamps.append(parse_time(state.get("stateTimestamp")))
            except ValueError:
                continue
    found = [s for s in stamps if s is not None]
    return (min(found) if found else None), len(found)


def to_return(sub: dict[str, Any]) -> ClassroomReturn:
    first, count = _turned_in(sub)
    return ClassroomReturn(
        course_id=str(sub["courseId"]), course_work_id=str(sub["courseWorkId"]), submission_id=str(sub["id"]),
        user_id=str(sub["userId"]), state=str(sub.get("state", "")), turned_in_at=first,
        late=bool(sub.get("late", False)), updated_at=parse_time(sub.get("updateTime")), turned_in_count=count)


def list_submissions(gc: GoogleClient, courses: Iterable[tuple[str, str]]
                     ) -> dict[str, list[ClassroomReturn] | ProviderError]:
    """All student submissions of each course's work, keyed by course id.

    `courses` are (course id, subject) pairs: each list is read as a teacher of that course.
    A course that fails is returned as its error; the others are unaffected.
    """
    requests = {}
    for course_id, subject in courses:
        svc = gc.service("classroom", subject=subject)
        requests[course_id] = svc.courses().courseWork().studentSubmissions().list(
            courseId=course_id, courseWorkId="-", pageSize=100)
    if not requests:
        return {}
    out: dict[str, list[ClassroomReturn] | ProviderError] = {}
    for course_id, res in gc.batch_list_all(requests, "studentSubmissions").items():
        out[course_id] = res.error if res.error is not None else [to_return(s) for s in res.response]
    return out


# ---- Drive changes feed ---------------------------------------------------------------------


@dataclass(frozen=True)
class DriveFileAdded:
    file_id: str
    name: str
    mime_type: str
    parents: list[str]
    created_at: datetime | None
    changed_at: datetime | None
    removed: bool
    owners: tuple[str, ...] = ()


def _file(f: dict[str, Any], changed_at: datetime | None = None, removed: bool = False) -> DriveFileAdded:
    return DriveFileAdded(
        file_id=str(f.get("id")), name=str(f.get("name", "")), mime_type=str(f.get("mimeType", "")),
        parents=list(f.get("parents", [])), created_at=parse_time(f.get("createdTime")), changed_at=changed_at,
        removed=removed or bool(f.get("trashed")),
        owners=tuple(str(o.get("emailAddress", "")).lower() for o in f.get("owners", []) if isinstance(o, dict)))


@dataclass
class ChangesPage:
    """Everything read from one feed in one run, and the token to start from next time."""

    files: list[DriveFileAdded] = field(default_factory=list)
    new_start_token: str = ""


def start_page_token(gc: GoogleClient, subject: str, drive_id: str | None = None) -> str:
    svc = gc.service("drive", subject=subject)
    kw: dict[str, Any] = {"driveId": drive_id, "supportsAllDrives": True} if drive_id else {}
    return str(gc.execute(svc.changes().getStartPageToken(**kw))["startPageToken"])


def read_changes(gc: GoogleClient, subject: str, token: str, drive_id: str | None = None) -> ChangesPage:
    """Every change since `token`, all pages. The new token is returned, not saved: the caller
    saves it only after storing what the pages held."""
    svc = gc.service("drive", subject=subject)
    kw: dict[str, Any] = {"pageToken": token, "pageSize": DRIVE_PAGE_SIZE_MAX, "fields": CHANGE_FIELDS,
                          "includeItemsFromAllDrives": True, "supportsAllDrives": True}
    if drive_id:
        kw["driveId"] = drive_id
    request = svc.changes().list(**kw)
    out = ChangesPage()
    while True:
        body = gc.execute(request) or {}
        for ch in body.get("changes", []):
            f = {"id": ch.get("fileId"), **(ch.get("file") or {})}
            out.files.append(_file(f, parse_time(ch.get("time")), bool(ch.get("removed"))))
        if body.get("nextPageToken"):
            request = next_page_request(request, str(body["nextPageToken"]))
            continue
        out.new_start_token = str(body.get("newStartPageToken") or token)
        return out


def list_files(gc: GoogleClient, subject: str, drive_id: str | None = None) -> list[DriveFileAdded]:
    """Every file (not folder) the subject sees, all pages: what was there before a feed started.

    One listing filtered by parent on our side costs a few pages; a listing per client folder
    would cost one call per folder (thousands for a large organisation).
    """
    svc = gc.service("drive", subject=subject)
    kw: dict[str, Any] = {"q": "mimeType != 'application/vnd.google-apps.folder' and trashed = false",
                          "pageSize": DRIVE_PAGE_SIZE_MAX, "fields": f"nextPageToken,files({FILE_FIELDS})",
                          "supportsAllDrives": True, "includeItemsFromAllDrives": True}
    if drive_id:
        kw.update(driveId=drive_id, corpora="drive")
    return [_file(f) for f in gc.list_all(svc.files(), "files", **kw)]


def user_emails(gc: GoogleClient, subject: str, user_ids: Iterable[str]) -> dict[str, str]:
    """Google user id -> e-mail through Classroom user profiles (batched); unknown ids are left out."""
    svc = gc.service("classroom", subject=subject)
    requests = {uid: svc.userProfiles().get(userId=uid) for uid in user_ids}
    out: dict[str, str] = {}
    for uid, res in (gc.batch(requests).items() if requests else []):
        if res.error is None and isinstance(res.response, dict) and res.response.get("emailAddress"):
            out[uid] = str(res.response["emailAddress"]).lower()
    return out


# ---- Meet conference records ----------------------------------------------------------------


@dataclass(frozen=True)
class MeetParticipant:
    name: str  # conferenceRecords/x/participants/y
    kind: str  # signedin | anonymous | phone
    user_id: str | None  # Google user id of a signed-in user
    display_name: str | None
    intervals: list[tuple[datetime, datetime]]
    rejected_intervals: int = 0  # sessions that end before they start, lack a time zone or do not parse

    def raw(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "user_id": self.user_id,
                "rejected_intervals": self.rejected_intervals}


@dataclass(frozen=True)
class MeetRecord:
    name: str  # conferenceRecords/x
    space: str  # spaces/y
    start: datetime | None
    end: datetime | None  # None while the conference is still going on


def _instant(value: Any) -> datetime | None:
    """An RFC 3339 instant as an aware datetime; raises ValueError for one we cannot trust
    (no offset: guessing the machine's zone would move a session by hours)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("timestamp without a time zone")
    return parsed.astimezone(UTC)


def session_intervals(sessions: Iterable[Any]) -> tuple[list[tuple[datetime, datetime]], int]:
    """(start, end) of each ended participant session, and how many were rejected.

    Attendance is money: a session ending before it starts, or with a naive or malformed time,
    is dropped and counted (never stored as it came, never a crash); one still open is skipped.
    """
    out: list[tuple[datetime, datetime]] = []
    rejected = 0
    for sess in sessions:
        if not isinstance(sess, dict):
            rejected += 1
            continue
        try:
            start, end = _instant(sess.get("startTime")), _instant(sess.get("endTime"))
        except ValueError:
            rejected += 1
            continue
        if start is None or end is None:
            continue
        if start > end:
            rejected += 1
            continue
        out.append((start, end))
    return out, rejected


def _participant(p: dict[str, Any]) -> tuple[str, str | None, str | None]:
    if "signedinUser" in p:
        u = p["signedinUser"]
        user = str(u.get("user", ""))
        return "signedin", user.split("/", 1)[1] if user.startswith("users/") else (user or None), u.get("displayName")
    if "phoneUser" in p:
        return "phone", None, p["phoneUser"].get("displayName")
    return "anonymous", None, (p.get("anonymousUser") or {}).get("displayName")


def _meet_filter(meeting_code: str | None, since: datetime | None) -> str:
    terms = []
    if meeting_code:
        terms.append(f'space.meeting_code = "{meeting_code}"')
    if since is not None:
        terms.append(f'start_time >= "{since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}"')
    return " AND ".join(terms)


def conference_records_for(gc: GoogleClient, meetings: dict[K, tuple[str, str, datetime]]
                           ) -> dict[K, list[MeetRecord] | ProviderError]:
    """The conference records of many meetings, keyed as given: (subject, meeting code, since)."""
    requests = {}
    for key, (subject, code, since) in meetings.items():
        svc = gc.service("meet", subject=subject)
        requests[key] = svc.conferenceRecords().list(filter=_meet_filter(code, since), pageSize=MEET_CONFERENCE_RECORDS_PAGE_MAX)
    out: dict[K, list[MeetRecord] | ProviderError] = {}
    for key, res in (gc.batch_list_all(requests, "conferenceRecords").items() if requests else []):
        out[key] = res.error if res.error is not None else [
            MeetRecord(name=str(r["name"]), space=str(r.get("space", "")), start=parse_time(r.get("startTime")),
                       end=parse_time(r.get("endTime"))) for r in res.response]
    return out


def participants_for(gc: GoogleClient, records: dict[str, str]) -> dict[str, list[MeetParticipant] | ProviderError]:
    """Every participant, with every session, of many conference records ({record name: subject}).

    Participants of all records are listed in batch envelopes, then all their sessions: a
    rejoin is a new session, and the union of the sessions is the time in the meeting.
    """
    people: dict[str, list[dict[str, Any]] | ProviderError] = {}
    requests = {name: gc.service("meet", subject=subject).conferenceRecords().participants().list(
        parent=name, pageSize=100) for name, subject in records.items()}
    for name, res in (gc.batch_list_all(requests, "participants").items() if requests else []):
        people[name] = res.error if res.error is not None else list(res.response)
    session_requests = {}
    for name, found in people.items():
        if isinstance(found, ProviderError):
            continue
        svc = gc.service("meet", subject=records[name])
        for p in found:
            session_requests[str(p["name"])] = svc.conferenceRecords().participants().participantSessions().list(
                parent=p["name"], pageSize=100)
    sessions = gc.batch_list_all(session_requests, "participantSessions") if session_requests else {}
    out: dict[str, list[MeetParticipant] | ProviderError] = {}
    for name, found in people.items():
        if isinstance(found, ProviderError):
            out[name] = found
            continue
        listed: list[MeetParticipant] = []
        for p in found:
            res = sessions[str(p["name"])]
            if res.error is not None:
                out[name] = res.error
                break
            intervals, rejected = session_intervals(res.response)
            kind, user_id, display = _participant(p)
            listed.append(MeetParticipant(name=str(p["name"]), kind=kind, user_id=user_id, display_name=display,
                                          intervals=intervals, rejected_intervals=rejected))
        else:
            out[name] = listed
    return out
