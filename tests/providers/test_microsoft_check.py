"""`tenant check`, Microsoft side, against the sandbox tenant: each failure names its fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrator.config import OrganisationConfig, Settings
from integrator.domain.types import JobStatus
from integrator.jobs.tenant_check import run_tenant_check
from integrator.providers.errors import NeedsReauth, Retriable
from integrator.providers.microsoft.check import run_checks
from integrator.providers.microsoft.client import GraphClient
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import JobRun

COACH = "ohjaaja@sandbox.example.fi"
SENDER = "posti@sandbox.example.fi"


@pytest.fixture(scope="module")
def server() -> Any:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Sandbox:
    server.reset()
    return server


def org(sb: Sandbox, tmp_path: Path, *, permissions: list[str] | None = None, policy: bool = True,
        sender: bool = True, secret: str | None = None) -> OrganisationConfig:
    client_id, real_secret = sb.graph.register_app(permissions=permissions)
    oid = sb.graph.add_user(COACH, "Olli Ohjaaja")
    if sender:
        sb.graph.add_user(SENDER, "Posti")
    if policy:
        sb.graph.grant_meeting_policy(oid)
    secret_file = tmp_path / "secret"
    secret_file.write_text(secret or real_secret)
    return OrganisationConfig.model_validate({
        "key": "raisio", "name": "Raisio",
        "microsoft": {"tenant_id": sb.graph.tenant_id, "client_id": client_id,
                      "client_secret": {"file": str(secret_file)}, "mail_sender": SENDER,
                      "authority": sb.login_authority, "graph_base_url": sb.graph_url, "ca_bundle": sb.ca_cert_path},
        "mail": {"via": "graph"},
        "groups": [{"key": "tiistai", "name": "Tiistai", "coordinator": COACH, "weekdays": ["tuesday"],
                    "meeting": {"start": "10:00", "end": "11:00", "provider": "teams"}}],
    })


def by_name(results: list[Any]) -> dict[str, Any]:
    return {r.name: r for r in results}


def test_a_correctly_set_up_tenant_passes_every_check(sb: Sandbox, tmp_path: Path) -> None:
    results = by_name(run_checks(org(sb, tmp_path)))

    assert {n: r.status for n, r in results.items()} == {
        "microsoft.token": "ok", "microsoft.permissions": "ok", f"microsoft.calendar:{COACH}": "ok",
        f"microsoft.meeting_policy:{COACH}": "ok", "microsoft.sender": "ok"}


def test_a_wrong_secret_fails_the_token_check_with_a_hint(sb: Sandbox, tmp_path: Path) -> None:
    results = run_checks(org(sb, tmp_path, secret="not-the-secret"))

    assert [(r.name, r.status) for r in results] == [("microsoft.token", "fail")]
    assert "Certificates & secrets" in results[0].hint


def test_a_missing_permission_is_named_with_the_consent_step(sb: Sandbox, tmp_path: Path) -> None:
    perms = ["User.Read.All", "Calendars.ReadWrite", "OnlineMeetings.ReadWrite.All", "OnlineMeetingArtifact.Read.All"]
    result = by_name(run_checks(org(sb, tmp_path, permissions=perms)))["microsoft.permissions"]

    assert result.status == "fail" and "Mail.Send" in result.detail
    assert "Grant admin consent" in result.hint


def test_a_missing_teams_access_policy_gives_the_powershell_commands(sb: Sandbox, tmp_path: Path) -> None:
    result = by_name(run_checks(org(sb, tmp_path, policy=False)))[f"microsoft.meeting_policy:{COACH}"]

    assert result.status == "fail"
    assert "New-CsApplicationAccessPolicy" in result.hint and "Grant-CsApplicationAccessPolicy" in result.hint


def test_a_missing_sender_mailbox_fails(sb: Sandbox, tmp_path: Path) -> None:
    result = by_name(run_checks(org(sb, tmp_path, sender=False)))["microsoft.sender"]

    assert result.status == "fail" and "microsoft.mail_sender" in result.hint


def test_a_throttled_token_endpoint_is_not_diagnosed_as_a_bad_secret(sb: Sandbox, tmp_path: Path) -> None:
    """Entra answers 429 to the token request: the secret is fine; renewing it would not help."""
    cfg = org(sb, tmp_path)
    sb.state.faults.inject(vendor="graph", path_glob="*/oauth2/v2.0/token", rate=1.0, status=429, retry_after=5)

    result = by_name(run_checks(cfg))["microsoft.token"]

    assert result.status == "fail"
    assert "Certificates & secrets" not in result.hint and "secret" not in result.hint_fi
    assert "429" in result.hint and "again in a few minutes" in result.hint
    assert "tunnuksia tai lupia ei hylätty" in result.hint_fi


def test_a_throttled_token_request_is_retriable_not_needs_reauth(sb: Sandbox, tmp_path: Path) -> None:

    cfg = org(sb, tmp_path)
    assert cfg.microsoft is not None
    sb.state.faults.inject(vendor="graph", path_glob="*/oauth2/v2.0/token", rate=1.0, status=429)
    with GraphClient(cfg.microsoft, policy=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(Retriable) as caught:
            client.call("users.get", lambda sdk: sdk.users.by_user_id(COACH).get())
    assert not isinstance(caught.value, NeedsReauth)
    assert caught.value.status == 429 and caught.value.reason == "token_throttled"


def test_a_wrong_secret_is_still_needs_reauth(sb: Sandbox, tmp_path: Path) -> None:

    cfg = org(sb, tmp_path, secret="not-the-secret")
    assert cfg.microsoft is not None
    with GraphClient(cfg.microsoft, policy=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(NeedsReauth):
            client.call("users.get", lambda sdk: sdk.users.by_user_id(COACH).get())


def with_task_folders(cfg: OrganisationConfig, drive_id: str, site_id: str | None) -> OrganisationConfig:
    raw = cfg.model_dump(mode="json")
    raw["microsoft"]["task_folders"] = {"drive_id": drive_id, "site_id": site_id}
    return OrganisationConfig.model_validate(raw)


DEFAULTS = ["User.Read.All", "Calendars.ReadWrite", "OnlineMeetings.ReadWrite.All", "OnlineMeetingArtifact.Read.All",
            "Mail.Send"]


def test_the_task_folders_library_is_reachable_and_writable_with_a_site_grant(sb: Sandbox, tmp_path: Path) -> None:
    cfg = org(sb, tmp_path, permissions=[*DEFAULTS, "Sites.Selected"])
    drive_id = sb.graph.add_drive("tyotoiminta")
    site_id = str(sb.graph.drives.drives[drive_id].site_id)
    sb.graph.grant_site(site_id, cfg.microsoft.client_id, ["write"])  # type: ignore[union-attr]

    result = by_name(run_checks(with_task_folders(cfg, drive_id, site_id)))["microsoft.task_folders"]

    assert result.status == "ok" and "Sites.Selected" in result.detail


@pytest.mark.parametrize(("permissions", "known", "hint"), [
    pytest.param(DEFAULTS, True, "Sites.Selected and a per-site grant", id="no drive permission"),
    pytest.param([*DEFAULTS, "Sites.Selected"], True, "POST /sites/", id="no site grant"),
    pytest.param([*DEFAULTS, "Files.ReadWrite.All"], False, "GET /sites/{site-id}/drive", id="wrong drive id"),
])
def test_a_task_folders_library_the_app_cannot_use_fails_with_its_fix(
        sb: Sandbox, tmp_path: Path, permissions: list[str], known: bool, hint: str) -> None:
    cfg = org(sb, tmp_path, permissions=permissions)
    drive_id = sb.graph.add_drive("tyotoiminta")
    site_id = str(sb.graph.drives.drives[drive_id].site_id)

    result = by_name(run_checks(with_task_folders(cfg, drive_id if known else "b!nothing-here", site_id)))[
        "microsoft.task_folders"]

    assert result.status == "fail" and hint in result.hint and result.hint_fi


SETTINGS_READ = "SharePointTenantSettings.Read.All"


def sharing_result(sb: Sandbox, tmp_path: Path, permissions: list[str]) -> Any:
    cfg = org(sb, tmp_path, permissions=permissions)
    drive_id = sb.graph.add_drive("tyotoiminta")
    site_id = str(sb.graph.drives.drives[drive_id].site_id)
    return by_name(run_checks(with_task_folders(cfg, drive_id, site_id)))["microsoft.sharing"]


def test_task_folders_check_the_sharing_policy_allows_external_users(sb: Sandbox, tmp_path: Path) -> None:
    sb.graph.set_sharing_capability("externalUserSharingOnly")

    result = sharing_result(sb, tmp_path, [*DEFAULTS, "Files.ReadWrite.All", SETTINGS_READ])

    assert result.status == "ok" and "externalUserSharingOnly" in result.detail
    assert "Active sites" in result.detail  # the site's own setting may still be narrower


@pytest.mark.parametrize(("capability", "status"), [
    pytest.param("disabled", "fail", id="only people in the organisation"),
    pytest.param("existingExternalUserSharingOnly", "warn", id="existing guests only"),
])
def test_a_sharing_policy_that_refuses_clients_names_the_setting_needed(
        sb: Sandbox, tmp_path: Path, capability: str, status: str) -> None:
    sb.graph.set_sharing_capability(capability)

    result = sharing_result(sb, tmp_path, [*DEFAULTS, "Files.ReadWrite.All", SETTINGS_READ])

    assert result.status == status
    assert f"needs externalUserSharingOnly or wider (now: {capability})" in result.detail
    assert "Policies > Sharing" in result.hint and "New and existing guests" in result.hint and result.hint_fi


def test_without_the_settings_permission_the_sharing_policy_is_left_to_check_by_hand(
        sb: Sandbox, tmp_path: Path) -> None:
    sb.graph.set_sharing_capability("disabled")  # unseen: the app may not read it

    result = sharing_result(sb, tmp_path, [*DEFAULTS, "Files.ReadWrite.All"])

    assert result.status == "warn"
    assert result.detail == ("could not read (permission SharePointTenantSettings.Read.All missing): check by hand "
                             "in SharePoint admin center > Policies > Sharing")
    assert SETTINGS_READ in result.hint and "grant admin consent" in result.hint


def test_the_recorded_tenant_check_keeps_a_warning_with_its_fix_and_still_succeeds(
        sb: Sandbox, tmp_path: Path, store: Store) -> None:
    cfg = org(sb, tmp_path, permissions=[*DEFAULTS, "Files.ReadWrite.All"])
    drive_id = sb.graph.add_drive("tyotoiminta")
    cfg = with_task_folders(cfg, drive_id, sb.graph.site_of(drive_id))

    check = run_tenant_check(store, Settings(organisations=[cfg]), "raisio")

    assert check.status is JobStatus.SUCCEEDED
    with store.session() as s:
        run = s.get(JobRun, check.run_id)
        assert run is not None and run.counts["warn"] == 1
        warning = run.params["warnings"]["microsoft.sharing"]
    assert "could not read (permission SharePointTenantSettings.Read.All missing)" in warning["detail"]
    assert "Policies > Sharing" in warning["en"] and "Käytännöt > Jakaminen" in warning["fi"]
