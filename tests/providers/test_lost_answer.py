"""A write whose answer is lost reaches the server once: no transport re-sends it.

The sandbox's ``lose_answer`` fault applies a request, then closes the connection cleanly
without answering. httplib2 used to send such a request again by itself (for any method), so
Google writes arrived twice; Graph's httpx never did. Each write kind the product makes is
checked here on the wire, then what our code reports for it (the jobs' handling of that report
is in tests/jobs/test_lost_answers.py).
"""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httplib2
import pytest

from integrator.config import GoogleTenant, MicrosoftTenant
from integrator.providers.errors import DeliveryUncertain, ProviderError, Retriable, never_reached
from integrator.providers.google.client import GoogleClient
from integrator.providers.google.drive import Drive, FolderSpec
from integrator.providers.google.errors import classify
from integrator.providers.google.gmail import send_gmail
from integrator.providers.google.transport import AnswerLost, NotSent, SingleSendHttp
from integrator.providers.meetings import MeetingSpec
from integrator.providers.microsoft.client import GraphClient
from integrator.providers.microsoft.events import create_teams_event, create_teams_events
from integrator.providers.microsoft.mail import send_mail
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox

DOMAIN = "sandbox.example.fi"
ADMIN, COACH, SENDER = f"admin@{DOMAIN}", f"ohjaaja@{DOMAIN}", f"posti@{DOMAIN}"
CLIENT = "k-0001@asiakas.example.fi"
ONCE = RetryPolicy(max_attempts=1, sleep=lambda s: None)  # the transport alone: our policy repeats nothing


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(page_size=50) as sb:
        # The Graph half's first write loads its validation models (seconds): not inside a
        # test whose client gives up after TIMEOUT_S.
        sb.graph.add_user(SENDER, "Posti")
        sb.graph.add_user(COACH, "Olli Ohjaaja")
        with graph(sb, tmp_path_factory.mktemp("warm")) as client:
            send_mail(client, SENDER, CLIENT, "Lämmittely", "<p>Hei</p>", outbox_key="warm:1")
            create_teams_event(client, meeting(), "tx-warm")
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Iterator[Sandbox]:
    server.reset()
    for email, name in ((ADMIN, "Admin"), (COACH, "Olli Ohjaaja"), (SENDER, "Posti")):
        server.google.add_user(email, name)
        server.graph.add_user(email, name)
    yield server
    server.state.faults.clear()


#: How the answer is lost: a clean close, a reset, or silence until the client's read timeout
#: (TIMEOUT_S here, so that the test does not wait out the product's minute).
HOWS = ("close", "reset", "timeout")
TIMEOUT_S = 0.5


def google(sb: Sandbox, tmp_path: Path, policy: RetryPolicy = ONCE, how: str = "close") -> GoogleClient:
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sb.google.service_account_info()))
    tenant = GoogleTenant(domain=DOMAIN, service_account={"file": key}, admin_subject=ADMIN,  # type: ignore[arg-type]
                          mail_sender=SENDER, api_base_url=sb.google_url)
    return GoogleClient(tenant, policy=policy, timeout_s=TIMEOUT_S if how == "timeout" else 60.0)


def graph(sb: Sandbox, tmp_path: Path, policy: RetryPolicy = ONCE, how: str = "close") -> GraphClient:
    client_id, secret = sb.graph.register_app()
    (tmp_path / "secret").write_text(secret)
    tenant = MicrosoftTenant.model_validate({
        "tenant_id": sb.graph.tenant_id, "client_id": client_id, "client_secret": {"file": str(tmp_path / "secret")},
        "mail_sender": SENDER, "authority": sb.login_authority, "graph_base_url": sb.graph_url,
        "ca_bundle": sb.ca_cert_path})
    return GraphClient(tenant, policy=policy, timeout_s=TIMEOUT_S if how == "timeout" else 60.0)


def arrivals(sb: Sandbox, path_end: str, method: str = "POST") -> int:
    """Wire requests (a batch envelope counts once) that reached the sandbox at that path."""
    return sum(1 for e in sb.state.log.entries
               if e.kind != "part" and e.http_method == method and e.path.endswith(path_end))


