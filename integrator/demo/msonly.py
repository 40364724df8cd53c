"""The demo's second organisation: a small one on Microsoft 365 alone ("naantali").

Three pseudonymous clients in one Tuesday-and-Thursday group, on the Graph half of the same
sandbox: the weekly setup makes the work days, Teams meetings and a SharePoint task folder per
client (the app holds Sites.Selected and a write grant on that one site), the letters go by
Graph mail with each client's folder link, the clients join the meeting or save a return in
their folder, and the nightly sync reads Teams attendance and the drive's delta into the
register. Its config is a file of its own (only a `microsoft` block), applied to the same store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from integrator.config import Settings, load_settings
from integrator.config.apply import apply_settings
from integrator.demo.world import fast_policy, local
from integrator.domain.types import ServiceModel
from integrator.jobs.nightly.run import OrgSyncResult, Providers, run_nightly_sync
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.sender import send_outbox
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.providers.microsoft.client import GraphClient
from integrator.sandbox import Sandbox
from integrator.sandbox.graph.tenant import DEFAULT_PERMISSIONS
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

ORG_MS = "naantali"
DOMAIN_MS = "naantali.example.fi"
GROUP_MS = "tiistai"
CODES_MS = ("N-0001", "N-0002", "N-0003")
BRIEFED = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class MsOnlyDemo:
    sb: Sandbox
    store: Store
    settings: Settings
    emails: dict[str, str] = field(default_factory=dict)
    drive_id: str = ""

    @classmethod
    def build(cls, sb: Sandbox, store: Store, folder: Path, db_url: str) -> MsOnlyDemo:
        app_id, secret = sb.graph.register_app(permissions=set(DEFAULT_PERMISSIONS) | {"Sites.Selected"})
        drive_id = sb.graph.add_drive("tyotoiminta-naantali")
        site_id = sb.graph.site_of(drive_id)
        assert site_id is not None
        sb.graph.grant_site(site_id, app_id, ["write"])
        coordinator, worker, sender = (f"{who}@{DOMAIN_MS}" for who in ("ohjaaja", "sosiaaliohjaaja", "posti"))
        sb.graph.grant_meeting_policy(sb.graph.add_user(coordinator, "Olli Ohjaaja"))
        sb.graph.add_user(sender, "Työtoiminta Posti")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ms-secret.txt").write_text(secret, encoding="utf-8")
        raw: dict[str, Any] = {"database_url": db_url, "organisations": [{
            "key": ORG_MS, "name": "Naantalin kaupunki", "kind": "municipality",
            "microsoft": {"tenant_id": sb.graph.tenant_id, "client_id": app_id,
                          "client_secret": {"file": str(folder / "ms-secret.txt")}, "mail_sender": sender,
                          "authority": sb.login_authority, "graph_base_url": sb.graph_url,
                          "ca_bundle": str(sb.ca_cert_path), "task_folders": {"drive_id": drive_id, "site_id": site_id}},
            "staff": [{"email": coordinator, "name": "Olli Ohjaaja", "role": "coordinator"},
                      {"email": worker, "name": "Sari Sosiaaliohjaaja", "role": "social_worker"}],
            "groups": [{"key": GROUP_MS, "name": "Naantalin tiistai- ja torstairyhmä", "coordinator": coordinator,
                        "weekdays": [2, 4], "meeting": {"start": "10:00", "end": "11:00", "provider": "teams"}}]}]}
        path = folder / "integrator.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        settings = load_settings(path)  # the checks `config check` makes
        apply_settings(store, settings)
        world = cls(sb, store, settings, drive_id=drive_id)
        with store.session() as s:
            org = s.scalars(select(Organisation).where(Organisation.key == ORG_MS)).one()
            group = s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org.id)).one()
            sw = s.scalars(select(StaffUser).where(StaffUser.email == worker)).one()
            for n, code in enumerate(CODES_MS, start=1):
                email = world.emails[code] = f"{code.lower()}@{DOMAIN_MS}"
                oid = sb.graph.add_user(email, f"Asiakas {n}")
                client = Client(organisation_id=org.id, code=code, display_name=f"Asiakas {n}", email=email,
                                entra_object_id=oid)
                s.add(client)
                s.flush()
                s.add(Period(client_id=client.id, service_model=ServiceModel.LONG_TERM, start_date=date(2025, 12, 1),
                             end_date=date(2026, 6, 30), weekdays=[2, 4], briefing_recorded_at=BRIEFED,
                             responsible_worker_id=sw.id))
                s.add(Membership(group_id=group.id, client_id=client.id, start_date=date(2025, 12, 1)))
        return world

    def _graph(self, org: Any) -> GraphClient:
        return GraphClient(org.microsoft, policy=fast_policy())

    def weekly_setup(self, week: str) -> dict[str, int]:
        plan, _ = run_weekly_setup(self.store, self.settings, week, ORG_MS, now=self.sb.state.clock.now(),
                                   graph_factory=lambda tenant: GraphClient(tenant, policy=fast_policy()),
                                   triggered_by="demo")
        return plan.counts()

    def letters(self, week: str) -> int:
        now = self.sb.state.clock.now()
        queue_weekly_letters(self.store, self.settings, ORG_MS, week, now=now)
        return send_outbox(self.store, self.settings, now=now, org_keys=[ORG_MS]).get("sent", 0)

    def _row(self, kind: str, key: str) -> ExternalResource:
        with self.store.session() as s:
            return s.scalars(select(ExternalResource).where(ExternalResource.kind == kind,
                                                            ExternalResource.local_key == key)).one()

    def attend(self, code: str, day: date, minutes: int) -> None:
        join_url = str(self._row("meeting", f"meeting:{GROUP_MS}:{day.isoformat()}").state["join_url"])
        self.sb.graph.join_meeting(join_url, email=self.emails[code], minutes=minutes, start=local(day, 10))

    def save_return(self, code: str, day: date, name: str) -> None:
        folder = self._row("sp_folder", f"folder:{code}").external_id
        self.sb.graph.upload_as(self.emails[code], self.drive_id, folder, name, b"vastaus", at=local(day, 14))

    def nightly_sync(self) -> OrgSyncResult:
        (result,) = run_nightly_sync(self.store, self.settings, org_key=ORG_MS, now=self.sb.state.clock.now(),
                                     providers=Providers(graph=self._graph), triggered_by="demo")
        return result
