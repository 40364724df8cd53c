"""A coordinator runs a week in a real browser against the sandbox: log in, preview and apply the
weekly setup (progress bar until done), correct an attendance day with a reason. Screenshots go
to tests/artifacts/ (not committed)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from integrator.demo.rehearsal import Rehearsal, start_rehearsal
from integrator.domain import weeks
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import PeerGroup, WorkDay
from integrator.web import accounts, create_app
from tests.browser.live import served_app
from tests.web.world import REHEARSAL_NOW, WEEK

CHROMIUM = os.environ.get("INTEGRATOR_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "browser rehearsal pw"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium, or set INTEGRATOR_CHROMIUM)"),
]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Rehearsal, Store]]:
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    upgrade(url)
    store = Store(url)
    r = start_rehearsal(store, password=PASSWORD, now=REHEARSAL_NOW)
    # As `integrator serve --sandbox` on loopback: CSRF on, plain http allowed on this machine only,
    # the pages on the sandbox tenant's clock.
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 32, "SETTINGS": r.settings, "INSECURE_HTTP": True,
                      "CLOCK": r.clock})
    with served_app(app) as base:
        yield base, r, store
    r.stop()
    store.dispose()


def _in_thread(fn: Callable[[], object]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if errors:
        raise errors[0]


def test_a_coordinator_runs_a_week_in_the_browser(served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    ARTIFACTS.mkdir(exist_ok=True)
    week = WEEK  # next week of the pinned rehearsal: no holiday on Tuesday
    tuesday = weeks.week_monday(week) + timedelta(days=1)
    with store.session() as s:
        group_id = s.scalar(select(PeerGroup.id).where(PeerGroup.key == "pitka"))  # Tuesdays, Teams
    assert group_id is not None

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fi-FI")
            page.set_default_timeout(30_000)
            outside: list[str] = []
            page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(base) else None)

            page.goto(base + "/")
            expect(page.get_by_role("heading", name="Kirjaudu sisään")).to_be_visible()
            page.get_by_label("Sähköposti").fill(r.login_email)
            page.get_by_label("Salasana").fill(PASSWORD)
            page.get_by_role("button", name="Kirjaudu").click()
            expect(page.get_by_role("heading", name="Tiistairyhmä (pitkä jakso)")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "01-dashboard.png"), full_page=True)

            page.get_by_role("link", name="Viikon valmistelu").first.click()
            page.locator("select[name=group_id]").select_option(str(group_id))
            page.locator("input[name=week]").fill(week)
            page.get_by_role("button", name="Esikatsele").click()
            expect(page.locator("#preview")).to_contain_text("Suunnitelma")
            page.screenshot(path=str(ARTIFACTS / "02-preview.png"), full_page=True)

            page.get_by_role("button", name="Toteuta valmistelu").click()
            expect(page.locator("#job-progress")).to_be_visible()
            expect(page.locator("#job-status")).to_have_text("Valmis", timeout=60_000)
            expect(page.locator("#job-errors")).to_contain_text("Ei virheitä")
            page.screenshot(path=str(ARTIFACTS / "03-applied.png"), full_page=True)

            # Tuesday on the sandbox: the first client joins the Teams meeting, the second does not;
            # then the nightly sync harvests the attendance report.
            with store.session() as s:
                wd_id = s.scalar(select(WorkDay.id).where(WorkDay.group_id == group_id, WorkDay.day == tuesday))
            assert wd_id is not None
            present, absent = r.world.participants(wd_id)[:2]
            r.world.attend(present, "pitka", tuesday, minutes=90)
            r.sandbox.state.clock.set(datetime.combine(tuesday + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
            _in_thread(r.world.nightly_sync)  # the Graph SDK runs its own asyncio loop; Playwright owns this one

            page.goto(f"{base}/groups/{group_id}/attendance?week={week}")
            row_present = page.locator("tr", has=page.locator("th", has_text=present))
            row_absent = page.locator("tr", has=page.locator("th", has_text=absent))
            expect(row_present.locator("span.status")).to_have_text("Läsnä")
            expect(row_absent.locator("span.status")).to_have_text("Poissa")
            page.screenshot(path=str(ARTIFACTS / "04-attendance.png"), full_page=True)
            row_absent.get_by_role("link", name=re.compile("^Muokkaa")).click()
            page.get_by_label(re.compile("^Syy")).fill("Sairas")
            page.get_by_label(re.compile("^Syy")).press("Enter")  # a textarea: a new line, nothing is recorded
            expect(row_absent.locator("span.status")).to_have_text("Poissa")
            page.get_by_label(re.compile(rf"^{absent} .*, ti ")).select_option("excused")
            page.get_by_role("button", name="Tallenna").click()
            expect(page.get_by_role("status")).to_have_text("Tallennettu: 1 muutos.")
            row_absent = page.locator("tr", has=page.locator("th", has_text=absent))
            expect(row_absent.locator("span.status")).to_have_text("Poissa, hyväksytty syy")
            expect(row_absent).to_contain_text("korjattu: Sairas")
            page.screenshot(path=str(ARTIFACTS / "05-corrected.png"), full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})  # a phone
            page.reload()
            page.screenshot(path=str(ARTIFACTS / "06-attendance-phone.png"), full_page=True)
            assert outside == [], f"the pages loaded something from outside: {outside}"
        finally:
            browser.close()
