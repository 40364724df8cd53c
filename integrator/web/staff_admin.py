"""Staff accounts as an admin changes them in the browser: the rules and the audit (no Flask here).

Each function works inside the caller's transaction and adds its AuditEvent to it, so a refused
or failed change writes nothing at all. The audit names staff by id and groups by key: never a
name, an e-mail address, a password or a token (a token is named by its id and the name the admin
gave it, e.g. "prometheus").

Two things here are not the web's to decide, and the pages say so instead of letting a change
quietly come undone: a staff user's role when the config file lists them (`organisations[].staff`),
and a group's coordinator when the config file defines the group (`groups[].coordinator`).
`integrator config apply`, `serve` and every weekly setup write those back from the file.

A group always keeps a coordinator: a group leaves a coordinator by being given to another one.
An organisation always keeps an active admin (its own, or an admin of every organisation), and the
installation an admin of every organisation: the last one can be neither demoted nor deactivated,
by themselves or by another admin.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from integrator.config import Settings
from integrator.domain.types import StaffRole
from integrator.store.models import ApiToken, AuditEvent, Organisation, PeerGroup, StaffUser
from integrator.store.types import utcnow
from integrator.web import accounts

ROLE_FI = {StaffRole.ADMIN: "ylläpitäjä", StaffRole.COORDINATOR: "ohjaaja",
           StaffRole.SOCIAL_WORKER: "sosiaalityöntekijä"}
#: Config's rule too (config.checks): a group's coordinator is a coordinator or an admin.
GROUP_ROLES = frozenset({StaffRole.COORDINATOR, StaffRole.ADMIN})
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
NAME_MAX, EMAIL_MAX, TOKEN_NAME_MAX = 200, 320, 100
# No 0/O, 1/l/i: the admin reads the password out or types it into a message.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 - characters, not a password


class StaffError(ValueError):
    """A refusal naming the form field, in Finnish; `status` 400 (bad input) or 409 (not now)."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.status = field, status


@dataclass(frozen=True)
class Managed:
    """What the config file decides: lower-case e-mail -> role, and (organisation key, group key)."""

    roles: dict[str, str] = field(default_factory=dict)
    groups: frozenset[tuple[str, str]] = frozenset()


def managed(settings: Settings | None) -> Managed:
    if settings is None:
        return Managed()
    return Managed(roles={p.email.strip().lower(): p.role for o in settings.organisations for p in o.staff},
                   groups=frozenset((o.key, g.key) for o in settings.organisations for g in o.groups))


def new_password() -> str:
    """An initial password shown once to the admin: 16 letters and digits (~79 bits), in four groups."""
    chars = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def audit(s: Session, actor: str, action: str, entity: str, entity_id: int, org_id: int | None,
          details: dict[str, Any]) -> None:
    s.add(AuditEvent(organisation_id=org_id, actor=actor, action=action, entity=entity, entity_id=str(entity_id),
                     details=details))


def group_choices(s: Session, org_id: int | None) -> list[PeerGroup]:
    """The groups a staff user of the organisation may coordinate (an admin of every organisation none)."""
    if org_id is None:
        return []
    return list(s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org_id, PeerGroup.active.is_(True))
                          .order_by(PeerGroup.key)))


def is_managed_group(m: Managed, group: PeerGroup) -> bool:
    return (group.organisation.key, group.key) in m.groups


def _role(value: str) -> StaffRole:
    try:
        return StaffRole(value)
    except ValueError:
        raise StaffError("rooli", "valitse ylläpitäjä, ohjaaja tai sosiaalityöntekijä") from None


def _check_config_role(m: Managed, email: str, role: StaffRole) -> None:
    in_file = m.roles.get(email.strip().lower())
    if in_file is not None and in_file != role.value:
        raise StaffError("rooli", f"asetustiedostossa tällä henkilöllä on rooli {ROLE_FI[StaffRole(in_file)]} "
                                  "(organisations[].staff); muuta rooli sinne ja aja integrator config apply", 409)


