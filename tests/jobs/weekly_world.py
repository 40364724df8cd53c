"""An organisation on the sandbox for the weekly-setup tests and the benchmark.

`WeeklyWorld.build(...)` registers users and a delegated service account in the sandbox's
Google tenant, writes the config the product reads (sandbox mode: `api_base_url`) and fills
the store with clients, periods (with or without a recorded briefing) and memberships.
`snapshot()` reads back, through the API itself, everything the job made in the tenant, in
a form that does not depend on generated ids: two runs that ended in the same state compare equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from integrator.config import Settings
from integrator.config.apply import apply_settings
from integrator.domain.types import JobStatus, ServiceModel
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.providers.google.client import GoogleClient
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import Client, JobRun, Membership, Organisation, PeerGroup, Period

ORG = "raisio"
DOMAIN = "sandbox.example.fi"
WEEK = "2026-W49"  # 30.11.-6.12.2026; Sunday 6.12. is Independence Day
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # the Friday before
ADMIN = f"admin@{DOMAIN}"
BRIEFED = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def fast_policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=8, base_delay_s=0.001, max_delay_s=0.01, max_retry_after_s=5)


@dataclass
class WeeklyWorld:
    sb: Sandbox
    store: Store
    settings: Settings
    config_path: Path
    groups: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, sb: Sandbox, store: Store, tmp: Path, *, groups: int = 2, clients_per_group: int = 3,
              weekdays: list[list[int]] | None = None, external_every: int = 0, unbriefed: int = 0,
              coordinators: int = 1, shared_drive: bool = False, plain_every: int = 3,
              material_bank: dict[str, str] | None = None) -> WeeklyWorld:
        sb.google.add_user(ADMIN, "Integraatio Admin", admin=True)
        coaches = [f"ohjaaja{i + 1}@{DOMAIN}" for i in range(coordinators)]
        for i, email in enumerate(coaches):
            sb.google.add_user(email, f"Ohjaaja {i + 1}")
        key_file = tmp / "google-key.json"
        key_file.write_text(json.dumps(sb.google.service_account_info()))
        google: dict[str, Any] = {"domain": DOMAIN, "service_account": {"file": str(key_file)},
                                  "admin_subject": ADMIN, "mail_sender": ADMIN, "api_base_url": sb.google_url}
        if shared_drive:
            google["shared_drive_id"] = sb.google.create_shared_drive("Etätyötoiminta", [ADMIN])
        if material_bank is not None:  # name -> MIME type of each file in the bank
            bank = sb.google.add_file(ADMIN, "Materiaalipankki", "application/vnd.google-apps.folder")
            for name, mime in material_bank.items():
                sb.google.add_file(ADMIN, name, mime, [bank], b"materiaali")
            google["material_bank_folder_id"] = bank
        keys = [f"ryhma-{g + 1}" for g in range(groups)]
        days = weekdays or [[2 + (g % 3)] for g in range(groups)]
        raw: dict[str, Any] = {"organisations": [{
            "key": ORG, "name": "Raision kaupunki", "kind": "municipality", "google": google,
            "staff": [{"email": c, "name": f"Ohjaaja {i + 1}", "role": "coordinator"} for i, c in enumerate(coaches)],
            "groups": [{"key": k, "name": f"Ryhmä {g + 1}", "coordinator": coaches[g % len(coaches)],
                        "weekdays": days[g % len(days)], "meeting": {"start": "10:00", "end": "11:00", "provider": "meet"}}
                       for g, k in enumerate(keys)],
        }]}
        config_path = tmp / "integrator.yaml"
        config_path.write_text(yaml.safe_dump(raw, allow_unicode=True))
        settings = Settings.model_validate(raw)
        apply_settings(store, settings)
        world = cls(sb, store, settings, config_path, keys)
        world._clients(clients_per_group, days, external_every, unbriefed, plain_every)
        return world

    def _clients(self, per_group: int, days: list[list[int]], external_every: int, unbriefed: int,
                 plain_every: int) -> None:
        n = 0
        with self.store.session() as s:
            org = s.scalars(select(Organisation).where(Organisation.key == ORG)).one()
            for g, key in enumerate(self.groups):
                group = s.scalars(select(PeerGroup).where(PeerGroup.key == key)).one()
                for _ in range(per_group):
                    n += 1
                    code = f"K-{n:04d}"
                    external = external_every > 0 and n % external_every == 0
                    email = f"{code.lower()}@{'gmail.example.com' if external else DOMAIN}"
                    if external:  # a personal Google account outside the domain: invited, not enrolled
                        self.sb.google.add_external_user(email, f"Asiakas {n}")
                    else:
                        self.sb.google.add_user(email, f"Asiakas {n}")
                    client = Client(organisation_id=org.id, code=code, display_name=f"Asiakas {n}", email=email,
                                    plain_language=plain_every > 0 and n % plain_every == 0)
                    s.add(client)
                    s.flush()
                    s.add(Period(client_id=client.id, service_model=ServiceModel.LONG_TERM,
                                 start_date=date(2026, 9, 1), end_date=date(2027, 2, 28),
                                 weekdays=days[g % len(days)],
                                 briefing_recorded_at=None if n <= unbriefed else BRIEFED))
                    s.add(Membership(group_id=group.id, client_id=client.id, start_date=date(2026, 9, 1)))

    def client_factory(self, policy: RetryPolicy | None = None, batching: bool = True) -> Any:
        return lambda tenant: GoogleClient(tenant, policy=policy or fast_policy(), batching=batching)

    def run_setup(self, policy: RetryPolicy | None = None) -> tuple[JobStatus, list[str]]:
        """The weekly setup of WEEK without meetings (`policy`: fast by default): the run's status
        and its errors as "item: error" lines."""
        _, run_id = run_weekly_setup(self.store, self.settings, WEEK, ORG, now=NOW,
                                     client_factory=self.client_factory(policy), include_meetings=False)
        with self.store.session() as s:
            job = s.get(JobRun, run_id)
            assert job is not None
            return job.status, [f"{e['item']}: {e['error']}" for e in job.errors]

    def end_period(self, code: str, last_day: date) -> None:
        with self.store.session() as s:
            client = s.scalars(select(Client).where(Client.code == code)).one()
            for p in client.periods:
                p.end_date = last_day

    def change_group(self, **changes: Any) -> None:
        """Edit the first group in the config (e.g. weekdays=[3], meeting={...}), as a coordinator would.

        New weekdays also become every client's period weekdays, so that they take part on the new day.
        """
        raw = self.settings.model_dump(mode="json")
        raw["organisations"][0]["groups"][0].update(changes)
        self.settings = Settings.model_validate(raw)
        if "weekdays" in changes:
            with self.store.session() as s:
                for c in s.scalars(select(Client)):
                    c.periods[0].weekdays = list(changes["weekdays"])

    def lose_coursework_results(self) -> list[str]:
        """The store as a kill right after the coursework creates were sent leaves it.

        Every coursework row is back to ``pending`` with no id: the work exists in Classroom, and
        only its marker line can tell. Returns the rows' keys.
        """
        from integrator.store.models import ExternalResource

        with self.store.session() as s:
            rows = s.scalars(select(ExternalResource).where(ExternalResource.kind == "coursework")).all()
            for r in rows:
                r.status, r.external_id, r.state = "pending", None, {}
            return sorted(r.local_key for r in rows)

    # ---- reading the tenant back ----
    def snapshot(self) -> dict[str, Any]:
        """Courses, rosters, topics, coursework, folders and sharing, without generated ids."""
        g = self.sb.google
        with self.sb.state.lock:
            data, drive = g.classroom, g.drive
            user_email = {u.id: u.email for u in g.users.values()}
            courses: dict[str, Any] = {}
            for cid, course in data.courses.items():
                alias = sorted(a for a, c in data.aliases.items() if c == cid)
                topics = {t["topicId"]: t["name"] for t in data.topics[cid].values()}
                works = sorted(
                    (w["title"], w.get("scheduledTime"), json.dumps(w.get("dueDate")), topics.get(w.get("topicId", "")),
                     tuple(sorted(user_email.get(s, s) for s in
                                  (w.get("individualStudentsOptions") or {}).get("studentIds", []))))
                    for w in data.course_work[cid].values())
                courses[f"{course['name']}|{','.join(alias)}"] = {
                    "state": course["courseState"],
                    "owner": user_email.get(course["ownerId"]),
                    "students": sorted(user_email.get(u, u) for u in data.students[cid]),
                    "invited": sorted(user_email.get(i["userId"], i["userId"]) for i in data.invitations.values()
                                      if i["courseId"] == cid),
                    "topics": sorted(topics.values()),
                    "coursework": works,
                }
            folders: list[Any] = []
            for f in drive.files.values():
                r = f.resource
                if r.get("mimeType") != "application/vnd.google-apps.folder" or not r.get("appProperties"):
                    continue
                parent_id = r["parents"][0] if r.get("parents") else ""
                parent = drive.files.get(parent_id)
                parent_name = parent.resource["name"] if parent else drive.drives.get(parent_id, {}).get("name")
                folders.append((r["name"], parent_name,
                                tuple(sorted((p.get("emailAddress", ""), p["role"]) for p in f.permissions))))
        return {"courses": courses, "folders": sorted(folders)}

    def writes(self) -> list[str]:
        """Write calls to the APIs (a token request is not a write to the tenant)."""
        return [e.key for e in self.sb.state.log.writes() if e.api != "oauth"]

    def store_state(self) -> list[tuple[str, str, str]]:
        from integrator.store.models import ExternalResource

        with self.store.session() as s:
            return sorted((r.kind, r.local_key, r.status) for r in s.scalars(select(ExternalResource)))


def now_utc() -> datetime:
    return NOW.astimezone(UTC)


# ---- fixtures (imported by the weekly-setup test modules) ----

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def weekly_sandbox() -> Iterator[Sandbox]:
    with Sandbox(page_size=5, with_graph=False) as sb:
        yield sb


@pytest.fixture
def sbx(weekly_sandbox: Sandbox) -> Iterator[Sandbox]:
    weekly_sandbox.reset()
    weekly_sandbox.state.page_size = 5
    yield weekly_sandbox
    weekly_sandbox.state.faults.clear()
