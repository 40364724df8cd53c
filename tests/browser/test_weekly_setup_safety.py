"""The safety of the weekly setup, the end of a session and the error pages, in a real browser at a
desktop (1280 px) and a phone (390 px) width, on the sandbox tenant. Screenshots go to tests/artifacts/.

- A past week is previewed with a warning and cannot be applied by a coordinator.
- A removal of access is listed with its reason in Finnish and applied only when confirmed:
  an apply without the confirmation changes no enrolment in the tenant.
- A session cookie copied before logout no longer opens anything after it.
- An unknown address gets a Finnish error page.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from integrator.demo.rehearsal import Rehearsal
from integrator.domain import weeks
from integrator.store.db import Store
from integrator.store.models import Client, ExternalResource
from tests.browser import test_coordinator_week as week_test
from tests.browser.test_coordinator_week import ARGS, ARTIFACTS, CHROMIUM, PASSWORD
from tests.web.world import WEEK

pytestmark = week_test.pytestmark
served = week_test.served  # the fixture: the rehearsal organisation served on loopback
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def students(r: Rehearsal) -> dict[str, tuple[str, ...]]:
    """Every class's students as the tenant has them."""
    with r.sandbox.state.lock:
        return {cid: tuple(sorted(ids)) for cid, ids in r.sandbox.google.classroom.students.items()}


def enrolments(store: Store) -> dict[str, str]:
    with store.session() as s:
        return {r.local_key: r.status for r in s.scalars(select(ExternalResource).where(
            ExternalResource.kind == "enrolment"))}


def test_the_setup_asks_before_it_takes_access_away_and_refuses_a_past_week(
        served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport=SIZES["desktop"], locale="fi-FI")
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(base + "/login")
            page.get_by_label("Sähköposti").fill(r.login_email)
            page.get_by_label("Salasana").fill(PASSWORD)
            page.get_by_role("button", name="Kirjaudu").click()

            # All the coordinator's groups in one preview and one apply.
            page.get_by_role("link", name="Viikon valmistelu").first.click()
            expect(page.locator("select[name=group_id]")).to_have_value("all")
            page.locator("input[name=week]").fill(WEEK)
            page.get_by_role("button", name="Esikatsele").click()
            expect(page.locator("#preview")).to_contain_text("Suunnitelma: viikko 48 (23.–29.11.)")
            expect(page.locator("#preview")).not_to_contain_text("enrolment:")
            expect(page.locator("#preview")).not_to_contain_text("coursework:")
            page.get_by_role("button", name="Toteuta valmistelu").click()
            expect(page.locator("#job-status")).to_have_text("Valmis", timeout=60_000)
            before_tenant, before_store = students(r), enrolments(store)
            assert before_store and set(before_store.values()) == {"active"}

            # One client's period ended before the week: the preview lists the removal, in Finnish.
            leaving = sorted(before_store)[0].split(":")[2]
            with store.session() as s:
                client = s.scalars(select(Client).where(Client.code == leaving)).one()
                for p in client.periods:
                    p.end_date = date(2026, 11, 20)
            for name, size in SIZES.items():
                page.set_viewport_size(size)
                page.goto(base + "/weekly-setup")
                page.locator("input[name=week]").fill(WEEK)
                page.get_by_role("button", name="Esikatsele").click()
                removals = page.locator("#removals")
                expect(removals).to_contain_text(f"asiakas {leaving}")
                expect(removals).to_contain_text("jakso päättyi 20.11.2026")
                page.screenshot(path=str(ARTIFACTS / f"safety-removals-{name}.png"), full_page=True)

            # Applied without the confirmation: the rest is done, nobody loses access.
            expect(page.get_by_label("Vahvistan")).not_to_be_checked()
            page.get_by_role("button", name="Toteuta valmistelu").click()
            expect(page.locator("#job-status")).to_have_text("Valmis", timeout=60_000)
            expect(page.locator("body")).to_contain_text("pääsyn poistoja odottaa vahvistusta")
            assert students(r) == before_tenant
            assert enrolments(store) == before_store

            # Confirmed: now, and only now, the client leaves the class.
            page.goto(base + "/weekly-setup")
            page.locator("input[name=week]").fill(WEEK)
            page.get_by_role("button", name="Esikatsele").click()
            page.get_by_label("Vahvistan").check()
            page.get_by_role("button", name="Toteuta valmistelu").click()
            expect(page.locator("#job-status")).to_have_text("Valmis", timeout=60_000)
            after = enrolments(store)
            assert {k for k, v in after.items() if v == "removed"} == {k for k in before_store if k.endswith(leaving)}
            assert students(r) != before_tenant

            # A past week: previewed with a warning, never applied by a coordinator.
            last_week = weeks.shift_week(weeks.iso_week_of(r.clock().date()), -1)
            for name, size in SIZES.items():
                page.set_viewport_size(size)
                page.goto(base + "/weekly-setup")
                page.locator("input[name=week]").fill(last_week)
                page.get_by_role("button", name="Esikatsele").click()
                expect(page.locator("#past-week")).to_contain_text("on jo mennyt")
                expect(page.get_by_role("button", name="Toteuta valmistelu")).to_have_count(0)
                page.screenshot(path=str(ARTIFACTS / f"safety-past-week-{name}.png"), full_page=True)
            csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
            resp = page.request.post(base + "/weekly-setup/apply", form={
                "csrf_token": csrf or "", "group_id": "all", "week": last_week})
            assert resp.status == 400 and "on jo mennyt" in resp.text()
            resp = page.request.post(base + "/weekly-setup/apply", form={
                "csrf_token": csrf or "", "group_id": "all", "week": last_week, "force_past_week": last_week})
            assert resp.status == 403 and "Vain ylläpitäjä" in resp.text()
            assert enrolments(store) == after

            # A Finnish error page.
            page.goto(base + "/ei-tallaista-sivua")
            expect(page.get_by_role("heading", name="Ei löytynyt")).to_be_visible()
            expect(page.locator("body")).not_to_contain_text("requested URL")
            page.screenshot(path=str(ARTIFACTS / "safety-404-phone.png"), full_page=True)

            # Logout ends the session on the server: a copy of the cookie opens nothing.
            copied = context.cookies()
            page.goto(base + "/")
            page.get_by_role("button", name="Kirjaudu ulos").click()
            expect(page.get_by_role("heading", name="Kirjaudu sisään")).to_be_visible()
            thief = browser.new_context(viewport=SIZES["phone"], locale="fi-FI")
            thief.add_cookies(copied)  # type: ignore[arg-type]
            other = thief.new_page()
            other.goto(base + "/weekly-setup")
            expect(other.get_by_role("heading", name="Kirjaudu sisään")).to_be_visible()
            assert other.request.get(base + "/api/v1/me").status == 401
            thief.close()
        finally:
            browser.close()
