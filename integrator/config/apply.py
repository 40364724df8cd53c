"""Bring the store in line with the config file: organisations, staff users and peer groups.

Natural keys: an organisation by its key, a staff user by email (case-insensitive), a group by
(organisation, group key). Running it twice changes nothing the second time. A group that is no
longer in the config is deactivated, never deleted: its work days and attendance are money and
must stay explainable. Staff users missing from the config are left alone, because staff can
also be created with `integrator staff`; passwords are never touched here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrator.config import OrganisationConfig, Settings
from integrator.domain.types import MeetingProvider, OrgKind, StaffRole
from integrator.store.db import Store
from integrator.store.models import Organisation, PeerGroup, StaffUser

COUNT_KEYS = (
    "organisations_created", "organisations_updated", "organisations_unchanged",
    "staff_created", "staff_updated", "staff_unchanged",
    "groups_created", "groups_updated", "groups_unchanged", "groups_deactivated",
)


def _assign(row: Any, values: dict[str, Any]) -> list[str]:
    """Set the attributes that differ; return their names (empty: nothing changed)."""
    changed = []
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    return changed


def _count(counts: Counter[str], kind: str, created: bool, changed: list[str]) -> str:
    outcome = "created" if created else "updated" if changed else "unchanged"
    counts[f"{kind}_{outcome}"] += 1
    return outcome


def _apply_org(s: Session, org_cfg: OrganisationConfig, counts: Counter[str], report: list[str]) -> Organisation:
    org = s.scalars(select(Organisation).where(Organisation.key == org_cfg.key)).one_or_none()
    created = org is None
    if org is None:
        org = Organisation(key=org_cfg.key)
        s.add(org)
    changed = _assign(org, {"name": org_cfg.name, "kind": OrgKind(org_cfg.kind)})
    outcome = _count(counts, "organisations", created, changed)
    if outcome != "unchanged":
        report.append(f"organisation {org_cfg.key}: {outcome}" + (f" ({', '.join(changed)})" if not created else ""))
    s.flush()

    for person in org_cfg.staff:
        email = person.email.strip().lower()
        user = s.scalars(select(StaffUser).where(func.lower(StaffUser.email) == email)).one_or_none()
        created = user is None
        if user is None:
            user = StaffUser(email=email, active=True)
            s.add(user)
        changed = _assign(user, {"organisation_id": org.id, "display_name": person.name,
                                 "role": StaffRole(person.role)})
        outcome = _count(counts, "staff", created, changed)
        s.flush()
        if outcome != "unchanged":
            # Staff are named by id and role only: emails stay out of output and logs.
            report.append(f"staff user #{user.id} ({person.role}) in {org_cfg.key}: {outcome}"
                          + (f" ({', '.join(changed)})" if not created else ""))
    return org


def _apply_groups(s: Session, org: Organisation, org_cfg: OrganisationConfig, counts: Counter[str],
                  report: list[str]) -> set[int]:
    kept: set[int] = set()
    for g in org_cfg.groups:
        # Look everything up before adding a new row: a query autoflushes, and a half-built
        # group would hit its NOT NULL columns.
        coordinator = s.scalars(select(StaffUser).where(
            func.lower(StaffUser.email) == g.coordinator.strip().lower())).one_or_none()
        group = s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org.id,
                                                  PeerGroup.key == g.key)).one_or_none()
        created = group is None
        if group is None:
            group = PeerGroup(organisation_id=org.id, key=g.key)
            s.add(group)
        changed = _assign(group, {
            "name": g.name,
            "coordinator_id": coordinator.id if coordinator is not None else None,
            "weekdays": sorted(set(g.weekdays)),
            "meeting_start": g.meeting.start,
            "meeting_end": g.meeting.end,
            "meeting_provider": MeetingProvider(g.meeting.provider),
            "time_zone": g.time_zone,
            "active": True,
        })
        outcome = _count(counts, "groups", created, changed)
        if outcome != "unchanged":
            report.append(f"group {org_cfg.key}/{g.key}: {outcome}" + (f" ({', '.join(changed)})" if not created else ""))
        s.flush()
        kept.add(group.id)
    return kept


def apply_to_session(s: Session, settings: Settings, report: list[str] | None = None) -> dict[str, int]:
    """`apply_settings` inside a session the caller owns (and commits or rolls back)."""
    counts: Counter[str] = Counter({k: 0 for k in COUNT_KEYS})
    lines: list[str] = report if report is not None else []
    kept: set[int] = set()
    for org_cfg in settings.organisations:
        org = _apply_org(s, org_cfg, counts, lines)
        kept |= _apply_groups(s, org, org_cfg, counts, lines)
    for group in s.scalars(select(PeerGroup).where(PeerGroup.active.is_(True)).order_by(PeerGroup.id)):
        if group.id not in kept:
            group.active = False
            counts["groups_deactivated"] += 1
            org_key = s.get(Organisation, group.organisation_id)
            lines.append(f"group {org_key.key if org_key else '?'}/{group.key}: deactivated (no longer in the config)")
    s.flush()
    return dict(counts)


def apply_settings(store: Store, settings: Settings, report: list[str] | None = None) -> dict[str, int]:
    """Upsert organisations, staff and groups from `settings` in one transaction.

    Returns counts keyed `<organisations|staff|groups>_<created|updated|unchanged>` and
    `groups_deactivated`. When `report` is given, one human-readable line per change is
    appended to it (no emails or names of people).
    """
    with store.session() as s:
        return apply_to_session(s, settings, report)
