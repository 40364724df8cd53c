"""The Google half of the sandbox tenant: OAuth, Classroom, Drive, Gmail, Calendar and Meet."""

from __future__ import annotations

from integrator.sandbox.core import SandboxState
from integrator.sandbox.google.tenant import DEFAULT_SCOPES, DOMAIN, GoogleTenant, GoogleUser


def make_google_app(tenant: GoogleTenant) -> object:
    """The WSGI app serving every Google API of ``tenant`` (and the token and admin endpoints)."""
    from integrator.sandbox.google.app import GoogleApp

    return GoogleApp(tenant)


__all__ = ["DEFAULT_SCOPES", "DOMAIN", "GoogleTenant", "GoogleUser", "SandboxState", "make_google_app"]
