"""Google conformance: the vendors' documented example requests, sent to the sandbox, answered as
documented (status, property names and types, error shape, permission rules) and valid against
the response schema of the discovery document the client library ships.

The cases and their sources are in google_cases.py; cases outside the sandbox's subset are
listed, not counted. Prints "Google conformance: N/M cases" and requires 95 %.
"""

from __future__ import annotations

import base64
import json
from email.message import EmailMessage
from typing import Any

import jsonschema
from googleapiclient.errors import HttpError

from integrator.sandbox.google import DEFAULT_SCOPES
from tests.conformance.google_cases import ALL, Case
from tests.sandbox.conftest import ADMIN, CLIENT_A, CLIENT_B, COACH, SCOPES, GoogleSandbox
from tests.sandbox.test_google_conformance import response_schema

COURSEWORK_ME = "https://www.googleapis.com/auth/classroom.coursework.me"
COLLEAGUE, INVITEE = "kollega@sandbox.example.fi", "kutsuttu@sandbox.example.fi"
ACTORS = {"teacher": COACH, "admin": ADMIN, "student": CLIENT_A, "other": CLIENT_B, "colleague": COLLEAGUE}
TYPES: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict}


def sample_letter() -> str:
    """The message of googleworkspace/python-samples gmail/snippet/send mail/send_message.py."""
    message = EmailMessage()
    message.set_content("This is automated draft mail")
    message["To"] = "gduser1@workspacesamples.dev"
    message["From"] = "gduser2@workspacesamples.dev"
    message["Subject"] = "Automated draft"
    return base64.urlsafe_b64encode(message.as_bytes()).decode()


def fill(value: Any, ctx: dict[str, Any]) -> Any:
    if isinstance(value, str) and "$" in value:
        for key in sorted(ctx, key=len, reverse=True):
            if value == f"${key}":
                return ctx[key]
            value = value.replace(f"${key}", str(ctx[key]))
        return value
    if isinstance(value, dict):
        return {k: fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ctx) for v in value]
    return value


def dig(body: Any, path: str) -> Any:
    for part in path.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


class Runner:
    def __init__(self, google: GoogleSandbox) -> None:
        self.google = google
        google.info = google.sb.google.service_account_info([*DEFAULT_SCOPES, COURSEWORK_ME])
        self.services: dict[tuple[str, str], Any] = {}

    def service(self, api: str, actor: str) -> Any:
        key = (api, actor)
        if key not in self.services:
            scopes = SCOPES[api] + ([COURSEWORK_ME] if api == "classroom" else [])
            self.services[key] = self.google.service(api, subject=ACTORS[actor], scopes=scopes)
        return self.services[key]

    def send(self, case: Case, ctx: dict[str, Any]) -> tuple[int, Any]:
        api, *path, verb = case.method.split(".")
        node = self.service(api, case.actor)
        for part in path:
            node = getattr(node, part)()
        kwargs = fill(dict(case.params), ctx)
        if case.body is not None:
            kwargs["body"] = fill(case.body, ctx)
        request = getattr(node, "return_" if verb == "return" else verb)(**kwargs)
        try:
            answer = request.execute()
        except HttpError as err:
            return err.status_code, json.loads(err.content or b"{}")
        status = 204 if answer in ("", None) and case.status == 204 else 200
        return status, answer if isinstance(answer, dict) else {}

    def check(self, case: Case, ctx: dict[str, Any]) -> str | None:
        """None when the answer is as documented, else what differed."""
        status, body = self.send(case, ctx)
        if status != case.status:
            return f"status {status} != {case.status}: {json.dumps(body)[:200]}"
        if status >= 400:
            error = body.get("error", {})
            if not isinstance(error.get("code"), int) or not isinstance(error.get("message"), str):
                return f"error shape {body}"
            if case.error and error.get("status") != case.error:
                return f"error status {error.get('status')} != {case.error}"
            return None
        for name, kind in case.expect.items():
            if not isinstance(body.get(name), TYPES[kind]):
                return f"{name}: expected {kind}, got {body.get(name)!r}"
        for name, value in case.values.items():
            if body.get(name) != value:
                return f"{name}: {body.get(name)!r} != {value!r}"
        schema = response_schema(case.method)
        if schema is not None:
            try:
                jsonschema.Draft7Validator(schema).validate(body)
            except jsonschema.ValidationError as err:
                return f"schema: {err.message}"
        for name, where in case.save.items():
            ctx[name] = dig(body, where)
        return None


def world(google: GoogleSandbox) -> dict[str, Any]:
    tenant = google.sb.google
    tenant.add_user(COLLEAGUE, "Kalle Kollega")
    tenant.add_user(INVITEE, "Kerttu Kutsuttu")
    coach = google.service("classroom")
    course = coach.courses().create(body={"name": "Ryhmä K", "ownerId": "me", "courseState": "ACTIVE"}).execute()
    folder = tenant.add_file(COACH, "Tehtävät", "application/vnd.google-apps.folder")
    doc = tenant.add_file(COACH, "Ohje", "text/plain", [folder], b"ohje")
    return {"course": course["id"], "code": course["enrollmentCode"], "teacher": COACH, "student": CLIENT_A,
            "stranger": CLIENT_B, "colleague": COLLEAGUE, "invitee": INVITEE, "folder": folder, "doc": doc,
            "domain": tenant.domain, "letter": sample_letter()}


def test_google_conformance(google: GoogleSandbox) -> None:
    runner, ctx = Runner(google), world(google)
    counted = [c for c in ALL if c.out_of_subset is None]
    failures = {c.name: why for c in counted if (why := runner.check(c, ctx)) is not None}
    passed = len(counted) - len(failures)
    print(f"\nGoogle conformance: {passed}/{len(counted)} cases")
    for name, why in failures.items():
        print(f"  FAIL {name}: {why}")
    for case in ALL:
        if case.out_of_subset:
            print(f"  out of subset: {case.method} ({case.source}): {case.out_of_subset}")
    assert [m.sender for m in google.sb.sent_mail()] == [COACH], "Gmail rewrote the sample's foreign From"
    assert all(c.source.startswith(("googleworkspace/", "https://")) for c in ALL)
    assert passed / len(counted) >= 0.95, failures
