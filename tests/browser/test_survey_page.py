"""A client answers the own survey page on a phone (390 px) in a real browser; axe-core finds no
serious or critical violation on it or on the coordinator's results page. Screenshots go to
tests/artifacts/ (not committed).

axe-core comes with the axe-playwright-python test dependency (INTEGRATOR_AXE_JS may point at
another axe.min.js)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from sqlalchemy import select

from integrator.jobs.notify.surveys import queue_survey_messages
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import OutboxMessage, SurveyResponse
from integrator.web import accounts, create_app
from tests.browser.live import served_app
from tests.surveys.test_results import script_answers
from tests.surveys.world import NOW, ORG, PAGE_URL, WEEK, build, settings

CHROMIUM = os.environ.get("INTEGRATOR_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# axe-core as shipped in the axe-playwright-python test dependency; INTEGRATOR_AXE_JS may point at another copy.
AXE = Path(os.environ.get("INTEGRATOR_AXE_JS", Path(axe_playwright_python.__file__).parent / "axe.min.js"))
PASSWORD = "selain salasana"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium, or set INTEGRATOR_CHROMIUM)"),
]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Store, dict[str, str]]]:
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    upgrade(url)
    store = Store(url)
    w = build(store, work_days=False)
    script_answers(store, w)
    accounts.set_password(store, w.coordinators["a"], PASSWORD)
    cfg = settings()
    queue_survey_messages(store, cfg, ORG, WEEK, NOW)
    links: dict[str, str] = {}
    with store.session() as s:
        for m in s.scalars(select(OutboxMessage)):
            found = re.search(re.escape(PAGE_URL) + r"(/kysely/\S+)", m.body_text)
            assert found is not None
            links[m.key.split(":")[2]] = found.group(1)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "s" * 32, "SETTINGS": cfg, "INSECURE_HTTP": True,
                      "CLOCK": lambda: NOW + timedelta(days=2)})
    with served_app(app) as base:
        yield base, store, links
    store.dispose()


def _serious(page: Any) -> list[str]:
    if not AXE.exists():
        return []
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("async () => (await axe.run(document)).violations"
                          ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                          ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))")
    return list(found)


def test_a_client_answers_the_survey_on_a_phone(served: tuple[str, Store, dict[str, str]]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, store, links = served
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="fi-FI")
            page.set_default_timeout(30_000)
            page.goto(base + links["K-0004"])
            expect(page.get_by_role("heading", name="Loppukysely")).to_be_visible()
            assert _serious(page) == []
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= 390, f"the page scrolls sideways on a phone: {scroll_width} px"
            page.get_by_role("group", name=re.compile("IT: minulla on hyvät digi-valmiudet")) \
                .get_by_label("en tarvitse tukea").check()
            page.get_by_role("group", name=re.compile("Tulin kuulluksi")).get_by_label("1 hyvin").check()
            page.get_by_label("Mitä hyvää on etäkuntouttavassa työtoiminnassa?").fill("Vertaistuki")
            page.screenshot(path=str(ARTIFACTS / "survey-01-page-phone.png"), full_page=True)
            page.get_by_role("button", name="Lähetä vastaukset").click()
            expect(page.get_by_role("status")).to_contain_text("Vastauksesi on tallennettu.")
            page.screenshot(path=str(ARTIFACTS / "survey-02-thanks-phone.png"), full_page=True)

            page.goto(base + links["K-0003"])  # plain language
            expect(page.get_by_text("Tarvitsin paljon apua.")).to_be_visible()
            assert _serious(page) == []

            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(base + "/login")
            page.get_by_label("Sähköposti").fill("ohjaaja-a@example.fi")
            page.get_by_label("Salasana").fill(PASSWORD)
            page.get_by_role("button", name="Kirjaudu").click()
            page.goto(base + "/surveys?from=2026-01-01&to=2026-12-31")
            expect(page.get_by_role("heading", name="Ryhmä tiistai")).to_be_visible()
            expect(page.locator("svg.chart").first).to_be_visible()
            assert _serious(page) == []
            page.screenshot(path=str(ARTIFACTS / "survey-03-results.png"), full_page=True)
        finally:
            browser.close()
    with store.session() as s:
        answers = [r.answers for r in s.scalars(select(SurveyResponse).where(SurveyResponse.invitation_id.is_not(None)))]
    assert answers == [{"a01": ["en tarvitse tukea"], "a02": ["1"], "a08": ["Vertaistuki"]}]
