"""`integrator serve --sandbox`: an in-process sandbox tenant and a practice organisation, so a
coordinator can rehearse a week in the browser without touching a real tenant.

Builds, on a fresh database: one organisation on the sandbox's Google Workspace (Meet meetings),
one coordinator who can log in, two peer groups and a handful of briefed clients whose periods
cover the coming months. Nothing here talks to the internet.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from integrator.config import Settings
from integrator.config_sync import apply_settings
from integrator.store.db import Store
from integrator.store.models import Client, Membership, Organisation, PeerGroup, Period, ServiceModel
from integrator.store.types import utcnow
from integrator.web import accounts

log = logging.getLogger(__name__)
ORG_KEY = "harjoitus"
GROUPS = (("ti-ryhma", "Tiistairyhmä", [2]), ("to-ryhma", "Torstairyhmä", [4]))
CLIENTS_PER_GROUP = 3


@dataclass
class Rehearsal:
    sandbox: Any
    settings: Settings
    login_email: str
    password: str
    password_file: Path
    workdir: Path

    def stop(self) -> None:
        self.sandbox.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_rehearsal(store: Store, *, password: str | None = None) -> Rehearsal:
    from integrator.sandbox import Sandbox

    sb = Sandbox(start_time=utcnow(), with_graph=False).start()
    domain = sb.google.domain
    workdir = Path(tempfile.mkdtemp(prefix="integrator-rehearsal-"))
    admin = f"admin@{domain}"
    coordinator = f"ohjaaja@{domain}"
    sb.google.add_user(admin, "Integraatio Admin")
    sb.google.add_user(coordinator, "Harjoitus Ohjaaja")
    key_file = workdir / "google-key.json"
    key_file.write_text(json.dumps(sb.google.service_account_info()))
    key_file.chmod(0o600)
    raw: dict[str, Any] = {"organisations": [{
        "key": ORG_KEY, "name": "Harjoituskunta", "kind": "municipality",
        "google": {"domain": domain, "service_account": {"file": str(key_file)}, "admin_subject": admin,
                   "api_base_url": sb.google_url},
        "staff": [{"email": coordinator, "name": "Harjoitus Ohjaaja", "role": "coordinator"}],
        "groups": [{"key": key, "name": name, "coordinator": coordinator, "weekdays": days,
                    "meeting": {"start": "10:00", "end": "11:30", "provider": "meet"}}
                   for key, name, days in GROUPS],
    }]}
    settings = Settings.model_validate(raw)
    apply_settings(store, settings)
    _clients(store, sb, domain)
    password = password or secrets.token_urlsafe(12)
    accounts.set_password(store, accounts.staff_id_by_email(store, coordinator), password)
    password_file = workdir / "password.txt"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    log.info("rehearsal tenant ready", extra={"org": ORG_KEY, "groups": [g[0] for g in GROUPS]})
    return Rehearsal(sandbox=sb, settings=settings, login_email=coordinator, password=password,
                     password_file=password_file, workdir=workdir)


def _clients(store: Store, sb: Any, domain: str) -> None:
    today = date.today()
    start, end = today - timedelta(days=30), today + timedelta(days=150)
    with store.session() as s:
        org = s.scalars(select(Organisation).where(Organisation.key == ORG_KEY)).one()
        existing = set(s.scalars(select(Client.code).where(Client.organisation_id == org.id)))
        n = 0
        for key, _name, days in GROUPS:
            group = s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org.id,
                                                      PeerGroup.key == key)).one()
            for _ in range(CLIENTS_PER_GROUP):
                n += 1
                code = f"H-{n:04d}"
                email = f"{code.lower()}@{domain}"
                sb.google.add_user(email, f"Harjoitusasiakas {n}")
                if code in existing:
                    continue
                client = Client(organisation_id=org.id, code=code, display_name=f"Harjoitusasiakas {n}",
                                email=email, plain_language=n % 3 == 0)
                s.add(client)
                s.flush()
                s.add(Period(client_id=client.id, service_model=ServiceModel.LONG_TERM, start_date=start,
                             end_date=end, weekdays=days, briefing_recorded_at=utcnow()))
                s.add(Membership(group_id=group.id, client_id=client.id, start_date=start))
