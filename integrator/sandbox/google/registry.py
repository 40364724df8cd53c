"""Handlers by discovery method id, and the context each handler receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrator.sandbox.google.discovery import Method
from integrator.sandbox.google.tenant import GoogleTenant, GoogleUser

Json = dict[str, Any]


@dataclass
class Call:
    tenant: GoogleTenant
    method: Method
    params: dict[str, Any]
    body: Any
    user: GoogleUser
    media: bytes | None = None
    media_type: str | None = None
    upload_type: str | None = None

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


@dataclass
class Reply:
    """A non-default answer: a status other than 200/204 or extra headers."""

    status: int
    body: Json | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], "Json | Reply | None"]
HANDLERS: dict[str, Handler] = {}


def handles(method_id: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[method_id] = fn
        return fn

    return register
