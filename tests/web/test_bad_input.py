"""A bad input is a clear 4xx, never a 500: ids out of range in URLs and forms, JSON values of the
wrong type, unknown JSON fields."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing.converters import AnyConverter

from integrator.web.validation import ID_MAX, DayConverter, IdConverter
from tests.web.world import WEEK, World

OUT_OF_RANGE = [str(2**63), str(2**64), "1" + "0" * 30, str(ID_MAX + 1), "0", "-1", "-9223372036854775809"]


def _routes_with_ids(app: Flask) -> list[tuple[str, str]]:
    return sorted((rule.rule, method) for rule in app.url_map.iter_rules()
                  if rule.arguments and rule.endpoint != "static" for method in (rule.methods or set()) - {"HEAD", "OPTIONS"})


def test_every_id_in_a_url_is_bounded_to_the_database_ids(app: Flask) -> None:
    routes = _routes_with_ids(app)
    assert len(routes) >= 17
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":  # <path:filename>: our CSS and one script
            continue
        if rule.endpoint == "surveys.answer":  # a survey link's random token, looked up by its hash: not an id
            continue
        for name, converter in rule._converters.items():
            if isinstance(converter, DayConverter):  # a date, not an id: tested below
                continue
            if isinstance(converter, AnyConverter):  # one of a few fixed words (a sign-in provider's kind)
                continue
            assert isinstance(converter, IdConverter), f"{rule.rule}: <{name}> is not an <id:...>"
            assert (converter.min, converter.max) == (1, ID_MAX)


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_an_id_out_of_range_is_not_found_on_every_route(app: Flask, as_admin: FlaskClient, world: World,
                                                        value: str) -> None:
    answers = {}
    for rule, method in _routes_with_ids(app):
        url = re.sub(r"<[^>]+>", value, rule)
        body: dict[str, Any] = {"json": {}} if url.startswith("/api/") else {"data": {}}
        answers[f"{method} {url}"] = as_admin.open(url, method=method, **body).status_code
    assert set(answers.values()) == {404}, answers


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-01", "0000-01-01", "24.11.2026", "2026-11-24x"])
def test_a_day_in_a_url_that_is_not_a_calendar_date_is_not_found(as_admin: FlaskClient, world: World,
                                                                 day: str) -> None:
    assert as_admin.get(f"/api/v1/clients/{world.client_a}/attendance/{day}/history").status_code == 404
    resp = as_admin.post(f"/api/v1/clients/{world.client_a}/attendance/{day}",
                         json={"status": "excused", "reason": "Sairas"})
    assert resp.status_code == 404


def test_a_huge_group_id_in_the_setup_form_is_a_clear_400(as_admin: FlaskClient, world: World) -> None:
    for path in ("/weekly-setup/preview", "/weekly-setup/apply"):
        for value in (str(2**63), "1" + "0" * 30, "-1", "0", "x", "١"):
            resp = as_admin.post(path, data={"group_id": value, "week": WEEK})
            assert resp.status_code == 400, (path, value)
            assert "Valitse ryhmä" in resp.get_data(as_text=True)


def _bodies(w: World) -> dict[str, dict[str, Any]]:
    """Each JSON route of the API with a body it accepts."""
    return {
        f"/api/v1/attendance/{w.attendance_a}/correction": {"status": "excused", "reason": "Sairas"},
        f"/api/v1/groups/{w.group_a}/identity-mappings": {"source": "teams", "participant_key": "phone:+358401234567",
                                                          "client_id": w.client_a},
        f"/api/v1/clients/{w.client_a}/attendance/2026-11-24": {"status": "excused", "reason": "Sairas"},
        f"/api/v1/clients/{w.client_a}/attendance/2026-11-24/revert": {"reason": "Väärä merkintä"},
        f"/api/v1/clients/{w.client_a}/move": {"to_group": "ti-ryhma", "from": "2026-11-24"},
        f"/api/v1/clients/{w.client_a}/end": {"on": "2026-11-24", "reason": "work"},
        "/api/v1/jobs/weekly-setup/preview": {"week": WEEK, "group_id": w.group_a, "organisation_id": w.org_a},
        "/api/v1/jobs/weekly-setup/apply": {"week": WEEK, "group_id": w.group_a, "organisation_id": w.org_a},
    }


STRING_FIELDS = {"status", "reason", "source", "participant_key", "week", "to_group", "from", "on"}
NOT_STRINGS: list[Any] = [{}, {"$gt": ""}, [], ["excused"], 7, 1.5, True, False]
NOT_IDS: list[Any] = ["1", "", {}, [], 1.5, True, -1, 0, ID_MAX + 1, 2**63, 10**40]


def test_every_json_route_of_the_api_is_covered(app: Flask, world: World) -> None:
    posted = {re.sub(r"<[^>]+>", "ID", r.rule) for r in app.url_map.iter_rules()
              if r.rule.startswith("/api/") and "POST" in (r.methods or set())}
    covered = {re.sub(r"/\d{4}-\d{2}-\d{2}", "/ID", re.sub(r"/\d+/", "/ID/", url)) for url in _bodies(world)}
    assert posted == covered


def test_a_value_of_the_wrong_json_type_is_a_400_naming_the_field(as_admin: FlaskClient, world: World) -> None:
    answers: list[tuple[str, str, Any, int, str]] = []
    for url, good in _bodies(world).items():
        for field, value in good.items():
            for bad in (NOT_STRINGS if field in STRING_FIELDS else NOT_IDS):
                resp = as_admin.post(url, json={**good, field: bad})
                message = (resp.get_json() or {}).get("message", "")
                answers.append((url, field, bad, resp.status_code, message))
    wrong = [a for a in answers if a[3] != 400 or a[1] not in a[4]]
    assert not wrong, wrong
    assert len(answers) >= 50


def test_an_unknown_field_or_a_body_that_is_no_object_is_a_400(as_admin: FlaskClient, world: World) -> None:
    for url, good in _bodies(world).items():
        resp = as_admin.post(url, json={**good, "statuz": "excused"})
        assert resp.status_code == 400 and "statuz" in resp.get_json()["message"], url
        for body in ([good], "x", 5, None):
            assert as_admin.post(url, json=body).status_code == 400, (url, body)
        assert as_admin.post(url, data="{not json", content_type="application/json").status_code == 400


def test_a_job_kind_is_what_the_document_says(as_admin: FlaskClient, world: World) -> None:
    assert as_admin.get("/api/v1/jobs?kind=weekly_setup").status_code == 200
    for kind in ("WEEKLY", "ä", "x1", "a" * 41, "", "weekly setup"):
        assert as_admin.get("/api/v1/jobs", query_string={"kind": kind}).status_code == 400, kind