def meeting(hour: int = 8) -> MeetingSpec:
    start = datetime(2026, 1, 13, hour, tzinfo=UTC)
    return MeetingSpec(COACH, "Vertaisryhmä", "<p>Ohjeet</p>", start, start + timedelta(hours=1), (CLIENT,), 60)


# ---- one write of each kind, its answer lost -----------------------------------------------------
# Each returns what our code reported, the request's arrivals and how many of the thing exist.

def outcome(call: Callable[[], object]) -> str:
    try:
        value = call()
    except ProviderError as err:
        return repr(err)
    return f"answered {value!r}"


def coursework_in_a_batch(sb: Sandbox, tmp_path: Path, how: str) -> tuple[str, int, int]:
    gc = google(sb, tmp_path, how=how)
    courses = gc.collection("classroom", "courses", subject=COACH)
    course_id = str(gc.execute(courses.create(body={"name": "Tiistairyhmä", "ownerId": "me"}))["id"])
    work = gc.collection("classroom", "courses.courseWork", subject=COACH)
    sb.state.faults.lose_answer(vendor="google", path_glob="/classroom/batch", http_method="POST", count=1, how=how)
    results = gc.batch({"k": work.create(courseId=course_id, body={
        "title": "Viikon teema", "workType": "ASSIGNMENT", "state": "PUBLISHED"})}, retry=False)
    return repr(results["k"].error or results["k"].response), arrivals(sb, "/classroom/batch"), len(sb.google.classroom.course_work[course_id])


def drive_folder(sb: Sandbox, tmp_path: Path, how: str) -> tuple[str, int, int]:
    gc = google(sb, tmp_path, how=how)
    sb.state.faults.lose_answer(vendor="google", path_glob="/drive/drive/v3/files", http_method="POST", count=1, how=how)
    request = Drive(gc).create_folder(ADMIN, FolderSpec("folder:raisio:K-0001", "raisio", "K-0001", "root"), None)
    reported = outcome(lambda: gc.execute(request, retry=False))
    return reported, arrivals(sb, "/drive/drive/v3/files"), _folders(sb)


def drive_folder_in_a_batch(sb: Sandbox, tmp_path: Path, how: str) -> tuple[str, int, int]:
    gc = google(sb, tmp_path, how=how)
    drive = Drive(gc)
    file_id = gc.execute(drive.generate_ids(ADMIN, 1))["ids"][0]  # as the weekly setup reserves ids
    sb.state.faults.lose_answer(vendor="google", path_glob="/drive/batch/drive/v3", http_method="POST", count=1, how=how)
    spec = FolderSpec("folder:raisio:K-0001", "raisio", "K-0001", "root")
    results = gc.batch({"k": drive.create_folder(ADMIN, spec, file_id)}, retry=False)
    return repr(results["k"].error or results["k"].response), arrivals(sb, "/drive/batch/drive/v3"), _folders(sb)


def gmail_send(sb: Sandbox, tmp_path: Path, how: str) -> tuple[str, int, int]:
    gc = google(sb, tmp_path, how=how)
    sb.state.faults.lose_answer(vendor="google", path_glob="*/messages/send", http_method="POST", count=1, how=how)
    reported = outcome(lambda: send_gmail(gc, SENDER, CLIENT, "Muistutus", "<p>Hei</p>", "Hei",
                                          outbox_key="reminder:1"))
    return reported, arrivals(sb, "/messages/send"), len(sb.sent_mail())


def graph_send_mail(sb: Sandbox, tmp_path: Path, how: str) -> tuple[str, int, int]:
    with graph(sb, tmp_path, how=how) as client:
        sb.state.faults.lose_answer(vendor="graph", path_glob="*/sendMail", http_method="POST", count=1, how=how)
        reported = outcome(lambda: send_mail(client, SENDER, CLIENT, "Muistutus", "<p>Hei</p>",
                                             outbox_key="reminder:1"))
    return reported, arrivals(sb, "/sendMail"), len(sb.sent_mail())


