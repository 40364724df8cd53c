"""The job engines' seam without a database server: which engine runs where, and the worker's
periodic tasks (local times in UTC cron, per organisation). The workers themselves run on
PostgreSQL in test_worker_postgres.py."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from integrator.cli import cli
from integrator.config import Settings
from integrator.jobs.queue import (
    EngineError,
    Runtime,
    _is_due_local,
    build_app,
    conninfo,
    local_crons,
    task_name,
)
from integrator.store.db import Store

PG = "postgresql+psycopg://integrator@db.example.fi/integrator"
SETTINGS = Settings.model_validate({
    "jobs": {"engine": "procrastinate"},
    "schedule": {"nightly_sync": "02:00", "weekly_letter": {"weekday": "to", "time": "12:00"}},
    "organisations": [{"key": "raisio", "name": "Raisio"}, {"key": "naantali", "name": "Naantali"}],
})


def write_config(tmp_path: Path, engine: str, database_url: str) -> Path:
    path = tmp_path / "integrator.yaml"
    path.write_text(yaml.safe_dump({"database_url": database_url, "jobs": {"engine": engine},
                                    "organisations": [{"key": "raisio", "name": "Raisio"}]}))
    return path


def test_serve_refuses_the_procrastinate_engine_on_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEGRATOR_SECRET_KEY", "x" * 40)
    monkeypatch.delenv("INTEGRATOR_DATABASE_URL", raising=False)
    config = write_config(tmp_path, "procrastinate", f"sqlite:///{tmp_path / 'integrator.db'}")
    result = CliRunner().invoke(cli, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "jobs.engine: procrastinate needs PostgreSQL; the database is sqlite" in result.output
    assert not (tmp_path / "integrator.db").exists()  # refused before anything was written


@pytest.mark.parametrize("engine, url, says", [
    ("procrastinate", "sqlite:///{tmp}/i.db", "procrastinate needs PostgreSQL"),
    ("embedded", PG, "jobs.engine is 'embedded': `integrator serve` runs the jobs"),
])
def test_the_worker_runs_only_the_procrastinate_engine_on_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     engine: str, url: str, says: str) -> None:
    monkeypatch.delenv("INTEGRATOR_DATABASE_URL", raising=False)
    config = write_config(tmp_path, engine, url.format(tmp=tmp_path))
    result = CliRunner().invoke(cli, ["worker", "--config", str(config)])
    assert result.exit_code == 2 and says in result.output


def test_worker_schema_needs_apply_and_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTEGRATOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("INTEGRATOR_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert "add --apply" in CliRunner().invoke(cli, ["worker", "--database-url", PG, "schema"]).output
    result = CliRunner().invoke(cli, ["worker", "--database-url", "sqlite:///x.db", "schema", "--apply"])
    assert result.exit_code == 2 and "procrastinate needs PostgreSQL" in result.output


def test_conninfo_is_the_libpq_form_of_the_sqlalchemy_url() -> None:
    assert conninfo(PG) == "postgresql://integrator@db.example.fi/integrator"
    with pytest.raises(EngineError):
        conninfo("sqlite:///var/integrator.db")


def test_a_local_time_is_registered_once_per_utc_offset_of_the_zone() -> None:
    """Helsinki is UTC+2 in winter and UTC+3 in summer: 02:00 there is 00:00 or 23:00 UTC (the
    day before), Thursday 12:00 is 10:00 or 09:00 UTC."""
    assert sorted(local_crons(SETTINGS, time(2, 0), None, 2026)) == [("0 0 * * *", "utc+120"),
                                                                      ("0 23 * * *", "utc+180")]
    assert sorted(local_crons(SETTINGS, time(12, 0), 4, 2026)) == [("0 10 * * 4", "utc+120"),
                                                                    ("0 9 * * 4", "utc+180")]
    assert local_crons(SETTINGS, time(1, 30), 1, 2026)[1] == ("30 22 * * 0", "utc+180")  # Sunday in UTC


def test_only_the_registration_of_the_offset_in_force_runs_the_job() -> None:
    winter_night = int(datetime(2026, 1, 14, 0, 0, tzinfo=UTC).timestamp())  # 02:00 in Helsinki
    summer_cron_in_winter = int(datetime(2026, 1, 13, 23, 0, tzinfo=UTC).timestamp())  # 01:00 there
    summer_night = int(datetime(2026, 6, 9, 23, 0, tzinfo=UTC).timestamp())  # 02:00 in Helsinki
    assert _is_due_local(SETTINGS, "nightly_sync", winter_night)
    assert not _is_due_local(SETTINGS, "nightly_sync", summer_cron_in_winter)
    assert _is_due_local(SETTINGS, "nightly_sync", summer_night)
    thursday_noon = int(datetime(2026, 1, 15, 10, 0, tzinfo=UTC).timestamp())
    assert _is_due_local(SETTINGS, "weekly_letters", thursday_noon)
    assert not _is_due_local(SETTINGS, "weekly_letters", thursday_noon + 7 * 3600)


def test_a_worker_registers_each_job_per_organisation_with_its_locks(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'unused.db'}")  # the app is never opened here
    app = build_app(PG, Runtime(store, SETTINGS))
    periodic = {(name, pid): pt for (name, pid), pt in app.periodic_registry.periodic_tasks.items()}
    nightly = {pid: pt for (name, pid), pt in periodic.items() if name == task_name("nightly_sync")}
    assert set(nightly) == {"raisio@utc+120", "raisio@utc+180", "naantali@utc+120", "naantali@utc+180"}
    opts = nightly["raisio@utc+120"].configure_kwargs
    assert (opts["lock"], opts["queueing_lock"], opts["task_kwargs"]) == (
        "nightly_sync:raisio", "nightly_sync:raisio", {"org_key": "raisio"})
    reminders = {pid: pt.cron for (name, pid), pt in periodic.items() if name == task_name("reminders")}
    assert reminders == {"raisio": "*/5 * * * *", "naantali": "*/5 * * * *"}
    # The weekly setup is off by default; the stalled-job sweep runs once for all workers.
    assert not any(name == task_name("weekly_setup") for name, _ in periodic)
    assert ("integrator.retry_stalled_jobs", "integrator") in periodic
    store.dispose()
