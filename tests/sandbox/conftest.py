"""The sandbox tenant for tests: one server pair per session, a clean tenant per test.

Google services are built exactly as product code builds them in sandbox mode: the shipped
discovery document with its rootUrl pointed at the sandbox, real service-account credentials
with domain-wide delegation, and googleapiclient's own HTTP stack over a real socket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc

from integrator.sandbox import Sandbox
from integrator.sandbox.core import Quotas

VERSIONS = {"classroom": "v1", "drive": "v3", "gmail": "v1", "calendar": "v3", "meet": "v2", "forms": "v1"}
SCOPES = {
    "classroom": [
        "https://www.googleapis.com/auth/classroom.courses",
        "https://www.googleapis.com/auth/classroom.rosters",
        "https://www.googleapis.com/auth/classroom.coursework.students",
        "https://www.googleapis.com/auth/classroom.topics",
    ],
    "drive": ["https://www.googleapis.com/auth/drive"],
    "gmail": ["https://www.googleapis.com/auth/gmail.send"],
    "calendar": ["https://www.googleapis.com/auth/calendar.events"],
    "meet": ["https://www.googleapis.com/auth/meetings.space.readonly"],
    "forms": ["https://www.googleapis.com/auth/drive"],  # every Forms method accepts it
}
COACH = "ohjaaja@sandbox.example.fi"
CLIENT_A = "aino.asiakas@sandbox.example.fi"
CLIENT_B = "bertta.asiakas@sandbox.example.fi"
#: The Workspace admin: Classroom lets only domain admins add students and teachers directly.
ADMIN = "integraatio.admin@sandbox.example.fi"


@cache
def discovery_doc(api: str, url: str) -> str:
    doc = json.loads(get_static_doc(api, VERSIONS[api]) or "{}")
    doc["rootUrl"] = f"{url}/{api}/"
    return json.dumps(doc)


@dataclass
class GoogleSandbox:
    """A clean sandbox with a coach and two clients in the domain, and a DWD service account."""

    sb: Sandbox
    info: dict[str, Any]
    users: dict[str, str] = field(default_factory=dict)  # email -> Google user id

    def credentials(self, api: str, subject: str | None = COACH, scopes: list[str] | None = None) -> Any:
        return service_account.Credentials.from_service_account_info(
            self.info, scopes=scopes or SCOPES[api], subject=subject
        )

    def service(self, api: str, subject: str | None = COACH, scopes: list[str] | None = None) -> Any:
        creds = self.credentials(api, subject, scopes)
        return build_from_document(discovery_doc(api, self.sb.google_url), credentials=creds)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The whole sandbox tenant (Google over http, Graph over TLS when present) for the session."""
    with Sandbox(seed=0, page_size=5) as sb:
        yield sb


@pytest.fixture
def google(sandbox: Sandbox) -> GoogleSandbox:
    sandbox.reset()
    sandbox.state.latency_ms = 0
    sandbox.state.page_size = 5
    sandbox.state.quotas = Quotas()
    users = {
        COACH: sandbox.google.add_user(COACH, "Olli Ohjaaja"),
        CLIENT_A: sandbox.google.add_user(CLIENT_A, "Aino Asiakas"),
        CLIENT_B: sandbox.google.add_user(CLIENT_B, "Bertta Asiakas"),
        ADMIN: sandbox.google.add_user(ADMIN, "Integraatio Admin", admin=True),
    }
    return GoogleSandbox(sandbox, sandbox.google.service_account_info(), users)


# Microsoft half: fixtures live beside the Graph tests.
from tests.sandbox.graph_fixtures import (  # noqa: E402, F401
    anyio_backend,
    app_registration,
    credential,
    graph_client,
    ms,
    organiser,
)
