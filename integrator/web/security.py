"""Secure cookies, response headers and CSRF protection for session-authenticated requests."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import Flask, Response, abort, request, session

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

# No CDN and no inline script: every asset is served by us, so the policy can be strict.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")


def init_app(app: Flask) -> None:
    insecure_ok = bool(app.config.get("TESTING") or app.config.get("INSECURE_HTTP"))
    # Flask's defaults exist as keys already, so these are set, not defaulted.
    app.config["SESSION_COOKIE_SECURE"] = not insecure_ok
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "integrator_session"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=8)  # a working day
    app.config["MAX_CONTENT_LENGTH"] = app.config.get("MAX_CONTENT_LENGTH") or 5 * 1024 * 1024
    app.after_request(_secure_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token


def init_csrf(app: Flask) -> None:
    # Registered after authentication: an anonymous request is turned away (401 or the login
    # page) before its form is looked at; the login form itself is public and still checked.
    app.before_request(_check_csrf)


def csrf_enabled() -> bool:
    from flask import current_app

    # WTF_CSRF_ENABLED is honoured too, the name the shared test fixtures use.
    return bool(current_app.config.get("CSRF_ENABLED", current_app.config.get("WTF_CSRF_ENABLED", True)))


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _bearer_request() -> bool:
    # A bearer token is never sent by a browser on its own, so a cross-site form cannot forge it.
    return request.headers.get("Authorization", "").startswith("Bearer ")


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS or _bearer_request() or not csrf_enabled():
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        abort(400, description="Lomakkeen tarkiste puuttuu tai on vanhentunut. Lataa sivu uudelleen.")


def _secure_headers(resp: Response) -> Response:
    h = resp.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    from flask import current_app

    if current_app.config.get("SESSION_COOKIE_SECURE"):
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        # Pages carry personal data: never keep them in a shared or back-button cache.
        h.setdefault("Cache-Control", "no-store")
    return resp
