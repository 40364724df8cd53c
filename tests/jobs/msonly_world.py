"""An organisation on Microsoft 365 alone ("naantali"), on the Graph half of the sandbox only.

`MsOnlyWorld.build(...)` registers the app and the users in the sandbox's Graph tenant, writes
the config the product reads (only a `microsoft` block; no `mail` block, so letters go via Graph,
the default of such an organisation), checks it as `config check` does, applies it to the store
and seeds clients, periods and memberships. Unlike notify_world it writes no work days: the
weekly setup makes them. The helpers run the product's own jobs on the sandbox clock and act as
the clients would (join the day's Teams meeting, save a return in their task folder).

`build(..., task_folders=True)` also makes a SharePoint document library for the client task
folders (the app holds Sites.Selected and a write grant on that one site, the least a tenant can
give) and names it in `microsoft.task_folders`; the weekly setup then makes each client's folder,
and `client_folders()` makes them directly as the weekly side records them (ExternalResource
"sp_folder", local key ``folder:<code>``) for the nightly tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from integrator.config import Settings, load_settings
from integrator.config.apply import apply_settings
from integrator.domain.types import ServiceModel
from integrator.jobs.nightly.run import OrgSyncResult, Providers, run_nightly_sync
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.providers.microsoft import drive as graph_drive
from integrator.providers.microsoft.client import GraphClient
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.graph.tenant import DEFAULT_PERMISSIONS
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import (
    Client,
    ExternalResource,
    Membership,
    Organisation,
    PeerGroup,
    Period,
    StaffUser,
)

ORG = "naantali"
DOMAIN = "naantali.example.fi"
WEEK = "2026-W03"  # Tue 13.1., Wed 14.1., Thu 15.1.2026
TUE, WED, THU = date(2026, 1, 13), date(2026, 1, 14), date(2026, 1, 15)
HELSINKI = ZoneInfo("Europe/Helsinki")
FRIDAY_BEFORE = datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
BRIEFED = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
#: group key -> (name, weekdays, clients)
GROUPS: dict[str, tuple[str, list[int], int]] = {"tiistai": ("Tiistai- ja torstairyhmä", [2, 4], 3),
                                                 "keskiviikko": ("Keskiviikkoryhmä", [3], 2)}


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


def fresh(sb: Sandbox) -> Sandbox:
    """The module's sandbox as a new test finds it: emptied, no faults, the clock on the Friday before."""
    sb.reset()
    sb.state.faults.clear()
    sb.state.clock.set(FRIDAY_BEFORE)
    return sb


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=HELSINKI).astimezone(UTC)


def fast_policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.05, max_retry_after_s=5)


