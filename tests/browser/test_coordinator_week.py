"""A coordinator runs a week in a real browser against the sandbox: log in, preview and apply the
weekly setup (progress bar until done), correct an attendance day with a reason. Screenshots go
to tests/artifacts/ (not committed)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from integrator import create_app
from integrator.jobs.attendance import evaluate_window
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import Organisation, PeerGroup
from integrator.web import accounts, weeks
from integrator.web.rehearsal import ORG_KEY, Rehearsal, start_rehearsal

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
    import waitress.server

    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    upgrade(url)
    store = Store(url)
    r = start_rehearsal(store, password=PASSWORD)
    # As `integrator serve --sandbox` on loopback: CSRF on, plain http allowed on this machine only.
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 32, "SETTINGS": r.settings, "INSECURE_HTTP": True})
    server = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}", r, store  # type: ignore[union-attr]
    server.close()
    r.stop()
    store.dispose()


def test_a_coordinator_runs_a_week_in_the_browser(served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    ARTIFACTS.mkdir(exist_ok=True)
    week = weeks.week_of(weeks.today() + timedelta(days=7))
    with store.session() as s:
        group_id = s.scalar(select(PeerGroup.id).where(PeerGroup.key == "ti-ryhma"))
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == ORG_KEY))
    assert group_id is not None and org_id is not None

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
            expect(page.get_by_role("heading", name="Tiistairyhmä")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "01-dashboard.png"), full_page=True)

            page.get_by_role("link", name="Viikon valmistelu").first.click()
            page.get_by_label("Ryhmä").select_option(str(group_id))
            page.get_by_label("Viikko").fill(week)
            page.get_by_role("button", name="Esikatsele").click()
            expect(page.locator("#preview")).to_contain_text("Suunnitelma")
            page.screenshot(path=str(ARTIFACTS / "02-preview.png"), full_page=True)

            page.get_by_role("button", name="Toteuta valmistelu").click()
            expect(page.locator("#job-progress")).to_be_visible()
            expect(page.locator("#job-status")).to_have_text("Valmis", timeout=60_000)
            expect(page.locator("#job-errors")).to_contain_text("Ei virheitä")
            page.screenshot(path=str(ARTIFACTS / "03-applied.png"), full_page=True)

            # The week passes with nobody in the meetings; the nightly evaluation fills the register.
            after = datetime.combine(weeks.monday_of(week) + timedelta(days=7), datetime.min.time(), tzinfo=UTC)
            evaluate_window(store, org_id, r.settings.rules, now=after, since=weeks.monday_of(week))

            page.goto(f"{base}/groups/{group_id}/attendance?week={week}")
            first = page.locator("form.correct").first
            first.get_by_label("Korjauksen syy").fill("Sairas")
            first.get_by_role("button", name="Hyv. syy").click()
            expect(page.get_by_role("status")).to_have_text("Korjaus tallennettu.")
            expect(page.locator("span.status.s-excused").first).to_have_text("Poissa, hyväksytty syy")
            page.screenshot(path=str(ARTIFACTS / "04-corrected.png"), full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})  # a phone
            page.reload()
            page.screenshot(path=str(ARTIFACTS / "05-attendance-phone.png"), full_page=True)
            assert outside == [], f"the pages loaded something from outside: {outside}"
        finally:
            browser.close()
