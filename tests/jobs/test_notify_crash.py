"""The week under SIGKILL at random points and 10% injected faults: once and only once.

The job runs as a real subprocess against the sandbox in this process; it is killed at random
moments, run again, and finally run to the end. Then every meeting exists once, every message
was sent at most once, and all but the ones flagged "uncertain" exactly once.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time as clock
from collections import Counter
from datetime import time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from integrator.domain.types import MeetingProvider, MessageKind, OutboxStatus, WorkDayStatus
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import ExternalResource, OutboxMessage, WorkDay
from tests.jobs import notify_world as nw
from tests.jobs.notify_world import GroupSpec, World, monday

sandbox_server, sb = nw.sandbox_server, nw.sb  # fixtures

GROUPS = [GroupSpec("tiistai", [2, 4], MeetingProvider.TEAMS, 8),
          GroupSpec("keskiviikko", [3], MeetingProvider.MEET, 6),
          GroupSpec("perjantai", [5], MeetingProvider.TEAMS, 6, start=time(13, 0), end=time(14, 0))]
THURSDAY = monday() + timedelta(days=3)
ROOT = Path(__file__).resolve().parents[2]


def start_week(w: World) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.jobs.notify_world", str(w.config_path)],
                            cwd=ROOT, env=w.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def live_events(sb: Sandbox, coordinator: str) -> Counter[str]:
    """Start instants of meetings that are not cancelled, on both vendors."""
    out: Counter[str] = Counter()
    for e in sb.graph.events.values():
        if not e.data.get("isCancelled"):
            out[e.start.isoformat()] += 1
    for e in sb.google.calendar.events.get(coordinator, {}).values():
        if e.get("status") != "cancelled":
            out[e["start"]["dateTime"]] += 1
    return out


@pytest.mark.slow
def test_a_week_survives_kills_and_faults_with_no_duplicate_and_no_reminder_for_a_cancelled_day(
        sb: Sandbox, store: Store, db_url: str, tmp_path: Path) -> None:
    w = World.build(sb, store, db_url, tmp_path, groups=GROUPS)
    with store.session() as s:
        cancelled = s.scalar(select(WorkDay).where(WorkDay.day == THURSDAY))
        assert cancelled is not None
        cancelled.status, cancelled.cancelled_reason = WorkDayStatus.CANCELLED, "ohjaaja koulutuksessa"
        cancelled_id = cancelled.id
    # The sandbox's Exchange limit counts per minute of the sandbox clock, which this test does not
    # move; pacing against that limit has its own test (test_outbox).
    sb.state.quotas.exchange_messages_per_min = None
    sb.state.faults.inject(vendor="*", rate=0.1, status=429, retry_after=0)
    sb.state.faults.inject(vendor="graph", path_glob="*/events*", rate=0.1, status=503, retry_after=0)
    sb.state.faults.inject(vendor="google", path_glob="*/events*", rate=0.1, status=503, retry_after=0)
    rng = random.Random(7)
    kills = 0
    for _ in range(6):
        proc = start_week(w)
        clock.sleep(rng.uniform(0.8, 3.0))
        if proc.poll() is None:
            proc.kill()
            kills += 1
        proc.communicate(timeout=30)
    final = start_week(w)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()[-2000:]
    assert kills >= 3, "the kills should land while the job runs"

    # Meetings: one live event per work day that takes place, none for the cancelled day.
    events = live_events(sb, w.coordinator)
    assert sorted(events.values()) == [1, 1, 1]
    with store.session() as s:
        rows = {r.local_key: r.status for r in s.scalars(select(ExternalResource))}
        messages = list(s.scalars(select(OutboxMessage)))
    assert rows.get(f"meeting:tiistai:{THURSDAY.isoformat()}", "removed") == "removed"
    # Messages: each at most once; all sent exactly once except those flagged uncertain by a kill.
    mail = Counter((m.to[0], m.subject) for m in sb.sent_mail())  # unique per message in this week
    assert max(mail.values()) == 1, "no message was sent twice"
    statuses = Counter(m.status for m in messages)
    odd = [(m.key, m.status, m.not_before, m.attempts, m.last_error) for m in messages
           if m.status not in (OutboxStatus.SENT, OutboxStatus.UNCERTAIN)]
    assert set(statuses) <= {OutboxStatus.SENT, OutboxStatus.UNCERTAIN}, odd
    assert statuses[OutboxStatus.UNCERTAIN] <= kills
    for m in messages:
        copies = mail[(m.to_address, m.subject)]
        assert copies == 1 if m.status == OutboxStatus.SENT else copies <= 1, m.key
    assert sum(mail.values()) <= len(messages), "nothing was sent that the outbox does not know"
    letters = [m for m in messages if m.kind == MessageKind.WEEKLY_LETTER]
    reminders = [m for m in messages if m.kind == MessageKind.REMINDER]
    assert len(letters) == 20
    assert len(reminders) == 8 + 6 + 6  # Tuesday, Wednesday, Friday; none for the cancelled Thursday
    assert all(m.work_day_id != cancelled_id for m in reminders)
    assert json.loads(out.decode().strip().splitlines()[-1])["sent"] >= 0
    print(f"kills={kills} uncertain={statuses[OutboxStatus.UNCERTAIN]} sent={statuses[OutboxStatus.SENT]}")
