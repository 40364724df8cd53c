"""Entra ID v2.0 user sign-in: the authorization endpoint (a login page and a consent step), the
authorization-code grant of the token endpoint with PKCE, ID tokens and the OIDC userinfo.

As the Microsoft identity platform documents it: the ID token is RS256 signed with a key of the
tenant's JWKS, `iss` https://login.microsoftonline.com/{tid}/v2.0, `aud` the app's client id,
`tid`, `oid` (the user's object id), `sub` (pairwise: per user and app), `preferred_username`
(the UPN), `email` with the email scope when the user has a mail address, `nonce` as requested,
`ver` 2.0. Errors are AADSTS errors: on the authorization endpoint an error page when the client
or redirect URI is wrong, else a redirect with `error`; on the token endpoint the OAuth2 JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from typing import Any

import jwt
from flask import Response, jsonify, redirect, request
from flask.typing import ResponseReturnValue

from integrator.sandbox.graph.errors import EntraError
from integrator.sandbox.graph.tenant import GraphTenant, RegisteredApp
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

VENDOR = "Microsoft Entra ID"
ID_TOKEN_LIFETIME_S = 3600


def issuer(tenant: GraphTenant) -> str:
    return f"https://login.microsoftonline.com/{tenant.tenant_id}/v2.0"


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def authorize(tenant: GraphTenant, name: str) -> ResponseReturnValue:
    """GET: the request from the app; POST: the tester's steps (sign in, then accept or cancel)."""
    if request.method == "POST":
        return _step(tenant, name)
    args = request.args
    client_id = args.get("client_id", "")
    with tenant.state.lock:
        app = tenant.apps.get(client_id)
    if app is None:
        return _html(error_page(VENDOR, "Sign in", (
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant.domain}'.")), 400)
    redirect_uri = args.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        return _html(error_page(VENDOR, "Sign in", (
            f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request does not match the "
            f"redirect URIs configured for the application '{client_id}'.")), 400)
    state = args.get("state")
    failure = _request_error(args)
    if failure is not None:
        error, description = failure
        return redirect(with_query(redirect_uri, {"error": error, "error_description": description,
                                                  "state": state}))
    held = AuthRequest(client_id=client_id, redirect_uri=redirect_uri, scopes=tuple(args.get("scope", "").split()),
                       state=state, nonce=args.get("nonce"), code_challenge=args.get("code_challenge"),
                       code_challenge_method=args.get("code_challenge_method", "plain") if args.get("code_challenge")
                       else None, login_hint=args.get("login_hint"))
    request_id = tenant.sign_in.hold(held)
    return _html(sign_in_page(VENDOR, request.path, request_id, hint=held.login_hint,
                              label="Email, phone, or Skype"))


def _request_error(args: Any) -> tuple[str, str] | None:
    if args.get("response_type") != "code":
        return ("unsupported_response_type",
                "AADSTS700054: response_type 'id_token' is not enabled for the application."
                if args.get("response_type") else "AADSTS900144: The request body must contain the following "
                                                  "parameter: 'response_type'.")
    if "openid" not in args.get("scope", "").split():
        return "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'."
    method = args.get("code_challenge_method")
    if args.get("code_challenge") and method not in (None, "S256", "plain"):
        return "invalid_request", "AADSTS501491: Invalid size of Code_Challenge parameter."
    return None


def _step(tenant: GraphTenant, name: str) -> ResponseReturnValue:
    form = request.form
    request_id = form.get("request_id", "")
    held = tenant.sign_in.pending_request(request_id)
    if held is None:
        return _html(error_page(VENDOR, "Sign in", "AADSTS90014: The sign-in request has ended; start again."), 400)
    login = form.get("login", "").strip()
    user = tenant.find_user(login) if login else None
    if user is None:
        return _html(sign_in_page(VENDOR, request.path, request_id, hint=login, label="Email, phone, or Skype",
                                  error="This username may be incorrect. Make sure you typed it correctly. "
                                        "Otherwise, contact your admin."))
    step = form.get("step")
    if step == "sign_in":
        return _html(consent_page(VENDOR, request.path, request_id, login=str(user["userPrincipalName"]),
                                  heading="Permissions requested", accept="Accept",
                                  permissions=["Sign you in", "View your basic profile", "View your email address"]))
    if step == "cancel":
        tenant.sign_in.decline(request_id)
        return redirect(with_query(held.redirect_uri, {
            "error": "access_denied", "error_description": "AADSTS65004: User declined to consent to access the app.",
            "state": held.state}))
    issued = tenant.sign_in.issue(request_id, str(user["id"]))
    if issued is None:
        return _html(error_page(VENDOR, "Sign in", "AADSTS90014: The sign-in request has ended; start again."), 400)
    _, code = issued
    return redirect(with_query(held.redirect_uri, {"code": code, "state": held.state,
                                                   "session_state": str(uuid.uuid4())}))


def _client(tenant: GraphTenant) -> RegisteredApp:
    """The confidential client: client_secret_post or client_secret_basic."""
    form = request.form
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            raise EntraError(401, "invalid_client", 7000216, "Invalid client authentication header.") from None
    with tenant.state.lock:
        app = tenant.apps.get(client_id)
    if app is None:
        raise EntraError(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not "
                                                             f"found in the directory '{tenant.domain}'.")
    if secret is None:
        raise EntraError(401, "invalid_client", 7000218, "The request body must contain the following parameter: "
                                                         "'client_assertion' or 'client_secret'.")
    if not hmac.compare_digest(secret.encode(), app.secret.encode()):
        raise EntraError(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                                                         "sent in the request is the client secret value.")
    return app


def redeem_code(tenant: GraphTenant) -> Response:
    """grant_type=authorization_code: the code once, for its client and redirect URI, with its PKCE verifier."""
    form = request.form
    app = _client(tenant)
    issued, reused = tenant.sign_in.redeem(form.get("code", ""))
    if reused:
        raise EntraError(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry "
                                                      "with a new valid code or use an existing refresh token.")
    if issued is None:
        raise EntraError(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired "
                                                      "due to inactivity. Send a new interactive authorization request "
                                                      "for this user and resource.")
    if issued.request.client_id != app.client_id:
        raise EntraError(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
    if form.get("redirect_uri") != issued.request.redirect_uri:
        raise EntraError(400, "invalid_grant", 500112, "The reply address does not match the reply address "
                                                       "provided when requesting Authorization code.")
    if not pkce_matches(issued.request, form.get("code_verifier")):
        raise EntraError(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge "
                                                       "supplied in the authorization request.")
    user = tenant.user(issued.user_key)
    access_token = secrets.token_urlsafe(48)
    with tenant.state.lock:
        tenant.user_tokens[access_token] = (str(user["id"]), time.time() + ID_TOKEN_LIFETIME_S)
    return jsonify({
        "token_type": "Bearer",
        "scope": " ".join([*issued.request.scopes, "https://graph.microsoft.com/User.Read"]),
        "expires_in": ID_TOKEN_LIFETIME_S,
        "ext_expires_in": ID_TOKEN_LIFETIME_S,
        "access_token": access_token,
        "id_token": id_token(tenant, app.client_id, user, issued.request.scopes, issued.request.nonce, access_token),
    })


def id_token(tenant: GraphTenant, client_id: str, user: dict[str, Any], scopes: tuple[str, ...],
             nonce: str | None, access_token: str) -> str:
    now = int(time.time())
    oid = str(user["id"])
    claims: dict[str, Any] = {
        "aud": client_id,
        "iss": issuer(tenant),
        "iat": now,
        "nbf": now,
        "exp": now + ID_TOKEN_LIFETIME_S,
        "name": user.get("displayName"),
        "oid": oid,
        "preferred_username": user.get("userPrincipalName"),
        "rh": "0.sandbox",
        # Pairwise: the same person has another `sub` in another app; `oid` is the tenant-wide id.
        "sub": b64url(hashlib.sha256(f"{oid}:{client_id}".encode()).digest()),
        "tid": tenant.tenant_id,
        "uti": uuid.uuid4().hex[:22],
        "ver": "2.0",
        "at_hash": at_hash(access_token),
    }
    if nonce:
        claims["nonce"] = nonce
    if "email" in scopes and user.get("mail"):
        claims["email"] = user["mail"]
    return jwt.encode(claims, tenant.signing_key, algorithm="RS256", headers={"kid": tenant.signing_kid})


def userinfo(tenant: GraphTenant) -> Response:
    """GET /oidc/userinfo with the sign-in's access token (Graph's userinfo: sub and profile)."""
    header = request.headers.get("Authorization", "")
    with tenant.state.lock:
        found = tenant.user_tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
    if found is None or found[1] < time.time():
        body = {"error": {"code": "InvalidAuthenticationToken", "message": "Access token validation failure."}}
        response = jsonify(body)
        response.status_code = 401
        return response
    user = tenant.user(found[0])
    return jsonify({"sub": b64url(hashlib.sha256(str(user["id"]).encode()).digest()),
                    "name": user.get("displayName"), "family_name": user.get("surname"),
                    "given_name": user.get("givenName"), "email": user.get("mail")})