def _admins_besides(s: Session, user: StaffUser) -> int:
    q = select(func.count()).select_from(StaffUser).where(
        StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True), StaffUser.id != user.id)
    # An admin of every organisation administers this one too: the organisation is not locked out.
    q = q.where(StaffUser.organisation_id.is_(None) if user.organisation_id is None
                else or_(StaffUser.organisation_id == user.organisation_id, StaffUser.organisation_id.is_(None)))
    return s.scalar(q) or 0


def _keep_an_admin(s: Session, user: StaffUser, field_name: str) -> None:
    if user.role is StaffRole.ADMIN and user.active and _admins_besides(s, user) == 0:
        where = "organisaatiossa" if user.organisation_id is not None else "koko asennuksessa"
        raise StaffError(field_name, f"{where} ei olisi enää yhtään aktiivista ylläpitäjää; lisää ensin toinen "
                                     "ylläpitäjä", 409)


@dataclass
class Change:
    """A role and group change, as the preview shows it and `apply_change` writes it."""

    role_from: StaffRole
    role_to: StaffRole
    keep: list[PeerGroup]
    take: list[PeerGroup]  # from their current coordinator (or from nobody)
    taken_from: dict[int, StaffUser | None]  # group id -> its coordinator before

    @property
    def empty(self) -> bool:
        return self.role_from is self.role_to and not self.take


def plan_change(s: Session, m: Managed, user: StaffUser, role_value: str, group_ids: Collection[int]) -> Change:
    role = _role(role_value)
    choices = {g.id: g for g in group_choices(s, user.organisation_id)}
    if set(group_ids) - set(choices):
        raise StaffError("ryhmät", "valitse ryhmät tämän henkilön organisaation ryhmistä")
    current = {gid for gid, g in choices.items() if g.coordinator_id == user.id}
    for gid in set(group_ids) ^ current:
        if is_managed_group(m, choices[gid]):
            raise StaffError("ryhmät", f"ryhmän {choices[gid].key} ohjaaja on asetustiedostossa "
                                       "(groups[].coordinator); muuta se sinne ja aja integrator config apply", 409)
    released = current - set(group_ids)
    if released:
        keys = ", ".join(sorted(choices[g].key for g in released))
        raise StaffError("ryhmät", f"ryhmällä on aina ohjaaja: siirrä ryhmä {keys} toiselle ohjaajalle valitsemalla "
                                   "se hänen sivullaan")
    if role is not user.role:
        _check_config_role(m, user.email, role)
        if user.role is StaffRole.ADMIN:
            _keep_an_admin(s, user, "rooli")
    if group_ids and role not in GROUP_ROLES:
        raise StaffError("ryhmät", "sosiaalityöntekijä ei ohjaa ryhmiä; siirrä ryhmät ensin toiselle ohjaajalle")
    take = [choices[g] for g in sorted(set(group_ids) - current, key=lambda g: choices[g].key)]
    return Change(role_from=user.role, role_to=role, keep=[choices[g] for g in sorted(current)], take=take,
                  taken_from={g.id: g.coordinator for g in take})


def _taken(change: Change) -> dict[str, str | None]:
    """Group key -> its coordinator before ("staff:<id>"), for the audit."""
    return {g.key: (f"staff:{before.id}" if (before := change.taken_from[g.id]) is not None else None)
            for g in change.take}


def apply_change(s: Session, actor: str, user: StaffUser, change: Change) -> None:
    details: dict[str, Any] = {}
    if change.role_to is not change.role_from:
        details["role"] = {"from": change.role_from.value, "to": change.role_to.value}
        user.role = change.role_to
    if change.take:
        before = sorted(g.key for g in change.keep)
        details["groups"] = {"from": before, "to": sorted(before + [g.key for g in change.take])}
        details["taken_from"] = _taken(change)
        for g in change.take:
            g.coordinator_id = user.id
    if details:
        audit(s, actor, "staff.change", "staff_user", user.id, user.organisation_id, details)


