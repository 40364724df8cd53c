"""The vendor clients and meeting services of one organisation for one run: the job picks the
MeetingService of each provider here and calls it without knowing the vendor."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from integrator.config import OrganisationConfig
from integrator.domain.types import MeetingProvider
from integrator.providers.meetings import MeetingService

if TYPE_CHECKING:
    from integrator.providers.google.client import GoogleClient
    from integrator.providers.microsoft.client import GraphClient


class MeetingProviders:
    """The vendor clients and meeting services of one organisation (one per run), each built when
    first needed."""

    def __init__(self, org_cfg: OrganisationConfig) -> None:
        self.org_cfg = org_cfg
        self._graph: GraphClient | None = None
        self._google: GoogleClient | None = None
        self._services: dict[str, MeetingService] = {}

    def graph(self) -> GraphClient:
        if self._graph is None:
            # Imported here: loading msgraph costs over a second, and an organisation on Meet never needs it.
            from integrator.providers.microsoft.client import GraphClient

            if self.org_cfg.microsoft is None:
                raise LookupError(f"organisation {self.org_cfg.key} has no Microsoft tenant configured")
            self._graph = GraphClient(self.org_cfg.microsoft)
        return self._graph

    def google(self) -> GoogleClient:
        if self._google is None:
            # Imported here: loading the Google API client costs about a second; an organisation on Teams never needs it.
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
            n += self._graph.requests
        if self._google is not None:
            n += self._google.stats.requests
        return n

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()


def _teams(p: MeetingProviders) -> MeetingService:
    # Imported here: the Teams service loads msgraph (over a second), which an organisation on Meet never needs.
    from integrator.providers.microsoft.teams import TeamsMeetings

    return TeamsMeetings(p.graph)


def _meet(p: MeetingProviders) -> MeetingService:
    # Imported here: the Meet service loads the Google API client, which an organisation on Teams never needs.
    from integrator.providers.google.meet import MeetMeetings

    return MeetMeetings(p.google)


_SERVICES: dict[str, Callable[[MeetingProviders], MeetingService]] = {
    MeetingProvider.TEAMS.value: _teams, MeetingProvider.MEET.value: _meet}

