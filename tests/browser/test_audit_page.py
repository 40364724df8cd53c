"""The audit log in a real Chromium at 1280 and 390 px: an admin opens Tapahtumaloki from the menu,
filters by what happened and by Finnish dates, reads the rows; a bad date names the field; axe-core
finds 0 critical and 0 serious violations there and on the organisations overview; screenshots in
/tmp/shots/audit-<width>.png and organisations-<width>.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from integrator.demo.rehearsal import Rehearsal
from integrator.store.db import Store
from integrator.store.models import AuditEvent, Client, Organisation
from integrator.web import accounts
from tests.browser import test_coordinator_week as week_test
from tests.browser.axe import assert_no_serious
from tests.browser.test_coordinator_week import ARGS, CHROMIUM, PASSWORD
from tests.web.world import REHEARSAL_NOW

pytestmark = week_test.pytestmark
served = week_test.served
WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
ADMIN = "yllapito@rehearsal.example.fi"
SHOTS = Path("/tmp/shots")


def _events(store: Store, org_key: str) -> str:
    """A night's recomputes and a coordinator's correction whose reason names the client; the code."""
    with store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key))
        client = s.scalar(select(Client).where(Client.organisation_id == org_id).order_by(Client.id).limit(1))
        assert org_id is not None and client is not None
        at = REHEARSAL_NOW - timedelta(days=1)
        for n in range(3):
            s.add(AuditEvent(organisation_id=org_id, actor="system:nightly_sync", action="attendance.recomputed",
                             entity="attendance_day", entity_id=str(100 + n), at=at - timedelta(hours=n),
                             details={"client": client.code, "day": "2026-11-12", "from": "pending", "to": "absent"}))
        s.add(AuditEvent(organisation_id=org_id, actor="cli:olli", action="attendance.override", entity="attendance_day",
                         entity_id="100", at=at + timedelta(hours=1),
                         details={"v": 2, "client": client.code, "day": "2026-11-12", "group": "ti",
                                  "from": "absent", "to": "excused",
                                  "reason": f"{client.display_name} oli sairaana, lääkärintodistus"}))
        return client.code


def test_an_admin_filters_the_audit_log(served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    accounts.add_staff(store, email=ADMIN, name="Ylläpitäjä", role="admin", org_key=r.org_key, password=PASSWORD)
    code = _events(store, r.org_key)
    with store.session() as s:
        name = s.scalar(select(Client.display_name).where(Client.code == code))
    assert name
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            for width, size in WIDTHS.items():
                context = browser.new_context(viewport=size, locale="fi-FI")
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(base + "/login")
                page.get_by_label("Sähköposti").fill(ADMIN)
                page.get_by_label("Salasana").fill(PASSWORD)
                page.get_by_role("button", name="Kirjaudu").click()
                page.get_by_role("link", name="Tapahtumaloki").first.click()
                rows = page.locator("#audit-rows tbody tr")
                expect(rows.first).to_be_visible()
                page.get_by_label("Tapahtuma", exact=True).select_option(label="läsnäolon korjaus")
                page.get_by_label("Alkaen").fill("15.11.2026")
                page.get_by_label("Päättyen").fill("2026-11-16")
                page.get_by_role("button", name="Suodata").click()
                expect(rows).to_have_count(1)
                expect(rows.first).to_contain_text("läsnäolon korjaus")
                expect(rows.first).to_contain_text("komentorivi (olli)")
                expect(rows.first).to_contain_text("poissa → perusteltu poissaolo")
                expect(rows.first).to_contain_text(f"asiakas: {code}")
                expect(rows.first).to_contain_text("[nimi poistettu] oli sairaana")
                assert name not in page.content()
                expect(page.get_by_role("heading", name="Tapahtumat (1)")).to_be_visible()
                page.screenshot(path=str(SHOTS / f"audit-{width}.png"), full_page=True)
                assert_no_serious(page, f"audit-{width}")
                page.get_by_label("Tapahtuma", exact=True).select_option(label="kaikki")
                page.get_by_label("Alkaen").fill("31.11.2026")
                page.get_by_role("button", name="Suodata").click()
                expect(page.get_by_role("alert")).to_contain_text("Alkaen: päivämäärä ”31.11.2026” ei kelpaa")
                page.screenshot(path=str(SHOTS / f"audit-error-{width}.png"), full_page=True)
                assert_no_serious(page, f"audit-error-{width}")
                # The organisations overview beside it: the rehearsal's one organisation, read-only.
                page.get_by_role("link", name="Organisaatiot").first.click()
                org = page.locator(f"#org-{r.org_key}")
                expect(org).to_contain_text("Aktiivisia asiakkaita")
                expect(org).to_contain_text("Viimeisin yöajo")
                page.screenshot(path=str(SHOTS / f"organisations-{width}.png"), full_page=True)
                assert_no_serious(page, f"organisations-{width}")
                context.close()
        finally:
            browser.close()
