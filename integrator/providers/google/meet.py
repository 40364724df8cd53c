"""Meet peer-group meetings as one MeetingService (calendar.py: Calendar events with a Meet
conference; the meeting code comes with the event)."""

from __future__ import annotations

from collections.abc import Callable

from integrator.providers.errors import Fatal, ProviderError
from integrator.providers.google import calendar
from integrator.providers.google.client import GoogleClient
from integrator.providers.meetings import MeetingRef, MeetingSpec


class MeetMeetings:
    """Meet meetings over Calendar. `google` gives the client when a request is made (the caller
    builds it once, when first needed)."""

    batches_creates = False
    needs_meeting_id = False

    def __init__(self, google: Callable[[], GoogleClient]) -> None:
        self._google = google

    def idempotency_key(self, seed: str) -> str:
        """A Calendar event id of our own choosing."""
        return calendar.event_id_for(seed)

    def create(self, spec: MeetingSpec, key: str) -> MeetingRef:
        return calendar.create_meet_event(self._google(), spec, key)

    def create_many(self, items: list[tuple[str, MeetingSpec, str]]) -> dict[str, MeetingRef | ProviderError]:
        """One by one (`batches_creates` is False)."""
        out: dict[str, MeetingRef | ProviderError] = {}
        for key, spec, event_id in items:
            try:
                out[key] = self.create(spec, event_id)
            except ProviderError as err:
                out[key] = err
        return out

    def update(self, spec: MeetingSpec, event_id: str) -> MeetingRef | None:
        try:
            return calendar.update_meet_event(self._google(), spec, event_id)
        except Fatal as err:
            if err.status in (404, 410):
                return None
            raise

    def get(self, organizer: str, event_id: str) -> MeetingRef | None:
        event = calendar.get_event(self._google(), organizer, event_id)
        return None if event is None or event.get("status") == "cancelled" else calendar.ref_of(event)

    def cancel(self, organizer: str, event_id: str) -> bool:
        return calendar.cancel_meet_event(self._google(), organizer, event_id)

    def meeting_id(self, organizer: str, join_url: str | None) -> str | None:
        """None: the Meet code (`MeetingRef.conference_id`) comes with the event itself."""
        return None

    def meeting_ids(self, items: list[tuple[str, str, str]]) -> dict[str, str | None | ProviderError]:
        return {key: None for key, _, _ in items}
