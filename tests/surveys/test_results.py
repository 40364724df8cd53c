"""Results match hand-computed figures for a scripted set of answers: the digital-support shift,
reversed scales normalised (higher = better), "en osaa sanoa" apart, nothing under five answers;
the own survey page replaces a second answer; the results page shows a coordinator's own groups."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from integrator.domain.surveys import PILOT_END, PILOT_START
from integrator.jobs.notify.surveys import queue_survey_messages
from integrator.jobs.surveys.rounds import ensure_version
from integrator.reports import surveys as results
from integrator.store.db import Store
from integrator.store.models import OutboxMessage, PeerGroup, SurveyResponse
from integrator.web import accounts
from integrator.web.context import get_store
from tests.surveys.world import NOW, ORG, PAGE_URL, WEEK, World, build, settings

LINK = re.compile(re.escape(PAGE_URL) + r"(/kysely/[A-Za-z0-9_-]+)")
START_LEVELS = PILOT_START.question("a01").options
END_LEVELS = PILOT_END.question("a01").options
LIKERT = PILOT_END.question("a05").options


def script_answers(store: Store, w: World) -> None:
    """Group-level answers as the Forms harvest stores them (no invitation, no name)."""
    with store.session() as s:
        start, end = ensure_version(s, 1, PILOT_START), ensure_version(s, 1, PILOT_END)
        tue, thu = w.groups["tiistai"], w.groups["torstai"]
        rows = [(tue, start, "start", {"a01": [START_LEVELS[i]]}) for i in (0, 0, 1, 1, 2)]
        heard, sharing, atmosphere = ["1", "1", "2", "5", "3"], ["5", "4", "4", "3", "5"], ["1", "2", "1", "1", "5"]
        likert = [LIKERT[0], LIKERT[0], LIKERT[0], LIKERT[3], LIKERT[5]]
        for i, level in enumerate((1, 2, 2, 3, 3)):
            answers = {"a01": [END_LEVELS[level]], "a02": [heard[i]], "a03": [sharing[i]], "a04": [atmosphere[i]],
                       "a05": [likert[i]]}
            if i < 2:
                answers["a08"] = [f"Hyvää on vertaistuki {i}"]
            rows.append((tue, end, "end", answers))
        rows += [(thu, end, "end", {"a02": ["1"], "a09": ["Enemmän tehtäviä"]}) for _ in range(4)]
        for n, (group, version, round_key, answers) in enumerate(rows):
            s.add(SurveyResponse(organisation_id=1, group_id=group, survey_version_id=version.id, round_key=round_key,
                                 external_id=f"resp-{n}", answers=answers, submitted_at=NOW + timedelta(days=30)))


def test_results_match_hand_computed_figures(store: Store) -> None:
    w = build(store, work_days=False)
    script_answers(store, w)
    with store.session() as s:
        groups = list(s.scalars(select(PeerGroup).order_by(PeerGroup.key)))
        tue, thu = results.build(s, groups, date(2026, 1, 1), date(2026, 12, 31))
    assert tue.group_name == "Ryhmä tiistai" and tue.answers == {"start": 5, "end": 5}
    assert tue.shift is not None
    assert (tue.shift.before, tue.shift.n_before) == ({1: 2, 2: 2, 3: 1, 4: 0}, 5)
    assert (tue.shift.after, tue.shift.n_after) == ({1: 0, 2: 1, 3: 2, 4: 2}, 5)
    by_id = {qr.question.id: qr.summary for qr in tue.questions}
    assert by_id["a02"].mean == 3.6  # "hyvin" = 1 on the form: (5 + 5 + 4 + 1 + 3) / 5
    assert by_id["a03"].mean == 4.2  # "turvallista" = 5: as answered
    assert by_id["a04"].mean == 4.0  # "epäluotettava" = 5: (5 + 4 + 5 + 5 + 1) / 5
    assert by_id["a05"].n == 4 and by_id["a05"].apart == {"En osaa sanoa": 1}
    assert by_id["a05"].mean is None and not by_id["a05"].shown  # four scored answers: suppressed
    assert [a.text for a in tue.open_answers] == ["Hyvää on vertaistuki 0", "Hyvää on vertaistuki 1"]
    assert all(a.client_code is None for a in tue.open_answers)  # anonymous
    # Thursday: four answers. No figure, no open answer.
    assert thu.answers == {"end": 4} and not any(qr.summary.shown for qr in thu.questions)
    assert thu.open_answers == []

    rows = list(csv.reader(io.StringIO(results.write_csv(results.table([tue, thu]))), delimiter=";"))
    means = {(r[0], r[2]): r[6] for r in rows[1:] if r[3] == "keskiarvo"}
    assert means[("Ryhmä tiistai", "Tulin kuulluksi ja kohdatuksi…")] == "3,60"  # Finnish decimal comma (reports.finnish_csv)
    assert means[("Ryhmä tiistai", PILOT_END.question("a05").text)] == results.SUPPRESSED_FI
    assert means[("Ryhmä torstai", "Tulin kuulluksi ja kohdatuksi…")] == results.SUPPRESSED_FI
    assert not [r for r in rows[1:] if r[0] == "Ryhmä torstai" and r[4] not in ("", results.SUPPRESSED_FI)]


def test_the_report_command_writes_csv_and_xlsx(store: Store, db_url: str, tmp_path: Path) -> None:
    from click.testing import CliRunner
    from openpyxl import load_workbook

    from integrator.cli import cli

    w = build(store, work_days=False)
    script_answers(store, w)
    config = tmp_path / "c.yaml"
    config.write_text(f"database_url: {db_url}\norganisations:\n  - key: {ORG}\n    name: Raisio\n    surveys:\n"
                      f"      enabled: true\n      page_url: {PAGE_URL}\n", encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(cli, ["report", "surveys", "--config", str(config), "--from", "2026-01-01",
                               "--to", "2026-12-31", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert "Tulin kuulluksi ja kohdatuksi…" in out.output and "3,60" in out.output
    target = tmp_path / "k.xlsx"
    out = runner.invoke(cli, ["report", "surveys", "--config", str(config), "--from", "2026-01-01",
                               "--to", "2026-12-31", "--format", "xlsx", "--out", str(target)])
    assert out.exit_code == 0, out.output
    ws = load_workbook(target).active
    assert ws is not None and ws["A1"].value == "Ryhmä"
    bad = runner.invoke(cli, ["report", "surveys", "--config", str(config), "--from", "2026-13-01"])
    assert bad.exit_code != 0 and "--from" in bad.output


@pytest.fixture
def web(app: Flask) -> tuple[Flask, World]:
    app.config["SETTINGS"] = settings(linked=True)
    app.extensions["integrator.settings"] = app.config["SETTINGS"]
    app.config["CLOCK"] = lambda: NOW + timedelta(days=40)  # the links are 40 days old
    store = get_store(app)
    w = build(store, work_days=False)
    for staff_id in w.coordinators.values():
        accounts.set_password(store, staff_id, "salasana salasana")
    return app, w


def _links(store: Store) -> dict[str, str]:
    with store.session() as s:
        out = {}
        for m in s.scalars(select(OutboxMessage)):
            found = LINK.search(m.body_text)
            assert found is not None
            out[m.key.split(":")[2]] = found.group(1)
        return out


def test_the_own_page_stores_answers_and_a_second_answer_replaces_them(web: tuple[Flask, World]) -> None:
    app, w = web
    store = get_store(app)
    queue_survey_messages(store, app.config["SETTINGS"], ORG, WEEK, NOW)
    links = _links(store)
    c = app.test_client()
    page = c.get(links["K-0004"]).get_data(as_text=True)
    assert "<legend>" in page and "Tulin kuulluksi ja kohdatuksi…" in page and "K-0004" not in page
    assert "Ohjaajasi näkee vastauksesi" in page  # linked answers: the client is told
    missing = c.post(links["K-0004"], data={"a02": "1"})
    assert missing.status_code == 400 and "Tähän kohtaan on vastattava." in missing.get_data(as_text=True)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 0
    first = c.post(links["K-0004"], data={"a01": "0", "a02": "1", "a08": "Ryhmä"})
    assert first.status_code == 200 and "Kiitos" in first.get_data(as_text=True)
    second = c.post(links["K-0004"], data={"a01": "3", "a02": "2"})
    assert "korvasivat" in second.get_data(as_text=True)
    with store.session() as s:
        rows = list(s.scalars(select(SurveyResponse)))
    assert len(rows) == 1 and rows[0].answers == {"a01": ["osaan auttaa ja tukea muita digiasioissa"], "a02": ["2"]}
    assert c.get("/kysely/not-a-token").status_code == 404
    # The plain-language client sees the plain wording.
    plain = c.get(links["K-0003"]).get_data(as_text=True)
    assert "Tarvitsin paljon apua." in plain and "Digitaidot" in plain


def test_the_results_page_shows_only_the_coordinators_own_groups(web: tuple[Flask, World]) -> None:
    app, w = web
    store = get_store(app)
    script_answers(store, w)
    queue_survey_messages(store, app.config["SETTINGS"], ORG, WEEK, NOW)
    links = _links(store)
    c = app.test_client()
    c.post(links["K-0004"], data={"a01": "2", "a09": "Enemmän yhteisiä hetkiä"})
    assert c.get("/surveys").status_code in (302, 401)  # behind login
    a = app.test_client()
    assert a.post("/login", data={"email": "ohjaaja-a@example.fi", "password": "salasana salasana"}).status_code == 302
    page = a.get("/surveys?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert "Ryhmä tiistai" in page and "Ryhmä torstai" not in page
    assert "<svg" in page and 'role="img"' in page and "3,60" in page
    assert "K-0004" in page and "Enemmän yhteisiä hetkiä" in page  # linked answer: by client code
    b = app.test_client()
    b.post("/login", data={"email": "ohjaaja-b@example.fi", "password": "salasana salasana"})
    page_b = b.get("/surveys?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert "Ryhmä torstai" in page_b and "Ryhmä tiistai" not in page_b and "<svg" not in page_b
