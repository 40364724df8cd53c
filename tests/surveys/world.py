"""A small organisation for the survey tests: two groups, two coordinators, clients whose periods
start or end in WEEK (the survey rounds), one client without a data-protection briefing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from integrator.config import Settings
from integrator.domain.calendar import meeting_window, work_days_for_week
from integrator.domain.types import MeetingProvider, ServiceModel, StaffRole
from integrator.store.db import Store
from integrator.store.models import Client, Membership, Organisation, PeerGroup, Period, StaffUser, WorkDay

ORG = "raisio"
WEEK = "2026-W03"  # Monday 12 January 2026
MONDAY = date(2026, 1, 12)
NOW = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
PAGE_URL = "https://tyotoiminta.example.fi"
BRIEFED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def settings(**surveys: Any) -> Settings:
    return Settings.model_validate({"organisations": [{
        "key": ORG, "name": "Raision kaupunki",
        "surveys": {"enabled": True, "page_url": PAGE_URL, **surveys}}]})


@dataclass
class World:
    store: Store
    groups: dict[str, int] = field(default_factory=dict)
    coordinators: dict[str, int] = field(default_factory=dict)
    clients: dict[str, int] = field(default_factory=dict)


def build(store: Store, *, work_days: bool = True, staff_domain: str = "example.fi") -> World:
    """Group "tiistai" (coordinator A): K-0001..K-0003 start their period on Tuesday of WEEK,
    K-0004 ends it then, K-0005 starts without a briefing. Group "torstai" (coordinator B):
    K-0006 starts in WEEK. K-0003 reads plain language. Coordinators: ohjaaja-a@<staff_domain>, -b."""
    w = World(store)
    with store.session() as s:
        org = Organisation(key=ORG, name="Raision kaupunki")
        s.add(org)
        s.flush()
        for who in ("a", "b"):
            staff = StaffUser(organisation_id=org.id, email=f"ohjaaja-{who}@{staff_domain}",
                              display_name=f"Ohjaaja {who.upper()}", role=StaffRole.COORDINATOR)
            s.add(staff)
            s.flush()
            w.coordinators[who] = staff.id
        specs = [("tiistai", 2, "a", [("K-0001", "start", True), ("K-0002", "start", True), ("K-0003", "start", True),
                                      ("K-0004", "end", True), ("K-0005", "start", False)]),
                 ("torstai", 4, "b", [("K-0006", "start", True)])]
        for key, weekday, who, people in specs:
            group = PeerGroup(organisation_id=org.id, key=key, name=f"Ryhmä {key}", coordinator_id=w.coordinators[who],
                              weekdays=[weekday], meeting_start=time(10), meeting_end=time(11),
                              meeting_provider=MeetingProvider.TEAMS)
            s.add(group)
            s.flush()
            w.groups[key] = group.id
            for code, kind, briefed in people:
                client = Client(organisation_id=org.id, code=code, display_name=f"Asiakas {code}",
                                email=f"{code.lower()}@asiakas.example.fi", plain_language=code == "K-0003")
                s.add(client)
                s.flush()
                w.clients[code] = client.id
                start, end = ((date(2026, 1, 13), date(2026, 6, 30)) if kind == "start"
                              else (date(2025, 8, 1), date(2026, 1, 15)))
                s.add(Period(client_id=client.id, service_model=ServiceModel.LONG_TERM, start_date=start,
                             end_date=end, weekdays=[weekday], briefing_recorded_at=BRIEFED if briefed else None))
                s.add(Membership(group_id=group.id, client_id=client.id, start_date=start))
            if work_days:
                for d in work_days_for_week(WEEK, [weekday]).days:
                    begins, ends = meeting_window(d, time(10), time(11))
                    s.add(WorkDay(group_id=group.id, day=d, iso_week=WEEK, meeting_start=begins, meeting_end=ends))
    return w