@dataclass
class MsOnlyWorld:
    sb: Sandbox
    store: Store
    settings: Settings
    config_path: Path
    coordinator: str = f"ohjaaja@{DOMAIN}"
    social_worker: str = f"sosiaaliohjaaja@{DOMAIN}"
    sender: str = f"posti@{DOMAIN}"
    emails: dict[str, str] = field(default_factory=dict)  # client code -> email
    drive_id: str | None = None  # the task folders' document library (build(task_folders=True))
    folders: dict[str, str] = field(default_factory=dict)  # client code -> its folder's drive item id

    @classmethod
    def build(cls, sb: Sandbox, store: Store, tmp: Path, *, task_folders: bool = False,
              rules: dict[str, Any] | None = None) -> MsOnlyWorld:
        app_id, secret = sb.graph.register_app(
            permissions=set(DEFAULT_PERMISSIONS) | ({"Sites.Selected"} if task_folders else set()))
        world = cls(sb, store, Settings(), tmp / "integrator.yaml")
        folders: dict[str, Any] | None = None
        if task_folders:
            world.drive_id = sb.graph.add_drive("tyotoiminta")
            site_id = sb.graph.site_of(world.drive_id)
            assert site_id is not None
            sb.graph.grant_site(site_id, app_id, ["write"])
            folders = {"drive_id": world.drive_id, "site_id": site_id}
        for email, name in ((world.coordinator, "Olli Ohjaaja"), (world.sender, "Työtoiminta Posti")):
            oid = sb.graph.add_user(email, name)
            if email == world.coordinator:
                sb.graph.grant_meeting_policy(oid)
        secret_file = tmp / "ms-secret.txt"
        secret_file.write_text(secret, encoding="utf-8")
        raw: dict[str, Any] = {
            "database_url": store.url,
            "organisations": [{
                "key": ORG, "name": "Naantalin kaupunki", "kind": "municipality",
                "microsoft": {"tenant_id": sb.graph.tenant_id, "client_id": app_id,
                              "client_secret": {"file": str(secret_file)}, "mail_sender": world.sender,
                              "authority": sb.login_authority, "graph_base_url": sb.graph_url,
                              "ca_bundle": str(sb.ca_cert_path), "task_folders": folders},
                "staff": [{"email": world.coordinator, "name": "Olli Ohjaaja", "role": "coordinator"},
                          {"email": world.social_worker, "name": "Sari Sosiaaliohjaaja", "role": "social_worker"}],
                "groups": [{"key": key, "name": name, "coordinator": world.coordinator, "weekdays": days,
                            "meeting": {"start": "10:00", "end": "11:00", "provider": "teams"}}
                           for key, (name, days, _n) in GROUPS.items()],
            }],
        }
        org_raw: dict[str, Any] = raw["organisations"][0]
        if rules:
            org_raw["rules"] = rules
        world.config_path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        world.settings = load_settings(world.config_path)  # the checks `config check` makes, secrets too
        apply_settings(store, world.settings)
        world._seed_clients()
        return world

    def _seed_clients(self) -> None:
        n = 0
        with self.store.session() as s:
            org = s.scalars(select(Organisation).where(Organisation.key == ORG)).one()
            worker = s.scalars(select(StaffUser).where(StaffUser.email == self.social_worker)).one()
            for key, (_name, days, count) in GROUPS.items():
                group = s.scalars(select(PeerGroup).where(PeerGroup.key == key)).one()
                for _ in range(count):
                    n += 1
                    code = f"K-{n:04d}"
                    email = f"{code.lower()}@{DOMAIN}"
                    oid = self.sb.graph.add_user(email, f"Asiakas {n}")
                    self.emails[code] = email
                    client = Client(organisation_id=org.id, code=code, display_name=f"Asiakas {n}", email=email,
                                    entra_object_id=oid, plain_language=n == 2)
                    s.add(client)
                    s.flush()
                    s.add(Period(client_id=client.id, service_model=ServiceModel.LONG_TERM, start_date=date(2025, 12, 1),
                                 end_date=date(2026, 6, 30), weekdays=days, briefing_recorded_at=BRIEFED,
                                 responsible_worker_id=worker.id))
                    s.add(Membership(group_id=group.id, client_id=client.id, start_date=date(2025, 12, 1)))

    # ---- the product's jobs, on the sandbox clock ----
    def weekly_setup(self, week: str = WEEK, *, dry_run: bool = False, confirmed: Any = (),
                     tasks_file: Path | None = None) -> Any:
        return run_weekly_setup(self.store, self.settings, week, ORG, dry_run=dry_run,
                                now=self.sb.state.clock.now(), confirmed_removals=confirmed, tasks_file=tasks_file,
                                graph_factory=lambda tenant: GraphClient(tenant, policy=fast_policy()))

    def nightly_sync(self) -> OrgSyncResult:
        def no_google(_org: Any) -> Any:
            raise AssertionError("an organisation on Microsoft 365 alone must never reach for Google")

        providers = Providers(google=no_google,
                              graph=lambda org: GraphClient(org.microsoft, policy=fast_policy()))
        (result,) = run_nightly_sync(self.store, self.settings, org_key=ORG, now=self.sb.state.clock.now(),
                                     providers=providers)
        return result

    def graph(self) -> GraphClient:
        org = self.settings.organisation(ORG)
        assert org.microsoft is not None
        return GraphClient(org.microsoft, policy=fast_policy())

    def client_folders(self) -> dict[str, str]:
        """Each client's task folder in the library, recorded as the weekly side records it (a folder
        the weekly setup has made already is found by its name and its row kept)."""
        assert self.drive_id is not None
        client = self.graph()
        try:
            made = {code: graph_drive.ensure_folder(client, self.drive_id, "root", code) for code in self.emails}
        finally:
            client.close()
        with self.store.session() as s:
            org_id = s.scalars(select(Organisation.id).where(Organisation.key == ORG)).one()
            recorded = set(s.scalars(select(ExternalResource.local_key).where(
                ExternalResource.organisation_id == org_id, ExternalResource.kind == "sp_folder")))
            for code, folder in made.items():
                if f"folder:{code}" in recorded:
                    continue
                s.add(ExternalResource(organisation_id=org_id, kind="sp_folder", local_key=f"folder:{code}",
                                       external_id=folder.id, status="active",
                                       state={"drive_id": self.drive_id, "web_url": folder.web_url}))
        self.folders = {code: folder.id for code, folder in made.items()}
        return self.folders

    # ---- reading back ----
    def meeting(self, group: str, day: date) -> ExternalResource | None:
        with self.store.session() as s:
            return s.scalar(select(ExternalResource).where(ExternalResource.kind == "meeting",
                                                           ExternalResource.local_key == f"meeting:{group}:{day}"))

    def writes(self) -> list[str]:
        """Write calls to the tenant (a token request is not a write)."""
        return [e.key for e in self.sb.state.log.writes() if e.api != "oauth"]

    # ---- the clients' side ----
    def attend(self, code: str, group: str, day: date, minutes: int) -> None:
        row = self.meeting(group, day)
        assert row is not None and row.state.get("join_url"), f"no Teams meeting for {group} on {day}"
        self.sb.graph.join_meeting(str(row.state["join_url"]), email=self.emails[code], minutes=minutes,
                                   start=local(day, 10))

    def save_return(self, who: str, folder_of: str, name: str = "tehtava.docx", at: datetime | None = None) -> str:
        """`who` (a client code, or anyone's e-mail) saves a file into `folder_of`'s task folder,
        at the sandbox clock unless `at`; returns the drive item id."""
        assert self.drive_id is not None
        email = self.emails.get(who, who)
        return self.sb.graph.upload_as(email, self.drive_id, self.folders[folder_of], name, b"vastaus", at=at)


def later(world: MsOnlyWorld, minutes: int) -> None:
    world.sb.state.clock.set(world.sb.state.clock.now() + timedelta(minutes=minutes))
