"""A coordinator reads only their own groups' runs and counts (issue 15, must-have 6).

An organisation-wide run (nightly sync) is listed to a coordinator with its status, times and
their own errors and plan items, never with the organisation's counts or progress; a run over
several groups counts as organisation-wide unless every group is theirs."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from integrator.domain.types import JobStatus
from integrator.store.models import JobRun
from integrator.web.context import get_store
from tests.web.world import World

ORG_COUNTS = {"created": 41, "errors": 4}


def _counted(app: Flask, world: World) -> int:
    """The world's nightly run gets organisation-wide counts; plus a run over both groups of A."""
    with get_store(app).session() as s:
        nightly = s.get(JobRun, world.run_org)
        assert nightly is not None
        nightly.counts, nightly.progress_done, nightly.progress_total = ORG_COUNTS, 73, 73
        run_a = s.get(JobRun, world.run_a)
        assert run_a is not None
        run_a.counts, run_a.progress_done, run_a.progress_total = {"created": 3}, 3, 3
        both = JobRun(organisation_id=world.org_a, kind="weekly_setup", status=JobStatus.SUCCEEDED,
                      params={"week": "2026-W48", "groups": ["ti-ryhma", "to-ryhma"]},
                      counts={"created": 9}, progress_done=9, progress_total=9)
        s.add(both)
        s.flush()
        return both.id


def test_the_api_shows_a_coordinator_no_organisation_wide_counts(app: Flask, as_coord_b: FlaskClient,
                                                                  world: World) -> None:
    both = _counted(app, world)
    listed = {r["id"]: r for r in as_coord_b.get("/api/v1/jobs").get_json()}
    assert set(listed) == {world.run_org, world.run_b, both}
    for run_id in (world.run_org, both):
        run = listed[run_id]
        assert run["counts"] == {} and run["counts_hidden"] is True
        assert run["progress_done"] is None and run["progress_total"] is None
        assert run["status"] and run["started_at"]
    assert listed[both]["params"]["groups"] == ["to-ryhma"]  # group A's key is not theirs to read
    assert listed[world.run_b]["counts_hidden"] is False
    one = as_coord_b.get(f"/api/v1/jobs/{world.run_org}").get_json()
    assert one["counts"] == {} and one["progress_total"] is None
    assert [e["item"] for e in one["errors"]] == ["K-0002", "credentials"]


def test_a_coordinators_own_group_run_keeps_its_counts(app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    _counted(app, world)
    run = as_coord_a.get(f"/api/v1/jobs/{world.run_a}").get_json()
    assert run["counts"] == {"created": 3} and run["progress_done"] == 3 and run["counts_hidden"] is False


def test_an_admin_reads_the_organisation_wide_counts(app: Flask, as_admin: FlaskClient, world: World) -> None:
    _counted(app, world)
    run = as_admin.get(f"/api/v1/jobs/{world.run_org}").get_json()
    assert run["counts"] == ORG_COUNTS and run["progress_total"] == 73 and run["counts_hidden"] is False


def test_the_pages_show_a_coordinator_no_organisation_wide_counts(app: Flask, as_coord_b: FlaskClient,
                                                                  as_admin: FlaskClient, world: World) -> None:
    _counted(app, world)
    listing = as_coord_b.get("/jobs").get_data(as_text=True)
    assert "73/73" not in listing and "koko organisaatio" in listing
    page = as_coord_b.get(f"/jobs/{world.run_org}").get_data(as_text=True)
    # Only the counts' own places are read: a CSRF token or the start time may contain the digits by chance.
    assert 'id="job-wide"' in page and "Yhteenveto" not in page and "73 / 73" not in page
    assert not re.search(r"<li>[^<]*: 41</li>", page)
    assert 'id="job-progress"' not in page
    admin_page = as_admin.get(f"/jobs/{world.run_org}").get_data(as_text=True)
    assert re.search(r"<li>[^<]*: 41</li>", admin_page) and "73 / 73" in admin_page
