"""`sign_in` in `integrator config check`: the issuer each kind must have, the secret by reference,
one organisation per domain, and passwords off only with a provider."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from integrator.cli import cli
from integrator.config import load_settings

TENANT = "0f4b2c1e-8a7d-4e3f-9b6a-1c2d3e4f5a6b"
GOOD = f"""\
organisations:
  - key: raisio
    name: Raisio
    sign_in:
      local_passwords: false
      providers:
        - kind: entra
          issuer: https://login.microsoftonline.com/{TENANT}/v2.0
          client_id: 11111111-2222-3333-4444-555555555555
          client_secret: {{env: RAISIO_ENTRA_SECRET}}
          allowed_domains: [raisio.fi]
        - kind: google
          issuer: https://accounts.google.com
          client_id: 123-abc.apps.googleusercontent.com
          client_secret: {{file: SECRET_FILE}}
          allowed_domains: [Edu.Raisio.fi]
  - key: naantali
    name: Naantali
"""


def _check(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "integrator.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    return result.exit_code, result.output


def test_a_good_sign_in_passes_and_reads_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "google-secret.txt"
    secret.write_text("GOCSPX-x", encoding="utf-8")
    monkeypatch.setenv("RAISIO_ENTRA_SECRET", "x")
    code, out = _check(tmp_path, GOOD.replace("SECRET_FILE", str(secret)))
    assert code == 0, out
    settings = load_settings(tmp_path / "integrator.yaml")
    sign_in = settings.organisation("raisio").sign_in
    assert not sign_in.local_passwords
    entra = sign_in.provider("entra")
    assert entra is not None and entra.tenant_id == TENANT
    assert entra.discovery_url == f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration"
    google = sign_in.provider("google")
    assert google is not None and google.allowed_domains == ["edu.raisio.fi"]
    assert settings.organisation("naantali").sign_in.local_passwords and not settings.organisation("naantali").sign_in.providers


def test_bad_sign_in_settings_are_explained(tmp_path: Path) -> None:
    bad = GOOD.replace(f"{TENANT}/v2.0", "common/v2.0").replace("https://accounts.google.com", "https://evil.example")
    code, out = _check(tmp_path, bad)
    assert code == 2
    assert "sign_in.providers[0]" in out and "not 'common' or 'organizations'" in out
    assert "a google issuer is https://accounts.google.com" in out
    inline = GOOD.replace("client_secret: {file: SECRET_FILE}", "client_secret: GOCSPX-inline-secret")
    code, out = _check(tmp_path, inline)
    assert code == 2
    assert "sign_in.providers[1].client_secret" in out and "GOCSPX-inline-secret" not in out


def test_a_domain_signs_in_to_one_organisation_and_passwords_off_needs_a_provider(tmp_path: Path) -> None:
    text = GOOD.replace("SECRET_FILE", str(tmp_path / "missing.txt")) + f"""\
    sign_in:
      providers:
        - kind: entra
          issuer: https://login.microsoftonline.com/{TENANT}/v2.0
          client_id: other
          client_secret: {{env: NAANTALI_SECRET}}
          allowed_domains: [raisio.fi]
"""
    code, out = _check(tmp_path, text)
    assert code == 2
    assert "organisations[1].sign_in.providers[0].allowed_domains[0]" in out and "raisio.fi already signs in" in out
    code, out = _check(tmp_path, "organisations:\n  - key: masku\n    name: Masku\n    sign_in: {local_passwords: false}\n")
    assert code == 2
    assert "organisations[0].sign_in" in out and "nobody of the organisation could sign in" in out


def test_a_sandbox_metadata_url_must_be_on_this_machine(tmp_path: Path) -> None:
    text = GOOD.replace("allowed_domains: [raisio.fi]",
                        "allowed_domains: [raisio.fi]\n          metadata_url: https://idp.example/.well-known/x")
    code, out = _check(tmp_path, text)
    assert code == 2 and "metadata_url" in out and "sandbox/test only" in out
