"""The Google half of the sandbox tenant: OAuth, Classroom, Drive, Gmail, Calendar, Meet and Forms.

Layout: ``app`` is the one request pipeline (route by the shipped discovery documents, bearer
and scope check, fault injection, quota, body validation, handler, partial response, request
log); ``batch`` unpacks multipart/mixed batches into the same pipeline; the API modules (one
or a few per API, listed in ``app.API_MODULES``) register handlers by discovery method id
(``registry``); ``tenant`` holds the data and the simulation entry points of
docs/dev/sandbox-contract.md; ``admin`` mirrors them under /_sandbox/.

Classroom's permission rules are enforced as Google documents them (``tenant.classroom_roles``
"strict", the default): teachers manage their courses, only Workspace admins (``make_admin`` or
``add_user(..., admin=True)``) add members directly and make ``d:`` aliases, teachers invite, only
the owning student turns work in or reclaims it. "lenient" skips them, for tests of other behaviour.

Deliberate simplifications (the product does not rely on these):
- Calendar: the acting user's own calendar only; no recurring events, sync tokens or ``q``.
- Drive: the ``q`` subset in ``drive_query``; no export/download/revisions.
- Meet: joins belong to one conference while they overlap it; records are visible domain-wide.
- Forms: questionItem items only (no question groups); batchUpdate's createItem, updateFormInfo and
  updateSettings (not update/move/deleteItem); no watches; answers come from ``submit_response``.
- Per-minute quotas run on wall time (so Retry-After can be honoured); daily ones on the
  sandbox clock. Faults apply to API calls, batch envelopes and batch items, not to /token.
"""

from __future__ import annotations

from integrator.sandbox.core import SandboxState
from integrator.sandbox.google.tenant import DEFAULT_SCOPES, DOMAIN, GoogleTenant, GoogleUser


def make_google_app(tenant: GoogleTenant) -> object:
    """The WSGI app serving every Google API of ``tenant`` (and the token and admin endpoints)."""
    from integrator.sandbox.google.app import GoogleApp

    return GoogleApp(tenant)


__all__ = ["DEFAULT_SCOPES", "DOMAIN", "GoogleTenant", "GoogleUser", "SandboxState", "make_google_app"]
