"""Every vendor call is counted by outcome, so /metrics shows how the tenants are answering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from integrator.config import GoogleTenant
from integrator.observability.metrics import api_call_count
from integrator.providers.errors import Fatal
from integrator.providers.google.client import GoogleClient
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox

DOMAIN = "sandbox.example.fi"
ADMIN = f"admin@{DOMAIN}"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(page_size=5, with_graph=False) as sandbox:
        sandbox.google.add_user(ADMIN, "Admin")
        yield sandbox


def test_google_calls_are_counted_as_ok_rate_limited_and_failed(sb: Sandbox, tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sb.google.service_account_info(None)))
    tenant = GoogleTenant(domain=DOMAIN, service_account={"file": key}, admin_subject=ADMIN,  # type: ignore[arg-type]
                          api_base_url=sb.google_url)
    gc = GoogleClient(tenant, policy=RetryPolicy(max_attempts=3, base_delay_s=0.01, sleep=lambda _s: None))
    before = {o: api_call_count("google", o) for o in ("ok", "rate_limited", "failed")}
    svc = gc.service("classroom", subject=ADMIN)

    sb.state.faults.inject(vendor="google", path_glob="/classroom/v1/courses", http_method="POST",
                           status=429, retry_after=0, count=1, rate=1.0)
    gc.execute(svc.courses().create(body={"name": "Tiistairyhmä", "ownerId": "me"}))
    with pytest.raises(Fatal):
        gc.execute(svc.courses().get(id="no-such-course"))

    after = {o: api_call_count("google", o) for o in before}
    assert after["ok"] - before["ok"] == 1
    assert after["rate_limited"] - before["rate_limited"] == 1
    assert after["failed"] - before["failed"] == 1
