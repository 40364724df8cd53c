"""Send Microsoft's documented Graph examples to the sandbox tenant and compare the answers.

A case (graph_cases.py) is one documented request with its documented response. The runner
gives the sandbox the state the example assumes (the example's users, an event, a Teams meeting
with an attendance report), sends the request over TLS with an app-only token from the
sandbox's Entra token endpoint, and compares: the status, every property name the documented
response shows (Graph's examples are truncated, so the sandbox may answer more, never less), the
JSON type of every documented non-null value, the shape of ``@odata.context`` and the error shape.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import quote

import httpx
from kiota_abstractions.serialization import Parsable
from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter

from integrator.sandbox import Sandbox
from integrator.sandbox.graph.tenant import DEFAULT_PERMISSIONS

DOCS = "microsoftgraph/microsoft-graph-docs-contrib"
ENTRA_DOCS = "MicrosoftDocs/entra-docs"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@dataclass(frozen=True)
class Case:
    """One documented example. ``source`` is "repository:path#example"."""

    name: str
    source: str
    method: str
    url: str  # relative to /v1.0 (or the token endpoint for kind="token"), with {placeholders}
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    response: Any = None  # the documented response body (None: no body documented)
    response_headers: dict[str, str] = field(default_factory=dict)
    permissions: frozenset[str] | None = None  # the app's application permissions; None: the product's
    policy: bool = True  # Teams application access policy granted to the organiser
    ignore: dict[str, str] = field(default_factory=dict)  # documented property path -> why not compared
    exact: dict[str, Any] = field(default_factory=dict)  # path ("a.b[0].c") -> the value the docs state or imply
    adapted: str = ""  # how the example was adapted to an app-only call in this tenant
    context: bool = True  # compare @odata.context (off where the documented path itself was adapted)
    kind: str = "http"  # "http", "python-sdk" (body built by the docs' Python snippet), "token"
    sdk_body: Callable[[], Parsable] | None = None
    then: Case | None = None  # a second request made right after (e.g. createOrGet twice)


@dataclass
class World:
    """What the placeholders in a case's URL and body stand for in the sandbox."""

    sb: Sandbox
    values: dict[str, str]


#: The organiser of the examples (user-get.md's user) and the attendee of the examples.
ADELE = ("87d349ed-44d7-43e1-9a83-5f2406dee5bd", "AdeleV@contoso.com", "Adele Vance")
ALEX = ("161ab652-cdbc-490d-82a4-0ada1f0db247", "AlexW@contoso.com", "Alex Wilber")


def build_world(sb: Sandbox, case: Case) -> World:
    sb.reset()
    sb.state.latency_ms = 0
    graph = sb.graph
    oid = graph.add_user(ADELE[1], ADELE[2], user_id=ADELE[0])
    graph.users[oid].update({"businessPhones": ["+1 425 555 0109"], "jobTitle": "Retail Manager",
                             "mobilePhone": "+1 425 555 0109", "officeLocation": "18/2111",
                             "preferredLanguage": "en-US"})
    graph.add_user(ALEX[1], ALEX[2], user_id=ALEX[0])
    graph.grant_meeting_policy(oid)  # the setup reads the meeting's report; a case may go without
    client_id, secret = graph.register_app(
        permissions=DEFAULT_PERMISSIONS if case.permissions is None else case.permissions)
    values = {"user": oid, "upn": ADELE[1], "tenant": graph.tenant_id, "client_id": client_id, "secret": secret}
    # An event with three places, in the window of user-list-calendarview.md's example.
    event = _send(sb, values, "POST", f"/users/{oid}/events", {
        "subject": "Plan summer company picnic", "body": {"contentType": "html", "content": "Let's plan"},
        "start": {"dateTime": "2020-01-02T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2020-01-02T10:00:00", "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": ALEX[1], "name": ALEX[2]}, "type": "required"}],
        "locations": [{"displayName": "Conf Room 3"}, {"displayName": "Home Office"}],
        "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"}, token=_admin_token(sb, values))
    values["event"] = event.json()["id"]
    join_url = event.json()["onlineMeeting"]["joinUrl"]
    meeting = graph.meeting_by_join_url(join_url)
    assert meeting is not None
    values["meeting"], values["joinUrl"], values["joinUrlQuoted"] = meeting.id, join_url, quote(join_url, safe="")
    values["joinMeetingId"] = meeting.data["joinMeetingIdSettings"]["joinMeetingId"]
    graph.join_meeting(join_url, user_id=oid, minutes=60)
    graph.join_meeting(join_url, user_id=ALEX[0], minutes=45)
    sb.state.clock.advance(timedelta(days=2))
    values["report"] = _first_report(sb, values)
    if not case.policy:
        graph.policy_users.discard(oid)
    if "{drive" in case.url or "{folder" in case.url:
        values.update(_drive_world(sb, values))
    return World(sb, values)


