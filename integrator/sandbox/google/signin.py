"""Sign in with Google (OpenID Connect): the discovery document, the authorization endpoint (a
login page and a consent step), the authorization-code grant with PKCE, ID tokens, JWKS, userinfo.

As Google documents it: the discovery document at /.well-known/openid-configuration names the
issuer https://accounts.google.com; the ID token is RS256 with `iss`, `azp` and `aud` (the client
id), `sub` (the user's Google id), `email`, `email_verified`, `hd` (the Workspace domain; absent
for a personal account), `at_hash`, `nonce`, the profile names. Token errors are Google's
{"error", "error_description"} JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

from integrator.sandbox.google.tenant import AccessToken, GoogleTenant, GoogleUser, OAuthClient
from integrator.sandbox.signin import (
    AuthRequest,
    at_hash,
    b64url,
    consent_page,
    error_page,
    pkce_matches,
    sign_in_page,
    with_query,
)

VENDOR = "Google"
ISSUER = "https://accounts.google.com"
AUTH_PATH = "/o/oauth2/v2/auth"
PATHS = frozenset({"/.well-known/openid-configuration", AUTH_PATH, "/oauth2/v3/certs", "/v1/userinfo"})
LIFETIME_S = 3599
SCOPE_NAMES = {"email": "https://www.googleapis.com/auth/userinfo.email",
               "profile": "https://www.googleapis.com/auth/userinfo.profile"}


@cache
def _signing_key() -> rsa.RSAPrivateKey:
    # One key per process, as the service accounts' (RSA generation is slow).
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _kid() -> str:
    numbers = _signing_key().public_key().public_numbers()
    return hashlib.sha1(str(numbers.n).encode()).hexdigest()  # noqa: S324 - an identifier, not a security hash


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8",
                    headers={"Cache-Control": "no-store"} if status != 200 or "access_token" in body else {})


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _redirect(uri: str) -> Response:
    return Response("", status=302, headers={"Location": uri})


def handle(tenant: GoogleTenant, request: Request, path: str) -> Response:
    if path == "/.well-known/openid-configuration":
        return _json(discovery(tenant.base_url))
    if path == "/oauth2/v3/certs":
        numbers = _signing_key().public_key().public_numbers()
        return _json({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": _kid(),
                                "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                                "e": b64url(numbers.e.to_bytes(3, "big"))}]})
    if path == "/v1/userinfo":
        return _userinfo(tenant, request)
    return _step(tenant, request) if request.method == "POST" else _authorize(tenant, request)


def discovery(base: str) -> dict[str, Any]:
    return {
        "issuer": ISSUER,
        "authorization_endpoint": f"{base}{AUTH_PATH}",
        "device_authorization_endpoint": f"{base}/device/code",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/v1/userinfo",
        "revocation_endpoint": f"{base}/revoke",
        "jwks_uri": f"{base}/oauth2/v3/certs",
        "response_types_supported": ["code", "token", "id_token", "code token", "code id_token", "token id_token",
                                     "code token id_token", "none"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss",
                             "name", "picture", "sub"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token",
                                  "urn:ietf:params:oauth:grant-type:device_code",
                                  "urn:ietf:params:oauth:grant-type:jwt-bearer"],
    }


def _authorize(tenant: GoogleTenant, request: Request) -> Response:
    args = request.args
    with tenant.state.lock:
        client = tenant.oauth_clients.get(args.get("client_id", ""))
    if client is None:
        return _html(error_page(VENDOR, "Access blocked: Authorization Error",
                                "The OAuth client was not found. Error 401: invalid_client"), 401)
    redirect_uri = args.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        return _html(error_page(VENDOR, "Access blocked: This app's request is invalid",
                                "You can't sign in because this app sent an invalid request. "
                                "Error 400: redirect_uri_mismatch"), 400)
    state = args.get("state")
    if args.get("response_type") != "code":
        return _redirect(with_query(redirect_uri, {"error": "unsupported_response_type", "state": state}))
    if "openid" not in args.get("scope", "").split():
        return _redirect(with_query(redirect_uri, {"error": "invalid_scope", "state": state}))
    method = args.get("code_challenge_method")
    if args.get("code_challenge") and method not in (None, "S256", "plain"):
        return _redirect(with_query(redirect_uri, {"error": "invalid_request", "state": state}))
    held = AuthRequest(client_id=client.client_id, redirect_uri=redirect_uri, scopes=tuple(args.get("scope", "").split()),
                       state=state, nonce=args.get("nonce"), code_challenge=args.get("code_challenge"),
                       code_challenge_method=(method or "plain") if args.get("code_challenge") else None,
                       login_hint=args.get("login_hint"))
    request_id = tenant.sign_in.hold(held)
    return _html(sign_in_page(VENDOR, AUTH_PATH, request_id, hint=held.login_hint, label="Email or phone"))


def _step(tenant: GoogleTenant, request: Request) -> Response:
    form = request.form
    request_id = form.get("request_id", "")
    held = tenant.sign_in.pending_request(request_id)
    if held is None:
        return _html(error_page(VENDOR, "Sign in", "The sign-in request has ended; start again."), 400)
    login = form.get("login", "").strip()
    user = tenant.user(login) if login else None
    if user is None:
        return _html(sign_in_page(VENDOR, AUTH_PATH, request_id, hint=login, label="Email or phone",
                                  error="Couldn't find your Google Account"))
    step = form.get("step")
    if step == "sign_in":
        return _html(consent_page(VENDOR, AUTH_PATH, request_id, login=user.email,
                                  heading="Sign in to integrator", accept="Continue",
                                  permissions=["Your name and profile picture", "Your email address"]))
    if step == "cancel":
        tenant.sign_in.decline(request_id)
        return _redirect(with_query(held.redirect_uri, {"error": "access_denied", "state": held.state}))
    issued = tenant.sign_in.issue(request_id, user.id)
    if issued is None:
        return _html(error_page(VENDOR, "Sign in", "The sign-in request has ended; start again."), 400)
    _, code = issued
    scope = " ".join(SCOPE_NAMES.get(s, s) for s in held.scopes)
    params = {"state": held.state, "code": code, "scope": scope, "authuser": "0",
              "hd": None if user.external else tenant.domain, "prompt": "consent"}
    return _redirect(with_query(held.redirect_uri, params))


def _client(tenant: GoogleTenant, request: Request) -> OAuthClient | Response:
    form = request.form
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return _json({"error": "invalid_client", "error_description": "Unauthorized"}, 401)
    with tenant.state.lock:
        client = tenant.oauth_clients.get(client_id)
    if client is None:
        return _json({"error": "invalid_client", "error_description": "The OAuth client was not found."}, 401)
    if secret is None or not hmac.compare_digest(secret.encode(), client.secret.encode()):
        return _json({"error": "invalid_client", "error_description": "Unauthorized"}, 401)
    return client


def redeem_code(tenant: GoogleTenant, request: Request) -> Response:
    """grant_type=authorization_code at /token (oauth2.googleapis.com/token)."""
    client = _client(tenant, request)
    if isinstance(client, Response):
        return client
    form = request.form
    issued, _reused = tenant.sign_in.redeem(form.get("code", ""))
    if issued is None or issued.request.client_id != client.client_id:
        return _json({"error": "invalid_grant", "error_description": "Bad Request"}, 400)
    if form.get("redirect_uri") != issued.request.redirect_uri:
        return _json({"error": "redirect_uri_mismatch", "error_description": "Bad Request"}, 400)
    if not pkce_matches(issued.request, form.get("code_verifier")):
        description = "Missing code verifier." if not form.get("code_verifier") else "Invalid code verifier."
        return _json({"error": "invalid_grant", "error_description": description}, 400)
    user = tenant.user(issued.user_key)
    assert user is not None
    scopes = {SCOPE_NAMES.get(s, s) for s in issued.request.scopes}
    access_token = "ya29.sandbox-" + tenant.new_id(40, alphabet="0123456789abcdefghijklmnopqrstuvwxyzABCDEF_-")
    with tenant.state.lock:
        tenant.tokens[access_token] = AccessToken(user.email, scopes, tenant.state.clock.now() + timedelta(seconds=LIFETIME_S))
    return _json({
        "access_token": access_token,
        "expires_in": LIFETIME_S,
        "scope": " ".join(sorted(scopes)),
        "token_type": "Bearer",
        "id_token": id_token(tenant, client.client_id, user, issued.request.scopes, issued.request.nonce, access_token),
    })


def id_token(tenant: GoogleTenant, client_id: str, user: GoogleUser, scopes: tuple[str, ...], nonce: str | None,
             access_token: str) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "azp": client_id, "aud": client_id, "sub": user.id,
                              "at_hash": at_hash(access_token), "iat": now, "exp": now + LIFETIME_S}
    if not user.external:
        claims["hd"] = tenant.domain
    if "email" in scopes:
        claims.update(email=user.email, email_verified=True)
    if "profile" in scopes:
        claims.update(name=user.name, given_name=user.given_name, family_name=user.family_name)
    if nonce:
        claims["nonce"] = nonce
    return jwt.encode(claims, _signing_key(), algorithm="RS256", headers={"kid": _kid()})


def _userinfo(tenant: GoogleTenant, request: Request) -> Response:
    header = request.headers.get("Authorization", "")
    with tenant.state.lock:
        token = tenant.tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
    if token is None or "openid" not in token.scopes:
        return _json({"error": "invalid_request", "error_description": "Invalid Credentials"}, 401)
    user = tenant.user(token.subject)
    assert user is not None
    body: dict[str, Any] = {"sub": user.id, "name": user.name, "given_name": user.given_name,
                            "family_name": user.family_name, "email": user.email, "email_verified": True}
    if not user.external:
        body["hd"] = tenant.domain
    return _json(body)
