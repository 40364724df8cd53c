"""Provider-neutral peer-group meetings, shared by Teams (Graph) and Meet (Calendar): the shapes
(MeetingSpec, MeetingRef) and the one service both vendors implement (MeetingService:
providers.microsoft.teams.TeamsMeetings, providers.google.meet.MeetMeetings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from integrator.providers.errors import Fatal, ProviderError


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


class KeySpent(Fatal):
    """A create whose idempotency key belongs to a meeting deleted since (Calendar never gives a
    deleted event id back): this key can never make the meeting, a new key is needed."""


class MeetingService(Protocol):
    """One vendor's meetings on the organiser's calendar, the attendees hidden from each other.

    Every create carries an idempotency key (`idempotency_key`), so a create repeated after a
    crash or a lost answer returns the meeting already made instead of a second one.
    """

    #: `create_many` makes many meetings in one round trip (Graph `$batch`); otherwise the caller
    #: creates one by one with `create`.
    batches_creates: bool
    #: Attendance needs a meeting id that the event does not carry (Teams: the onlineMeeting
    #: behind the join URL), found with `meeting_id` / `meeting_ids` once the event exists.
    needs_meeting_id: bool

    def idempotency_key(self, seed: str) -> str:
        """The key of one create (one generation of one meeting), derived from our own `seed`."""
        ...

    def create(self, spec: MeetingSpec, key: str) -> MeetingRef:
        """Make the meeting, or return the one this `key` already made.

        Raises KeySpent when the key can never be used again."""
        ...

    def create_many(self, items: list[tuple[str, MeetingSpec, str]]) -> dict[str, MeetingRef | ProviderError]:
        """(our key, spec, idempotency key) -> the meeting or the error, per our key."""
        ...

    def update(self, spec: MeetingSpec, event_id: str) -> MeetingRef | None:
        """Patch the fields we own; None when the event is gone at the vendor (then it is made anew).

        Gone: 404, 410, or an answer about a cancelled event (deleted in Calendar or Outlook behind
        our back): patching it would leave our memory "active" on an event nobody sees."""
        ...

    def get(self, organizer: str, event_id: str) -> MeetingRef | None:
        """The event as the vendor has it now (its join link), None when it is gone."""
        ...

    def cancel(self, organizer: str, event_id: str) -> bool:
        """Cancel and tell the attendees; False when it was already gone."""
        ...

    def meeting_id(self, organizer: str, join_url: str | None) -> str | None:
        """The meeting id behind `join_url` (see `needs_meeting_id`), None when not known (yet)."""
        ...

    def meeting_ids(self, items: list[tuple[str, str, str]]) -> dict[str, str | None | ProviderError]:
        """(our key, organiser, join URL) -> meeting id (None: not found) or the error, per our key."""
        ...
