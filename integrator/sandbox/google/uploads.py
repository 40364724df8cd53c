"""Media uploads as googleapiclient sends them: uploadType=media, multipart and resumable."""

from __future__ import annotations

import json
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from integrator.sandbox.google.errors import invalid
from integrator.sandbox.google.registry import Call
from integrator.sandbox.google.tenant import GoogleTenant
from integrator.sandbox.google.wire import HttpAnswer


def receive(
    tenant: GoogleTenant,
    raw_path: str,
    query: str,
    headers: dict[str, str],
    data: bytes,
    ctx: Call,
    upload_id: str | None,
) -> HttpAnswer | None:
    """Fill ``ctx`` with metadata and media, or answer an unfinished resumable session."""
    if upload_id is not None:
        return _continue(tenant, headers, data, ctx, upload_id)
    kind = ctx.upload_type or "media"
    if kind == "media":
        ctx.body, ctx.media, ctx.media_type = (
            {},
            data,
            headers.get("content-type", "application/octet-stream"),
        )
    elif kind == "multipart":
        ctx.body, ctx.media, ctx.media_type = _multipart(headers.get("content-type", ""), data)
    elif kind == "resumable":
        metadata = json.loads(data) if data else {}
        upload = tenant.new_id(24, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        media_type = headers.get("x-upload-content-type", "application/octet-stream")
        with tenant.state.lock:
            tenant.uploads[upload] = (ctx.method.http_method, metadata, media_type, bytearray())
        location = f"{tenant.base_url}{raw_path}?{query}&upload_id={upload}"
        return HttpAnswer(200, None, {"Location": location, "X-GUploader-UploadID": upload})
    else:
        raise invalid(f"Invalid upload type: {kind}", reason="invalid", location="uploadType")
    return None


def _multipart(content_type: str, data: bytes) -> tuple[Any, bytes, str]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    parts = list(message.iter_parts())
    if len(parts) != 2:
        raise invalid("Invalid multipart request with 0 mime parts.")
    meta_bytes = parts[0].get_payload(decode=True)
    media = parts[1].get_payload(decode=True)
    metadata = json.loads(meta_bytes) if isinstance(meta_bytes, bytes) and meta_bytes else {}
    return metadata, media if isinstance(media, bytes) else b"", parts[1].get_content_type()


def _continue(
    tenant: GoogleTenant, headers: dict[str, str], data: bytes, ctx: Call, upload_id: str
) -> HttpAnswer | None:
    with tenant.state.lock:
        session = tenant.uploads.get(upload_id)
    if session is None:
        return HttpAnswer(
            404, {"error": {"code": 404, "message": "Upload session not found", "status": "NOT_FOUND"}}
        )
    _, metadata, media_type, received = session
    received.extend(data)
    total: int | None = None
    match = re.match(r"bytes (?:\d+-\d+|\*)/(\d+|\*)", headers.get("content-range", ""))
    if match and match.group(1) != "*":
        total = int(match.group(1))
    if total is not None and len(received) < total:
        return HttpAnswer(308, None, {"Range": f"bytes=0-{len(received) - 1}"} if received else {})
    with tenant.state.lock:
        tenant.uploads.pop(upload_id, None)
    ctx.body, ctx.media, ctx.media_type = metadata, bytes(received), media_type
    return None


def session_method(tenant: GoogleTenant, query: str) -> str | None:
    """The HTTP method that opened a resumable session (its chunks arrive as PUT)."""
    match = re.search(r"(?:^|&)upload_id=([^&]+)", query)
    if match is None:
        return None
    with tenant.state.lock:
        session = tenant.uploads.get(match.group(1))
    return session[0] if session else None
