"""Errors grouped by cause, what a partial run did, and error kinds explained (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integrator.domain.types import JobStatus
from integrator.store.models import JobRun
from integrator.web.explain import REAUTH, explain_error
from integrator.web.run_errors import group_errors, success_summary

T0 = datetime(2026, 12, 8, 0, 5, tzinfo=UTC)


def run(run_id: int, errors: list[dict[str, object]], *, kind: str = "weekly_setup", hours: int = 0,
        counts: dict[str, int] | None = None) -> JobRun:
    return JobRun(id=run_id, kind=kind, status=JobStatus.PARTIAL, started_at=T0 + timedelta(hours=hours),
                  errors=errors, counts=counts or {}, params={})


def drive_error(code: str, folder_id: str) -> dict[str, object]:
    return {"item": f"folder:{code}", "kind": "fatal",
            "error": f"HTTP 403 insufficientFilePermissions: The user does not have permission for file {folder_id}"}


def test_fourteen_identical_drive_errors_are_one_line_with_a_count_and_the_client_codes() -> None:
    codes = [f"K-{n:04d}" for n in range(1, 15)]
    errors = [drive_error(code, f"1AbCdEfGhIjKlMnOp{n:03d}x") for n, code in enumerate(codes)]

    groups = group_errors([run(1, errors)], codes=codes)

    assert len(groups) == 1
    assert groups[0].count == 14
    assert groups[0].clients == set(codes)
    assert "asiakkaat K-0001, K-0002" in groups[0].affected


def test_a_meeting_that_was_not_created_gets_a_line_of_its_own() -> None:
    errors = [{"item": "meeting:ti-ryhma:2026-12-08", "error": "HTTP 503 backendError", "kind": "retriable"},
              {"item": "meeting:to-ryhma:2026-12-10", "error": "HTTP 503 backendError", "kind": "retriable"},
              {"item": "course:ti-ryhma", "error": "HTTP 503 backendError", "kind": "retriable"}]

    groups = group_errors([run(1, errors)], group_keys={"ti-ryhma", "to-ryhma"})

    titles = [g.title for g in groups if g.title]
    assert titles == ["Tapaamista ei luotu: ryhmä ti-ryhma, ti 8.12.2026",
                      "Tapaamista ei luotu: ryhmä to-ryhma, to 10.12.2026"]
    assert len(groups) == 3  # the course's error is not folded into the meetings' count


def test_the_same_cause_across_runs_has_its_first_and_last_time_and_its_runs() -> None:
    err = {"item": "run", "error": "interrupted", "kind": "interrupted"}
    groups = group_errors([run(1, [err], kind="nightly_sync"), run(2, [err], kind="nightly_sync", hours=24)])

    assert len(groups) == 1 and groups[0].count == 2
    assert groups[0].first_seen == T0 and groups[0].last_seen == T0 + timedelta(hours=24)
    assert groups[0].runs == [2, 1]
    assert groups[0].items == {"run"}
    assert "keskeytyi" in groups[0].explanation  # not "Pysyvä virhe"


def test_entra_trace_ids_do_not_split_one_cause_into_many() -> None:
    texts = [f"token: Authentication failed: AADSTS90033: Too many requests. Trace ID: {n}e27d3e-9004-4b90-8716-"
             f"5ef668b24ac9 Correlation ID: {n}0f6a38-6dd1-4c27-a340-9d2aa3da2e5c Timestamp: 2026-01-05 07:0{n}:00Z"
             for n in range(3)]
    groups = group_errors([run(1, [{"item": "teams", "error": t, "kind": "retriable"} for t in texts])])
    assert [g.count for g in groups] == [3]


def test_a_partial_run_says_what_did_succeed() -> None:
    counts = {"create:topic": 1, "create:coursework": 2, "failed:coursework": 1}
    assert success_summary(counts, 1) == "luotiin aihe ja 2 tehtävää; 1 epäonnistui"
    assert success_summary({"meeting:created": 3, "meeting:error": 1}, 1) == "luotiin 3 tapaamista; 1 epäonnistui"
    assert success_summary({"sent": 12, "uncertain": 1}, 1) == "lähetettiin 12 viestiä; 1 epäonnistui"
    assert success_summary({"failed:coursework": 2}, 2) == ""


def test_a_throttled_token_is_explained_as_waiting_not_as_renewing_the_secret() -> None:
    """What a job records for the token endpoint's 429 (providers map it to Retriable)."""
    text = explain_error({"item": "teams", "error": "token: token endpoint throttled or unavailable", "kind": "retriable"})
    assert text != REAUTH and "uusittava" not in text
