"""What the jobs make of a write whose answer was lost (the server applied it, then closed the
connection without a word): a message is UNCERTAIN for a person to check, never sent twice; a
coursework is found again by its marker, never created twice. The transport's side (one
arrival per write kind) is tests/providers/test_lost_answer.py.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from integrator.domain.types import JobStatus, OutboxStatus
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.sender import send_outbox
from integrator.providers.google.classroom import marker_of
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import ExternalResource, OutboxMessage
from tests.jobs import notify_world as nw
from tests.jobs import weekly_world as ww
from tests.jobs.notify_world import LETTER_DAY, TWO_GROUPS, World
from tests.jobs.weekly_world import WeeklyWorld

sandbox_server, sb = nw.sandbox_server, nw.sb  # fixtures

SEND_PATH = {"gmail": "*/messages/send", "graph": "*/sendMail"}


@pytest.mark.parametrize("via", ["gmail", "graph"])
def test_a_letter_whose_answer_is_lost_is_uncertain_and_delivered_once(
        via: str, sb: Sandbox, store: Store, db_url: str, tmp_path: Path) -> None:
    world = World.build(sb, store, db_url, tmp_path, groups=TWO_GROUPS, mail_via=via)
    queue_weekly_letters(world.store, world.settings, nw.ORG, nw.WEEK)
    lost = sb.state.faults.lose_answer(path_glob=SEND_PATH[via], http_method="POST", count=1)

    first = send_outbox(world.store, world.settings, LETTER_DAY)
    again = send_outbox(world.store, world.settings, LETTER_DAY + timedelta(hours=1))

    assert lost.fired == 1
    assert (first["sent"], first["uncertain"], again["sent"]) == (6, 1, 0)
    assert sorted(Counter(m.to[0] for m in sb.sent_mail()).values()) == [1] * 7, "every client got one letter"
    sends = [e for e in sb.state.log.items() if e.path.endswith(SEND_PATH[via].lstrip("*"))]
    assert len(sends) == 7, "the lost one went on the wire once"
    with store.session() as s:
        rows = Counter((m.status, (m.last_error or "").split(":")[0]) for m in s.scalars(select(OutboxMessage)))
    assert rows == {(OutboxStatus.SENT, ""): 6, (OutboxStatus.UNCERTAIN, "uncertain"): 1}


def _week_but_its_coursework(sb: Sandbox, store: Store, tmp_path: Path, policy: RetryPolicy) -> WeeklyWorld:
    """A set-up week whose coursework Classroom refused: the next run has only those creates
    to send, in one batch."""
    world = WeeklyWorld.build(sb, store, tmp_path, groups=1, clients_per_group=3)
    refuse = sb.state.faults.inject(vendor="google", path_glob="/classroom/v1/courses/*/courseWork",
                                    http_method="POST", rate=1.0, status=400)
    world.run_setup(policy)
    assert refuse.fired == 2  # the standard and the plain-language variant
    sb.state.faults.clear()
    sb.state.log.reset()
    return world


def coursework(world: WeeklyWorld) -> tuple[Counter[str], dict[str, tuple[str, str | None]]]:
    """How many coursework carry each of our markers in the tenant, and our rows (status, id) by key."""
    with world.sb.state.lock:
        markers = Counter(marker_of(w.get("description")) for works in world.sb.google.classroom.course_work.values()
                         for w in works.values())
    with world.store.session() as s:
        rows = {r.local_key: (r.status, r.external_id)
                for r in s.scalars(select(ExternalResource).where(ExternalResource.kind == "coursework"))}
    return markers, rows


def creates(sb: Sandbox) -> int:
    return sum(1 for e in sb.state.log.items() if e.operation == "courses.courseWork.create")


def test_a_coursework_batch_whose_answer_is_lost_is_found_by_its_marker_not_created_again(
        sb: Sandbox, store: Store, tmp_path: Path) -> None:
    world = _week_but_its_coursework(sb, store, tmp_path, ww.fast_policy())
    lost = sb.state.faults.lose_answer(vendor="google", path_glob="/classroom/batch", http_method="POST", count=1)

    status, errors = world.run_setup(ww.fast_policy())

    assert lost.fired == 1 and creates(sb) == 2, "each create went on the wire once"
    assert (status, errors) == (JobStatus.SUCCEEDED, [])
    markers, rows = coursework(world)
    assert sorted(markers.values()) == [1, 1], markers
    tenant_ids = {w for works in sb.google.classroom.course_work.values() for w in works}
    assert {status for status, _ in rows.values()} == {"active"} and {i for _, i in rows.values()} == tenant_ids


def test_when_it_cannot_look_in_the_same_run_the_pending_create_is_found_by_the_next_one(
        sb: Sandbox, store: Store, tmp_path: Path) -> None:
    once = RetryPolicy(max_attempts=1, sleep=lambda s: None)  # no second look within the run
    world = _week_but_its_coursework(sb, store, tmp_path, once)
    sb.state.faults.lose_answer(vendor="google", path_glob="/classroom/batch", http_method="POST", count=1)

    status, errors = world.run_setup(once)

    assert status == JobStatus.PARTIAL and len(errors) == 2
    assert all("will be looked for on the next run" in e for e in errors), errors
    markers, rows = coursework(world)
    assert sorted(markers.values()) == [1, 1] and {r for r, _ in rows.values()} == {"pending"}

    sb.state.log.reset()
    status, errors = world.run_setup(once)

    assert (status, errors) == (JobStatus.SUCCEEDED, [])
    assert creates(sb) == 0, "found by the marker, not created again"
    markers, rows = coursework(world)
    assert sorted(markers.values()) == [1, 1] and {r for r, _ in rows.values()} == {"active"}
