"""Signing in with the organisation's identity provider: the sandbox's Entra ID and Google over real
sockets (authorization code flow with PKCE, ID tokens validated by Authlib), a real SQLite file.
Who may sign in, the refusals in Finnish with their audit, and passwords switched off."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.config import Settings
from integrator.demo.rehearsal import Rehearsal, start_rehearsal
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import AuditEvent, StaffIdentity, StaffUser
from integrator.web import accounts, create_app
from integrator.web.auth import PASSWORDS_OFF
from integrator.web.context import close_app, get_store
from integrator.web.sign_in import REFUSALS
from tests.web.world import REHEARSAL_NOW

PASSWORD = "sign-in rehearsal pw"
ENTRA_ISSUER_PREFIX = "https://login.microsoftonline.com/"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rehearsal, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('sign-in') / 'sign-in.db'}"
    upgrade(url)
    store = Store(url)
    r = start_rehearsal(store, password=PASSWORD, now=REHEARSAL_NOW)
    r.allow_sign_in_at("http://localhost")  # the test client's host
    yield r, url
    r.stop()
    store.dispose()


def _app(url: str, settings: Settings) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "s" * 32, "WTF_CSRF_ENABLED": False,
                       "SETTINGS": settings})


@pytest.fixture
def app(rehearsal: tuple[Rehearsal, str]) -> Iterator[Flask]:
    r, url = rehearsal
    the_app = _app(url, r.settings)
    yield the_app
    close_app(the_app)


def through_provider(client: FlaskClient, r: Rehearsal, kind: str, login: str, *, step: str = "accept",
                     start: str | None = None) -> tuple[str, object]:
    """The tester's way through the sandbox provider's pages; (the callback URL, the app's answer)."""
    resp = client.get(start or f"/login/sso/{kind}")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    authorize = resp.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] and query["nonce"]
    with httpx.Client(verify=ssl.create_default_context(cafile=r.sandbox.ca_cert_path)) as http:
        page = http.get(authorize)
        assert page.status_code == 200, page.text
        found = re.search(r'name="request_id" value="([^"]+)"', page.text)
        action = re.search(r'action="([^"]+)"', page.text)
        assert found and action
        target = urljoin(authorize, action[1])
        form = {"request_id": found[1], "login": login}
        assert http.post(target, data={**form, "step": "sign_in"}).status_code == 200
        back = http.post(target, data={**form, "step": step})
        assert back.status_code == 302, back.text
    callback = back.headers["location"]
    parts = urlsplit(callback)
    assert parts.path == "/login/oidc/callback"
    return callback, client.get(f"{parts.path}?{parts.query}")


def _page(resp: object) -> str:
    return resp.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


def _refusals(store: Store) -> list[dict[str, object]]:
    with store.session() as s:
        return [dict(e.details, staff=e.entity_id) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "sign_in.refused").order_by(AuditEvent.id))]


def _staff(store: Store, r: Rehearsal, email: str, role: str = "coordinator") -> int:
    return accounts.add_staff(store, email=email, name="Testi Henkilö", role=role, org_key=r.org_key, password=None)


@pytest.mark.parametrize("kind", ["entra", "google"])
def test_a_coordinator_signs_in_through_the_provider_and_is_matched_by_the_account_next_time(
        app: Flask, rehearsal: tuple[Rehearsal, str], kind: str) -> None:
    r, _ = rehearsal
    store = get_store(app)
    email = f"kirjautuja-{kind}@sandbox.example.fi"
    staff_id = _staff(store, r, email)
    (r.sandbox.graph if kind == "entra" else r.sandbox.google).add_user(email, "Kirsi Kirjautuja")
    client = app.test_client()
    _, resp = through_provider(client, r, kind, email)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"  # type: ignore[attr-defined]
    assert client.get("/api/v1/me").get_json()["staff_id"] == staff_id
    with store.session() as s:
        identity = s.scalar(select(StaffIdentity).where(StaffIdentity.staff_user_id == staff_id))
        assert identity is not None
        issuer = identity.issuer
        assert issuer.startswith(ENTRA_ISSUER_PREFIX) if kind == "entra" else issuer == "https://accounts.google.com"
        linked = s.scalar(select(AuditEvent).where(AuditEvent.action == "sign_in.linked",
                                                   AuditEvent.entity_id == str(staff_id)))
        assert linked is not None and email not in str(linked.details)
        # The address in our records changes: the account at the provider still finds the person.
        user = s.get(StaffUser, staff_id)
        assert user is not None
        user.email = f"uusi-{kind}@sandbox.example.fi"
    again = app.test_client()
    _, resp = through_provider(again, r, kind, email)
    assert resp.status_code == 302, _page(resp)  # type: ignore[attr-defined]
    assert again.get("/api/v1/me").get_json()["staff_id"] == staff_id


