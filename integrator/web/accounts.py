"""Staff accounts and API tokens: hashing, creation and lookup (no Flask here)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from integrator.domain.types import StaffRole
from integrator.store.db import Store
from integrator.store.models import ApiToken, Organisation, StaffSession, StaffUser
from integrator.store.types import utcnow

TOKEN_PREFIX = "itk_"  # noqa: S105 - a prefix that makes leaked tokens greppable, not a secret
MIN_PASSWORD_LENGTH = 12
LOGIN_ROLES = frozenset({StaffRole.ADMIN, StaffRole.COORDINATOR})
# Werkzeug's scrypt (n=2**15). Tests may lower the cost; production never changes it.
PASSWORD_METHOD = "scrypt"  # noqa: S105 - a hashing method name, not a password
_dummy_hash: dict[str, str] = {}


def _dummy() -> str:
    # Checked when the account does not exist, so that a wrong email costs as long as a wrong password.
    if PASSWORD_METHOD not in _dummy_hash:
        _dummy_hash[PASSWORD_METHOD] = generate_password_hash("integrator-dummy-password", method=PASSWORD_METHOD)
    return _dummy_hash[PASSWORD_METHOD]


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password, method=PASSWORD_METHOD)


def token_hash(token: str) -> str:
    # Tokens are 256 random bits: a fast hash is enough, and lets us look them up by hash.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def verify_login(store: Store, email: str, password: str) -> StaffUser | None:
    """The staff user if the email and password match an active account that may log in."""
    with store.session() as s:
        user = s.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower()))
        if user is None or not user.password_hash:
            check_password_hash(_dummy(), password)
            return None
        if not check_password_hash(user.password_hash, password):
            return None
        if not user.active or user.role not in LOGIN_ROLES:
            return None
        return user


def user_for_token(store: Store, token: str) -> StaffUser | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.session() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token),
                                              ApiToken.revoked_at.is_(None)))
        if row is None:
            return None
        user = s.get(StaffUser, row.staff_user_id)
        if user is None or not user.active or user.role not in LOGIN_ROLES:
            return None
        row.last_used_at = utcnow()
        return user


def add_staff(store: Store, *, email: str, name: str, role: str, org_key: str | None,
              password: str | None) -> int:
    try:
        the_role = StaffRole(role)
    except ValueError as err:
        raise AccountError(f"role must be one of {', '.join(r.value for r in StaffRole)}") from err
    pw_hash = hash_password(password) if password is not None else None
    with store.session() as s:
        if s.scalar(select(StaffUser.id).where(func.lower(StaffUser.email) == email.strip().lower())):
            raise AccountError("a staff user with that email already exists")
        org_id: int | None = None
        if org_key is not None:
            org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key))
            if org_id is None:
                raise AccountError(f"no organisation with key {org_key!r}")
        elif the_role is not StaffRole.ADMIN:
            raise AccountError("only an admin may be without an organisation (--org)")
        user = StaffUser(email=email.strip(), display_name=name, role=the_role, organisation_id=org_id,
                         password_hash=pw_hash, active=True)
        s.add(user)
        s.flush()
        return user.id


def set_password(store: Store, staff_id: int, password: str) -> None:
    pw_hash = hash_password(password)
    with store.session() as s:
        user = s.get(StaffUser, staff_id)
        if user is None:
            raise AccountError("no such staff user")
        set_password_in(s, user, pw_hash)


def set_password_in(s: Session, user: StaffUser, pw_hash: str) -> None:
    """The password change inside the caller's transaction (the web adds its audit event to it)."""
    user.password_hash = pw_hash
    _end_sessions(s, user.id, utcnow())  # a stolen password's sessions end with it


def create_token(store: Store, staff_id: int, name: str) -> str:
    """A new API token; returned once, only its hash is kept."""
    with store.session() as s:
        user = s.get(StaffUser, staff_id)
        if user is None:
            raise AccountError("tokens are for admins and coordinators only")
        return create_token_in(s, user, name)[0]


def create_token_in(s: Session, user: StaffUser, name: str) -> tuple[str, ApiToken]:
    """The token (its only copy) and its row, added to the caller's transaction."""
    if user.role not in LOGIN_ROLES:
        raise AccountError("tokens are for admins and coordinators only")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(staff_user_id=user.id, name=name, token_hash=token_hash(token))
    s.add(row)
    s.flush()
    return token, row


def staff_id_by_email(store: Store, email: str) -> int:
    with store.session() as s:
        sid = s.scalar(select(StaffUser.id).where(func.lower(StaffUser.email) == email.strip().lower()))
    if sid is None:
        raise AccountError("no staff user with that email")
    return sid


def list_tokens(store: Store, staff_id: int) -> list[tuple[int, str, str, str | None]]:
    """(id, name, created, revoked) of a staff user's tokens; never the token itself."""
    with store.session() as s:
        rows = s.scalars(select(ApiToken).where(ApiToken.staff_user_id == staff_id).order_by(ApiToken.id))
        return [(t.id, t.name, t.created_at.isoformat(timespec="seconds"),
                 t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else None) for t in rows]


def revoke_token(store: Store, token_id: int) -> None:
    with store.session() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise AccountError("no such token")
        if row.revoked_at is None:
            row.revoked_at = utcnow()


def deactivate(store: Store, staff_id: int) -> int:
    """Ends a staff user's access at once: no login, no session, every token revoked."""
    with store.session() as s:
        user = s.get(StaffUser, staff_id)
        if user is None:
            raise AccountError("no such staff user")
        return deactivate_in(s, user)


def deactivate_in(s: Session, user: StaffUser) -> int:
    """`deactivate` inside the caller's transaction; the number of tokens it revoked."""
    now = utcnow()
    user.active = False
    tokens = list(s.scalars(select(ApiToken).where(ApiToken.staff_user_id == user.id,
                                                   ApiToken.revoked_at.is_(None))))
    for t in tokens:
        t.revoked_at = now
    _end_sessions(s, user.id, now)
    return len(tokens)


def start_session(store: Store, staff_id: int, lifetime: timedelta) -> str:
    """A new login: its random id goes to the cookie, only the hash is kept here."""
    session_id = secrets.token_urlsafe(32)
    with store.session() as s:
        s.add(StaffSession(staff_user_id=staff_id, id_hash=token_hash(session_id),
                           expires_at=utcnow() + lifetime))
    return session_id


def user_for_session(store: Store, session_id: str, now: datetime | None = None) -> StaffUser | None:
    """The staff user of a session that has not ended (logout, password change, deactivation, expiry)."""
    now = now or utcnow()
    with store.session() as s:
        row = s.scalar(select(StaffSession).where(StaffSession.id_hash == token_hash(session_id),
                                                  StaffSession.revoked_at.is_(None)))
        if row is None or row.expires_at <= now:
            return None
        user = s.get(StaffUser, row.staff_user_id)
        if user is None or not user.active or user.role not in LOGIN_ROLES:
            return None
        return user


def end_session(store: Store, session_id: str) -> None:
    """Logout: the session's id stops working, also in any copy of the cookie."""
    with store.session() as s:
        row = s.scalar(select(StaffSession).where(StaffSession.id_hash == token_hash(session_id)))
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()


def _end_sessions(s: Session, staff_id: int, now: datetime) -> None:
    for row in s.scalars(select(StaffSession).where(StaffSession.staff_user_id == staff_id,
                                                    StaffSession.revoked_at.is_(None))):
        row.revoked_at = now