def _drive_world(sb: Sandbox, values: dict[str, str]) -> dict[str, str]:
    """A site library as the drive-item examples assume it: FolderA with FileB.txt and three more
    files, an empty "New Folder" (the create-folder example's name, taken), an invitation on FolderA,
    and a delta token taken before folder2 was deleted and FileB.txt rewritten."""
    graph = sb.graph
    drive = graph.add_drive("contoso")
    store = graph.drives
    root = store.drives[drive].root_id
    adele = store.identity(ADELE[1])
    with sb.state.lock:
        folder = store.new_item(drive, root, "FolderA", True, adele).id
        store.new_item(drive, root, "New Folder", True, adele)
        gone = store.new_item(drive, root, "folder2", True, adele)
    for n in range(3):
        graph.upload_as(ADELE[1], drive, folder, f"{n + 1}.txt", b"x")
    file = graph.upload_as(ADELE[1], drive, folder, "FileB.txt", b"The contents of the file goes here.")
    admin = {**values, "drive": drive}
    client_id, secret = graph.register_app(permissions=DEFAULT_PERMISSIONS | {"Files.ReadWrite.All"})
    bearer = token(sb, {**values, "client_id": client_id, "secret": secret})
    invited = _send(sb, admin, "POST", f"/drives/{drive}/items/{folder}/invite", {
        "recipients": [{"email": ALEX[1]}], "requireSignIn": True, "sendInvitation": False, "roles": ["read"]},
        token=bearer)
    assert invited.status_code == 200, invited.text
    latest = _send(sb, admin, "GET", f"/drives/{drive}/root/delta?token=latest", None, token=bearer)
    delta_token = str(latest.json()["@odata.deltaLink"]).split("token=", 1)[1]
    assert _send(sb, admin, "DELETE", f"/drives/{drive}/items/{gone.id}", None, token=bearer).status_code == 204
    graph.upload_as(ADELE[1], drive, folder, "FileB.txt", b"The contents of the file goes here, again.")
    return {"drive": drive, "folder": folder, "file": file, "perm": str(invited.json()["value"][0]["id"]),
            "deltaToken": delta_token}


def _admin_token(sb: Sandbox, values: dict[str, str]) -> str:
    """A token of a fully permitted app, for the setup requests."""
    client_id, secret = sb.graph.register_app(permissions=DEFAULT_PERMISSIONS)
    return token(sb, {**values, "client_id": client_id, "secret": secret})


def token(sb: Sandbox, values: dict[str, str]) -> str:
    answer = httpx.post(f"{sb.login_authority}/{values['tenant']}/oauth2/v2.0/token", verify=_tls(sb), timeout=60,
                        data={"client_id": values["client_id"], "client_secret": values["secret"],
                              "scope": GRAPH_SCOPE, "grant_type": "client_credentials"})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _first_report(sb: Sandbox, values: dict[str, str]) -> str:
    answer = _send(sb, values, "GET", f"/users/{values['user']}/onlineMeetings/{values['meeting']}/attendanceReports",
                   None, token=_admin_token(sb, values))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["value"][0]["id"])


@cache
def _tls_for(ca_path: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_path)


def _tls(sb: Sandbox) -> ssl.SSLContext:
    """Trust the sandbox CA for these requests only."""
    return _tls_for(sb.ca_cert_path)


def fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def _send(sb: Sandbox, values: dict[str, str], method: str, url: str, body: Any, *, token: str,
          headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {"Authorization": f"Bearer {token}", **(headers or {})}
    content = None
    if isinstance(body, bytes):  # a file's content (simple upload), sent as it is
        content = body
    elif body is not None:
        sent.setdefault("Content-Type", "application/json")
        content = json.dumps(body).encode()
    return httpx.request(method, sb.graph_url + url, headers=sent, content=content, verify=_tls(sb), timeout=60)


def sdk_json(model: Parsable) -> Any:
    """The wire JSON the msgraph SDK sends for a model (how the docs' Python snippets send it)."""
    writer = JsonSerializationWriter()
    writer.write_object_value(None, model)
    return json.loads(writer.get_serialized_content())


def run(case: Case, world: World) -> list[str]:
    """The case's differences from its documented answer (empty: it conforms)."""
    sb, values = world.sb, world.values
    if case.kind == "token":
        answer = httpx.post(fill(f"{sb.login_authority}{case.url}", values), data=fill(case.body, values),
                            verify=_tls(sb), timeout=60)
        return _compare_answer(case, answer, values)
    body = sdk_json(case.sdk_body()) if case.sdk_body is not None else fill(case.body, values)
    answer = _send(sb, values, case.method, fill(case.url, values), body, token=token(sb, values),
                   headers=fill(case.headers, values))
    problems = _compare_answer(case, answer, values)
    if case.then is not None and not problems:
        problems += [f"then: {p}" for p in run(case.then, world)]
    return problems


def _compare_answer(case: Case, answer: httpx.Response, values: dict[str, str]) -> list[str]:
    problems: list[str] = []
    if answer.status_code != case.status:
        problems.append(f"status {answer.status_code}, documented {case.status}: {answer.text[:300]}")
        return problems
    for name, value in case.response_headers.items():
        if answer.headers.get(name) != fill(value, values):
            problems.append(f"header {name}: {answer.headers.get(name)!r}, documented {value!r}")
    if case.response is None:
        return problems
    try:
        got = answer.json()
    except ValueError:
        return [*problems, f"no JSON body: {answer.text[:200]!r}"]
    problems += compare(case.response, got, "", case.ignore, case.context)
    for where, wanted_template in case.exact.items():
        wanted = fill(wanted_template, values)  # "{file}": the sandbox object the example stands for
        found = lookup(got, where)
        if found != wanted:
            problems.append(f"{where}: {found!r}, expected {wanted!r}")
    return problems


def lookup(value: Any, where: str) -> Any:
    """``a.b[0].c`` in a JSON value (None when absent)."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value


def _context_shape(url: str) -> str:
    """The part of @odata.context after $metadata#, with key values and select lists generalised."""
    tail = url.split("$metadata#", 1)[-1]
    return re.sub(r"\('[^']*'\)", "('*')", tail)


def compare(doc: Any, got: Any, path: str, ignore: dict[str, str], context: bool = True) -> list[str]:
    """Documented names present, documented non-null values of the same JSON type, recursively."""
    if path in ignore:
        return []
    if doc is None:
        return []
    if isinstance(doc, dict):
        if not isinstance(got, dict):
            return [f"{path or '/'}: object documented, got {type(got).__name__}"]
        out: list[str] = []
        for key, value in doc.items():
            child = f"{path}.{key}" if path else key
            if child in ignore:
                continue
            if key not in got:
                out.append(f"{child}: missing")
            elif key == "@odata.context":
                if context and _context_shape(str(got[key])) != _context_shape(str(value)):
                    out.append(f"@odata.context: {_context_shape(str(got[key]))!r}, "
                               f"documented {_context_shape(str(value))!r}")
            else:
                out += compare(value, got[key], child, ignore, context)
        return out
    if isinstance(doc, list):
        if not isinstance(got, list):
            return [f"{path}: array documented, got {type(got).__name__}"]
        if doc and not got:
            return [f"{path}: documented items, got none"]
        return compare(doc[0], got[0], f"{path}[]", ignore, context) if doc else []
    if isinstance(doc, bool):
        return [] if isinstance(got, bool) else [f"{path}: boolean documented, got {got!r}"]
    if isinstance(doc, int | float):
        ok = isinstance(got, int | float) and not isinstance(got, bool)
        return [] if ok else [f"{path}: number documented, got {got!r}"]
    return [] if isinstance(got, str) else [f"{path}: string documented, got {got!r}"]


def window(days: int = 1) -> tuple[str, str]:
    start = datetime(2020, 1, 2, tzinfo=UTC)
    return start.isoformat(), (start + timedelta(days=days)).isoformat()
