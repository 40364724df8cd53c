"""axe-core on the coordinator's other pages, at 1280 and 390 px: login, group, weekly setup
(the form and a preview), the run history, a run, the client import (an admin's) and the error
pages. 0 critical and 0 serious violations each; screenshots in tests/artifacts/screens/.
(The register grid: test_register_grid; the dashboard and the client page have their own.)"""

from __future__ import annotations

from sqlalchemy import select

from integrator.demo.rehearsal import Rehearsal
from integrator.store.db import Store
from integrator.store.models import JobRun, PeerGroup
from integrator.web import accounts
from tests.browser import test_coordinator_week as week_test
from tests.browser.axe import assert_no_serious
from tests.browser.test_coordinator_week import ARGS, CHROMIUM, PASSWORD
from tests.browser.test_register_grid import shot
from tests.web.world import WEEK

pytestmark = week_test.pytestmark
served = week_test.served
WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
ADMIN = "yllapito@rehearsal.example.fi"


def test_every_other_page_has_no_serious_accessibility_violation(served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    r.world.weekly_setup(WEEK)  # a run to show, work days on the group page
    accounts.add_staff(store, email=ADMIN, name="Ylläpitäjä", role="admin", org_key=r.org_key, password=PASSWORD)
    with store.session() as s:
        group_id = s.scalar(select(PeerGroup.id).where(PeerGroup.key == "pitka"))
        run_id = s.scalar(select(JobRun.id).order_by(JobRun.id.desc()).limit(1))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            for width, size in WIDTHS.items():
                context = browser.new_context(viewport=size, locale="fi-FI")
                page = context.new_page()
                page.set_default_timeout(30_000)

                def check(name: str) -> None:
                    shot(page, name, width)  # noqa: B023 - called within the same iteration
                    assert_no_serious(page, f"{name}-{width}")  # noqa: B023

                page.goto(base + "/login")
                check("login")
                page.get_by_label("Sähköposti").fill("nobody@example.fi")
                page.get_by_label("Salasana").fill("wrong password")
                page.get_by_role("button", name="Kirjaudu").click()
                expect(page.get_by_role("alert")).to_be_visible()
                check("login-error")
                page.get_by_label("Sähköposti").fill(r.login_email)
                page.get_by_label("Salasana").fill(PASSWORD)
                page.get_by_role("button", name="Kirjaudu").click()
                expect(page.get_by_role("link", name="Viikon valmistelu").first).to_be_visible()

                page.goto(f"{base}/groups/{group_id}?week={WEEK}")
                check("group")
                page.goto(base + "/weekly-setup")
                check("weekly-setup")
                page.locator("input[name=week]").fill(WEEK)
                page.get_by_role("button", name="Esikatsele").click()
                expect(page.locator("#preview")).to_contain_text("Suunnitelma")
                check("weekly-setup-preview")
                page.goto(base + "/jobs")
                check("jobs")
                page.goto(f"{base}/jobs/{run_id}")
                check("job")
                page.goto(base + "/no/such/page")
                check("error-404")
                page.goto(f"{base}/groups/{group_id}/attendance?week=2026-W99")
                expect(page.locator("h1")).to_be_visible()
                check("error-400")
                context.close()

                # The client import is an admin's page.
                context = browser.new_context(viewport=size, locale="fi-FI")
                page = context.new_page()
                page.goto(base + "/login")
                page.get_by_label("Sähköposti").fill(ADMIN)
                page.get_by_label("Salasana").fill(PASSWORD)
                page.get_by_role("button", name="Kirjaudu").click()
                page.goto(base + "/import")
                expect(page.get_by_role("heading", name="Asiakkaiden tuonti CSV-tiedostosta")).to_be_visible()
                check("import")
                page.get_by_label("Tiedosto (CSV)").set_input_files(files=[{
                    "name": "asiakkaat.csv", "mimeType": "text/csv", "buffer": b"code;name\nK-1;\n"}])
                page.get_by_role("button", name="Tarkista").click()
                expect(page.locator("#import-result")).to_be_visible()
                check("import-result")
                context.close()
        finally:
            browser.close()
