"""The register grid in a real browser at 1280 and 390 px, on the sandbox tenant: the evidence
in the cells, an advance decision for a coming day, a correction with a reason (Enter in the
reason field saves nothing), the cell's history, "palauta laskettu", the month's totals, the
client column that stays while the days scroll on a phone; axe-core finds no critical or
serious violation. Screenshots: tests/artifacts/screens/register*-<width>.png."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from integrator.demo.rehearsal import Rehearsal
from integrator.domain import weeks
from integrator.store.db import Store
from integrator.store.models import AuditEvent, PeerGroup, WorkDay
from tests.browser import test_coordinator_week as week_test
from tests.browser.axe import assert_no_serious
from tests.browser.test_coordinator_week import ARGS, ARTIFACTS, CHROMIUM, PASSWORD, _in_thread
from tests.web.world import WEEK

pytestmark = week_test.pytestmark
served = week_test.served
SCREENS = ARTIFACTS / "screens"


def shot(page: object, name: str, width: int) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def decisions(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.in_(("attendance.override", "attendance.override_removed")))) or 0


def test_the_register_grid_at_a_desk_and_on_a_phone(served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    r.world.weekly_setup(WEEK)
    tuesday = weeks.week_monday(WEEK) + timedelta(days=1)
    with store.session() as s:
        group_id = s.scalar(select(PeerGroup.id).where(PeerGroup.key == "pitka"))  # Tuesdays, Teams
        wd_id = s.scalar(select(WorkDay.id).where(WorkDay.group_id == group_id, WorkDay.day == tuesday))
    assert group_id is not None and wd_id is not None
    present, absent, ahead = r.world.participants(wd_id)[:3]
    url = f"{base}/groups/{group_id}/attendance?week={WEEK}"

    def day_select(page: object, code: str) -> object:
        return page.get_by_label(re.compile(rf"^{code} .*, ti 24\.11\.2026$"))  # type: ignore[attr-defined]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fi-FI")
            page.set_default_timeout(30_000)
            page.goto(base + "/login")
            page.get_by_label("Sähköposti").fill(r.login_email)
            page.get_by_label("Salasana").fill(PASSWORD)
            page.get_by_role("button", name="Kirjaudu").click()

            def row(code: str) -> object:
                return page.locator("tr", has=page.locator("th.client", has_text=code))

            def cell(code: str) -> object:
                return row(code).locator("td.cell").first  # type: ignore[attr-defined]

            # Monday 16.11.: Tuesday is still to come. An agreed absence is decided in advance; an
            # absence itself cannot be (the list does not offer it).
            page.goto(url)
            expect(cell(ahead).locator(".status")).to_have_text("Tulossa")
            row(ahead).get_by_role("link", name=re.compile("^Muokkaa")).click()  # type: ignore[attr-defined]
            chooser = day_select(page, ahead)
            assert chooser.locator("option").all_inner_texts() == [  # type: ignore[attr-defined]
                "ei muutosta", "Läsnä", "Poissa, hyväksytty syy"]
            chooser.select_option("excused")  # type: ignore[attr-defined]
            page.get_by_label(re.compile("^Syy")).fill("Lääkäriaika")
            page.get_by_role("button", name="Tallenna").click()
            expect(page.get_by_role("status")).to_have_text("Tallennettu: 1 muutos.")
            expect(cell(ahead).locator(".status")).to_have_text("Poissa, hyväksytty syy")
            expect(cell(ahead)).to_contain_text("korjattu: Lääkäriaika")
            assert decisions(store) == 1

            # Tuesday: one client in the meeting for 90 minutes, an unknown phone for 45; the night's sync.
            r.world.attend(present, "pitka", tuesday, minutes=90)
            r.world.attend(absent, "pitka", tuesday, minutes=45, phone="+358 40 555 0101")
            r.sandbox.state.clock.set(datetime.combine(tuesday + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
            _in_thread(r.world.nightly_sync)

            page.goto(url)
            expect(cell(present).locator(".status")).to_have_text("Läsnä")
            expect(cell(present).locator(".evidence")).to_contain_text(re.compile(r"kokouksessa \d+/\d+ min"))
            expect(cell(absent).locator(".status")).to_have_text("Poissa")
            expect(cell(absent).locator(".evidence")).to_contain_text("kokouksessa 0/")
            expect(cell(ahead).locator(".status")).to_have_text("Poissa, hyväksytty syy")  # the decision stands
            unmatched = page.locator("#unmatched")
            expect(unmatched).to_contain_text("ti 24.11.2026 45 min")
            expect(unmatched.get_by_label(re.compile("^Kuka tämä on"))).to_have_value("")  # nobody preselected
            shot(page, "register", 1280)
            assert_no_serious(page, "register-1280")

            # A correction: Enter in the reason field saves nothing; the Save button does.
            row(absent).get_by_role("link", name=re.compile("^Muokkaa")).click()  # type: ignore[attr-defined]
            day_select(page, absent).select_option("excused")  # type: ignore[attr-defined]
            reason = page.get_by_label(re.compile("^Syy"))
            reason.fill("Sairas")
            reason.press("Enter")
            expect(page.locator("#edit")).to_be_visible()
            expect(cell(absent).locator(".status")).to_have_text("Poissa")
            assert decisions(store) == 1
            shot(page, "register-edit", 1280)
            assert_no_serious(page, "register-edit-1280")
            page.get_by_role("button", name="Tallenna").click()
            expect(page.get_by_role("status")).to_have_text("Tallennettu: 1 muutos.")
            expect(cell(absent).locator(".status")).to_have_text("Poissa, hyväksytty syy")

            # The cell's history, one click away; then back to the computed status.
            history = cell(absent).locator("details.history")
            expect(history.locator("ul")).to_be_hidden()
            history.locator("summary").click()
            expect(history.locator("ul")).to_be_visible()
            expect(history).to_contain_text("Olli Ohjaaja: päätös, poissa → perusteltu poissaolo. Syy: Sairas")
            row(absent).get_by_role("link", name=re.compile("^Muokkaa")).click()  # type: ignore[attr-defined]
            day_select(page, absent).select_option("revert")  # type: ignore[attr-defined]
            page.get_by_label(re.compile("^Syy")).fill("Väärä päivä")
            page.get_by_role("button", name="Tallenna").click()
            expect(cell(absent).locator(".status")).to_have_text("Poissa")
            cell(absent).locator("summary").click()
            expect(cell(absent).locator("details.history")).to_contain_text("palautettu laskettuun")
            assert decisions(store) == 3

            # The month: totals per client from the register (one paid day, 100 % of the decided days).
            page.goto(f"{base}/groups/{group_id}/attendance?month=2026-11")
            totals = row(present).locator("td.num")  # type: ignore[attr-defined]
            expect(totals.nth(0)).to_have_text("1")
            expect(totals.nth(1)).to_have_text(re.compile(r"^\d+,\d\d$"))
            expect(totals.nth(2)).to_have_text("100 %")
            shot(page, "register-month", 1280)
            assert_no_serious(page, "register-month-1280")

            # A phone: the client column stays in place while the days scroll sideways.
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(url)
            client_th = row(present).locator("th.client")  # type: ignore[attr-defined]
            assert client_th.evaluate("el => getComputedStyle(el).position") == "sticky"
            region = page.locator(".register-scroll")
            assert region.evaluate("el => el.scrollWidth > el.clientWidth"), "the days do not scroll on a phone"
            x_before = client_th.bounding_box()["x"]
            region.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
            page.wait_for_timeout(100)
            assert abs(client_th.bounding_box()["x"] - x_before) < 1
            expect(client_th).to_be_in_viewport()
            shot(page, "register", 390)
            assert_no_serious(page, "register-390")
            row(absent).get_by_role("link", name=re.compile("^Muokkaa")).click()  # type: ignore[attr-defined]
            expect(day_select(page, absent)).to_be_visible()
            shot(page, "register-edit", 390)
            assert_no_serious(page, "register-edit-390")
        finally:
            browser.close()
