"""Schemathesis against the app's own OpenAPI document, through WSGI: no input gives a 5xx,
and every answer matches the documented status codes, content types and schemas.

Each operation gets a bounded number of examples so the whole file runs in well under a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from integrator.web import accounts
from integrator.web.context import get_store
from integrator.web.openapi import document
from tests.web.world import build_world

OPERATIONS = sorted(op.ok().label for op in schemathesis.openapi.from_dict(document()).get_all_operations())
EXAMPLES = 30


@pytest.fixture
def token(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    world = build_world(get_store(app))
    # An admin of every organisation sees every object, so the fuzzer reaches the deep code paths.
    return accounts.create_token(get_store(app), world.admin_all, "fuzz")


@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_never_answers_5xx_and_keeps_to_its_document(app: Flask, token: str, label: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    operation = schema.find_operation_by_label(label)
    assert operation is not None

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                 content_type_conformance, response_schema_conformance])

    check()
