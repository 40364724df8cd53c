"""The distributed engine on a real PostgreSQL (issue 16): three `integrator worker` processes,
thirty organisations on one sandbox tenant (each its own sending mailbox, one group of three).

One firing of the nightly sync and of the Thursday letters for every organisation, deferred as
the periodic tasks do (twice: the second defers nothing), runs exactly once per organisation;
then a worker is SIGKILLed while it sends an organisation's letters (a burst within Exchange's 30
a minute, each request slowed to half a second): another worker takes the job up once the dead one's heartbeat is stale, and every
client still has exactly one letter, and the attendance register is unchanged.
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
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from integrator.domain.types import JobStatus, OutboxStatus
from integrator.jobs.notify.letters import letter_subject
from integrator.jobs.queue import Runtime, apply_schema, build_app, fire
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import AttendanceDay, Client, JobLock, JobRun, Organisation, OutboxMessage
from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.jobs.national_world import NationalWorld, sender

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ORGS, CLIENTS, WORKERS = 30, 3, 3
NIGHT = datetime(2026, 1, 14, 0, 0, tzinfo=UTC)  # Wednesday 02:00 in Helsinki, after Tuesday's meetings
THURSDAY = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)  # 12:00 in Helsinki: letters about 2026-W04
NEXT_THURSDAY = datetime(2026, 1, 22, 10, 0, tzinfo=UTC)  # letters about 2026-W05
# Heartbeats every second; a worker silent for 3 s is dead; its jobs are handed on every 2 s.
JOBS = {"engine": "procrastinate", "heartbeat_seconds": 1, "stalled_after_seconds": 3, "stalled_check_seconds": 2}


@pytest.fixture
def pg_store() -> Iterator[Store]:
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server given (set INTEGRATOR_TEST_POSTGRES_URL; .ci/run starts one)")
    _reset_postgres(POSTGRES_URL)
    upgrade(POSTGRES_URL)
    assert apply_schema(POSTGRES_URL) is True
    assert apply_schema(POSTGRES_URL) is False  # `worker schema --apply` is idempotent
    store = Store(POSTGRES_URL)
    yield store
    store.dispose()


@pytest.fixture
def world(pg_store: Store, tmp_path: Path) -> Iterator[NationalWorld]:
    with Sandbox(start_time=NIGHT) as sb:
        # Exchange's published 30 messages a minute per mailbox, on both sides: the sandbox refuses
        # a 31st in one (sandbox) minute and each organisation's sender paces itself to it.
        assert sb.state.quotas.exchange_messages_per_min == 30
        yield NationalWorld.build(sb, pg_store, POSTGRES_URL or "", tmp_path, orgs=ORGS, clients=CLIENTS,
                                  jobs=JOBS, weeks=("2026-W03", "2026-W04", "2026-W05"))


def start_workers(w: NationalWorld, n: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    for i in range(n):
        with (w.config_path.parent / f"worker{i}.log").open("wb") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "integrator", "worker", "--config", str(w.config_path), "--concurrency", "4",
                 "--sandbox-clock", w.sb.google_url, "--log-level", "WARNING"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log))
    return procs


def worker_logs(w: NationalWorld) -> str:
    return "\n".join(p.read_text()[-1500:] for p in sorted(w.config_path.parent.glob("worker*.log")))


def fire_all(w: NationalWorld, kind: str, at: datetime) -> None:
    """The periodic deferrer's firing of `kind` at `at`, for every organisation, twice."""
    app = build_app(w.db_url, Runtime(w.store, w.settings))

    async def go() -> None:
        async with app.open_async():
            assert await fire(app, kind, int(at.timestamp())) == ORGS
            await fire(app, kind, int(at.timestamp()))  # another worker's deferrer: deduplicated

    asyncio.run(go())


