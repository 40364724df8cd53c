"""A small organisation on the sandbox for the meetings / letters / reminders tests.

`World.build(...)` registers the app and users in the sandbox tenant, writes the config the
product reads (sandbox mode: authority, graph_base_url, ca_bundle, api_base_url) and fills the
store with groups, clients, periods, memberships and the week's work days.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from integrator.config import Settings
from integrator.domain.calendar import meeting_window, work_days_for_week
from integrator.domain.types import MeetingProvider, ServiceModel, StaffRole, VariantKind
from integrator.domain.weeks import week_monday
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import (
    Client,
    Membership,
    Organisation,
    PeerGroup,
    Period,
    StaffUser,
    Task,
    TaskVariant,
    WorkDay,
)

ORG = "raisio"
DOMAIN = "sandbox.example.fi"
#: The sandbox clock starts Monday 2026-01-05 07:00 UTC (week 2); letters are about week 3.
WEEK = "2026-W03"
LETTER_DAY = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)  # Thursday 12:00 in Helsinki


@dataclass
class GroupSpec:
    key: str
    weekdays: list[int]
    provider: MeetingProvider
    clients: int
    start: time = time(10, 0)
    end: time = time(11, 0)


@dataclass
class World:
    sb: Sandbox
    store: Store
    settings: Settings
    config_path: Path
    db_url: str
    coordinator: str = f"ohjaaja@{DOMAIN}"
    sender: str = f"posti@{DOMAIN}"
    groups: list[GroupSpec] = field(default_factory=list)

    @classmethod
    def build(cls, sb: Sandbox, store: Store, db_url: str, tmp: Path, *, groups: list[GroupSpec],
              mail_via: str = "graph", per_minute: int | None = 100000, per_day: int | None = None,
              plain_language_every: int = 5, templates_dir: Path | None = None) -> World:
        coordinator, sender = f"ohjaaja@{DOMAIN}", f"posti@{DOMAIN}"
        client_id, secret = sb.graph.register_app()
        oid = sb.graph.add_user(coordinator, "Olli Ohjaaja")
        sb.graph.add_user(sender, "Työtoiminta Posti")
        sb.graph.grant_meeting_policy(oid)
        sb.google.add_user(coordinator, "Olli Ohjaaja")
        sb.google.add_user(sender, "Työtoiminta Posti")
        sb.google.add_user(f"admin@{DOMAIN}", "Admin", admin=True)
        key_file = tmp / "google-key.json"
        key_file.write_text(json.dumps(sb.google.service_account_info()))
        secret_file = tmp / "ms-secret.txt"
        secret_file.write_text(secret)
        raw: dict[str, Any] = {
            "database_url": db_url,
            "organisations": [{
                "key": ORG, "name": "Raision kaupunki", "kind": "municipality",
                "google": {"domain": DOMAIN, "service_account": {"file": str(key_file)},
                           "admin_subject": f"admin@{DOMAIN}", "mail_sender": sender,
                           "api_base_url": sb.google_url},
                "microsoft": {"tenant_id": sb.graph.tenant_id, "client_id": client_id,
                              "client_secret": {"file": str(secret_file)}, "mail_sender": sender,
                              "authority": sb.login_authority, "graph_base_url": sb.graph_url,
                              "ca_bundle": sb.ca_cert_path},
                "mail": {"via": mail_via, "per_minute": per_minute, "per_day": per_day},
                "templates_dir": str(templates_dir) if templates_dir else None,
            }],
        }
        config_path = tmp / "integrator.yaml"
        config_path.write_text(yaml.safe_dump(raw, allow_unicode=True))
        settings = Settings.model_validate(raw)
        world = cls(sb, store, settings, config_path, db_url, coordinator, sender, groups)
        world._fill_store(plain_language_every)
        return world

    def _fill_store(self, plain_every: int) -> None:
        briefed = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
        with self.store.session() as s:
            org = Organisation(key=ORG, name="Raision kaupunki")
            s.add(org)
            s.flush()
            staff = StaffUser(organisation_id=org.id, email=self.coordinator, display_name="Olli Ohjaaja",
                              role=StaffRole.COORDINATOR, phone="040 123 4567")
            s.add(staff)
            s.flush()
            n = 0
            for spec in self.groups:
                group = PeerGroup(organisation_id=org.id, key=spec.key, name=f"Ryhmä {spec.key}",
                                  coordinator_id=staff.id, weekdays=spec.weekdays, meeting_start=spec.start,
                                  meeting_end=spec.end, meeting_provider=spec.provider)
                s.add(group)
                s.flush()
                for _ in range(spec.clients):
                    n += 1
                    code = f"K-{n:04d}"
                    client = Client(organisation_id=org.id, code=code, display_name=f"Asiakas {n}",
                                    email=f"{code.lower()}@asiakas.example.fi",
                                    plain_language=(plain_every > 0 and n % plain_every == 0))
                    s.add(client)
                    s.flush()
                    s.add(Period(client_id=client.id, service_model=ServiceModel.LONG_TERM,
                                 start_date=date(2025, 12, 1), end_date=date(2026, 6, 30),
                                 weekdays=spec.weekdays, briefing_recorded_at=briefed))
                    s.add(Membership(group_id=group.id, client_id=client.id, start_date=date(2025, 12, 1)))
                for d in work_days_for_week(WEEK, spec.weekdays).days:
                    begins, ends = meeting_window(d, spec.start, spec.end)
                    wd = WorkDay(group_id=group.id, day=d, iso_week=WEEK, meeting_start=begins, meeting_end=ends,
                                 instructions="Kirjoita lyhyt teksti viikon teemasta.")
                    s.add(wd)
                    s.flush()
                    task = Task(work_day_id=wd.id, position=0, title="Viikon teema", material_file_id="file123")
                    s.add(task)
                    s.flush()
                    s.add(TaskVariant(task_id=task.id, kind=VariantKind.STANDARD, title="Viikon teema",
                                      instructions="Kirjoita puoli sivua."))
                    s.add(TaskVariant(task_id=task.id, kind=VariantKind.PLAIN_LANGUAGE, title="Viikon teema (selko)",
                                      instructions="Kirjoita 5 lausetta."))

    # -- helpers the tests use --
    def env(self) -> dict[str, str]:
        return {**os.environ, "INTEGRATOR_CONFIG": str(self.config_path), "INTEGRATOR_DATABASE_URL": self.db_url}

    def work_days(self) -> list[WorkDay]:
        from sqlalchemy import select

        with self.store.session() as s:
            return list(s.scalars(select(WorkDay).order_by(WorkDay.day, WorkDay.group_id)))

    def clients(self) -> list[Client]:
        from sqlalchemy import select

        with self.store.session() as s:
            return list(s.scalars(select(Client).order_by(Client.code)))


def monday() -> date:
    return week_monday(WEEK)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """An instant given in Helsinki wall-clock time (January: UTC+2)."""
    return datetime.combine(day, time(hh, mm), tzinfo=UTC) - timedelta(hours=2)


# ---- fixtures (imported by the test modules) -------------------------------------------------

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def sandbox_server() -> Any:
    with Sandbox(page_size=50) as sb:
        yield sb


@pytest.fixture
def sb(sandbox_server: Sandbox) -> Sandbox:
    from integrator.sandbox.core import Quotas

    sandbox_server.reset()
    sandbox_server.state.quotas = Quotas()  # reset() clears usage, not limits a test changed
    return sandbox_server


TWO_GROUPS = [GroupSpec("tiistai", [2, 4], MeetingProvider.TEAMS, 4),
              GroupSpec("keskiviikko", [3], MeetingProvider.MEET, 3)]


@pytest.fixture
def world(sb: Sandbox, store: Store, db_url: str, tmp_path: Path) -> World:
    return World.build(sb, store, db_url, tmp_path, groups=TWO_GROUPS)


# ---- the week, as one job process (driven as a subprocess by the crash tests) ---------------


def run_week(settings: Settings, store: Store, *, max_send_passes: int = 20) -> dict[str, int]:
    """Meetings, Thursday's letters, then each work day's reminders: everything idempotent,
    so a killed run is simply run again from the top."""
    from sqlalchemy import select as _select

    from integrator.jobs.locks import job_lock
    from integrator.jobs.meetings.apply import apply_meetings
    from integrator.jobs.meetings.plan import organisation_id, plan_meetings
    from integrator.jobs.notify.letters import queue_weekly_letters
    from integrator.jobs.notify.reminders import queue_due_reminders
    from integrator.jobs.notify.sender import send_outbox
    from integrator.jobs.runs import RunRecorder

    totals: dict[str, int] = {"sent": 0}

    def send_until_quiet(now: datetime) -> None:
        for _ in range(max_send_passes):
            counts = send_outbox(store, settings, now)
            totals["sent"] += counts["sent"]
            if counts["sent"] + counts["requeued"] == 0:
                return

    for _ in range(5):  # faults may leave an item for the next pass
        with job_lock(store, f"meetings:{ORG}"):
            plan = plan_meetings(store, settings, ORG, WEEK)
            if not plan.actions:
                break
            with store.session() as s:
                org_id = organisation_id(s, ORG)
            recorder = RunRecorder.start(store, "meetings", organisation_id=org_id, params={"week": WEEK})
            apply_meetings(store, settings, ORG, plan, recorder)
            recorder.finish()
    queue_weekly_letters(store, settings, ORG, WEEK)
    send_until_quiet(LETTER_DAY)
    with store.session() as s:
        starts = sorted({wd.meeting_start for wd in s.scalars(_select(WorkDay).where(WorkDay.iso_week == WEEK))})
    for start in starts:
        moment = start - timedelta(minutes=60)
        queue_due_reminders(store, settings, moment)
        send_until_quiet(moment)
    return totals


if __name__ == "__main__":
    import sys

    from integrator.config import load_settings

    _settings = load_settings(sys.argv[1])
    _store = Store(os.environ["INTEGRATOR_DATABASE_URL"])
    print(json.dumps(run_week(_settings, _store)))