def graph_event(sb: Sandbox, tmp_path: Path, how: str) -> tuple[str, int, int]:
    with graph(sb, tmp_path, how=how) as client:
        sb.state.faults.lose_answer(vendor="graph", path_glob="*/events", http_method="POST", count=1, how=how)
        reported = outcome(lambda: create_teams_event(client, meeting(), "tx-tiistai-13"))
    return reported, arrivals(sb, "/events"), len(sb.graph.events)


def graph_event_in_a_batch(sb: Sandbox, tmp_path: Path, how: str) -> tuple[str, int, int]:
    with graph(sb, tmp_path, how=how) as client:
        sb.state.faults.lose_answer(vendor="graph", path_glob="*/$batch", http_method="POST", count=1, how=how)
        result = create_teams_events(client, [("k", meeting(), "tx-tiistai-13")])["k"]
    return repr(result), arrivals(sb, "/$batch"), len(sb.graph.events)


def _folders(sb: Sandbox) -> int:
    with sb.state.lock:
        return sum(1 for f in sb.google.drive.files.values() if f.resource.get("appProperties"))


#: kind -> (the write, what our code reports: sends cannot tell whether the message left, so they
#: are uncertain for a person to check; creates say "try again" and the caller looks first
#: (coursework by its marker) or repeats with its key (Drive's reserved id, Graph's transactionId)).
WRITES: dict[str, tuple[Callable[[Sandbox, Path, str], tuple[str, int, int]], str]] = {
    "classroom coursework create (batch)": (coursework_in_a_batch, "Retriable"),
    "drive folder create": (drive_folder, "Retriable"),
    "drive folder create (batch, reserved id)": (drive_folder_in_a_batch, "Retriable"),
    "gmail messages.send": (gmail_send, "DeliveryUncertain"),
    "graph sendMail": (graph_send_mail, "DeliveryUncertain"),
    "graph event create": (graph_event, "Retriable"),
    "graph event create ($batch)": (graph_event_in_a_batch, "Retriable"),
}


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("kind", list(WRITES))
def test_a_write_whose_answer_is_lost_arrives_once_and_exists_once(kind: str, how: str, sb: Sandbox,
                                                                     tmp_path: Path) -> None:
    write, expected = WRITES[kind]

    reported, arrived, made = write(sb, tmp_path, how)

    assert sum(r.fired for r in sb.state.faults.rules) == 1, "the answer really was lost"
    assert arrived == 1, f"{kind}: the request reached the server {arrived} times"
    assert made == 1, f"{kind}: the server holds {made} of it"
    assert reported.startswith(f"{expected}("), reported
    if not kind.startswith("graph"):
        assert "AnswerLost" in reported, reported


def test_our_retry_policy_repeats_a_lost_event_create_and_its_transaction_id_keeps_it_one(
        sb: Sandbox, tmp_path: Path) -> None:
    with graph(sb, tmp_path, RetryPolicy(max_attempts=3, sleep=lambda s: None)) as client:
        sb.state.faults.lose_answer(vendor="graph", path_glob="*/events", http_method="POST", count=1)
        ref = create_teams_event(client, meeting(), "tx-tiistai-13")

    assert arrivals(sb, "/events") == 2, "one lost, one repeat by RetryPolicy (retry=True for an idempotent create)"
    assert list(sb.graph.events) == [ref.event_id]


def test_the_sandbox_serves_the_request_then_closes_without_an_answer(sb: Sandbox) -> None:
    sb.state.faults.lose_answer(vendor="google", path_glob="/classroom/*", count=1)
    conn = http.client.HTTPConnection("127.0.0.1", int(sb.google_url.rsplit(":", 1)[1]), timeout=5)
    conn.request("GET", "/classroom/v1/courses")
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    conn.close()
    assert [(e.path, e.status) for e in sb.state.log.entries] == [("/classroom/v1/courses", 401)]


