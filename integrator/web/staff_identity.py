"""Who a sign-in at an organisation's identity provider is (no Flask here): the staff user an ID
token's verified claims name, the refusals, and who may still use a password.

The ID token has been validated by Authlib before anything here runs (signature from the
provider's JWKS, `iss`, `aud`, `exp`, `nonce`). What is left is ours to decide:

- The address: Google's `email` only with `email_verified` and `hd` (the Workspace domain) in the
  provider's allowed domains: a personal Google account may carry a verified address of any
  domain, so `hd` is what proves the organisation's Workspace vouches for it. Entra's
  `preferred_username` (the UPN; `email` when that is no address), only with `tid` the
  organisation's own tenant: the tenant's administrators set both, no user edits them, and the
  issuer is pinned to that one tenant (never `common`), so no other tenant's user gets this far.
- The person: by (issuer, subject) once known (Entra `oid`, the user's id in the whole tenant;
  Google `sub`), else by the address among the organisation's own staff, then the pair is
  recorded. Staff of another organisation, and system administrators, never sign in through an
  organisation's provider: its tenant administrators could otherwise make any address theirs.
- No self-registration: the staff user must exist, be active and be a coordinator or an admin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from integrator.config import Settings, SignInProvider
from integrator.domain.types import StaffRole
from integrator.store.db import Store
from integrator.store.models import AuditEvent, Organisation, StaffIdentity, StaffUser
from integrator.web.accounts import LOGIN_ROLES

# Why a sign-in was refused (the audit's `reason`); the login page says each in Finnish.
DOMAIN = "domain"  # the address's domain (or Google's hd) is not among the provider's allowed domains
UNVERIFIED = "unverified"  # no address the provider vouches for
UNKNOWN = "unknown"  # no such staff user in the organisation (or not one who may log in)
DEACTIVATED = "deactivated"
LINKED_ELSEWHERE = "linked_elsewhere"  # the staff user is already linked to another account of the provider


@dataclass(frozen=True)
class Match:
    staff_id: int | None
    refusal: str | None = None
    linked: bool = False  # the first sign-in: the identity was recorded now


def subject_hash(issuer: str, subject: str) -> str:
    """What the logs and audit say of an account: a hash, never the subject or the address."""
    return hashlib.sha256(f"{issuer}|{subject}".encode()).hexdigest()[:16]


def subject_of(provider: SignInProvider, claims: dict[str, Any]) -> str:
    return str(claims.get("oid") if provider.kind == "entra" else claims.get("sub") or "")


def vouched_address(provider: SignInProvider, claims: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the lower-case address the provider vouches for, else the refusal)."""
    if provider.kind == "google":
        email = claims.get("email")
        if claims.get("email_verified") not in (True, "true") or not isinstance(email, str) or "@" not in email:
            return None, UNVERIFIED
        if claims.get("hd") not in provider.allowed_domains:
            return None, DOMAIN  # a personal Google account, or another Workspace
        return email.strip().lower(), None
    if claims.get("tid") != provider.tenant_id or not claims.get("oid"):
        return None, UNVERIFIED
    for key in ("preferred_username", "email"):
        value = claims.get(key)
        if isinstance(value, str) and "@" in value:
            return value.strip().lower(), None
    return None, UNVERIFIED


def match(store: Store, org_key: str, provider: SignInProvider, claims: dict[str, Any], now: datetime) -> Match:
    """The staff user behind a validated ID token of `org_key`'s `provider`, or why not."""
    address, refusal = vouched_address(provider, claims)
    if address is None:
        return Match(None, refusal)
    if address.rpartition("@")[2] not in provider.allowed_domains:
        return Match(None, DOMAIN)
    subject = subject_of(provider, claims)
    if not subject:
        return Match(None, UNVERIFIED)
    with store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key))
        identity = s.scalar(select(StaffIdentity).where(StaffIdentity.issuer == provider.issuer,
                                                        StaffIdentity.subject == subject))
        user: StaffUser | None
        if identity is not None:
            user = s.get(StaffUser, identity.staff_user_id)
        else:
            user = s.scalar(select(StaffUser).where(func.lower(StaffUser.email) == address,
                                                    StaffUser.organisation_id == org_id))
            if user is not None and s.scalar(select(StaffIdentity.id).where(
                    StaffIdentity.staff_user_id == user.id, StaffIdentity.issuer == provider.issuer)):
                # Someone else's account at the provider now carries this address (a renamed
                # or recycled one): the address alone does not move the staff user to it.
                return Match(user.id, LINKED_ELSEWHERE)
        if user is None or org_id is None or user.organisation_id != org_id:
            return Match(None, UNKNOWN)
        if not user.active:
            return Match(user.id, DEACTIVATED)
        if user.role not in LOGIN_ROLES:
            return Match(user.id, UNKNOWN)
        if identity is None:
            s.add(StaffIdentity(staff_user_id=user.id, issuer=provider.issuer, subject=subject, linked_at=now,
                                last_sign_in_at=now))
            s.add(AuditEvent(at=now, organisation_id=org_id, actor=f"staff:{user.id}", action="sign_in.linked",
                             entity="staff_user", entity_id=str(user.id),
                             details={"provider": provider.kind, "account": subject_hash(provider.issuer, subject)}))
            return Match(user.id, linked=True)
        identity.last_sign_in_at = now
        return Match(user.id)


def record_refusal(store: Store, org_key: str | None, kind: str | None, reason: str, staff_id: int | None,
                   account: str | None, now: datetime) -> None:
    """The audit of a refused sign-in: the staff id when known and a hash of the account; no address."""
    with store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key)) if org_key else None
        s.add(AuditEvent(at=now, organisation_id=org_id, actor=f"staff:{staff_id}" if staff_id else "anonymous",
                         action="sign_in.refused", entity="staff_user",
                         entity_id=str(staff_id) if staff_id else None,
                         details={"provider": kind, "reason": reason, "account": account}))


def password_allowed(store: Store, settings: Settings | None, staff_id: int) -> bool:
    """May this staff user log in with a password? Yes unless their organisation's `sign_in`
    says `local_passwords: false`. A system administrator (role admin without an organisation)
    always may: the break-glass account when a provider is down or misconfigured."""
    with store.session() as s:
        user = s.get(StaffUser, staff_id)
        if user is None:
            return False
        if user.role is StaffRole.ADMIN and user.organisation_id is None:
            return True
        org_key = s.scalar(select(Organisation.key).where(Organisation.id == user.organisation_id))
    if settings is None or org_key is None:
        return True
    try:
        return settings.organisation(org_key).sign_in.local_passwords
    except KeyError:
        return True


def offered_kinds(settings: Settings | None) -> list[str]:
    """The provider kinds some organisation signs in with: the login page's buttons."""
    if settings is None:
        return []
    kinds = {p.kind for org in settings.organisations for p in org.sign_in.providers}
    return [k for k in ("entra", "google") if k in kinds]
