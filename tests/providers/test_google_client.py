"""The Google choke point against the sandbox: services, execute, batches, paging, error classes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from integrator.config import GoogleTenant
from integrator.providers.errors import Fatal, NeedsReauth, Parked
from integrator.providers.google.client import GoogleClient
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox

DOMAIN = "sandbox.example.fi"
ADMIN = f"admin@{DOMAIN}"
COACH = f"ohjaaja@{DOMAIN}"


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox(page_size=5, with_graph=False) as sb:
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Iterator[Sandbox]:
    server.reset()
    server.google.add_user(ADMIN, "Admin")
    server.google.add_user(COACH, "Olli Ohjaaja")
    yield server
    server.state.faults.clear()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(sb: Sandbox, tmp_path: Path, scopes: list[str] | None = None, **kw: object) -> tuple[GoogleClient, Sleeps]:
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sb.google.service_account_info(scopes)))
    tenant = GoogleTenant(domain=DOMAIN, service_account={"file": key}, admin_subject=ADMIN,
                          api_base_url=sb.google_url)
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.05, sleep=sleeps)
    return GoogleClient(tenant, policy=policy, **kw), sleeps  # type: ignore[arg-type]


def new_course(gc: GoogleClient, name: str) -> str:
    svc = gc.service("classroom", subject=COACH)
    return str(gc.execute(svc.courses().create(body={"name": name, "ownerId": "me"}))["id"])


def test_a_delegated_service_reaches_the_sandbox_as_that_user(sb: Sandbox, tmp_path: Path) -> None:
    gc, _ = make_client(sb, tmp_path)
    course_id = new_course(gc, "Tiistairyhmä")
    assert sb.google.classroom.courses[course_id]["ownerId"] == sb.google.user(COACH).id  # type: ignore[union-attr]
    assert sb.state.log.entries[-1].path == "/classroom/v1/courses"


def test_execute_waits_out_retry_after_then_succeeds(sb: Sandbox, tmp_path: Path) -> None:
    gc, sleeps = make_client(sb, tmp_path)
    new_course(gc, "warm-up")  # the token is fetched
    sb.state.faults.inject(vendor="google", path_glob="/classroom/v1/courses", rate=1.0, status=429, retry_after=3,
                           count=1)
    new_course(gc, "Torstairyhmä")
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 3.2
    assert gc.stats.retries == 1


def test_403_user_rate_limit_is_retried_not_failed(sb: Sandbox, tmp_path: Path) -> None:
    gc, sleeps = make_client(sb, tmp_path)
    sb.state.faults.inject(vendor="google", path_glob="/classroom/v1/courses", rate=1.0, status=403,
                           reason="userRateLimitExceeded", count=2)
    new_course(gc, "Perjantairyhmä")
    assert len(sleeps) == 2 and sleeps[1] >= sleeps[0] * 0.5  # exponential backoff with jitter


def test_an_existing_alias_is_a_fatal_already_exists(sb: Sandbox, tmp_path: Path) -> None:
    gc, _ = make_client(sb, tmp_path)
    svc = gc.service("classroom", subject=COACH)
    body = {"id": "p:ktt-x-g1", "name": "G1", "ownerId": "me"}
    gc.execute(svc.courses().create(body=body))
    with pytest.raises(Fatal) as caught:
        gc.execute(svc.courses().create(body=body))
    assert caught.value.status == 409 and caught.value.reason == "ALREADY_EXISTS"


def test_batches_are_cut_at_the_api_limit_and_answer_per_item(sb: Sandbox, tmp_path: Path) -> None:
    gc, _ = make_client(sb, tmp_path)
    ids = [new_course(gc, f"Ryhmä {i}") for i in range(3)]
    svc = gc.service("classroom", subject=COACH)
    requests = {i: svc.courses().get(id=ids[i % 3] if i < 60 else "missing") for i in range(61)}
    sb.state.log.reset()
    results = gc.batch(requests)
    assert sb.state.log.counts()["google classroom batch"] == 2  # 50 + 11
    assert all(results[i].ok for i in range(60))
    assert isinstance(results[60].error, Fatal) and results[60].error.status == 404


def test_only_the_failed_items_of_a_batch_are_sent_again(sb: Sandbox, tmp_path: Path) -> None:
    gc, sleeps = make_client(sb, tmp_path)
    course_id = new_course(gc, "Ryhmä")
    svc = gc.service("classroom", subject=COACH)
    sb.state.faults.inject(vendor="google", path_glob="/classroom/v1/courses/*/topics", rate=0.3, status=503)
    results = gc.batch({i: svc.courses().topics().create(courseId=course_id, body={"name": f"Viikko {i}"})
                        for i in range(40)})
    assert all(r.ok for r in results.values())
    sent = sum(1 for e in sb.state.log.items() if e.operation == "courses.topics.create")
    fired = sum(f.fired for f in sb.state.faults.rules)
    assert sent == 40 + fired  # each item went again only as often as it failed
    assert len(sb.google.classroom.topics[course_id]) == 40
    assert sleeps  # waited between rounds


def test_a_daily_limit_parks_the_rest_instead_of_spending_it(sb: Sandbox, tmp_path: Path) -> None:
    gc, _ = make_client(sb, tmp_path)
    course_id = new_course(gc, "Ryhmä")
    svc = gc.service("classroom", subject=COACH)
    sb.state.faults.inject(vendor="google", path_glob="/classroom/v1/courses/*/topics", rate=1.0, status=403,
                           reason="dailyLimitExceeded", count=1)
    sb.state.log.reset()
    results = gc.batch({i: svc.courses().topics().create(courseId=course_id, body={"name": f"T{i}"})
                        for i in range(120)})
    assert isinstance(results[0].error, Parked)
    assert all(isinstance(results[i].error, Parked) for i in range(50, 120))  # never sent
    assert sb.state.log.counts()["google classroom batch"] == 1


def test_missing_delegated_scopes_need_reauthentication(sb: Sandbox, tmp_path: Path) -> None:
    gc, _ = make_client(sb, tmp_path, scopes=["https://www.googleapis.com/auth/drive"])
    with pytest.raises(NeedsReauth):
        new_course(gc, "Ryhmä")
    with pytest.raises(NeedsReauth):
        gc.batch({1: gc.service("classroom", subject=COACH).courses().get(id="x")})


def test_list_all_reads_every_page(sb: Sandbox, tmp_path: Path) -> None:
    gc, _ = make_client(sb, tmp_path)
    for i in range(12):
        new_course(gc, f"Ryhmä {i}")
    courses = gc.list_all(gc.service("classroom", subject=COACH).courses(), "courses", teacherId="me")
    assert len(courses) == 12  # three pages of five


def test_without_batching_every_item_is_its_own_request(sb: Sandbox, tmp_path: Path) -> None:
    gc, _ = make_client(sb, tmp_path, batching=False)
    course_id = new_course(gc, "Ryhmä")
    svc = gc.service("classroom", subject=COACH)
    sb.state.log.reset()
    results = gc.batch({i: svc.courses().get(id=course_id) for i in range(7)})
    assert all(r.ok for r in results.values())
    assert sb.state.log.total() == 7 and "google classroom batch" not in sb.state.log.counts()