def add(s: Session, m: Managed, actor: str, *, org: Organisation, email: str, name: str, role_value: str,
        group_ids: Collection[int]) -> tuple[StaffUser, str | None]:
    """A new staff user and, for one who signs in, their initial password (its only copy)."""
    email, name = email.strip(), " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        raise StaffError("nimi", f"kirjoita nimi (enintään {NAME_MAX} merkkiä)")
    if len(email) > EMAIL_MAX or not EMAIL.fullmatch(email):
        raise StaffError("sähköposti", "kirjoita sähköpostiosoite muodossa nimi@organisaatio.fi")
    role = _role(role_value)
    if s.scalar(select(StaffUser.id).where(func.lower(StaffUser.email) == email.lower())) is not None:
        raise StaffError("sähköposti", "tällä sähköpostiosoitteella on jo käyttäjä (katso henkilölistaa, myös "
                                       "käytöstä poistetut)", 409)
    _check_config_role(m, email, role)
    password = new_password() if role in accounts.LOGIN_ROLES else None
    user = StaffUser(email=email, display_name=name, role=role, organisation_id=org.id, active=True,
                     password_hash=accounts.hash_password(password) if password else None)
    s.add(user)
    s.flush()
    change = plan_change(s, m, user, role.value, group_ids)
    audit(s, actor, "staff.add", "staff_user", user.id, org.id,
          {"role": role.value, "groups": sorted(g.key for g in change.take), "taken_from": _taken(change),
           "initial_password": password is not None})
    for g in change.take:
        g.coordinator_id = user.id
    return user, password


def deactivate(s: Session, actor: str, user: StaffUser) -> int:
    if not user.active:
        raise StaffError("tila", "henkilö on jo poistettu käytöstä", 409)
    _keep_an_admin(s, user, "tila")
    revoked = accounts.deactivate_in(s, user)
    audit(s, actor, "staff.deactivate", "staff_user", user.id, user.organisation_id,
          {"active": {"from": True, "to": False}, "tokens_revoked": revoked, "sessions_ended": True})
    return revoked


def reactivate(s: Session, actor: str, user: StaffUser) -> None:
    if user.active:
        raise StaffError("tila", "henkilö on jo käytössä", 409)
    user.active = True
    audit(s, actor, "staff.reactivate", "staff_user", user.id, user.organisation_id,
          {"active": {"from": False, "to": True}})


def reset_password(s: Session, actor: str, user: StaffUser) -> str:
    if user.role not in accounts.LOGIN_ROLES:
        raise StaffError("salasana", "sosiaalityöntekijä ei kirjaudu palveluun, joten hänellä ei ole salasanaa")
    password = new_password()
    accounts.set_password_in(s, user, accounts.hash_password(password))
    audit(s, actor, "staff.password_reset", "staff_user", user.id, user.organisation_id, {"sessions_ended": True})
    return password


def create_token(s: Session, actor: str, user: StaffUser, name: str) -> tuple[str, ApiToken]:
    name = " ".join(name.split())
    if not name or len(name) > TOKEN_NAME_MAX:
        raise StaffError("tunnuksen nimi", f"kirjoita, mihin tunnusta käytetään (enintään {TOKEN_NAME_MAX} merkkiä)")
    if not user.active:
        raise StaffError("tunnus", "henkilö on poistettu käytöstä; palauta hänet ensin käyttöön", 409)
    try:
        token, row = accounts.create_token_in(s, user, name)
    except accounts.AccountError:
        raise StaffError("tunnus", "API-tunnuksia voi luoda vain ylläpitäjälle ja ohjaajalle") from None
    audit(s, actor, "token.create", "api_token", row.id, user.organisation_id, {"staff": user.id, "name": name})
    return token, row


def revoke_token(s: Session, actor: str, user: StaffUser, token_id: int) -> ApiToken | None:
    """None: no such token of this user (the page answers 404)."""
    row = s.get(ApiToken, token_id)
    if row is None or row.staff_user_id != user.id:
        return None
    if row.revoked_at is not None:
        raise StaffError("tunnus", "tunnus on jo peruttu", 409)
    row.revoked_at = utcnow()
    audit(s, actor, "token.revoke", "api_token", row.id, user.organisation_id,
          {"staff": user.id, "name": row.name, "revoked": {"from": None, "to": row.revoked_at.isoformat()}})
    return row
