"""The Graph client against the sandbox: errors mapped in one place, no blind sendMail retry,
idempotent creates, certificate sign-in, and $batch with per-item retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from integrator.config import MicrosoftTenant
from integrator.providers.errors import DeliveryUncertain, Fatal, NeedsReauth, Retriable
from integrator.providers.meetings import MeetingSpec
from integrator.providers.microsoft.client import GraphClient
from integrator.providers.microsoft.events import (
    create_teams_event,
    create_teams_events,
    get_event,
    update_teams_event,
    user_object_id,
)
from integrator.providers.microsoft.mail import send_mail
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox
from integrator.sandbox.tls import self_signed_app_certificate

COACH = "ohjaaja@sandbox.example.fi"
SENDER = "posti@sandbox.example.fi"
NO_WAIT = RetryPolicy(max_attempts=4, sleep=lambda s: None)


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Sandbox:
    server.reset()
    server.graph.add_user(COACH, "Olli Ohjaaja")
    server.graph.add_user(SENDER, "Posti")
    return server


def tenant(sb: Sandbox, tmp_path: Path, **secret: Any) -> MicrosoftTenant:
    if not secret:
        client_id, value = sb.graph.register_app()
        (tmp_path / "secret").write_text(value)
        secret = {"client_id": client_id, "client_secret": {"file": str(tmp_path / "secret")}}
    return MicrosoftTenant.model_validate({"tenant_id": sb.graph.tenant_id, **secret, "mail_sender": SENDER,
                                          "authority": sb.login_authority, "graph_base_url": sb.graph_url,
                                          "ca_bundle": sb.ca_cert_path})


@pytest.fixture
def client(sb: Sandbox, tmp_path: Path) -> Iterator[GraphClient]:
    with GraphClient(tenant(sb, tmp_path), policy=NO_WAIT) as c:
        yield c


def spec(hour: int = 8, who: tuple[str, ...] = ("k-0001@asiakas.example.fi",)) -> MeetingSpec:
    start = datetime(2026, 1, 13, hour, tzinfo=UTC)
    return MeetingSpec(COACH, "Vertaisryhmä", "<p>Ohjeet</p>", start, start + timedelta(hours=1), who, 60)


def test_throttling_is_retriable_with_the_servers_retry_after(sb: Sandbox, client: GraphClient) -> None:
    sb.state.faults.inject(vendor="graph", path_glob="*/users/*", rate=1.0, status=429, retry_after=7, count=1)

    with pytest.raises(Retriable) as caught:
        client.call("users.get", lambda sdk: sdk.users.by_user_id(COACH).get(), retry=False)

    assert caught.value.status == 429 and caught.value.retry_after == 7


def test_an_unknown_user_is_fatal_not_retried(sb: Sandbox, client: GraphClient) -> None:
    with pytest.raises(Fatal) as caught:
        user_object_id(client, "nobody@sandbox.example.fi")

    assert caught.value.status == 404
    assert sb.state.log.counts()["graph users get"] == 1


def test_a_wrong_secret_needs_reauth(sb: Sandbox, tmp_path: Path) -> None:
    client_id, _ = sb.graph.register_app()
    (tmp_path / "bad").write_text("not-the-secret")
    bad = tenant(sb, tmp_path, client_id=client_id, client_secret={"file": str(tmp_path / "bad")})

    with GraphClient(bad, policy=NO_WAIT) as c, pytest.raises(NeedsReauth):
        user_object_id(c, COACH)


def test_a_certificate_signs_in(sb: Sandbox, tmp_path: Path) -> None:
    cert, key = self_signed_app_certificate()
    client_id, _ = sb.graph.register_app(certificate_pem=cert)
    (tmp_path / "app.pem").write_bytes(key + cert)
    with GraphClient(tenant(sb, tmp_path, client_id=client_id, certificate={"file": str(tmp_path / "app.pem")})) as c:
        assert user_object_id(c, COACH) == sb.graph.find_user(COACH)["id"]


def test_sendmail_5xx_goes_once_on_the_wire_and_is_uncertain(sb: Sandbox, client: GraphClient) -> None:
    sb.state.faults.inject(vendor="graph", path_glob="*sendMail", rate=1.0, status=503, count=3)

    with pytest.raises(DeliveryUncertain):
        send_mail(client, SENDER, "k-0001@asiakas.example.fi", "Muistutus", "<p>Hei</p>")

    assert sb.state.log.counts()["graph mail sendMail"] == 1, "neither Kiota nor we retried"


def test_sendmail_429_is_retriable_because_exchange_did_not_take_it(sb: Sandbox, client: GraphClient) -> None:
    sb.state.faults.inject(vendor="graph", path_glob="*sendMail", rate=1.0, status=429, retry_after=30, count=1)

    with pytest.raises(Retriable):
        send_mail(client, SENDER, "k-0001@asiakas.example.fi", "Muistutus", "<p>Hei</p>")
    send_mail(client, SENDER, "k-0001@asiakas.example.fi", "Muistutus", "<p>Hei</p>")

    assert len(sb.sent_mail()) == 1


def test_a_repeated_create_with_the_same_transaction_id_makes_one_meeting(sb: Sandbox, client: GraphClient) -> None:
    sb.state.faults.inject(vendor="graph", path_glob="*/events", http_method="POST", rate=1.0, status=503, count=1)

    first = create_teams_event(client, spec(), "tx-tiistai-13")  # retried by our policy after the 503
    again = create_teams_event(client, spec(), "tx-tiistai-13")

    assert first.event_id == again.event_id and first.join_url
    assert len(sb.graph.events) == 1


def test_a_teams_event_hides_its_attendees_from_each_other(sb: Sandbox, client: GraphClient) -> None:
    two = ("k-0001@asiakas.example.fi", "k-0002@asiakas.example.fi")

    single = create_teams_event(client, spec(who=two), "tx-private")
    batched = create_teams_events(client, [("k", spec(hour=9, who=two), "tx-private-batch")])["k"]

    assert not isinstance(batched, Exception)
    assert sb.graph.events[single.event_id].data["hideAttendees"] is True
    assert sb.graph.events[batched.event_id].data["hideAttendees"] is True


def test_an_update_hides_the_attendees_of_an_event_made_before(sb: Sandbox, client: GraphClient) -> None:
    made = create_teams_event(client, spec(), "tx-old")
    sb.graph.events[made.event_id].data["hideAttendees"] = False  # as Outlook makes it by default

    update_teams_event(client, spec(), made.event_id)

    assert sb.graph.events[made.event_id].data["hideAttendees"] is True


def test_a_batch_of_45_creates_uses_envelopes_of_20_and_retries_only_failed_items(
        sb: Sandbox, client: GraphClient) -> None:
    sb.state.faults.inject(vendor="graph", path_glob="*/events", http_method="POST", rate=1.0, status=429,
                           retry_after=0, count=5)
    items = [(f"k{i}", spec(hour=6 + i % 10, who=(f"k-{i:04d}@asiakas.example.fi",)), f"tx-{i}") for i in range(45)]

    refs = create_teams_events(client, items)

    assert all(not isinstance(r, Exception) for r in refs.values())
    assert len(sb.graph.events) == 45
    envelopes = [e for e in sb.state.log.entries if e.kind == "batch"]
    assert len(envelopes) >= 3
    parts = [e for e in sb.state.log.entries if e.kind == "part"]
    assert all(n <= 20 for n in _parts_per_envelope(sb))
    assert len(parts) == 45 + 5, "only the five throttled items were sent again"


def _parts_per_envelope(sb: Sandbox) -> list[int]:
    counts: list[int] = []
    for e in sb.state.log.entries:
        if e.kind == "batch":
            counts.append(0)
        elif e.kind == "part" and counts:
            counts[-1] += 1
    return counts


def test_a_cancelled_teams_event_that_is_still_found_is_gone(sb: Sandbox, client: GraphClient) -> None:
    made = create_teams_event(client, spec(), "tx-cancelled")
    sb.graph.events[made.event_id].data["isCancelled"] = True  # as a cancelled copy Outlook still finds

    assert get_event(client, COACH, made.event_id) is None
    with pytest.raises(Fatal) as caught:
        update_teams_event(client, spec(hour=9), made.event_id)
    assert caught.value.status == 410, "the same answer as an event that is not there"
