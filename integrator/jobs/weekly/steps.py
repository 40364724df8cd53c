"""A step of a weekly-setup apply: one request and what to record when its answer comes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from googleapiclient.http import HttpRequest
from sqlalchemy.orm import Session

from integrator.jobs.plan import Action
from integrator.providers.errors import Fatal, ProviderError
from integrator.providers.google.client import ItemResult

Handler = Callable[[Session, Action, ItemResult[int]], None]


@dataclass
class Step:
    action: Action
    request: HttpRequest
    handle: Handler


def exists(err: ProviderError | None) -> bool:
    return isinstance(err, Fatal) and (err.status == 409 or err.reason in ("ALREADY_EXISTS", "duplicate"))


def gone(err: ProviderError | None) -> bool:
    return isinstance(err, Fatal) and err.status == 404


def already_member(err: ProviderError | None) -> bool:
    """Classroom's answer to an invitation for someone who already has that role in the course:
    400 FAILED_PRECONDITION (invitations.create), not ALREADY_EXISTS, which means a pending
    invitation. The same status also covers a disabled account, so the caller looks the student up."""
    return isinstance(err, Fatal) and err.status == 400 and err.reason == "FAILED_PRECONDITION"