@pytest.mark.parametrize("kind", ["entra", "google"])
def test_unknown_deactivated_and_foreign_accounts_are_refused_in_finnish_and_audited(
        app: Flask, rehearsal: tuple[Rehearsal, str], kind: str) -> None:
    r, _ = rehearsal
    store = get_store(app)
    tenant = r.sandbox.graph if kind == "entra" else r.sandbox.google
    gone = f"poistettu-{kind}@sandbox.example.fi"
    gone_id = _staff(store, r, gone)
    tenant.add_user(gone, "Poistettu Henkilö")
    accounts.deactivate(store, gone_id)
    foreign = f"vieras-{kind}@muu.example"
    if kind == "entra":
        tenant.add_user(foreign, "Vieras Käyttäjä")
    else:
        tenant.add_external_user(foreign, "Vieras Käyttäjä")  # a personal Google account: no hd
    before = len(_refusals(store))
    cases = [("k-0001@sandbox.example.fi", "unknown"),  # a client of the tenant, no staff user
             (gone, "deactivated"), (foreign, "domain")]
    for login, reason in cases:
        client = app.test_client()
        _, resp = through_provider(client, r, kind, login)
        assert resp.status_code == 403, (login, _page(resp))  # type: ignore[attr-defined]
        assert REFUSALS[reason] in _page(resp), login
        assert client.get("/api/v1/me").status_code == 401  # no session
    audited = _refusals(store)[before:]
    assert [a["reason"] for a in audited] == [reason for _, reason in cases]
    assert audited[1]["staff"] == str(gone_id) and all(a["provider"] == kind for a in audited)
    assert not any("@" in str(a) for a in audited), "an address in the audit"


def test_a_callback_in_another_browser_or_with_another_nonce_is_refused(
        app: Flask, rehearsal: tuple[Rehearsal, str]) -> None:
    r, _ = rehearsal
    store = get_store(app)
    email = "nonce@sandbox.example.fi"
    _staff(store, r, email)
    r.sandbox.graph.add_user(email, "Noora Nonce")
    # State: the provider's answer arrives in a browser that never began the flow.
    began = app.test_client()
    resp = began.get("/login/sso/entra")
    state = parse_qs(urlsplit(resp.headers["Location"]).query)["state"][0]
    other = app.test_client()
    refused = other.get(f"/login/oidc/callback?code=made-up&state={state}")
    assert refused.status_code == 403 and REFUSALS["state"] in _page(refused)
    # Nonce: the ID token carries the nonce of the request, not the one this session expects.
    client = app.test_client()
    original = client.get

    def tampered(path: str, *args: object, **kwargs: object) -> object:
        if path.startswith("/login/oidc/callback"):
            with client.session_transaction() as sess:
                for key, value in sess.items():
                    if key.startswith("_state_raisio-entra_"):
                        value["data"]["nonce"] = "another-nonce"
                        sess[key] = value
        return original(path, *args, **kwargs)

    client.get = tampered  # type: ignore[method-assign]
    _, resp = through_provider(client, r, "entra", email)
    assert resp.status_code == 403 and REFUSALS["state"] in _page(resp)  # type: ignore[attr-defined]
    assert client.get("/api/v1/me").status_code == 401
    with store.session() as s:
        assert s.scalar(select(StaffIdentity).join(StaffUser).where(StaffUser.email == email)) is None


def test_declining_consent_says_the_sign_in_was_cancelled(app: Flask, rehearsal: tuple[Rehearsal, str]) -> None:
    r, _ = rehearsal
    _, resp = through_provider(app.test_client(), r, "google", r.login_email, step="cancel")
    assert resp.status_code == 403 and REFUSALS["cancelled"] in _page(resp)  # type: ignore[attr-defined]


