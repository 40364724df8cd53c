"""The client page in a real browser at 1280 px and 390 px, on the sandbox tenant: the coordinator
opens a client from the register, sets the task variant, moves the client to another group from a
date (preview, then confirm: the sandbox's Classroom has them in the new course), ends the period
early (preview, confirm: no course and no folder access left in the tenant) and undoes the end
(the access is back). Every page is checked with axe-core (0 critical, 0 serious) at both widths
and saved as tests/artifacts/screens/client-*-<width>.png.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from integrator.demo.rehearsal import Rehearsal
from integrator.store.db import Store
from integrator.store.models import ClientVariantChoice, ExternalResource, PeerGroup
from tests.browser import test_coordinator_week as week_test
from tests.browser.axe import assert_no_serious
from tests.browser.test_coordinator_week import ARGS, ARTIFACTS, CHROMIUM, PASSWORD
from tests.web.world import WEEK

pytestmark = week_test.pytestmark
served = week_test.served  # the rehearsal organisation on loopback (today: Monday 16.11.2026)
SIZES = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
SCREENS = ARTIFACTS / "screens"
CODE = "K-0001"  # the Tuesday group (pitka), moved to the Wednesday group (lyhyt)


def courses_with(r: Rehearsal, store: Store, code: str) -> set[str]:
    """The groups whose Classroom course has the client as a student or invited, in the tenant."""
    with store.session() as s:
        courses = {str(res.external_id): res.local_key.split(":", 1)[1] for res in s.scalars(
            select(ExternalResource).where(ExternalResource.kind == "course"))}
    user = r.world.google_ids[code]
    with r.sandbox.state.lock:
        data = r.sandbox.google.classroom
        found = {cid for cid, ids in data.students.items() if user in ids}
        found |= {i["courseId"] for i in data.invitations.values() if i["userId"] == user}
    return {courses[c] for c in found if c in courses}


def folder_shared_with_client(r: Rehearsal, code: str) -> bool:
    email = r.world.emails[code]
    with r.sandbox.state.lock:
        return any(f.resource.get("name") == code and any(p.get("emailAddress") == email for p in f.permissions)
                   for f in r.sandbox.google.drive.files.values())


def check(page: Any, name: str) -> None:
    """The page at both widths: a screenshot each, and axe's critical and serious violations (0)."""
    for width, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)
        assert_no_serious(page, f"{name}-{width}")
    page.set_viewport_size(SIZES[1280])


