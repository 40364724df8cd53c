"""Provider-neutral shapes of a peer-group meeting, shared by Teams (Graph) and Meet (Calendar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MeetingSpec:
    """What the meeting should look like. `start`/`end` are aware UTC instants."""

    organizer: str  # the coordinator's email / UPN: the event lives on their calendar
    subject: str  # no client names: subjects show up in notification previews
    body_html: str
    start: datetime
    end: datetime
    attendees: tuple[str, ...]  # client emails
    reminder_minutes: int
    time_zone: str = "Europe/Helsinki"


@dataclass(frozen=True)
class MeetingRef:
    """What we keep about a created meeting."""

    event_id: str
    join_url: str | None
    online_meeting_id: str | None = None  # Teams: for attendance reports
    conference_id: str | None = None  # Meet: the meeting code
