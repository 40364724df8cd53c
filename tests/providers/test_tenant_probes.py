"""`integrator tenant check --deep` on the strict sandbox: each probe makes what the product makes,
with its permissions, and deletes it; a broken tenant fails the probe that needs the missing
piece, with its fix; and nothing is left behind, after a pass or a failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from integrator.cli import cli
from integrator.config import OrganisationConfig
from integrator.providers.checks import PROBE_PREFIX, PROBE_START, CheckResult
from integrator.providers.google.client import SCOPES
from integrator.providers.google.probe import run_probes as google_probes
from integrator.providers.microsoft.probe import run_probes as microsoft_probes
from integrator.sandbox.launcher import Sandbox

DOMAIN = "sandbox.example.fi"
ADMIN, COACH, SENDER = f"admin@{DOMAIN}", f"ohjaaja@{DOMAIN}", f"posti@{DOMAIN}"
ALL_SCOPES = [s for scopes in SCOPES.values() for s in scopes]


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Iterator[Sandbox]:
    server.reset()
    server.google.enforce_classroom_roles = True  # strict: only an admin makes a class for someone else
    yield server
    server.google.enforce_classroom_roles = False


def org(sb: Sandbox, tmp_path: Path, *, via: str = "gmail", scopes: list[str] | None = None, admin: bool = True,
        policy: bool = True, secret: str | None = None) -> dict[str, Any]:
    """One organisation on both vendors: a Meet group and a Teams group, letters `via`."""
    for email, name in ((ADMIN, "Admin"), (COACH, "Olli Ohjaaja"), (SENDER, "Posti")):
        sb.google.add_user(email, name)
    if admin:
        sb.google.make_admin(ADMIN)
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sb.google.service_account_info(scopes)))
    client_id, real_secret = sb.graph.register_app()
    oid = sb.graph.add_user(COACH, "Olli Ohjaaja")
    sb.graph.add_user(SENDER, "Posti")
    if policy:
        sb.graph.grant_meeting_policy(oid)
    (tmp_path / "secret").write_text(secret or real_secret)
    return {"key": "raisio", "name": "Raision kaupunki",
            "google": {"domain": DOMAIN, "service_account": {"file": str(key)}, "admin_subject": ADMIN,
                       "mail_sender": SENDER, "api_base_url": sb.google_url,
                       "shared_drive_id": sb.google.create_shared_drive("Etätyötoiminta", [ADMIN])},
            "microsoft": {"tenant_id": sb.graph.tenant_id, "client_id": client_id,
                          "client_secret": {"file": str(tmp_path / "secret")}, "mail_sender": SENDER,
                          "authority": sb.login_authority, "graph_base_url": sb.graph_url,
                          "ca_bundle": sb.ca_cert_path},
            "mail": {"via": via},
            "staff": [{"email": COACH, "name": "Olli", "role": "coordinator"}],
            "groups": [{"key": "ti", "name": "Tiistai", "coordinator": COACH, "weekdays": ["ti"],
                        "meeting": {"start": "10:00", "end": "11:00", "provider": "teams"}},
                       {"key": "ke", "name": "Keskiviikko", "coordinator": COACH, "weekdays": ["ke"],
                        "meeting": {"start": "10:00", "end": "11:00", "provider": "meet"}}]}


def probes(raw: dict[str, Any]) -> dict[str, CheckResult]:
    cfg = OrganisationConfig.model_validate(raw)
    return {r.name: r for r in [*google_probes(cfg), *microsoft_probes(cfg)]}


def left_behind(sb: Sandbox) -> list[str]:
    """Every probe object still in the tenant (a deleted Calendar event stays, cancelled)."""
    g, ms = sb.google, sb.graph
    with sb.state.lock:
        found = [f"course {c['name']}" for c in g.classroom.courses.values() if c["name"].startswith(PROBE_PREFIX)]
        found += [f"alias {a}" for a in g.classroom.aliases if a.startswith(f"p:{PROBE_PREFIX}")]
        found += [f"file {f.resource['name']}" for f in g.drive.files.values()
                  if f.resource["name"].startswith(PROBE_PREFIX)]
        found += [f"event {e['summary']}" for cal in g.calendar.events.values() for e in cal.values()
                  if e.get("summary", "").startswith(PROBE_PREFIX) and e["status"] != "cancelled"]
        found += [f"graph event {e.data['subject']}" for e in ms.events.values()
                  if e.data["subject"].startswith(PROBE_PREFIX)]
        found += [f"online meeting {m.data['subject']}" for m in ms.meetings.values()
                  if (m.data.get("subject") or "").startswith(PROBE_PREFIX)]
    return found


@pytest.mark.parametrize("via", ["gmail", "graph"])
def test_a_correct_tenant_passes_every_probe_and_keeps_nothing(via: str, sb: Sandbox, tmp_path: Path) -> None:
    results = probes(org(sb, tmp_path, via=via))

    assert {n: r.status for n, r in results.items()} == {
        "google.probe classroom": "ok", "google.probe drive": "ok", f"google.probe meet:{COACH}": "ok",
        f"microsoft.probe meeting:{COACH}": "ok", ("google.probe gmail" if via == "gmail" else "microsoft.probe mail"): "ok"}
    assert "p:integrator-probe-" in results["google.probe classroom"].detail
    assert "0 attendance report(s) read" in results[f"microsoft.probe meeting:{COACH}"].detail
    assert left_behind(sb) == []
    (mail,) = sb.sent_mail()
    assert mail.subject.startswith(PROBE_PREFIX) and mail.to == [ADMIN if via == "gmail" else SENDER]
    writes = {e.key for e in sb.state.log.writes() if e.api not in ("oauth", "login")}
    assert {"google classroom courses.create", "google classroom courses.delete", "google drive files.create",
            "google drive permissions.create", "google drive files.delete", "google calendar events.insert",
            "google calendar events.delete", "graph events create", "graph events delete"} <= writes


def test_leftovers_of_an_interrupted_run_are_removed_by_the_next(sb: Sandbox, tmp_path: Path) -> None:
    raw = org(sb, tmp_path)
    sb.state.faults.inject(path_glob="*/courses/*", http_method="DELETE", rate=1.0, status=400)
    sb.state.faults.inject(path_glob="*/files/*", http_method="DELETE", rate=1.0, status=400)
    sb.state.faults.inject(path_glob="*/events/*", http_method="DELETE", rate=1.0, status=400)
    interrupted = probes(raw)
    stuck = left_behind(sb)
    sb.state.faults.clear()

    again = probes(raw)

    assert interrupted["google.probe classroom"].status == "fail"
    assert "NOT cleaned up" in interrupted["google.probe drive"].detail
    assert "run the check again" in interrupted[f"microsoft.probe meeting:{COACH}"].hint
    assert len(stuck) >= 6, stuck  # course, alias, folder, Meet event, Teams event and its meeting
    assert all(r.status == "ok" for r in again.values()), again
    assert "removed 1 leftover(s)" in again["google.probe classroom"].detail
    assert "removed 1 leftover(s)" in again[f"microsoft.probe meeting:{COACH}"].detail
    assert left_behind(sb) == []


def test_a_scope_removed_from_delegation_fails_its_probe_naming_the_scope(sb: Sandbox, tmp_path: Path) -> None:
    scopes = [s for s in ALL_SCOPES if s not in SCOPES["calendar"]]

    results = probes(org(sb, tmp_path, scopes=scopes))

    meet = results[f"google.probe meet:{COACH}"]
    assert meet.status == "fail"
    assert "domain-wide delegation" in meet.hint and SCOPES["calendar"][0] in meet.hint
    assert results["google.probe classroom"].status == results["google.probe drive"].status == "ok"
    assert left_behind(sb) == []


def test_an_admin_subject_that_is_not_a_classroom_admin_fails_with_the_admin_role_to_grant(
        sb: Sandbox, tmp_path: Path) -> None:
    results = probes(org(sb, tmp_path, admin=False))

    classroom = results["google.probe classroom"]
    assert classroom.status == "fail" and "create a draft course" in classroom.detail
    assert "super admin" in classroom.hint and "Admin roles" in classroom.hint
    assert left_behind(sb) == []


def test_no_teams_application_access_policy_fails_after_the_event_which_is_deleted(
        sb: Sandbox, tmp_path: Path) -> None:
    results = probes(org(sb, tmp_path, policy=False))

    meeting = results[f"microsoft.probe meeting:{COACH}"]
    assert meeting.status == "fail" and "find its online meeting" in meeting.detail
    assert "New-CsApplicationAccessPolicy" in meeting.hint and "Grant-CsApplicationAccessPolicy" in meeting.hint
    assert any(e.key == "graph events delete" for e in sb.state.log.entries), "the event it made was deleted"
    assert left_behind(sb) == []


def test_a_wrong_client_secret_fails_the_microsoft_probes_with_the_secret_to_renew(
        sb: Sandbox, tmp_path: Path) -> None:
    results = probes(org(sb, tmp_path, via="graph", secret="not-the-secret"))

    for name in (f"microsoft.probe meeting:{COACH}", "microsoft.probe mail"):
        assert results[name].status == "fail", results[name]
        assert "Certificates & secrets" in results[name].hint
    assert results["google.probe classroom"].status == "ok"
    assert left_behind(sb) == [] and sb.sent_mail() == []


def test_the_command_prints_each_probe_and_exits_non_zero_when_one_fails(sb: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "integrator.yaml"
    config.write_text(yaml.safe_dump({"organisations": [org(sb, tmp_path, policy=False)]}, allow_unicode=True))

    deep = CliRunner().invoke(cli, ["tenant", "check", "--config", str(config), "--org", "raisio", "--deep"])

    assert deep.exit_code == 1, deep.output
    assert "[  OK ] google.probe classroom: draft course p:integrator-probe-" in deep.output
    assert f"[ FAIL] microsoft.probe meeting:{COACH}: find its online meeting" in deep.output
    assert "fix: Teams application access policy missing" in deep.output
    assert left_behind(sb) == []


def test_probe_events_sit_on_a_fixed_day_far_from_any_week() -> None:
    assert PROBE_START.year == 2000 and (PROBE_START + timedelta(minutes=15)).day == PROBE_START.day
