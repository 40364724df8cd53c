"""The sandbox's user sign-in as Entra ID and Google document it: discovery documents, the
authorization endpoint's refusals, the code grant with PKCE (a wrong verifier is `invalid_grant`),
one-time codes, ID tokens signed with a key of the JWKS, and userinfo. Over real sockets."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import jwt
import pytest

from integrator.sandbox import Sandbox

REDIRECT = "http://127.0.0.1:9/login/oidc/callback"
USER = "ohjaaja@sandbox.example.fi"


@dataclass
class Provider:
    kind: str
    discovery_url: str
    client_id: str
    secret: str
    http: httpx.Client

    def discovery(self) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(self.discovery_url).json()
        return body


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        sb.graph.add_user(USER, "Olli Ohjaaja")
        sb.google.add_user(USER, "Olli Ohjaaja")
        yield sb


@pytest.fixture(params=["entra", "google"])
def provider(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[Provider]:
    http = httpx.Client(verify=ssl.create_default_context(cafile=sandbox.ca_cert_path))
    if request.param == "entra":
        client_id, secret = sandbox.graph.register_app(permissions=[])
        sandbox.graph.add_redirect_uri(client_id, REDIRECT)
        url = f"{sandbox.login_authority}/{sandbox.graph.tenant_id}/v2.0/.well-known/openid-configuration"
    else:
        client_id, secret = sandbox.google.register_oauth_client([REDIRECT])
        url = f"{sandbox.google_url}/.well-known/openid-configuration"
    yield Provider(request.param, url, client_id, secret, http)
    http.close()


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _code(p: Provider, verifier: str, nonce: str = "n-0S6_WzA2Mj") -> str:
    meta = p.discovery()
    query = urlencode({"client_id": p.client_id, "response_type": "code", "redirect_uri": REDIRECT,
                       "scope": "openid email profile", "state": "st4te", "nonce": nonce,
                       "code_challenge": _challenge(verifier), "code_challenge_method": "S256"})
    authorize = f"{meta['authorization_endpoint']}?{query}"
    page = p.http.get(authorize)
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
    action = re.search(r'action="([^"]+)"', page.text)
    assert request_id and action, page.text
    target = urljoin(authorize, action[1])
    form = {"request_id": request_id[1], "login": USER}
    assert "Permissions requested" in p.http.post(target, data={**form, "step": "sign_in"}).text or p.kind == "google"
    back = p.http.post(target, data={**form, "step": "accept"})
    assert back.status_code == 302
    params = parse_qs(urlsplit(back.headers["location"]).query)
    assert params["state"] == ["st4te"]
    return params["code"][0]


def _redeem(p: Provider, code: str, verifier: str) -> httpx.Response:
    return p.http.post(p.discovery()["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
        "client_id": p.client_id, "client_secret": p.secret})


def test_the_discovery_documents_have_the_vendors_shape(provider: Provider, sandbox: Sandbox) -> None:
    meta = provider.discovery()
    if provider.kind == "entra":
        assert meta["issuer"] == f"https://login.microsoftonline.com/{sandbox.graph.tenant_id}/v2.0"
        assert meta["authorization_endpoint"].endswith(f"/{sandbox.graph.tenant_id}/oauth2/v2.0/authorize")
        assert meta["subject_types_supported"] == ["pairwise"]
    else:
        assert meta["issuer"] == "https://accounts.google.com"
        assert meta["code_challenge_methods_supported"] == ["plain", "S256"]
    for key in ("token_endpoint", "jwks_uri", "userinfo_endpoint", "id_token_signing_alg_values_supported"):
        assert meta[key]


def test_a_code_with_its_verifier_gives_a_signed_id_token_in_the_vendors_claims(provider: Provider,
                                                                               sandbox: Sandbox) -> None:
    verifier = secrets.token_urlsafe(48)
    answer = _redeem(provider, _code(provider, verifier, nonce="abc123"), verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["access_token"] and body["expires_in"] > 0
    meta = provider.discovery()
    keys = jwt.PyJWKSet.from_dict(provider.http.get(meta["jwks_uri"]).json())
    kid = jwt.get_unverified_header(body["id_token"])["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims = jwt.decode(body["id_token"], key.key, algorithms=["RS256"], audience=provider.client_id,
                        issuer=meta["issuer"])
    assert claims["nonce"] == "abc123"
    if provider.kind == "entra":
        assert claims["tid"] == sandbox.graph.tenant_id and claims["ver"] == "2.0"
        assert claims["oid"] == sandbox.graph.user(USER)["id"] and claims["preferred_username"] == USER
    else:
        assert claims["email"] == USER and claims["email_verified"] is True
        assert claims["hd"] == "sandbox.example.fi" and claims["azp"] == provider.client_id
    info = provider.http.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200 and info.json()["email"] == USER


def test_a_wrong_code_verifier_is_invalid_grant(provider: Provider) -> None:
    verifier = secrets.token_urlsafe(48)
    answer = _redeem(provider, _code(provider, verifier), secrets.token_urlsafe(48))
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "invalid_grant"
    if provider.kind == "entra":
        assert body["error_codes"] == [501481] and body["error_description"].startswith("AADSTS501481:")
    else:
        assert body["error_description"] == "Invalid code verifier."


def test_a_code_works_once(provider: Provider) -> None:
    verifier = secrets.token_urlsafe(48)
    code = _code(provider, verifier)
    assert _redeem(provider, code, verifier).status_code == 200
    again = _redeem(provider, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(provider: Provider) -> None:
    meta = provider.discovery()
    query = urlencode({"client_id": provider.client_id, "response_type": "code", "scope": "openid",
                       "redirect_uri": "https://evil.example/cb", "state": "s"})
    page = provider.http.get(f"{meta['authorization_endpoint']}?{query}")
    assert page.status_code == 400 and "location" not in page.headers
    assert ("AADSTS50011" if provider.kind == "entra" else "redirect_uri_mismatch") in page.text


def test_declined_consent_redirects_with_access_denied(provider: Provider) -> None:
    meta = provider.discovery()
    query = urlencode({"client_id": provider.client_id, "response_type": "code", "scope": "openid email",
                       "redirect_uri": REDIRECT, "state": "s2"})
    authorize = f"{meta['authorization_endpoint']}?{query}"
    page = provider.http.get(authorize)
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
    action = re.search(r'action="([^"]+)"', page.text)
    assert request_id and action
    back = provider.http.post(urljoin(authorize, action[1]),
                              data={"request_id": request_id[1], "login": USER, "step": "cancel"})
    params = parse_qs(urlsplit(back.headers["location"]).query)
    assert params["error"] == ["access_denied"] and params["state"] == ["s2"]