def queue_counts(store: Store) -> Counter[str]:
    """Jobs by status, and by "task status" (e.g. "integrator.nightly_sync succeeded")."""
    with store.session() as s:
        rows = s.execute(text("SELECT task_name, status, count(*) FROM procrastinate_jobs "
                              "WHERE task_name <> 'integrator.retry_stalled_jobs' GROUP BY task_name, status"))
        out: Counter[str] = Counter()
        for task, status, n in rows:
            out[str(status)] += int(n)
            out[f"{task} {status}"] += int(n)
        return out


def wait_until_done(w: NationalWorld, procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> Counter[str]:
    store = w.store
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = queue_counts(store)
        if not counts["todo"] and not counts["doing"]:
            return counts
        for p in procs:
            if p.poll() not in (None, -signal.SIGKILL):
                raise AssertionError(f"a worker exited: {worker_logs(w)}")
        time.sleep(0.3)
    raise AssertionError(f"jobs still waiting after {timeout} s: {queue_counts(store)}\n{worker_logs(w)}")


def runs_per_org(store: Store, kind: str, since: datetime,
                 statuses: tuple[JobStatus, ...] = (JobStatus.SUCCEEDED,)) -> Counter[str]:
    with store.session() as s:
        rows = s.execute(select(Organisation.key, JobRun.status).join(JobRun, JobRun.organisation_id == Organisation.id)
                         .where(JobRun.kind == kind, JobRun.started_at >= since))
        return Counter(key for key, status in rows if status in statuses)


def register(store: Store) -> list[tuple[int, int, str, int, str | None]]:
    with store.session() as s:
        return sorted((a.work_day_id, a.client_id, str(a.computed_status), a.minutes, a.override_status)
                      for a in s.scalars(select(AttendanceDay)))


def letters_per_recipient(w: NationalWorld, week: str) -> Counter[str]:
    return Counter(m.to[0] for m in w.sb.sent_mail() if m.subject == letter_subject(week))


def test_three_workers_run_every_firing_once_and_take_over_a_killed_workers_job(world: NationalWorld) -> None:
    w, store = world, world.store
    started = datetime.now(UTC)
    t0 = time.monotonic()
    procs = start_workers(w, WORKERS)
    try:
        phases = {"workers_started": round(time.monotonic() - t0, 1)}
        fire_all(w, "nightly_sync", NIGHT)
        # (The workers' own deferrers add the reminders' latest firing: nothing is due for them.)
        assert wait_until_done(w, procs)["integrator.nightly_sync succeeded"] == ORGS
        phases["nightly"] = round(time.monotonic() - t0, 1)
        w.sb.state.clock.set(THURSDAY)
        fire_all(w, "weekly_letters", THURSDAY)
        assert wait_until_done(w, procs)["integrator.weekly_letters succeeded"] == ORGS
        # One run per organisation and firing, on every organisation.
        assert runs_per_org(store, "nightly_sync", started) == {k: 1 for k in w.orgs}
        assert runs_per_org(store, "notify_send", started) == {k: 1 for k in w.orgs}
        with store.session() as s:
            clients = {c.email for c in s.scalars(select(Client))}
        assert letters_per_recipient(w, "2026-W04") == {e: 1 for e in clients}
        phases["letters"] = round(time.monotonic() - t0, 1)
        before = register(store)
        assert len(before) == ORGS * CLIENTS  # Tuesday's day of every client

        # The kill: the worker sending an organisation's letters, after its first letter went out.
        w.sb.state.clock.set(NEXT_THURSDAY)
        killed_at = datetime.now(UTC)
        w.sb.state.latency_ms = 500  # a mailbox sends its three letters at once: make the burst last
        fire_all(w, "weekly_letters", NEXT_THURSDAY)
        victim, org, victims = kill_a_sender(w, procs)
        w.sb.state.latency_ms = 0
        phases["killed"] = round(time.monotonic() - t0, 1)
        done = wait_until_done(w, procs, timeout=60)
        phases["taken_over"] = round(time.monotonic() - t0, 1)
        assert done["integrator.weekly_letters succeeded"] == 2 * ORGS and not done["failed"]
        assert victim.poll() == -signal.SIGKILL
        with store.session() as s:
            uncertain = {m.to_address for m in s.scalars(select(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.UNCERTAIN))}
            queued = s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING))))
            held = list(s.scalars(select(JobLock.name)))
        # No duplicate: one letter each. The letter in flight at the kill (delivered or not: the dead
        # worker never recorded it) is "uncertain" for the coordinators, and never sent again.
        got = letters_per_recipient(w, "2026-W05")
        assert max(got.values()) == 1 and set(got) <= clients
        assert {e for e in clients if got[e] != 1} <= uncertain
        # At most one per organisation whose sender ran in the killed worker (4 jobs at once).
        in_flight = Counter(e.split("-")[0] for e in uncertain)
        assert set(in_flight) <= victims and max(in_flight.values(), default=1) == 1
        print(f"phases: {phases}; uncertain after the kill: {len(uncertain)}")
        assert queued == 0 and held == []
        # The killed organisation's letters were finished by another worker's run (partial when it
        # found the letter in flight at the kill and reported it uncertain).
        assert runs_per_org(store, "notify_send", killed_at, (JobStatus.SUCCEEDED, JobStatus.PARTIAL))[org] >= 1
        assert register(store) == before
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def kill_a_sender(w: NationalWorld, procs: list[subprocess.Popen[bytes]]) -> tuple[subprocess.Popen[bytes], str,
                                                                                  set[str]]:
    """SIGKILL the worker holding an organisation's sender lease once that sender has sent one
    letter of the week (and has more to send: each request takes half a second). The worker, that
    organisation and every organisation whose sender the worker ran."""
    by_pid = {p.pid: p for p in procs}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sent = Counter(m.sender for m in w.sb.sent_mail() if m.subject == letter_subject("2026-W05"))
        with w.store.session() as s:
            holders = [(h.name, h.holder) for h in s.scalars(select(JobLock).where(JobLock.name.like("notify:send:%")))]
        for name, holder in holders:
            org = name.rsplit(":", 1)[1]
            pid = int(holder.split(":")[1])
            if pid in by_pid and sent[sender(org)] == 1:
                by_pid[pid].kill()
                by_pid[pid].wait(timeout=10)
                return by_pid[pid], org, {n.rsplit(":", 1)[1] for n, h in holders if f":{pid}:" in h}
        time.sleep(0.05)
    raise AssertionError("no worker was caught sending")


