"""Job runs and the database lock that keeps two runs of one job apart, across processes."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from integrator.domain.types import JobStatus
from integrator.jobs.locks import JobAlreadyRunning, job_lock
from integrator.jobs.runs import RunRecorder
from integrator.store.db import Store
from integrator.store.models import JobLock, JobRun
from integrator.store.types import utcnow


def test_a_second_run_of_the_same_job_is_refused_while_the_first_holds_the_lock(any_store: Store) -> None:
    with job_lock(any_store, "nightly_sync:raisio"):
        with pytest.raises(JobAlreadyRunning, match="already running"), job_lock(any_store, "nightly_sync:raisio"):
            pass
        with job_lock(any_store, "nightly_sync:naantali"):
            pass  # another organisation's job is not blocked
    with job_lock(any_store, "nightly_sync:raisio"):
        pass  # released after the block


def test_the_lock_holds_across_processes(any_store: Store) -> None:
    code = (
        "import sys\n"
        "from integrator.store.db import Store\n"
        "from integrator.jobs.locks import job_lock, JobAlreadyRunning\n"
        "try:\n"
        "    with job_lock(Store(sys.argv[1]), 'weekly_setup:raisio'):\n"
        "        print('got it')\n"
        "except JobAlreadyRunning:\n"
        "    print('refused')\n"
    )
    with job_lock(any_store, "weekly_setup:raisio"):
        out = subprocess.run([sys.executable, "-c", code, any_store.url], capture_output=True, text=True,
                             check=True, timeout=60)
    assert out.stdout.strip() == "refused"


def test_a_lock_left_by_a_killed_process_expires(any_store: Store) -> None:
    with any_store.session() as s:
        s.add(JobLock(name="notify:raisio", holder="dead-host:1", acquired_at=utcnow() - timedelta(hours=3),
                      expires_at=utcnow() - timedelta(hours=1)))
    with job_lock(any_store, "notify:raisio"):
        with any_store.session() as s:
            assert s.scalar(select(JobLock.holder).where(JobLock.name == "notify:raisio")) != "dead-host:1"


def test_run_recorder_keeps_counts_errors_and_progress(any_store: Store) -> None:
    rec = RunRecorder.start(any_store, "weekly_setup", organisation_id=None, params={"week": "2026-W49"})
    rec.count("create:course")
    rec.count("create:course")
    rec.progress(1, 3)
    rec.error("folder:K-0007", "Drive answered 404: parent folder not found")
    assert rec.finish() is JobStatus.PARTIAL
    with any_store.session() as s:
        run = s.get(JobRun, rec.run_id)
        assert run is not None
        assert run.counts == {"create:course": 2}
        assert (run.progress_done, run.progress_total) == (1, 3)
        assert run.errors == [{"item": "folder:K-0007", "error": "Drive answered 404: parent folder not found",
                               "kind": "fatal"}]
        assert run.finished_at is not None and run.status is JobStatus.PARTIAL


def test_a_lock_left_by_a_sigkilled_process_on_this_host_is_taken_over_at_once(any_store: Store) -> None:
    code = (
        "import sys, time\n"
        "from integrator.store.db import Store\n"
        "from integrator.jobs.locks import job_lock\n"
        "with job_lock(Store(sys.argv[1]), 'nightly_sync:raisio'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code, any_store.url], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
            with pytest.raises(JobAlreadyRunning):  # alive: refused
                with job_lock(any_store, "nightly_sync:raisio"):
                    pass
        finally:
            proc.kill()
            proc.wait(timeout=30)
    with job_lock(any_store, "nightly_sync:raisio"):  # dead: taken over without waiting for the TTL
        with any_store.session() as s:
            held = s.scalar(select(JobLock.holder).where(JobLock.name == "nightly_sync:raisio"))
            assert f":{__import__('os').getpid()}:" in held  # host:pid:run token


def test_a_run_whose_process_was_killed_is_shown_as_interrupted_not_running(any_store: Store) -> None:
    code = (
        "import sys, time\n"
        "from integrator.store.db import Store\n"
        "from integrator.jobs.runs import RunRecorder\n"
        "rec = RunRecorder.start(Store(sys.argv[1]), 'weekly_setup', organisation_id=None, params={})\n"
        "print(rec.run_id, flush=True)\n"
        "time.sleep(60)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code, any_store.url], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        run_id = int(proc.stdout.readline())
        proc.kill()
        proc.wait(timeout=30)
    RunRecorder.start(any_store, "weekly_setup", organisation_id=None, params={})
    with any_store.session() as s:
        run = s.get(JobRun, run_id)
        assert run is not None and run.status is JobStatus.FAILED
        assert run.errors[-1]["kind"] == "interrupted" and run.finished_at is not None


def test_vendor_error_texts_are_scrubbed_before_they_reach_the_job_history(store: Store) -> None:
    rec = RunRecorder.start(store, "weekly_setup", organisation_id=None, params={})
    rec.error("enrolment:K-0003", "HTTP 403: Delegation denied for liisa.virtanen@example.fi")
    rec.finish()
    with store.session() as s:
        run = s.get(JobRun, rec.run_id)
        assert run is not None
        assert "liisa.virtanen" not in run.errors[0]["error"]
        assert run.errors[0]["error"].startswith("HTTP 403: Delegation denied for ")
        assert run.errors[0]["item"] == "enrolment:K-0003"
