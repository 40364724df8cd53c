"""The staff pages in a real Chromium at 1280 and 390 px: an admin creates an API token (shown
once; it works as `Authorization: Bearer`; a reload does not show it again) and revokes it (the
API then answers 401); adds a coordinator, who signs in with the initial password, and
deactivates them (their open session ends). axe-core finds 0 critical and 0 serious violations;
screenshots in /tmp/shots/staff-<step>-<width>.png."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

from integrator.demo.rehearsal import Rehearsal
from integrator.store.db import Store
from integrator.store.models import ApiToken, AuditEvent
from integrator.web import accounts
from tests.browser import test_coordinator_week as week_test
from tests.browser.axe import assert_no_serious
from tests.browser.test_coordinator_week import ARGS, CHROMIUM, PASSWORD

pytestmark = week_test.pytestmark
served = week_test.served
WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
ADMIN = "it.admin@rehearsal.example.fi"
SHOTS = Path("/tmp/shots")


def _shot(page: object, step: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"staff-{step}-{width}.png"), full_page=True)  # type: ignore[attr-defined]


def _me(base: str, token: str) -> int:
    """The status of GET /api/v1/me with the token."""
    req = urllib.request.Request(base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own loopback server
            assert json.loads(resp.read())["via"] == "token"
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_an_admin_manages_tokens_and_a_coordinator(served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    accounts.add_staff(store, email=ADMIN, name="IT-ylläpitäjä", role="admin", org_key=r.org_key, password=PASSWORD)
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
                page.get_by_role("link", name="Henkilökunta").first.click()
                expect(page.get_by_role("heading", name="Henkilökunta", exact=True)).to_be_visible()
                expect(page.locator("#staff-list")).to_contain_text("ylläpitäjä")
                _shot(page, "list", width)
                assert_no_serious(page, f"staff-list-{width}")

                # A token for the admin's own automation: shown once, works, gone on reload.
                page.get_by_role("link", name="IT-ylläpitäjä").click()
                name = f"valvonta-{width}"
                page.get_by_label("Tunnuksen nimi").fill(name)
                page.get_by_role("button", name="Luo API-tunnus").click()
                token = page.locator("#new-token").inner_text().strip()
                assert token.startswith(accounts.TOKEN_PREFIX)
                _shot(page, "token-once", width)
                # The long token wraps: the page is no wider than a phone's screen.
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                assert_no_serious(page, f"staff-token-{width}")
                assert _me(base, token) == 200
                page.reload()
                expect(page.locator("#new-token")).to_have_count(0)
                assert token not in page.content()
                row = page.locator("#token-list tr", has_text=name)
                expect(row).not_to_contain_text("ei käytetty")  # last used: just now
                row.get_by_role("button", name=f"Peru tunnus {name}").click()
                expect(page.get_by_role("status")).to_contain_text("peruttiin")
                expect(page.locator("#token-list tr", has_text=name)).to_contain_text("peruttu")
                assert _me(base, token) == 401

                # A new coordinator: signs in with the initial password, then is deactivated.
                page.get_by_role("link", name="← Henkilökunta").click()
                email = f"uusi.ohjaaja.{width}@rehearsal.example.fi"
                page.get_by_label("Nimi", exact=True).fill(f"Uusi Ohjaaja {width}")
                page.get_by_label("Sähköposti").fill(email)
                page.get_by_label("Rooli", exact=True).last.select_option("coordinator")
                page.get_by_role("button", name="Lisää henkilö").click()
                expect(page.get_by_role("status")).to_contain_text("lisättiin")
                password = page.locator("#new-password").inner_text().strip()
                _shot(page, "added-once", width)
                assert_no_serious(page, f"staff-added-{width}")

                coordinator = browser.new_context(viewport=size, locale="fi-FI").new_page()
                coordinator.goto(base + "/login")
                coordinator.get_by_label("Sähköposti").fill(email)
                coordinator.get_by_label("Salasana").fill(password)
                coordinator.get_by_role("button", name="Kirjaudu").click()
                expect(coordinator.get_by_role("button", name="Kirjaudu ulos")).to_be_visible()

                page.reload()
                expect(page.locator("#new-password")).to_have_count(0)
                page.get_by_label("Vahvistan: henkilön käyttöoikeus päättyy heti").check()
                page.get_by_role("button", name="Poista käytöstä").click()
                expect(page.get_by_role("status")).to_contain_text("Poistettu käytöstä")
                expect(page.locator("#state")).to_have_text("poistettu käytöstä")
                _shot(page, "deactivated", width)
                assert_no_serious(page, f"staff-deactivated-{width}")

                # The same address again: refused in the form, naming the field, the values kept.
                page.get_by_role("link", name="← Henkilökunta").click()
                page.get_by_label("Nimi", exact=True).fill("Toinen")
                page.get_by_label("Sähköposti").fill(email.upper())
                page.get_by_role("button", name="Lisää henkilö").click()
                expect(page.locator("#add-error")).to_contain_text("sähköposti: tällä sähköpostiosoitteella on jo")
                expect(page.get_by_label("Nimi", exact=True)).to_have_value("Toinen")
                _shot(page, "add-error", width)
                assert_no_serious(page, f"staff-add-error-{width}")

                coordinator.reload()
                expect(coordinator.get_by_label("Salasana")).to_be_visible()  # back on the login page
                assert "/login" in coordinator.url
                coordinator.context.close()
                context.close()
            with store.session() as s:
                actions = [e.action for e in s.scalars(select(AuditEvent).where(
                    AuditEvent.action.like("staff.%") | AuditEvent.action.like("token.%")).order_by(AuditEvent.id))]
                assert actions == ["token.create", "token.revoke", "staff.add", "staff.deactivate"] * 2
                assert all(t.revoked_at is not None for t in s.scalars(select(ApiToken)))
        finally:
            browser.close()