def test_the_page_only_queues_the_weekly_setup_for_a_worker(pg_store: Store) -> None:
    """jobs.engine: procrastinate: the web process runs no job thread; the apply is a queued job
    under the weekly setup's lock of the organisation, and the page says it waits for a worker."""
    import threading

    from integrator.config import Settings
    from integrator.web.background import ApplyFailed, start_apply

    settings = Settings.model_validate({"jobs": {"engine": "procrastinate"},
                                        "organisations": [{"key": "raisio", "name": "Raisio"}]})
    with pytest.raises(ApplyFailed, match="queued .* no worker has started it yet"):
        start_apply(pg_store, settings, "2026-W04", org_key="raisio", group_key=None, actor="ohjaaja@example.fi",
                    wait_s=0.5, confirmed=["raisio:remove:x"])
    assert not [t for t in threading.enumerate() if t.name.startswith("weekly-setup-")]
    with pg_store.session() as s:
        job = s.execute(text("SELECT task_name, lock, status, args FROM procrastinate_jobs")).one()
    assert job[:3] == ("integrator.weekly_setup_apply", "weekly_setup:raisio", "todo")
    assert job[3]["week"] == "2026-W04" and job[3]["confirmed"] == ["raisio:remove:x"]
    assert job[3]["triggered_by"].startswith("web:ohjaaja@example.fi#")