def test_a_staff_user_linked_to_another_account_is_not_moved_by_an_address(
        app: Flask, rehearsal: tuple[Rehearsal, str]) -> None:
    r, _ = rehearsal
    store = get_store(app)
    email = "siirretty@sandbox.example.fi"
    staff_id = _staff(store, r, email)
    r.sandbox.graph.add_user(email, "Siiri Siirretty")
    with store.session() as s:
        s.add(StaffIdentity(staff_user_id=staff_id, subject="an-earlier-account",
                            issuer=f"{ENTRA_ISSUER_PREFIX}{r.sandbox.graph.tenant_id}/v2.0"))
    _, resp = through_provider(app.test_client(), r, "entra", email)
    assert resp.status_code == 403 and REFUSALS["linked_elsewhere"] in _page(resp)  # type: ignore[attr-defined]


def test_next_survives_the_round_trip(app: Flask, rehearsal: tuple[Rehearsal, str]) -> None:
    r, _ = rehearsal
    client = app.test_client()
    _, resp = through_provider(client, r, "entra", r.login_email, start="/login/sso/entra?next=/jobs")
    assert resp.headers["Location"] == "/jobs"  # type: ignore[attr-defined]


def test_the_login_page_offers_the_configured_providers(app: Flask) -> None:
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "Kirjaudu Microsoft-tilillä" in page and "Kirjaudu Google-tilillä" in page
    assert 'href="/login/sso/entra"' in page


def test_the_login_page_without_providers_has_no_buttons(db_url: str) -> None:
    upgrade(db_url)
    bare = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "s" * 32})  # no configuration
    client = bare.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Microsoft-tilillä" not in page and "Google-tilillä" not in page
    assert client.get("/login/sso/entra").status_code == 404
    close_app(bare)


def _passwords_off(settings: Settings) -> Settings:
    org = settings.organisations[0]
    sign_in = org.sign_in.model_copy(update={"local_passwords": False})
    return settings.model_copy(update={"organisations": [org.model_copy(update={"sign_in": sign_in})]})


def test_with_passwords_off_only_a_system_admin_logs_in_with_a_password(
        rehearsal: tuple[Rehearsal, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    r, url = rehearsal
    app = _app(url, _passwords_off(r.settings))
    store = get_store(app)
    accounts.add_staff(store, email="org-admin@sandbox.example.fi", name="Org Admin", role="admin",
                       org_key=r.org_key, password=PASSWORD)
    accounts.add_staff(store, email="break-glass@example.fi", name="Järjestelmä", role="admin", org_key=None,
                       password=PASSWORD)
    for email in (r.login_email, "org-admin@sandbox.example.fi"):
        resp = app.test_client().post("/login", data={"email": email, "password": PASSWORD})
        assert resp.status_code == 403 and PASSWORDS_OFF in resp.get_data(as_text=True), email
    assert app.test_client().post("/login", data={"email": "break-glass@example.fi",
                                                   "password": PASSWORD}).status_code == 302
    # The organisation's people still sign in through its provider.
    _, resp = through_provider(app.test_client(), r, "entra", r.login_email)
    assert resp.status_code == 302  # type: ignore[attr-defined]
    close_app(app)


def test_several_organisations_ask_for_the_work_address_first(rehearsal: tuple[Rehearsal, str]) -> None:
    r, url = rehearsal
    org = r.settings.organisations[0]
    entra = org.sign_in.provider("entra")
    assert entra is not None
    other_provider = entra.model_copy(update={"allowed_domains": ["naapuri.example"]})
    other = org.model_copy(update={"key": "naapuri", "staff": [], "groups": [],
                                   "sign_in": org.sign_in.model_copy(update={"providers": [other_provider]})})
    app = _app(url, r.settings.model_copy(update={"organisations": [org, other]}))
    client = app.test_client()
    page = client.get("/login/sso/entra?next=/jobs")
    assert page.status_code == 200 and "Työsähköposti" in page.get_data(as_text=True)
    assert f"form-action 'self' {r.sandbox.login_authority}" in page.headers["Content-Security-Policy"]
    wrong = client.get("/login/sso/entra?email=joku@muualla.example")
    assert wrong.status_code == 400 and "Microsoft-tilillä" in wrong.get_data(as_text=True)
    _, resp = through_provider(client, r, "entra", r.login_email,
                               start=f"/login/sso/entra?email={r.login_email}&next=/jobs")
    assert resp.headers["Location"] == "/jobs"  # type: ignore[attr-defined]
    close_app(app)


def test_the_sandbox_secret_files_exist_for_config_check(rehearsal: tuple[Rehearsal, str]) -> None:
    r, _ = rehearsal
    for provider in r.settings.organisations[0].sign_in.providers:
        assert provider.client_secret.file is not None and Path(provider.client_secret.file).is_file()
