"""A whole organisation on the sandbox tenant: used by `integrator demo`, the nightly-sync tests
and the benchmark.

`DemoWorld.build()` registers users and credentials in both halves of the sandbox, writes the
config the product reads (sandbox mode) and the key files, applies it to the store and seeds
pseudonymous clients (K-0001...) with fake names, periods and memberships. The simulation
helpers then act as the clients would on the sandbox clock: join a meeting, turn in the day's
task, drop a photo into their folder, dial in by phone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from integrator.config import Settings
from integrator.config.apply import apply_settings
from integrator.domain.types import ServiceModel
from integrator.jobs.nightly.run import Providers, run_nightly_sync
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.sender import send_outbox
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.providers.google.client import GoogleClient
from integrator.providers.microsoft.client import GraphClient
from integrator.providers.retry import RetryPolicy
from integrator.reports.expected import expected_pairs
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
    WorkDay,
)

DOMAIN = "sandbox.example.fi"
ORG = "raisio"
HELSINKI = ZoneInfo("Europe/Helsinki")
BRIEFED = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
FIRST_NAMES = ["Aino", "Eino", "Helmi", "Väinö", "Lempi", "Toivo", "Siiri", "Onni", "Elli", "Veikko",
               "Saimi", "Arvo", "Kerttu", "Urho", "Impi", "Lauri", "Tyyne", "Kalle", "Hilja", "Jussi"]
LAST_NAMES = ["Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen",
              "Koskinen", "Järvinen"]


@dataclass(frozen=True)
class GroupPlan:
    key: str
    name: str
    weekdays: list[int]
    provider: str  # teams | meet
    model: ServiceModel
    clients: int
    hybrid_remote_days: list[int] | None = None  # hybrid clients: only these weekdays are remote


DEMO_GROUPS = [
    GroupPlan("pitka", "Tiistairyhmä (pitkä jakso)", [2], "teams", ServiceModel.LONG_TERM, 6),
    GroupPlan("lyhyt", "Keskiviikkoryhmä (lyhyt jakso)", [3], "meet", ServiceModel.SHORT_TERM, 5),
    GroupPlan("intervalli", "Torstairyhmä (intervallijakso)", [4], "teams", ServiceModel.INTERVAL, 4),
    GroupPlan("hybridi", "Hybridiryhmä ti+to", [2, 4], "meet", ServiceModel.HYBRID, 5, hybrid_remote_days=[4]),
]


def fast_policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.05, max_retry_after_s=5)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=HELSINKI).astimezone(UTC)


@dataclass
class DemoWorld:
    sb: Sandbox
    store: Store
    settings: Settings
    config_path: Path
    groups: list[GroupPlan]
    coordinator: str = f"ohjaaja@{DOMAIN}"
    social_worker: str = f"sosiaaliohjaaja@{DOMAIN}"
    sender: str = f"posti@{DOMAIN}"
    google_ids: dict[str, str] = field(default_factory=dict)  # client code -> Google user id
    emails: dict[str, str] = field(default_factory=dict)  # client code -> email
    # Staff sign-in through the sandbox's Entra ID and Google (build(sign_in=True)): kind -> client id.
    sign_in_clients: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, sb: Sandbox, store: Store, folder: Path, *, groups: list[GroupPlan] | None = None,
              period_start: date = date(2025, 12, 1), db_url: str | None = None,
              surveys: bool = False, sign_in: bool = False) -> DemoWorld:
        """`surveys`: evaluation surveys as Google Forms (the start round goes out in the letter
        of each period's first week). `sign_in`: staff sign in with the sandbox's Entra ID and
        Google too (an app registration and an OAuth client; `allow_sign_in_at` adds the
        product's redirect URI once its address is known)."""
        folder.mkdir(parents=True, exist_ok=True)
        plans = groups or DEMO_GROUPS
        world = cls(sb, store, Settings(), folder / "integrator.yaml", plans)
        app_id, secret = sb.graph.register_app()
        for email, name in ((world.coordinator, "Olli Ohjaaja"), (world.sender, "Työtoiminta Posti"),
                            (f"admin@{DOMAIN}", "Integraatio Admin")):
            sb.google.add_user(email, name, admin=email == f"admin@{DOMAIN}")  # the service's Workspace admin
            oid = sb.graph.add_user(email, name)
            if email == world.coordinator:
                sb.graph.grant_meeting_policy(oid)
        key_file = folder / "google-key.json"
        key_file.write_text(json.dumps(sb.google.service_account_info()), encoding="utf-8")
        secret_file = folder / "ms-secret.txt"
        secret_file.write_text(secret, encoding="utf-8")
        raw: dict[str, Any] = {
            "organisations": [{
                "key": ORG, "name": "Raision kaupunki (demo)", "kind": "municipality",
                "google": {"domain": DOMAIN, "service_account": {"file": str(key_file)},
                           "admin_subject": f"admin@{DOMAIN}", "mail_sender": world.sender,
                           "api_base_url": sb.google_url},
                "microsoft": {"tenant_id": sb.graph.tenant_id, "client_id": app_id,
                              "client_secret": {"file": str(secret_file)}, "mail_sender": world.sender,
                              "authority": sb.login_authority, "graph_base_url": sb.graph_url,
                              "ca_bundle": str(sb.ca_cert_path)},
                "mail": {"via": "gmail", "per_minute": 100000},
                "staff": [{"email": world.coordinator, "name": "Olli Ohjaaja", "role": "coordinator"},
                          {"email": world.social_worker, "name": "Sari Sosiaaliohjaaja", "role": "social_worker"}],
                "groups": [{"key": g.key, "name": g.name, "coordinator": world.coordinator, "weekdays": g.weekdays,
                            "meeting": {"start": "10:00", "end": "11:00", "provider": g.provider}} for g in plans],
            }],
        }
        if sign_in:
            raw["organisations"][0]["sign_in"] = world._sign_in_config(folder)
        if surveys:
            raw["organisations"][0]["surveys"] = {"enabled": True, "mode": "forms", "page_url": "http://127.0.0.1:8080"}
        if db_url:
            raw["database_url"] = db_url
        world.config_path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        world.settings = Settings.model_validate(raw)
        apply_settings(store, world.settings)
        world._seed_clients(period_start)
        return world

    def _sign_in_config(self, folder: Path) -> dict[str, Any]:
        entra_id, entra_secret = self.sb.graph.register_app(permissions=[])
        google_id, google_secret = self.sb.google.register_oauth_client()
        self.sign_in_clients = {"entra": entra_id, "google": google_id}
        providers = []
        for kind, client_id, secret in (("entra", entra_id, entra_secret), ("google", google_id, google_secret)):
            secret_file = folder / f"sign-in-{kind}-secret.txt"
            secret_file.write_text(secret, encoding="utf-8")
            provider: dict[str, Any] = {"kind": kind, "client_id": client_id, "client_secret": {"file": str(secret_file)},
                                        "allowed_domains": [DOMAIN]}
            if kind == "entra":
                tid = self.sb.graph.tenant_id
                provider.update(issuer=f"https://login.microsoftonline.com/{tid}/v2.0",
                                metadata_url=f"{self.sb.login_authority}/{tid}/v2.0/.well-known/openid-configuration",
                                ca_bundle=str(self.sb.ca_cert_path))
            else:
                provider.update(issuer="https://accounts.google.com",
                                metadata_url=f"{self.sb.google_url}/.well-known/openid-configuration")
            providers.append(provider)
        return {"providers": providers, "local_passwords": True}

    def allow_sign_in_at(self, base_url: str) -> None:
        """Register the product's callback at `base_url` with both sandbox providers."""
        uri = base_url.rstrip("/") + "/login/oidc/callback"
        if "entra" in self.sign_in_clients:
            self.sb.graph.add_redirect_uri(self.sign_in_clients["entra"], uri)
            self.sb.google.add_redirect_uri(self.sign_in_clients["google"], uri)

    def _seed_clients(self, period_start: date) -> None:
        n = 0
        with self.store.session() as s:
            org = s.scalars(select(Organisation).where(Organisation.key == ORG)).one()
            worker = s.scalars(select(StaffUser).where(StaffUser.email == self.social_worker)).one()
            for plan in self.groups:
                group = s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org.id,
                                                          PeerGroup.key == plan.key)).one()
                for i in range(plan.clients):
                    n += 1
                    code = f"K-{n:04d}"
                    name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[n % len(LAST_NAMES)]}"
                    email = f"{code.lower()}@{DOMAIN}"
                    self.google_ids[code] = self.sb.google.add_user(email, name)
                    oid = self.sb.graph.add_user(email, name)
                    self.emails[code] = email
                    client = Client(organisation_id=org.id, code=code, display_name=name, email=email,
                                    entra_object_id=oid, plain_language=n % 4 == 0)
                    s.add(client)
                    s.flush()
                    weekdays = plan.weekdays
                    if plan.hybrid_remote_days and i % 2 == 1:
                        weekdays = plan.hybrid_remote_days
                    start, end = self._period(plan.model, period_start)
                    s.add(Period(client_id=client.id, service_model=plan.model, start_date=start, end_date=end,
                                 weekdays=weekdays, briefing_recorded_at=BRIEFED, responsible_worker_id=worker.id))
                    s.add(Membership(group_id=group.id, client_id=client.id, start_date=start))

    @staticmethod
    def _period(model: ServiceModel, start: date) -> tuple[date, date]:
        if model is ServiceModel.INTERVAL:
            return start, start + timedelta(days=365)  # an interval stint inside a longer period (demo)
        if model is ServiceModel.SHORT_TERM:
            return start, start + timedelta(days=120)
        return start, start + timedelta(days=300)

    # ---- the product's own jobs, on the sandbox clock ----
    def google_factory(self) -> Any:
        return lambda tenant: GoogleClient(tenant, policy=fast_policy())

    def weekly_setup(self, week: str) -> Any:
        plan, _run = run_weekly_setup(self.store, self.settings, week, ORG, now=self.sb.state.clock.now(),
                                      client_factory=self.google_factory())
        return plan

    def letters(self, week: str) -> dict[str, int]:
        queued = queue_weekly_letters(self.store, self.settings, ORG, week, now=self.sb.state.clock.now(),
                                      google=self.google_factory())
        sent = send_outbox(self.store, self.settings, now=self.sb.state.clock.now())
        return {"queued": queued.get("queued", 0), "sent": sent.get("sent", 0)}

    def nightly_sync(self, **kw: Any) -> Any:
        providers = Providers(
            google=lambda org: GoogleClient(org.google, policy=fast_policy()) if org.google else None,
            graph=lambda org: GraphClient(org.microsoft, policy=fast_policy()) if org.microsoft else None)
        (result,) = run_nightly_sync(self.store, self.settings, org_key=ORG, now=self.sb.state.clock.now(),
                                     providers=providers, **kw)
        return result

    def client_id(self, code: str) -> int:
        with self.store.session() as s:
            found = s.scalar(select(Client.id).where(Client.code == code))
            assert found is not None
            return found

    # ---- what the weekly setup made, read from the store ----
    def work_days(self) -> list[tuple[WorkDay, str]]:
        with self.store.session() as s:
            return [(w, g) for w, g in s.execute(
                select(WorkDay, PeerGroup.key).join(PeerGroup, WorkDay.group_id == PeerGroup.id)
                .order_by(WorkDay.day, PeerGroup.key)).all()]

    def resource(self, kind: str, key: str) -> ExternalResource | None:
        with self.store.session() as s:
            return s.scalar(select(ExternalResource).where(ExternalResource.kind == kind,
                                                           ExternalResource.local_key == key))

    def participants(self, work_day_id: int) -> list[str]:
        with self.store.session() as s:
            wd = s.get(WorkDay, work_day_id)
            assert wd is not None
            ids = [p.client_id for p in expected_pairs(s, [wd])]
            return sorted(c.code for c in s.scalars(select(Client).where(Client.id.in_(ids))))

    # ---- the clients' side ----
    def attend(self, code: str, group: str, day: date, minutes: int, *, late_by: int = 0,
               phone: str | None = None) -> None:
        """Join the day's meeting `late_by` minutes after its start and stay `minutes`."""
        row = self.resource("meeting", f"meeting:{group}:{day.isoformat()}")
        assert row is not None and row.state.get("join_url"), f"no meeting for {group} on {day}: {row and row.state}"
        start = local(day, 10) + timedelta(minutes=late_by)
        provider = row.state.get("provider")
        if provider == "teams":
            self.sb.graph.join_meeting(str(row.state["join_url"]), email=None if phone else self.emails[code],
                                       display_name=phone, minutes=minutes, start=start, via_phone=phone is not None)
        else:
            self.sb.google.join_meet(str(row.state["conference_id"]), email=None if phone else self.emails[code],
                                     display_name=phone, minutes=minutes, start=start, via_phone=phone is not None)

    def turn_in(self, code: str, group: str, day: date, at: datetime | None = None) -> bool:
        """Turn in the day's coursework in Classroom (whichever variant the client was given)."""
        course = self.resource("course", f"course:{group}")
        assert course is not None and course.external_id
        with self.store.session() as s:
            wd = s.scalar(select(WorkDay).join(PeerGroup, WorkDay.group_id == PeerGroup.id)
                          .where(PeerGroup.key == group, WorkDay.day == day))
            assert wd is not None
            works = [r.external_id for r in s.scalars(select(ExternalResource).where(
                ExternalResource.kind == "coursework", ExternalResource.local_key.like(f"%:wd{wd.id}:%")))
                if r.external_id]
        for work_id in works:
            try:
                self.sb.google.submit_task(course.external_id, work_id, self.google_ids[code],
                                           at=at or local(day, 13))
                return True
            except KeyError:
                continue  # another variant's coursework: not assigned to this client
        return False

    def answer_survey(self, group: str, round_key: str, answers: dict[str, list[str]], at: datetime) -> str:
        """A client answers the group's survey form through its link (anonymously)."""
        with self.store.session() as s:
            form = s.scalar(select(ExternalResource).where(ExternalResource.kind == "survey_form",
                                                           ExternalResource.local_key.like(f"survey_form:{group}:{round_key}:%")))
            assert form is not None and form.external_id, f"no survey form for {group} {round_key}"
            form_id = form.external_id
        return self.sb.google.submit_response(form_id, answers, at=at)

    def drop_file(self, code: str, week: str, name: str, mime: str, at: datetime) -> str:
        folder = self.resource("week_folder", f"week_folder:{code}:{week}") or self.resource("folder", f"folder:{code}")
        assert folder is not None and folder.external_id, f"no folder for {code}"
        return self.sb.google.upload_file(self.emails[code], folder.external_id, name, mime, at=at)
