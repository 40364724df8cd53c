"""Teams peer-group meetings as one MeetingService (events.py for the events, online_meetings.py
for the onlineMeeting id that attendance reports hang on)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from integrator.providers.errors import Fatal, ProviderError
from integrator.providers.meetings import MeetingRef, MeetingSpec
from integrator.providers.microsoft import events, online_meetings
from integrator.providers.microsoft.client import GraphClient

#: The namespace of our `transactionId`s: the same seed gives the same id in every run.
TRANSACTION_NAMESPACE = uuid.UUID("6f1d7a52-3c0e-4d5e-9b8a-2f6c1e0b7d11")


class TeamsMeetings:
    """Teams meetings over Graph. `graph` gives the client when a request is made (the caller
    builds it once, when first needed)."""

    batches_creates = True
    needs_meeting_id = True

    def __init__(self, graph: Callable[[], GraphClient]) -> None:
        self._graph = graph
        self._object_ids: dict[str, str] = {}

    def idempotency_key(self, seed: str) -> str:
        """A Graph `transactionId`."""
        return str(uuid.uuid5(TRANSACTION_NAMESPACE, seed))

    def create(self, spec: MeetingSpec, key: str) -> MeetingRef:
        return events.create_teams_event(self._graph(), spec, key)

    def create_many(self, items: list[tuple[str, MeetingSpec, str]]) -> dict[str, MeetingRef | ProviderError]:
        return events.create_teams_events(self._graph(), items)

    def update(self, spec: MeetingSpec, event_id: str) -> MeetingRef | None:
        try:
            return events.update_teams_event(self._graph(), spec, event_id)
        except Fatal as err:
            if err.status in (404, 410):
                return None
            raise

    def get(self, organizer: str, event_id: str) -> MeetingRef | None:
        return events.get_event(self._graph(), organizer, event_id)

    def cancel(self, organizer: str, event_id: str) -> bool:
        return events.cancel_teams_event(self._graph(), organizer, event_id)

    def object_id(self, upn: str) -> str:
        """The organiser's Entra object id (onlineMeeting paths need it), asked once per run."""
        if upn.lower() not in self._object_ids:
            self._object_ids[upn.lower()] = events.user_object_id(self._graph(), upn)
        return self._object_ids[upn.lower()]

    def meeting_id(self, organizer: str, join_url: str | None) -> str | None:
        """The onlineMeeting id behind the event's join URL."""
        if not join_url:
            return None
        return online_meetings.find_by_join_url(self._graph(), self.object_id(organizer), join_url)

    def meeting_ids(self, items: list[tuple[str, str, str]]) -> dict[str, str | None | ProviderError]:
        """The onlineMeeting ids in `$batch` envelopes (the organisers' object ids one by one, once each)."""
        out: dict[str, str | None | ProviderError] = {}
        lookups = []
        for key, organizer, join_url in items:
            try:
                lookups.append((key, self.object_id(organizer), join_url))
            except ProviderError as err:
                out[key] = err
        if lookups:
            out.update(online_meetings.find_many_by_join_url(self._graph(), lookups))
        return out
