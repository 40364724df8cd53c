"""A step of a weekly-setup apply: one request and what to record when its answer comes.

A stage is a *lane*: a generator that yields the steps it can send now (a :class:`Wave`) and
is resumed once every step of the wave has been answered and recorded; what it yields next may
depend on those answers (a course before its topics, a topic before its coursework). The lanes
run side by side through per-quota-bucket queues (integrator.jobs.weekly.buckets).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
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


@dataclass
class Wave:
    """Steps a lane sends together; `retry=False` for creates without an idempotency key (only a
    request the service never acted on, `never_reached`, is sent again)."""

    steps: list[Step]
    retry: bool = True


Lane = Generator[Wave, None, None]


def exists(err: ProviderError | None) -> bool:
    return isinstance(err, Fatal) and (err.status == 409 or err.reason in ("ALREADY_EXISTS", "duplicate"))


def gone(err: ProviderError | None) -> bool:
    return isinstance(err, Fatal) and err.status == 404


def already_member(err: ProviderError | None) -> bool:
    """Classroom's answer to an invitation for someone who already has that role in the course:
    400 FAILED_PRECONDITION (invitations.create), not ALREADY_EXISTS, which means a pending
    invitation. The same status also covers a disabled account, so the caller looks the student up."""
    return isinstance(err, Fatal) and err.status == 400 and err.reason == "FAILED_PRECONDITION"
