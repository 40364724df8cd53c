"""Batch endpoints (multipart/mixed of application/http parts) with each API's size limit."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from typing import TYPE_CHECKING

from integrator.sandbox.core import LogEntry
from integrator.sandbox.google.discovery import document
from integrator.sandbox.google.errors import GoogleError, injected
from integrator.sandbox.google.wire import HttpAnswer, HttpCall

if TYPE_CHECKING:
    from integrator.sandbox.google.app import GoogleApp

#: Most calls one batch may carry (Classroom and Calendar 50, Drive 100; Meet and Forms document none).
LIMITS = {"classroom": 50, "drive": 100, "calendar": 50, "gmail": 100, "meet": 100, "forms": 100}


def batch_path(api: str) -> str:
    return str(document(api).get("batchPath", "batch"))


def serve(app: GoogleApp, api: str, call: HttpCall) -> HttpAnswer:
    state = app.state
    try:
        if call.http_method != "POST":
            raise GoogleError(405, "Method Not Allowed", "INVALID_ARGUMENT")
        fault = state.faults.pick("google", call.raw_path, call.http_method)
        if fault is not None:
            raise injected(fault.status, fault.reason, fault.retry_after)
        parts = _parts(call)
        if len(parts) > LIMITS[api]:
            raise GoogleError(
                400,
                f"A batch request cannot contain more than {LIMITS[api]} requests ({len(parts)} were sent).",
                "INVALID_ARGUMENT",
                reason="batchSizeTooLarge",
            )
        chunks: list[bytes] = []
        boundary = "batch_" + app.tenant.new_id(20, alphabet="abcdefghijklmnopqrstuvwxyz0123456789")
        for content_id, sub in parts:
            if "authorization" not in sub.headers and "authorization" in call.headers:
                sub.headers["authorization"] = call.headers["authorization"]
            answer = app.execute(sub)
            chunks.append(_render_part(boundary, content_id, answer))
        body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
        answer = HttpAnswer(200, None, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, raw=body)
    except GoogleError as err:
        answer = HttpAnswer(err.code, err.body(), dict(err.headers))
    state.log.record(
        LogEntry(
            "google", api, "batch", call.http_method, call.raw_path, answer.status, state.clock.now(), "batch"
        )
    )
    return answer


def _parts(call: HttpCall) -> list[tuple[str, HttpCall]]:
    content_type = call.headers.get("content-type", "")
    if not content_type.startswith("multipart/mixed"):
        raise GoogleError(
            400, "Invalid batch request: expected multipart/mixed.", "INVALID_ARGUMENT", reason="badRequest"
        )
    envelope = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + call.body
    )
    result: list[tuple[str, HttpCall]] = []
    for part in envelope.iter_parts():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise GoogleError(400, "Invalid batch part.", "INVALID_ARGUMENT", reason="badRequest")
        result.append((str(part.get("Content-ID", "")), _parse_http(payload)))
    return result


def _parse_http(payload: bytes) -> HttpCall:
    text = payload.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    path, _, query = target.partition("?")
    return HttpCall(method.upper(), path, query, headers, body, kind="part")


def _render_part(boundary: str, content_id: str, answer: HttpAnswer) -> bytes:
    response_id = f"<response-{content_id.strip('<>')}>" if content_id else ""
    reason = HTTPStatus(answer.status).phrase if answer.status in HTTPStatus._value2member_map_ else ""
    head = [f"--{boundary}", "Content-Type: application/http"]
    if response_id:
        head.append(f"Content-ID: {response_id}")
    head += ["", f"HTTP/1.1 {answer.status} {reason}"]
    for name, value in answer.headers.items():
        head.append(f"{name}: {value}")
    payload = answer.payload()
    if answer.body is not None:
        head.append("Content-Type: application/json; charset=UTF-8")
    head += [f"Content-Length: {len(payload)}", "", ""]
    return "\r\n".join(head).encode() + payload + b"\r\n"
