"""A paced sender does not hold a worker's slot while it waits for its mailbox (issue 16).

One `integrator worker` running one job at a time, three organisations each with 5 letters and
a mailbox allowed 2 a minute. Each letters job sends the burst its mailbox allows, then frees the
slot and defers its continuation to when the mailbox may send again: the three mailboxes send
their first bursts in the same minute, then the rest, each letter once. (Before, one
organisation's job slept through its whole queue while the others' jobs waited for the slot.)
The worker's clock runs 10 times faster than the wall clock (`--sandbox-speed`): its pacing sleeps
and its continuations' scheduled times are on that clock, so a minute of pacing is 6 wall seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from integrator.domain.types import JobStatus, OutboxStatus
from integrator.jobs.notify.letters import letter_subject
from integrator.jobs.queue import Runtime, build_app, fire
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import JobRun, OutboxMessage
from tests.conftest import POSTGRES_URL
from tests.jobs.national_world import NationalWorld, sender
from tests.jobs.test_worker_postgres import NIGHT, THURSDAY, pg_store, queue_counts  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ORGS, CLIENTS, PER_MINUTE, SPEED = 3, 5, 2, 10


@pytest.fixture
def world(pg_store: Store, tmp_path: Path) -> Iterator[NationalWorld]:  # noqa: F811
    with Sandbox(start_time=NIGHT) as sb:
        yield NationalWorld.build(sb, pg_store, POSTGRES_URL or "", tmp_path, orgs=ORGS, clients=CLIENTS,
                                  per_minute=PER_MINUTE, jobs={"engine": "procrastinate"},
                                  weeks=("2026-W03", "2026-W04"))


def test_one_slot_serves_every_mailbox_while_each_waits_for_its_pace(world: NationalWorld) -> None:
    w = world
    w.sb.state.clock.set(THURSDAY)
    log = w.config_path.parent / "worker.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "integrator", "worker", "--config", str(w.config_path), "--concurrency", "1",
             "--sandbox-clock", w.sb.google_url, "--sandbox-speed", str(SPEED), "--log-level", "WARNING"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=err)
    try:
        fire_letters(w)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            counts = queue_counts(w.store)
            if counts["integrator.weekly_letters succeeded"] == ORGS and not counts["todo"] and not counts["doing"]:
                break
            assert proc.poll() is None, log.read_text()[-2000:]
            time.sleep(0.2)
        else:
            raise AssertionError(f"letters not sent in time: {queue_counts(w.store)}\n{log.read_text()[-2000:]}")
        order = [m.sender for m in w.sb.sent_mail() if m.subject == letter_subject("2026-W04")]
        # Every mailbox's first burst (its 2 a minute) before any mailbox's second one.
        assert Counter(order[:ORGS * PER_MINUTE]) == {sender(k): PER_MINUTE for k in w.orgs}, order
        assert Counter(order) == {sender(k): CLIENTS for k in w.orgs}  # each letter once
        assert len(set(m.to[0] for m in w.sb.sent_mail())) == ORGS * CLIENTS
        # 5 letters at 2 a minute: a burst now, after one minute and after two; each by its own
        # continuation, which held the slot only while it sent.
        assert counts["integrator.send succeeded"] == ORGS * 2 and not counts["failed"]
        with w.store.session() as s:
            assert not s.scalar(select(OutboxMessage.id).where(OutboxMessage.status != OutboxStatus.SENT))
            runs = Counter(s.scalars(select(JobRun.status).where(JobRun.kind == "notify_send")))
            assert runs == {JobStatus.SUCCEEDED: ORGS * 3}
            # The continuations were deferred a minute apart on the worker's clock (6 s of wall time).
            gaps = [float(g) for g, in s.execute(text(
                "SELECT extract(epoch FROM j.scheduled_at - e.at) FROM procrastinate_jobs j "
                "JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred' "
                "WHERE j.task_name = 'integrator.send'"))]
        assert len(gaps) == ORGS * 2 and all(4.0 < g <= 6.2 for g in gaps), gaps
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def fire_letters(w: NationalWorld) -> None:
    """Thursday's periodic firing of the letters, for every organisation, as a worker defers it."""
    app = build_app(w.db_url, Runtime(w.store, w.settings))

    async def go() -> None:
        async with app.open_async():
            assert await fire(app, "weekly_letters", int(THURSDAY.timestamp())) == ORGS

    asyncio.run(go())