def test_a_coordinator_moves_ends_and_restores_a_client_from_the_client_page(
        served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    SCREENS.mkdir(parents=True, exist_ok=True)
    week_test._in_thread(lambda: r.world.weekly_setup(WEEK))  # next week's courses, folders and meetings
    assert courses_with(r, store, CODE) == {"pitka"} and folder_shared_with_client(r, CODE)
    with store.session() as s:
        pitka = s.scalar(select(PeerGroup.id).where(PeerGroup.key == "pitka"))
        lyhyt = s.scalar(select(PeerGroup.id).where(PeerGroup.key == "lyhyt"))
    client_id = r.world.client_id(CODE)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # bypass_csp: axe-core is injected as a script; the pages' own policy allows only ours.
            context = browser.new_context(viewport=SIZES[1280], locale="fi-FI", bypass_csp=True)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(base + "/login")
            page.get_by_label("Sähköposti").fill(r.login_email)
            page.get_by_label("Salasana").fill(PASSWORD)
            page.get_by_role("button", name="Kirjaudu").click()

            # From the register to the client page: the client code is the link.
            page.goto(f"{base}/groups/{pitka}/attendance?week={WEEK}")
            page.get_by_role("link", name=CODE, exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_contain_text(f"Asiakas {CODE}")
            expect(page.locator("#ryhmat")).to_contain_text("Tiistairyhmä (pitkä jakso)")
            expect(page.locator("#jaksot")).to_contain_text("kirjattu")
            check(page, "client")

            # The task variant: one choice, saved, audited, read by the next weekly setup.
            page.get_by_label("vaativampi").check()
            page.get_by_role("button", name="Tallenna tehtävätaso").click()
            expect(page.get_by_role("status")).to_contain_text("Tehtävätaso tallennettu: vaativampi")
            expect(page.get_by_label("vaativampi")).to_be_checked()
            with store.session() as s:
                assert s.scalars(select(ClientVariantChoice.kind).where(
                    ClientVariantChoice.client_id == client_id)).one() == "harder"
            check(page, "client-variant")

            # A move from Monday 23.11.: previewed in Finnish, nothing changes until confirmed.
            page.get_by_label("Uusi ryhmä").select_option(str(lyhyt))
            page.get_by_label("Alkaen").fill("2026-11-23")
            page.get_by_role("button", name="Esikatsele siirto").click()
            body = page.locator("#muutos")
            expect(body).to_contain_text("Esikatselu: mitään ei ole vielä muutettu.")
            expect(body).to_contain_text("Uusi ryhmä: Keskiviikkoryhmä (lyhyt jakso) alkaen ma 23.11.2026.")
            expect(body).to_contain_text("Päivät ennen ma 23.11.2026 pysyvät ennallaan")
            expect(body).to_contain_text("Tiistairyhmä (pitkä jakso) Classroom-kurssilta asiakas poistetaan "
                                         "yöajossa ma 23.11.2026")
            check(page, "client-move-preview")
            assert courses_with(r, store, CODE) == {"pitka"}
            page.get_by_role("button", name="Vahvista siirto").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Siirto tehty")
            check(page, "client-move-done")
            # Next week's course of the new group has the client; this week's old one still does.
            assert courses_with(r, store, CODE) == {"pitka", "lyhyt"}

            # An early end today: the preview lists what is taken away now.
            page.get_by_role("link", name="Takaisin asiakkaan sivulle").click()
            expect(page.locator("#ryhmat")).to_contain_text("Keskiviikkoryhmä (lyhyt jakso)")
            page.get_by_label("Viimeinen päivä").fill("2026-11-16")
            page.get_by_label("Syy").select_option("health")
            page.get_by_role("button", name="Esikatsele keskeytys").click()
            expect(body).to_contain_text("Jakson viimeinen päivä: ma 16.11.2026 (syy: terveys).")
            access = page.locator("#access")
            expect(access).to_contain_text("Classroom-kurssi: 2 kurssia poistetaan")
            expect(access).to_contain_text("Pääsy omaan kansioon poistetaan")
            expect(access).to_contain_text("Tulevat viikkokirjeet ja muistutukset")
            expect(access).to_contain_text("Tulevat tapaamiskutsut")
            check(page, "client-end-preview")
            assert courses_with(r, store, CODE) == {"pitka", "lyhyt"}
            page.get_by_role("button", name="Vahvista keskeytys").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Keskeytys tehty")
            check(page, "client-end-done")
            assert courses_with(r, store, CODE) == set()
            assert not folder_shared_with_client(r, CODE)

            # The undo: previewed, confirmed, and the access is back.
            page.get_by_role("link", name="Takaisin asiakkaan sivulle").click()
            expect(page.locator("#jaksot")).to_contain_text("keskeytetty (syy: terveys)")
            check(page, "client-ended")
            page.get_by_role("button", name="Esikatsele keskeytyksen peruminen").click()
            expect(body).to_contain_text("Keskeytys ma 16.11.2026 perutaan")
            check(page, "client-undo-preview")
            page.get_by_role("button", name="Vahvista peruminen").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Keskeytys peruttu")
            assert courses_with(r, store, CODE) == {"pitka", "lyhyt"}
            assert folder_shared_with_client(r, CODE)

            # Bad input: the error in Finnish next to the form, and on a phone too.
            page.get_by_role("link", name="Takaisin asiakkaan sivulle").click()
            page.get_by_label("Viimeinen päivä").fill("2030-01-01")
            page.get_by_label("Syy").select_option("work")
            page.get_by_role("button", name="Esikatsele keskeytys").click()
            expect(page.locator("#end-error")).to_contain_text("Viimeinen päivä: asiakkaalla K-0001 ei ole jaksoa")
            check(page, "client-error")
        finally:
            browser.close()
