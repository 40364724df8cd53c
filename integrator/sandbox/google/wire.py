"""A transport-neutral request and answer, so batch parts run through the same pipeline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from integrator.sandbox.core import EntryKind

Json = dict[str, Any]


@dataclass
class HttpCall:
    """One HTTP request, on the wire or unpacked from a batch."""

    http_method: str
    raw_path: str
    query: str
    headers: dict[str, str]
    body: bytes
    kind: EntryKind = "wire"


@dataclass
class HttpAnswer:
    status: int
    body: Json | None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b"" if self.body is None else json.dumps(self.body).encode()
