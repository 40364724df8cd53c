"""`config check` says per organisation what its tenants give it, and refuses a combination that
gives nothing or contradicts itself, naming the file, line and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integrator.cli import cli
from integrator.config import Settings

GOOGLE = """    google:
      domain: raisio.example.fi
      service_account: {env: X}
      admin_subject: admin@raisio.example.fi
      mail_sender: posti@raisio.example.fi
"""
MICROSOFT = """    microsoft:
      tenant_id: t
      client_id: c
      client_secret: {env: X}
      mail_sender: posti@naantali.example.fi
"""


def organisation(key: str, tenants: str, provider: str, extra: str = "") -> str:
    return f"""  - key: {key}
    name: {key.capitalize()}
{tenants}{extra}    staff:
      - {{email: ohjaaja@{key}.example.fi, name: Ohjaaja, role: coordinator}}
    groups:
      - key: tiistai
        name: Tiistai
        coordinator: ohjaaja@{key}.example.fi
        weekdays: [ti]
        meeting: {{start: "10:00", end: "11:00", provider: {provider}}}
"""


def check(tmp_path: Path, *orgs: str) -> Any:
    path = tmp_path / "integrator.yaml"
    path.write_text("organisations:\n" + "".join(orgs), encoding="utf-8")
    return CliRunner().invoke(cli, ["config", "check", "--skip-secrets", str(path)])


def test_config_check_says_what_each_organisation_gets_from_its_tenants(tmp_path: Path) -> None:
    result = check(tmp_path, organisation("raisio", GOOGLE, "meet"), organisation("naantali", MICROSOFT, "teams"))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1:] == [
        "  raisio: Classroom courses, Drive folders, Meet meetings, Gmail mail",
        "  naantali: Teams meetings, Graph mail; no task folders (SharePoint folders are not configured)"]


def test_an_organisation_on_microsoft_alone_sends_its_mail_via_graph_unless_told() -> None:
    org = {"key": "naantali", "name": "Naantali", "microsoft": {"tenant_id": "t", "client_id": "c",
                                                                  "client_secret": {"env": "X"}}}
    assert Settings.model_validate({"organisations": [org]}).organisations[0].mail.via == "graph"
    told = {**org, "mail": {"via": "gmail"}}
    assert Settings.model_validate({"organisations": [told]}).organisations[0].mail.via == "gmail"
    both = {**org, "google": {"domain": "a.fi", "service_account": {"env": "X"}, "admin_subject": "a@a.fi"}}
    assert Settings.model_validate({"organisations": [both]}).organisations[0].mail.via == "gmail"


NO_SENDER = MICROSOFT.replace("      mail_sender: posti@naantali.example.fi\n", "")


@pytest.mark.parametrize(("orgs", "expected"), [
    pytest.param([organisation("naantali", "", "teams")],
                 "integrator.yaml:2: organisations[0]: the organisation has groups but no tenant, so it would get "
                 "nothing", id="no tenant"),
    pytest.param([organisation("naantali", MICROSOFT, "meet")],
                 "integrator.yaml:16: organisations[0].groups[0].meeting.provider: Google Meet needs the "
                 "organisation's 'google' tenant, which this organisation does not have", id="meet without google"),
    pytest.param([organisation("raisio", GOOGLE, "teams")],
                 "integrator.yaml:16: organisations[0].groups[0].meeting.provider: Teams meetings need the "
                 "organisation's 'microsoft' tenant", id="teams without microsoft"),
    pytest.param([organisation("raisio", GOOGLE.replace("      mail_sender: posti@raisio.example.fi\n", ""), "meet")],
                 "integrator.yaml:4: organisations[0].google: mail via gmail needs google.mail_sender",
                 id="gmail without its sender"),
    pytest.param([organisation("naantali", NO_SENDER, "teams")],
                 "integrator.yaml:4: organisations[0].microsoft: mail via graph (the default for an organisation "
                 "on Microsoft 365 alone) needs microsoft.mail_sender", id="graph without its sender"),
    pytest.param([organisation("naantali", MICROSOFT, "teams", "    mail: {via: gmail}\n")],
                 "integrator.yaml:9: organisations[0].mail.via: mail via gmail needs the organisation's 'google' "
                 "tenant", id="gmail without google"),
])
def test_a_combination_that_gives_nothing_or_contradicts_itself_is_refused(
        tmp_path: Path, orgs: list[str], expected: str) -> None:
    result = check(tmp_path, *orgs)

    assert result.exit_code == 2
    assert f"{tmp_path}/{expected}" in result.output, result.output


def test_an_organisation_without_groups_or_tenant_holds_staff_only(tmp_path: Path) -> None:
    staff_only = "  - key: kunta\n    name: Kunta\n    staff:\n      - {email: so@kunta.fi, name: S, role: social_worker}\n"

    result = check(tmp_path, staff_only)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "  kunta: no groups yet; no tenant: staff only"


FOLDERS = "      task_folders: {drive_id: b!kirjasto, site_id: naantali.sharepoint.com}\n"


def test_config_check_names_sharepoint_folders_for_an_organisation_on_microsoft_alone(tmp_path: Path) -> None:
    result = check(tmp_path, organisation("naantali", MICROSOFT + FOLDERS, "teams"))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == ["  naantali: SharePoint folders, Teams meetings, Graph mail"]


def test_config_check_refuses_sharepoint_task_folders_beside_google(tmp_path: Path) -> None:
    result = check(tmp_path, organisation("raisio", GOOGLE + MICROSOFT + FOLDERS, "teams"))

    assert result.exit_code == 2, result.output
    assert "organisations[0].microsoft.task_folders" in result.output
    assert "has 'google', whose Drive folders are its task folders" in result.output
