"""`integrator tenant check` on the sandbox: each Google check, and a fix hint for each failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from integrator.cli import cli
from integrator.config import OrganisationConfig
from integrator.domain.types import JobStatus
from integrator.providers.google.check import required_scopes, run_checks
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import JobRun

DOMAIN = "sandbox.example.fi"
ADMIN = f"admin@{DOMAIN}"
COACH = f"ohjaaja@{DOMAIN}"


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox(with_graph=False) as sb:
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Sandbox:
    server.reset()
    server.google.add_user(ADMIN, "Admin")
    server.google.add_user(COACH, "Olli Ohjaaja")
    return server


def org_config(sb: Sandbox, tmp_path: Path, *, scopes: list[str] | None = None,
               drive_members: list[str] | None = None) -> dict[str, Any]:
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sb.google.service_account_info(scopes)))
    drive_id = sb.google.create_shared_drive("Etätyötoiminta", drive_members if drive_members is not None else [ADMIN])
    return {"key": "raisio", "name": "Raision kaupunki",
            "google": {"domain": DOMAIN, "service_account": {"file": str(key)}, "admin_subject": ADMIN,
                       # letters via Gmail need their sender (config check)
                       "shared_drive_id": drive_id, "api_base_url": sb.google_url, "mail_sender": ADMIN},
            "staff": [{"email": COACH, "name": "Olli", "role": "coordinator"}],
            "groups": [{"key": "ti", "name": "Tiistai", "coordinator": COACH, "weekdays": ["ti"],
                        "meeting": {"start": "10:00", "end": "11:00", "provider": "meet"}}]}


def by_name(results: list[Any]) -> dict[str, Any]:
    return {r.name: r for r in results}


def test_a_correct_tenant_passes_every_google_check(sb: Sandbox, tmp_path: Path) -> None:
    results = by_name(run_checks(OrganisationConfig.model_validate(org_config(sb, tmp_path))))
    assert all(r.status == "ok" for r in results.values()), [r for r in results.values() if r.status != "ok"]
    assert {"google.key", "google.token", "google.classroom", "google.drive", "google.shared_drive"} <= set(results)
    assert "google.scope classroom.coursework.students" in results
    assert "google.coordinator ohjaaja@…" in results


def test_a_scope_missing_from_delegation_is_named_with_the_client_id_in_the_hint(sb: Sandbox,
                                                                                    tmp_path: Path) -> None:
    cfg = OrganisationConfig.model_validate(org_config(sb, tmp_path))
    wanted = [s for s in required_scopes(cfg) if not s.endswith("classroom.topics")]
    raw = org_config(sb, tmp_path, scopes=wanted)
    results = by_name(run_checks(OrganisationConfig.model_validate(raw)))
    scopes = {name: r.status for name, r in results.items() if name.startswith("google.scope")}
    assert [name for name, status in scopes.items() if status == "fail"] == ["google.scope classroom.topics"]
    # The Classroom probe asks for every Classroom scope, so it fails too: its hint is the
    # delegation's (with the client ID), never "enable the Classroom API", which is on.
    classroom = results["google.classroom"]
    assert classroom.status == "fail" and "domain-wide delegation" in classroom.hint
    assert "Enable the Google Classroom API" not in classroom.hint and "delegointia" in classroom.hint_fi
    assert results["google.drive"].status == "ok"
    assert results["google.classroom"].status == "fail"  # the Classroom service needs every Classroom scope
    client_id = json.loads((tmp_path / "key.json").read_text())["client_id"]
    assert client_id in results["google.scope classroom.topics"].hint
    assert "domain-wide delegation" in results["google.scope classroom.topics"].hint


def test_a_shared_drive_without_the_admin_as_member_fails_with_a_hint(sb: Sandbox, tmp_path: Path) -> None:
    results = by_name(run_checks(OrganisationConfig.model_validate(org_config(sb, tmp_path, drive_members=[]))))
    assert results["google.shared_drive"].status == "fail"
    assert "Manage members" in results["google.shared_drive"].hint


def test_the_command_prints_each_check_and_fails_when_one_fails(sb: Sandbox, tmp_path: Path) -> None:
    raw = org_config(sb, tmp_path, drive_members=[])
    config = tmp_path / "integrator.yaml"
    config.write_text(yaml.safe_dump({"organisations": [raw]}, allow_unicode=True))
    result = CliRunner().invoke(cli, ["tenant", "check", "--config", str(config), "--org", "raisio"])
    assert result.exit_code == 1, result.output
    assert "[  OK ] google.token" in result.output
    assert "[ FAIL] google.shared_drive" in result.output
    assert "fix: Add admin@sandbox.example.fi to the shared drive" in result.output
    assert "microsoft" in result.output  # the Microsoft side is reported too (skipped: not configured)


def test_the_command_records_the_check_as_a_job_run_when_the_database_is_set_up(sb: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "integrator.yaml"
    config.write_text(yaml.safe_dump({"organisations": [org_config(sb, tmp_path, drive_members=[])]},
                                     allow_unicode=True))
    url = f"sqlite:///{tmp_path / 'integrator.db'}"
    missing = CliRunner().invoke(cli, ["tenant", "check", "--config", str(config), "--org", "raisio",
                                       "--database-url", url])
    assert "Not recorded: the database is not set up yet" in missing.output
    assert not (tmp_path / "integrator.db").exists()  # the check creates no database

    upgrade(url)
    result = CliRunner().invoke(cli, ["tenant", "check", "--config", str(config), "--org", "raisio",
                                      "--database-url", url])
    assert result.exit_code == 1, result.output
    store = Store(url)
    try:
        with store.session() as s:
            run = s.scalars(select(JobRun)).one()
            assert run.kind == "tenant_check" and run.status is JobStatus.FAILED
            assert [e["item"] for e in run.errors] == ["google.shared_drive"]
            assert "jaetun Driven" in run.params["hints"]["google.shared_drive"]["fi"]
    finally:
        store.dispose()
    assert f"Recorded as job run {run.id}." in result.output
