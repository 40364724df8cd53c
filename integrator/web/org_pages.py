"""The organisations overview for admins ("Organisaatiot"): read-only, from the config and the store.

Each organisation the admin may see (an admin of every organisation: all of them; an
organisation's admin: their own, `access.organisations_query`) with its tenants as configured
(Google Workspace domain, Microsoft 365 tenant, the mail route), and from the database: active
groups, active clients (a period covering today), active staff by role, and the last nightly sync.
Counts only: no client is named here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrator.config import ConfigError, OrganisationConfig, Settings
from integrator.domain.types import JobStatus, StaffRole
from integrator.store.models import Client, JobRun, Organisation, PeerGroup, Period, StaffUser
from integrator.web import access, context
from integrator.web.auth import current_principal
from integrator.web.context import get_settings, get_store

bp = Blueprint("organisations", __name__)

NIGHTLY = "nightly_sync"
RUN_STATUS_FI = {JobStatus.RUNNING: "käynnissä", JobStatus.SUCCEEDED: "onnistui",
                 JobStatus.PARTIAL: "osittain onnistui", JobStatus.FAILED: "epäonnistui"}
STAFF_FI = {StaffRole.ADMIN: ("ylläpitäjä", "ylläpitäjää"), StaffRole.COORDINATOR: ("ohjaaja", "ohjaajaa"),
            StaffRole.SOCIAL_WORKER: ("sosiaalityöntekijä", "sosiaalityöntekijää")}


@dataclass
class OrgOverview:
    id: int
    key: str
    name: str
    in_config: bool = False
    google: str | None = None  # the Workspace domain
    microsoft: str | None = None  # the tenant id
    mail: str | None = None
    groups: int = 0
    clients: int = 0
    staff: dict[StaffRole, int] = field(default_factory=dict)
    nightly: dict[str, Any] | None = None  # the last nightly sync: started, finished, status, run id


def _settings() -> tuple[Settings | None, str | None]:
    """The settings, or why there are none: the store's side is still worth reading without them."""
    try:
        return get_settings(), None
    except LookupError:
        return None, "Asetustiedostoa ei ole annettu palvelulle"
    except ConfigError as err:  # `integrator config check` tells the details; the page says where to look
        return None, f"Asetustiedostossa on virheitä ({len(err.problems)}); tarkista se komennolla integrator config check"


def _config(settings: Settings | None, key: str) -> OrganisationConfig | None:
    if settings is None:
        return None
    try:
        return settings.organisation(key)
    except KeyError:
        return None


def _by_org(s: Session, stmt: Any) -> dict[int, int]:
    return {org_id: int(n) for org_id, n in s.execute(stmt)}


def overviews(s: Session, orgs: list[Organisation], settings: Settings | None, now: datetime) -> list[OrgOverview]:
    """Every organisation's overview in a fixed number of statements, however many there are."""
    ids = [o.id for o in orgs]
    today = now.astimezone(context.LOCAL).date()
    groups = _by_org(s, select(PeerGroup.organisation_id, func.count()).where(
        PeerGroup.organisation_id.in_(ids), PeerGroup.active.is_(True)).group_by(PeerGroup.organisation_id))
    clients = _by_org(s, select(Client.organisation_id, func.count(func.distinct(Client.id)))
                      .join(Period, Period.client_id == Client.id)
                      .where(Client.organisation_id.in_(ids), Period.start_date <= today, Period.end_date >= today)
                      .group_by(Client.organisation_id))
    staff: dict[int, dict[StaffRole, int]] = {}
    for org_id, role, n in s.execute(select(StaffUser.organisation_id, StaffUser.role, func.count())
                                     .where(StaffUser.organisation_id.in_(ids), StaffUser.active.is_(True))
                                     .group_by(StaffUser.organisation_id, StaffUser.role)):
        if org_id is not None:
            staff.setdefault(org_id, {})[role] = int(n)
    last_ids = select(func.max(JobRun.id)).where(JobRun.organisation_id.in_(ids), JobRun.kind == NIGHTLY,
                                                 JobRun.dry_run.is_(False)).group_by(JobRun.organisation_id)
    nightly = {r.organisation_id: r for r in s.scalars(select(JobRun).where(JobRun.id.in_(last_ids)))
               if r.organisation_id is not None}
    out = []
    for org in orgs:
        cfg = _config(settings, org.key)
        run = nightly.get(org.id)
        out.append(OrgOverview(
            id=org.id, key=org.key, name=org.name, in_config=cfg is not None,
            google=cfg.google.domain if cfg is not None and cfg.google is not None else None,
            microsoft=cfg.microsoft.tenant_id if cfg is not None and cfg.microsoft is not None else None,
            mail=("Gmail" if cfg.mail.via == "gmail" else "Exchange") if cfg is not None else None,
            groups=groups.get(org.id, 0), clients=clients.get(org.id, 0), staff=staff.get(org.id, {}),
            nightly={"id": run.id, "started": run.started_at, "finished": run.finished_at,
                     "status": RUN_STATUS_FI.get(run.status, run.status.value)} if run is not None else None))
    return out


@bp.get("/admin/organisations")
def organisations_page() -> ResponseReturnValue:
    p = current_principal()
    access.require_admin(p)
    settings, missing = _settings()
    with get_store().session() as s:
        orgs = list(s.scalars(access.organisations_query(p)))
        rows = overviews(s, orgs, settings, context.now())
    return render_template("organisations.html", rows=rows, staff_fi=STAFF_FI, configured=settings is not None,
                           missing=missing, now=context.now())
