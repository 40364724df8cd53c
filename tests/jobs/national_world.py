"""Many small organisations on one sandbox tenant, for the distributed worker's tests and the
national benchmark (scripts/bench/national.py).

Each organisation shares the sandbox's Microsoft tenant and app registration but has its own
sending mailbox (`posti.<org>@...`) and coordinator, one Teams group and a few clients with a
period, a membership and the week's work days. The config lists them all, with
`jobs.engine: procrastinate` when the database is PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from integrator.config import Settings
from integrator.domain.calendar import meeting_window, work_days_for_week
from integrator.domain.types import MeetingProvider, ServiceModel, StaffRole
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import Client, Membership, Organisation, PeerGroup, Period, StaffUser, WorkDay

DOMAIN = "sandbox.example.fi"
#: Letters are about week 3; sent on Thursday of week 2, 12:00 in Helsinki.
WEEK = "2026-W03"
LETTER_DAY = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)
WEEKDAYS = [2, 4]


def org_key(i: int) -> str:
    return f"kunta{i:03d}"


def sender(key: str) -> str:
    return f"posti.{key}@{DOMAIN}"


@dataclass
class NationalWorld:
    sb: Sandbox
    store: Store
    settings: Settings
    config_path: Path
    db_url: str
    orgs: list[str]

    @classmethod
    def build(cls, sb: Sandbox, store: Store, db_url: str, tmp: Path, *, orgs: int, clients: int,
              per_minute: int | None = None, jobs: dict[str, Any] | None = None,
              weeks: tuple[str, ...] = (WEEK,)) -> NationalWorld:
        """`per_minute`: each mailbox's sending pace (None: the published limit, Exchange 30/min);
        `weeks`: the ISO weeks with work days."""
        client_id, secret = sb.graph.register_app()
        secret_file = tmp / "ms-secret.txt"
        secret_file.write_text(secret)
        keys = [org_key(i) for i in range(orgs)]
        ms = {"tenant_id": sb.graph.tenant_id, "client_id": client_id, "client_secret": {"file": str(secret_file)},
              "authority": sb.login_authority, "graph_base_url": sb.graph_url, "ca_bundle": sb.ca_cert_path}
        raw: dict[str, Any] = {"database_url": db_url, "organisations": []}
        if jobs:
            raw["jobs"] = jobs
        for key in keys:
            coordinator = f"ohjaaja.{key}@{DOMAIN}"
            oid = sb.graph.add_user(coordinator, f"Ohjaaja {key}")
            sb.graph.grant_meeting_policy(oid)
            sb.graph.add_user(sender(key), f"Posti {key}")
            raw["organisations"].append({
                "key": key, "name": f"Kunta {key}", "kind": "municipality",
                "microsoft": {**ms, "mail_sender": sender(key)},
                "mail": {"via": "graph", "per_minute": per_minute},
            })
        config_path = tmp / "integrator.yaml"
        config_path.write_text(yaml.safe_dump(raw, allow_unicode=True))
        settings = Settings.model_validate(raw)
        world = cls(sb, store, settings, config_path, db_url, keys)
        world._fill_store(clients, weeks)
        return world

    def _fill_store(self, clients: int, weeks: tuple[str, ...]) -> None:
        briefed = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
        with self.store.session() as s:
            for key in self.orgs:
                org = Organisation(key=key, name=f"Kunta {key}")
                s.add(org)
                s.flush()
                staff = StaffUser(organisation_id=org.id, email=f"ohjaaja.{key}@{DOMAIN}",
                                  display_name=f"Ohjaaja {key}", role=StaffRole.COORDINATOR, phone="040 123 4567")
                s.add(staff)
                s.flush()
                group = PeerGroup(organisation_id=org.id, key="ryhma", name="Ryhmä", coordinator_id=staff.id,
                                  weekdays=WEEKDAYS, meeting_start=time(10, 0), meeting_end=time(11, 0),
                                  meeting_provider=MeetingProvider.TEAMS)
                s.add(group)
                s.flush()
                for n in range(clients):
                    code = f"{key.upper()}-{n:03d}"
                    client = Client(organisation_id=org.id, code=code, display_name=f"Asiakas {n}",
                                    email=f"{code.lower()}@asiakas.example.fi")
                    s.add(client)
                    s.flush()
                    s.add(Period(client_id=client.id, service_model=ServiceModel.LONG_TERM,
                                 start_date=date(2025, 12, 1), end_date=date(2026, 6, 30),
                                 weekdays=WEEKDAYS, briefing_recorded_at=briefed))
                    s.add(Membership(group_id=group.id, client_id=client.id, start_date=date(2025, 12, 1)))
                for week in weeks:
                    for d in work_days_for_week(week, WEEKDAYS).days:
                        begins, ends = meeting_window(d, time(10, 0), time(11, 0))
                        s.add(WorkDay(group_id=group.id, day=d, iso_week=week, meeting_start=begins,
                                      meeting_end=ends, instructions="Kirjoita lyhyt teksti viikon teemasta."))
