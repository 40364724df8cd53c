"""The weekly setup runs only for weeks near today (domain.weeks.check_setup_week): a preview from
8 weeks back to 26 ahead, an apply from this week to 26 ahead, never a past week. The API, the pages
and the command keep the same window."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from integrator.cli import cli
from integrator.domain import weeks
from integrator.store.db import Store
from integrator.web.openapi import document
from tests.web.conftest import CONFIG_YAML
from tests.web.world import World

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tuesday of 2026-W49
TODAY = date(2026, 12, 1)
# week -> (may be previewed, may be applied)
WEEKS = {
    "2026-W40": (False, False),
    "2026-W41": (True, False),  # 8 weeks back
    "2026-W48": (True, False),  # last week: a past week is never applied
    "2026-W49": (True, True),  # this week
    "2026-W50": (True, True),
    "2027-W22": (True, True),  # 26 weeks ahead
    "2027-W23": (False, False),
    "9954-W07": (False, False),  # what a fuzzer once set up
    "0001-W01": (False, False),
}


@pytest.fixture
def pinned(app: Flask) -> Flask:
    app.config["CLOCK"] = lambda: NOW
    return app


def test_the_window_is_one_rule() -> None:
    assert weeks.setup_week_window(TODAY, apply=False) == ("2026-W41", "2027-W22")
    assert weeks.setup_week_window(TODAY, apply=True) == ("2026-W49", "2027-W22")
    for week, (preview, apply) in WEEKS.items():
        for is_apply, allowed in ((False, preview), (True, apply)):
            if allowed:
                assert weeks.check_setup_week(week, TODAY, apply=is_apply) == week
            else:
                with pytest.raises(ValueError, match=week):
                    weeks.check_setup_week(week, TODAY, apply=is_apply)
    with pytest.raises(ValueError, match="in the past"):
        weeks.check_setup_week("2026-W48", TODAY, apply=True)


@pytest.mark.parametrize("week", WEEKS)
def test_the_api_refuses_a_week_outside_the_window_with_a_400_naming_it(pinned: Flask, as_coord_a: FlaskClient,
                                                                       world: World, week: str) -> None:
    for kind, allowed in zip(("preview", "apply"), WEEKS[week], strict=True):
        resp = as_coord_a.post(f"/api/v1/jobs/weekly-setup/{kind}", json={"week": week, "group_id": world.group_a})
        if allowed:  # past the window: this test app has no configuration
            assert resp.status_code == 409, (kind, resp.get_json())
        else:
            assert resp.status_code == 400, (kind, resp.get_json())
            assert week in resp.get_json()["message"] and "2027-W22" in resp.get_json()["message"]


def test_the_window_is_checked_after_who_may_set_up_the_group(pinned: Flask, as_coord_b: FlaskClient,
                                                              world: World) -> None:
    resp = as_coord_b.post("/api/v1/jobs/weekly-setup/apply", json={"week": "9954-W07", "group_id": world.group_a})
    assert resp.status_code == 404


@pytest.mark.parametrize("week", ["2026-W48", "2027-W23", "9954-W07"])
def test_the_page_refuses_an_apply_outside_the_window_in_finnish(pinned: Flask, as_coord_a: FlaskClient,
                                                                  world: World, week: str) -> None:
    resp = as_coord_a.post("/weekly-setup/apply", data={"group_id": str(world.group_a), "week": week})
    assert resp.status_code == 400
    if week == "2026-W48":
        assert "Viikko 48 (23.–29.11.) on jo mennyt: valmistelua ei toteuteta" in resp.get_data(as_text=True)
    else:
        assert "valmistelun voi tehdä viikoille 2026-W49–2027-W22" in resp.get_data(as_text=True)
    resp = as_coord_a.post("/weekly-setup/apply", data={"group_id": str(world.group_a), "week": "2026-W50"})
    assert resp.status_code == 302  # not configured: back to the form with the reason


def test_the_document_states_the_window() -> None:
    week = document()["components"]["schemas"]["SetupRequest"]["properties"]["week"]
    assert "8 weeks back" in week["description"] and "26 weeks ahead" in week["description"]
    assert "never a past week" in week["description"]


@pytest.fixture
def config_file(tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INTEGRATOR_DATABASE_URL", store.url)
    path = tmp_path / "integrator.yaml"
    path.write_text(CONFIG_YAML, encoding="utf-8")
    return path


@pytest.mark.parametrize(("week", "dry_run", "message"), [
    ("2026-W48", False, "is in the past"),
    ("9954-W07", False, "outside the weekly-setup window 2026-W49..2027-W22"),
    ("2026-W40", True, "outside the weekly-setup window 2026-W41..2027-W22"),
    ("2027-W23", True, "outside the weekly-setup window"),
])
def test_the_command_refuses_a_week_outside_the_window(config_file: Path, week: str, dry_run: bool,
                                                       message: str) -> None:
    args = ["weekly-setup", "--config", str(config_file), "--week", week, "--org", "raisio", "--no-meetings",
            "--now", NOW.isoformat()] + (["--dry-run"] if dry_run else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "'--week'" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_command_plans_a_past_week_in_the_window_as_a_dry_run(config_file: Path) -> None:
    result = CliRunner().invoke(cli, ["weekly-setup", "--config", str(config_file), "--week", "2026-W45", "--org",
                                      "raisio", "--no-meetings", "--dry-run", "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Dry run #" in result.output


def test_only_an_admin_may_force_a_past_week_and_only_by_typing_it_again(pinned: Flask, as_coord_a: FlaskClient,
                                                                        as_admin: FlaskClient, world: World) -> None:
    body = {"week": "2026-W45", "group_id": world.group_a}
    resp = as_coord_a.post("/api/v1/jobs/weekly-setup/apply", json={**body, "force_past_week": "2026-W45"})
    assert resp.status_code == 403
    resp = as_admin.post("/api/v1/jobs/weekly-setup/apply", json={**body, "force_past_week": "2026-W44"})
    assert resp.status_code == 400 and "is in the past" in resp.get_json()["message"]
    resp = as_admin.post("/api/v1/jobs/weekly-setup/apply", json={**body, "force_past_week": "2026-W45"})
    assert resp.status_code == 409  # past the window: this test app has no configuration
    resp = as_admin.post("/api/v1/jobs/weekly-setup/apply", json={"week": "2026-W40", "group_id": world.group_a,
                                                                   "force_past_week": "2026-W40"})
    assert resp.status_code == 400  # forced as far back as a preview looks, no further


def test_the_api_takes_the_confirmed_removals_as_a_list_of_keys(pinned: Flask, as_coord_a: FlaskClient,
                                                                 world: World) -> None:
    body = {"week": "2026-W50", "group_id": world.group_a}
    for bad in ("enrolment:x:K-1", [1], [""], ["x" * 201]):
        resp = as_coord_a.post("/api/v1/jobs/weekly-setup/apply", json={**body, "confirm_removals": bad})
        assert resp.status_code == 400 and "confirm_removals" in resp.get_json()["message"]
    resp = as_coord_a.post("/api/v1/jobs/weekly-setup/apply",
                           json={**body, "confirm_removals": ["enrolment:ti-ryhma:K-0001"]})
    assert resp.status_code == 409


def test_an_unknown_page_and_a_refused_form_answer_in_finnish(as_coord_a: FlaskClient) -> None:
    html = as_coord_a.get("/ei-tallaista").get_data(as_text=True)
    assert "Ei löytynyt" in html and "requested URL" not in html
    resp = as_coord_a.post("/weekly-setup/preview", data={"group_id": "all", "week": "ensi viikko"})
    assert resp.status_code == 400 and "kirjoita viikon numero" in resp.get_data(as_text=True)