# ---- the transport itself, against a bare socket server -------------------------------------------


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: bool) -> None:
        self.answer = answer  # False: read the request, close without a word
        self.arrived: list[bytes] = []
        self.connections = 0
        self.closed = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/things"


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.connections += 1
        self.server.closed.clear()
        line = self.rfile.readline()
        length = 0
        while (header := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        self.server.arrived.append(line)
        if self.server.answer:  # answer, keeping the connection alive as far as the client knows ...
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            self.wfile.flush()
        # ... then close it: idle (after an answer) or lost (instead of one)

    def finish(self) -> None:
        super().finish()
        self.connection.close()
        self.server.closed.set()


@pytest.fixture
def serve() -> Iterator[Callable[[bool], _Server]]:
    servers: list[_Server] = []

    def start(answer: bool) -> _Server:
        servers.append(_Server(answer))
        return servers[-1]

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.mark.parametrize("retries", [None, 1])
def test_canary_plain_httplib2_sends_a_post_twice_when_its_answer_is_lost(
        serve: Callable[[bool], _Server], monkeypatch: pytest.MonkeyPatch, retries: int | None) -> None:
    """Why SingleSendHttp exists; when this fails, httplib2 stopped re-sending by itself and
    transport.py can go. Not even ``httplib2.RETRIES = 1`` (process-wide) stops it."""
    if retries is not None:
        monkeypatch.setattr(httplib2, "RETRIES", retries)
    server = serve(False)
    with pytest.raises(ConnectionError):
        httplib2.Http(timeout=5).request(server.url, "POST", body=b"{}", headers={"content-type": "application/json"})
    assert len(server.arrived) == 2


def test_single_send_http_sends_once_and_says_the_answer_was_lost(serve: Callable[[bool], _Server]) -> None:
    server = serve(False)
    with pytest.raises(AnswerLost):
        SingleSendHttp(timeout=5).request(server.url, "POST", body=b"{}", headers={"content-type": "application/json"})
    assert len(server.arrived) == 1


def test_a_kept_alive_connection_the_server_closed_is_replaced_before_sending(
        serve: Callable[[bool], _Server]) -> None:
    """What httplib2's re-send was for: a server closing an idle connection. We reconnect before
    sending instead, so the next request neither fails nor goes twice."""
    server = serve(True)
    http = SingleSendHttp(timeout=5)
    first: Any = http.request(server.url, "POST", body=b"{}", headers={"content-type": "application/json"})
    assert server.closed.wait(5)

    second: Any = http.request(server.url, "POST", body=b"{}", headers={"content-type": "application/json"})
    http.close()

    assert first[0].status == second[0].status == 200
    assert (len(server.arrived), server.connections) == (2, 2)



def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_connection_never_made_is_never_reached_and_a_lost_answer_is_not(serve: Callable[[bool], _Server]) -> None:
    """The one rule both vendors' writes go by (providers.errors.never_reached): a request that
    never left may be sent again without a lookup; one whose answer was lost may have been applied."""
    with pytest.raises(NotSent) as refused:
        SingleSendHttp(timeout=5).request(f"http://127.0.0.1:{closed_port()}/v1/things", "POST", body=b"{}")
    err = classify(refused.value)
    assert isinstance(err, Retriable) and err.reason == "connect" and never_reached(err)

    with pytest.raises(AnswerLost) as lost:
        SingleSendHttp(timeout=5).request(serve(False).url, "POST", body=b"{}")
    assert isinstance(classify(lost.value), Retriable) and not never_reached(classify(lost.value))


def test_a_gmail_send_that_could_not_connect_is_retriable_not_uncertain(sb: Sandbox, tmp_path: Path) -> None:
    """Nothing reached Gmail, so the outbox requeues the letter instead of asking a person to check it."""
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sb.google.service_account_info()))  # its token endpoint answers
    tenant = GoogleTenant(domain=DOMAIN, service_account={"file": key}, admin_subject=ADMIN,  # type: ignore[arg-type]
                          mail_sender=SENDER, api_base_url=f"http://127.0.0.1:{closed_port()}")
    client = GoogleClient(tenant, policy=ONCE)
    with pytest.raises(Retriable) as err:
        send_gmail(client, SENDER, CLIENT, "Viikko", None, "Hei", outbox_key="k:1")
    assert not isinstance(err.value, DeliveryUncertain) and err.value.reason == "connect"
    assert sb.sent_mail() == []
