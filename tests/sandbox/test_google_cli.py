"""`integrator sandbox serve` prints a tenant config snippet the product's config model accepts."""

from __future__ import annotations

from pathlib import Path

import yaml

from integrator.cli.sandbox import _google_snippet
from integrator.config import GoogleTenant
from integrator.sandbox import Sandbox


def test_printed_google_snippet_is_a_valid_tenant_config(sandbox: Sandbox, tmp_path: Path) -> None:
    key_file = tmp_path / "sa.json"
    key_file.write_text("{}")
    parsed = yaml.safe_load(_google_snippet(sandbox, "integrator@sandbox.example.fi", key_file))
    tenant = GoogleTenant(**parsed["google"])
    assert tenant.api_base_url == sandbox.google_url
    assert tenant.service_account.file == key_file
