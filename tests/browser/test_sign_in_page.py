"""Signing in with the organisation's identity provider in a real Chromium at 1280 and 390 px:
through the sandbox's Entra ID and Google to the dashboard, and refused in Finnish when
deactivated, from another domain, or unknown. axe: 0 serious/critical on the login page and on
a refusal. Screenshots in /tmp/shots/oidc-*.png."""

from __future__ import annotations

from pathlib import Path

from integrator.demo.rehearsal import Rehearsal
from integrator.store.db import Store
from integrator.web import accounts
from integrator.web.sign_in import REFUSALS
from tests.browser import test_coordinator_week as week_test
from tests.browser.axe import assert_no_serious
from tests.browser.test_coordinator_week import ARGS, CHROMIUM

pytestmark = week_test.pytestmark
served = week_test.served
WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
SHOTS = Path("/tmp/shots")
VENDOR_PAGES = {  # the sandbox provider's labels: its e-mail field and its consent button
    "entra": ("Kirjaudu Microsoft-tilillä", "Email, phone, or Skype", "Accept"),
    "google": ("Kirjaudu Google-tilillä", "Email or phone", "Continue"),
}


def test_staff_sign_in_through_entra_and_google_and_the_refusals(served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    base, r, store = served
    r.allow_sign_in_at(base)
    SHOTS.mkdir(parents=True, exist_ok=True)
    gone = "poistunut@sandbox.example.fi"
    accounts.deactivate(store, accounts.add_staff(store, email=gone, name="Poistunut Ohjaaja", role="coordinator",
                                                  org_key=r.org_key, password=None))
    foreign = "vieras@naapurikunta.example"
    for email in (gone,):
        r.sandbox.graph.add_user(email, "Poistunut Ohjaaja")
        r.sandbox.google.add_user(email, "Poistunut Ohjaaja")
    r.sandbox.graph.add_user(foreign, "Vieras Käyttäjä")
    r.sandbox.google.add_external_user(foreign, "Vieras Käyttäjä")
    unknown = "k-0001@sandbox.example.fi"  # a client in the tenant, no staff user

    def sign_in(page: Page, kind: str, login: str) -> None:
        button, label, accept = VENDOR_PAGES[kind]
        page.goto(base + "/login")
        page.get_by_role("link", name=button).click()
        page.get_by_label(label).fill(login)
        page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name=accept).click()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            for width, size in WIDTHS.items():
                for kind in ("entra", "google"):
                    # The sandbox's Entra ID serves TLS with its own CA.
                    context = browser.new_context(viewport=size, locale="fi-FI", ignore_https_errors=True)
                    page = context.new_page()
                    page.set_default_timeout(30_000)
                    page.goto(base + "/login")
                    expect(page.get_by_role("link", name="Kirjaudu Microsoft-tilillä")).to_be_visible()
                    expect(page.get_by_role("link", name="Kirjaudu Google-tilillä")).to_be_visible()
                    if kind == "entra":
                        assert_no_serious(page, f"login-{width}")
                        page.screenshot(path=str(SHOTS / f"oidc-login-{width}.png"), full_page=True)
                    sign_in(page, kind, r.login_email)
                    expect(page.get_by_role("heading", name="Työlista")).to_be_visible()
                    assert page.url.rstrip("/") == base
                    page.screenshot(path=str(SHOTS / f"oidc-{kind}-dashboard-{width}.png"), full_page=True)
                    for login, reason in ((gone, "deactivated"), (foreign, "domain"), (unknown, "unknown")):
                        context.clear_cookies()
                        sign_in(page, kind, login)
                        expect(page.get_by_role("alert")).to_have_text(REFUSALS[reason])
                        expect(page.get_by_role("heading", name="Kirjaudu sisään")).to_be_visible()
                        if reason == "deactivated":
                            assert_no_serious(page, f"refused-{kind}-{width}")
                        page.screenshot(path=str(SHOTS / f"oidc-{kind}-refused-{reason}-{width}.png"), full_page=True)
                    context.close()
        finally:
            browser.close()
