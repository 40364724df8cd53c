"""The shared sandbox machinery seen through the Google half: determinism, threads, the clock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from integrator.sandbox import Sandbox
from integrator.sandbox.core import SandboxClock
from tests.sandbox.conftest import COACH, GoogleSandbox

FOLDER = "application/vnd.google-apps.folder"


def course_ids(google: GoogleSandbox) -> list[str]:
    classroom = google.service("classroom")
    return [
        classroom.courses().create(body={"name": f"R{n}", "ownerId": "me"}).execute()["id"] for n in range(3)
    ]


def test_same_seed_gives_the_same_ids_after_reset(sandbox: Sandbox) -> None:
    def fresh_run() -> list[str]:
        sandbox.reset()
        sandbox.google.add_user(COACH, "Olli Ohjaaja")
        return course_ids(GoogleSandbox(sandbox, sandbox.google.service_account_info()))

    assert fresh_run() == fresh_run()


def test_concurrent_clients_are_served_without_losing_writes(google: GoogleSandbox) -> None:
    def make_folders(worker: int) -> list[str]:
        drive = google.service("drive")  # one client per thread: httplib2 is not thread-safe
        return [
            drive.files().create(body={"name": f"w{worker}-{n}", "mimeType": FOLDER}).execute()["id"]
            for n in range(5)
        ]

    with ThreadPoolExecutor(max_workers=6) as pool:
        made = [fid for chunk in pool.map(make_folders, range(6)) for fid in chunk]
    assert len(set(made)) == 30
    assert google.sb.state.log.counts()["google drive files.create"] == 30


def test_clock_moves_only_when_told_and_refuses_naive_times() -> None:
    clock = SandboxClock()
    start = clock.now()
    assert clock.advance(timedelta(days=1)) == start + timedelta(days=1)
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 1, 1, 9, 0))  # noqa: DTZ001 - the point of the test
    clock.reset()
    assert clock.now() == start


def test_fault_pattern_repeats_after_reset_whatever_ids_were_made(sandbox: Sandbox) -> None:
    def pattern(extra_ids: int) -> list[bool]:
        sandbox.reset()
        for _ in range(extra_ids):
            sandbox.google.new_id()
        sandbox.state.faults.inject(vendor="google", rate=0.3, status=503)
        return [sandbox.state.faults.pick("google", "/drive/drive/v3/files", "GET") is not None for _ in range(30)]

    assert pattern(0) == pattern(7)
