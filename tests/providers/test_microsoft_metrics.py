"""Every Graph call is counted by outcome (vendor "graph"), batch items one by one, as for Google."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrator.config import MicrosoftTenant
from integrator.observability.metrics import api_call_count
from integrator.providers.errors import Fatal
from integrator.providers.meetings import MeetingSpec
from integrator.providers.microsoft.client import GraphClient
from integrator.providers.microsoft.events import create_teams_events, user_object_id
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox

COACH = "ohjaaja@sandbox.example.fi"
OUTCOMES = ("ok", "rate_limited", "retried", "failed")


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox, tmp_path: Path) -> Iterator[GraphClient]:
    sb.reset()
    sb.graph.add_user(COACH, "Olli Ohjaaja")
    client_id, secret = sb.graph.register_app()
    (tmp_path / "secret").write_text(secret)
    tenant = MicrosoftTenant.model_validate({
        "tenant_id": sb.graph.tenant_id, "client_id": client_id, "client_secret": {"file": str(tmp_path / "secret")},
        "authority": sb.login_authority, "graph_base_url": sb.graph_url, "ca_bundle": sb.ca_cert_path})
    with GraphClient(tenant, policy=RetryPolicy(max_attempts=3, sleep=lambda _s: None)) as c:
        yield c


def counts() -> dict[str, float]:
    return {o: api_call_count("graph", o) for o in OUTCOMES}


def test_graph_calls_are_counted_as_ok_rate_limited_and_failed(sb: Sandbox, client: GraphClient) -> None:
    before = counts()

    sb.state.faults.inject(vendor="graph", path_glob="*/users/*", http_method="GET", status=429, retry_after=0,
                           count=1, rate=1.0)
    user_object_id(client, COACH)  # throttled once, then answered
    with pytest.raises(Fatal):
        user_object_id(client, "nobody@sandbox.example.fi")  # 404

    after = counts()
    assert after["ok"] - before["ok"] == 1
    assert after["rate_limited"] - before["rate_limited"] == 1
    assert after["failed"] - before["failed"] == 1
    assert after["retried"] == before["retried"]


def test_a_batch_is_counted_per_item_not_per_envelope(sb: Sandbox, client: GraphClient) -> None:
    start = datetime(2026, 1, 13, 8, tzinfo=UTC)
    items = [(f"k{i}", MeetingSpec(COACH, "Vertaisryhmä", "<p>Ohjeet</p>", start + timedelta(hours=i),
                                   start + timedelta(hours=i + 1), (f"k-{i:04d}@asiakas.example.fi",), 60), f"tx-{i}")
             for i in range(3)]
    before = counts()
    sb.state.faults.inject(vendor="graph", path_glob="*/events", http_method="POST", status=429, retry_after=0,
                           count=1, rate=1.0)

    refs = create_teams_events(client, items)

    assert not any(isinstance(r, Exception) for r in refs.values())
    after = counts()
    assert after["ok"] - before["ok"] == 3, "three events made, the envelopes themselves are not counted"
    assert after["rate_limited"] - before["rate_limited"] == 1
    assert after["failed"] == before["failed"]
