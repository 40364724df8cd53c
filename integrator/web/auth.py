"""Who is asking: staff sessions (login form) and API tokens; every route but a few needs one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from integrator.config import Settings
from integrator.domain.types import StaffRole
from integrator.store.models import StaffUser
from integrator.web import accounts, staff_identity
from integrator.web.context import get_settings, get_store
from integrator.web.ratelimit import LoginLimiter

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

# Endpoints anyone may reach. `static` is our CSS and one script: no data in them.
# The own survey page: a client answers through the link's token, never a login.
# Sign-in with the organisation's identity provider: its start (a redirect to the provider) and
# the callback the provider sends the browser back to, before anyone is logged in by nature.
PUBLIC_ENDPOINTS = frozenset({"healthz", "auth.login", "static", "surveys.answer", "sign_in.start",
                              "sign_in.callback"})
PASSWORDS_OFF = ("Organisaatiosi käyttäjät kirjautuvat organisaation tunnuksilla (Microsoft- tai Google-tili). "
                 "Salasanalla kirjautuminen ei ole käytössä.")
LIMITER_KEY = "integrator.login_limiter"
# The cookie (signed, not secret from its holder) carries the random id of a StaffSession row;
# the row, not the cookie, says whether the login still holds.
SESSION_KEY = "sid"


@dataclass(frozen=True)
class Principal:
    staff_id: int
    role: StaffRole
    organisation_id: int | None  # None on an admin: every organisation
    via: str  # "session" | "token"

    @property
    def is_admin(self) -> bool:
        return self.role is StaffRole.ADMIN

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"


def init_app(app: Flask) -> None:
    app.extensions[LIMITER_KEY] = LoginLimiter()
    app.before_request(_authenticate)


def current_principal() -> Principal:
    p = g.get("principal")
    assert isinstance(p, Principal), "a protected view ran without a principal"
    return p


def _principal(user: StaffUser, via: str) -> Principal:
    return Principal(staff_id=user.id, role=user.role, organisation_id=user.organisation_id, via=via)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/metrics"


def _authenticate() -> ResponseReturnValue | None:
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None  # unknown URLs fall through to 404
    store = get_store()
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = accounts.user_for_token(store, header.removeprefix("Bearer ").strip())
        if user is not None:
            g.principal = _principal(user, "token")
            return None
        return _unauthorised("invalid or revoked token")
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, str):
        user = accounts.user_for_session(store, session_id)
        if user is not None:
            g.principal = _principal(user, "session")
            return None
    if session:
        session.clear()  # logged out, password changed or deactivated since: the cookie is dead
    return _unauthorised("login required")


def _unauthorised(message: str) -> ResponseReturnValue:
    if _wants_json():
        resp = jsonify(error="unauthorized", message=message)
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Bearer realm="integrator"'
        return resp
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


NEXT_MAX = 2000
# Printable ASCII but space and backslash: all that our own URLs (request.full_path) ever hold.
_NEXT_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - {"\\"}


def safe_next(value: object, default: str = "/") -> str:
    """`value` when it is a path of this site ("/groups/1?week=2026-W49"), else `default`.

    Browsers strip tabs and newlines from a URL and read a backslash as a slash, and a redirect may
    be decoded once more on the way: "/%09/evil.example" becomes "//evil.example", another site.
    So the value and each of its percent-decodings must be a single-slash path of plain characters.
    """
    if not isinstance(value, str) or not 0 < len(value) <= NEXT_MAX:
        return default
    form, seen = value, set()
    while form not in seen:  # decode until stable: "%252f" -> "%2f" -> "/"
        seen.add(form)
        if not form.startswith("/") or form.startswith("//") or "//" in form.split("?", 1)[0]:
            return default
        if not set(form) <= _NEXT_CHARS:
            return default
        try:
            form = unquote(form, errors="strict")
        except UnicodeDecodeError:  # "%ff": no path of ours
            return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def settings_or_none() -> Settings | None:
    """The configuration, or None where the app runs without one (tests, a bare API)."""
    try:
        return get_settings()
    except LookupError:
        return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error = None
    status = 200
    if request.method == "POST":
        email = request.form.get("email", "")[:320]
        password = request.form.get("password", "")[:1024]
        address = request.remote_addr or "?"
        limiter: LoginLimiter = current_app.extensions[LIMITER_KEY]
        if not limiter.allowed(email, address):
            log.warning("login refused: too many failed attempts")
            error, status = "Liian monta epäonnistunutta yritystä. Yritä uudelleen 15 minuutin kuluttua.", 429
        else:
            user = accounts.verify_login(get_store(), email, password)
            if user is None:
                limiter.failed(email, address)
                log.info("login failed")
                error, status = "Väärä sähköpostiosoite tai salasana.", 401
            elif not staff_identity.password_allowed(get_store(), settings_or_none(), user.id):
                # Checked after the password: the refusal tells nothing to one who does not know it.
                limiter.succeeded(email, address)
                log.warning("login refused: the organisation signs in through its identity provider",
                            extra={"staff_id": user.id})
                error, status = PASSWORDS_OFF, 403
            else:
                limiter.succeeded(email, address)
                session.clear()  # a fresh session id and CSRF token: no session fixation
                session[SESSION_KEY] = accounts.start_session(get_store(), user.id,
                                                              current_app.permanent_session_lifetime)
                session.permanent = True
                log.info("login", extra={"staff_id": user.id})
                return redirect(safe_next(request.args.get("next"), url_for("ui.dashboard")))
    return render_template("login.html", error=error, providers=staff_identity.offered_kinds(settings_or_none()),
                           next=safe_next(request.args.get("next"), "") or None), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    # Ended on the server: a copy of the cookie taken before logout no longer works.
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, str):
        accounts.end_session(get_store(), session_id)
    session.clear()
    return redirect(url_for("auth.login"))
