"""Schemathesis against the app's own OpenAPI document, through WSGI: no input gives a 5xx, every
answer keeps to the document (status codes, content types, schemas, headers), the server refuses what
the document forbids and accepts what it allows, and no operation answers without a valid token.

Two ways in: each operation alone, with valid (positive) and invalid (negative) inputs; and chains
that follow the document's links (a group from GET /groups, then its attendance grid, then a
correction of a cell of it), so the fuzzer reaches real objects rather than random ids.

The default run is bounded to stay well under a minute. The `slow` variants (>= 200 examples per
operation and mode, 200 chains) run only when asked: `scripts/test -m slow tests/fuzz`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from integrator.store.migrate import upgrade
from integrator.web import accounts, create_app
from integrator.web.context import get_store
from integrator.web.openapi import LINKS, document
from tests.fuzz.tally import TALLY
from tests.web.world import build_world

OPERATIONS = sorted(op.ok().label for op in schemathesis.openapi.from_dict(document()).get_all_operations())
FAST_EXAMPLES, SLOW_EXAMPLES = 25, 200  # per operation and generation mode
FAST_CHAINS, SLOW_CHAINS = 30, 200  # scenarios of linked calls
# The most calls in one scenario. A correction is three links deep (groups, grid, correction) and
# each step picks among every rule, so the slow run takes long scenarios to get there often.
FAST_STEPS, SLOW_STEPS = 8, 25
WORLD_NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # the Tuesday of tests.web.world.WEEK
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection, positive_data_acceptance, ignored_auth]
# The weekly setup accepts only weeks near today (domain.weeks.check_setup_week): a window that moves
# with the calendar, so no pattern can say it. The document says it in words and lists 400.
WINDOWED = {"POST /jobs/weekly-setup/preview", "POST /jobs/weekly-setup/apply"}


class Fuzzed:
    def __init__(self, app: Flask, token: str) -> None:
        self.app = app
        self.headers = {"Authorization": f"Bearer {token}"}
        self.schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=self.headers)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """One app for the module: the world is built once, and the fuzzer's writes pile up as in use."""
    db_url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'integrator.db'}"
    upgrade(db_url)
    # "This week" is the world's week, so that a list asked for without a week is not empty and the
    # chains reach its clients and attendance days.
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "fuzz-secret-key",
                      "WTF_CSRF_ENABLED": False, "CLOCK": lambda: WORLD_NOW})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
        world = build_world(get_store(app))
        # An admin of every organisation sees every object, so the fuzzer reaches the deep code paths.
        token = accounts.create_token(get_store(app), world.admin_all, "fuzz")
    yield Fuzzed(app, token)
    get_store(app).dispose()


def _checks_for(label: str) -> list[Any]:
    return [c for c in CHECKS if not (label in WINDOWED and c is positive_data_acceptance)]


def _fuzz_operation(fuzzed: Fuzzed, label: str, mode: GenerationMode, examples: int) -> None:
    operation = fuzzed.schema.find_operation_by_label(label)
    assert operation is not None
    checks = _checks_for(label)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        response = case.call(headers=fuzzed.headers)
        TALLY.record(label, response.status_code)
        case.validate_response(response, checks=checks, headers=fuzzed.headers)

    started = time.perf_counter()
    try:
        check()
    finally:
        TALLY.seconds += time.perf_counter() - started


def _run_chains(fuzzed: Fuzzed, scenarios: int, steps: int) -> None:
    base: Any = fuzzed.schema.as_state_machine()

    class Chains(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": fuzzed.headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            TALLY.record(case.operation.label, response.status_code, chained=True)
            case.validate_response(response, checks=_checks_for(case.operation.label)
                                   + [use_after_free, ensure_resource_availability],
                                   headers=fuzzed.headers, transport_kwargs=kwargs or None, recorder=self.recorder)

        def setup(self) -> None:
            TALLY.scenarios += 1

    started = time.perf_counter()
    try:
        Chains.run(settings=settings(max_examples=scenarios, stateful_step_count=steps, deadline=None,
                                     suppress_health_check=list(HealthCheck), database=None,
                                     phases=[Phase.generate]))
    finally:
        TALLY.seconds += time.perf_counter() - started


def test_the_document_links_every_operation_that_takes_an_id_to_one_that_gives_it() -> None:
    from schemathesis.specs.openapi.stateful import collect_transitions

    doc = document()
    op_ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert set(LINKS) <= op_ids, f"links from unknown operations: {sorted(set(LINKS) - op_ids)}"
    schema = schemathesis.openapi.from_dict(doc)
    operations = [op.ok() for op in schema.get_all_operations()]
    explicit = collect_transitions(operations)  # raises on a link to an unknown operation or parameter
    reached = {label for label, t in explicit.operations.items() if t.incoming}
    takes_id = {op.label for op in operations if "{" in op.path}
    assert takes_id <= reached, f"no link gives the id of: {sorted(takes_id - reached)}"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_each_operation_never_answers_5xx_and_keeps_to_its_document(fuzzed: Fuzzed, label: str,
                                                                    mode: GenerationMode) -> None:
    _fuzz_operation(fuzzed, label, mode, FAST_EXAMPLES)


def test_chains_of_linked_operations_keep_to_the_document(fuzzed: Fuzzed) -> None:
    _run_chains(fuzzed, FAST_CHAINS, FAST_STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_each_operation_at_200_examples(fuzzed: Fuzzed, label: str, mode: GenerationMode) -> None:
    _fuzz_operation(fuzzed, label, mode, SLOW_EXAMPLES)


@pytest.mark.slow
def test_200_chains_of_linked_operations(fuzzed: Fuzzed) -> None:
    _run_chains(fuzzed, SLOW_CHAINS, SLOW_STEPS)
