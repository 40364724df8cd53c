"""Google's OAuth token endpoint (JWT-bearer grant with domain-wide delegation) and bearer checks."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from integrator.sandbox.google.errors import insufficient_scopes, unauthenticated
from integrator.sandbox.google.tenant import AccessToken, GoogleTenant, ServiceAccount

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = timedelta(hours=1)
UNAUTHORIZED_CLIENT = {
    "error": "unauthorized_client",
    "error_description": "Client is unauthorized to retrieve access tokens using this method, "
    "or client not authorized for any of the scopes requested.",
}


@cache
def _private_key_pem() -> bytes:
    # One key per process: RSA generation is slow and tests create many service accounts.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def register_service_account(tenant: GoogleTenant, scopes: list[str]) -> dict[str, Any]:
    """Create a service account with domain-wide delegation for ``scopes``; return its key file."""
    pem = _private_key_pem()
    private = serialization.load_pem_private_key(pem, password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with tenant.state.lock:
        client_id = tenant.new_id(21, first="1")
        email = f"integrator-{client_id[-6:]}@sandbox-project.iam.gserviceaccount.com"
        key_id = tenant.new_id(40, alphabet="0123456789abcdef")
        tenant.service_accounts[email] = ServiceAccount(client_id, email, key_id, public, set(scopes))
    return {
        "type": "service_account",
        "project_id": "sandbox-project",
        "private_key_id": key_id,
        "private_key": pem.decode(),
        "client_email": email,
        "client_id": client_id,
        "auth_uri": f"{tenant.base_url}/o/oauth2/auth",
        "token_uri": f"{tenant.base_url}/token",
        "auth_provider_x509_cert_url": f"{tenant.base_url}/oauth2/v1/certs",
        "client_x509_cert_url": f"{tenant.base_url}/robot/v1/metadata/x509/{email}",
        "universe_domain": "googleapis.com",
    }


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _grant_error(error: str, description: str) -> tuple[int, dict[str, Any]]:
    return 400, {"error": error, "error_description": description}


def exchange(tenant: GoogleTenant, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Answer a token request exactly as oauth2.googleapis.com/token would."""
    if form.get("grant_type") != JWT_BEARER:
        return _grant_error("unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", ""))
    try:
        header_b64, payload_b64, signature_b64 = form.get("assertion", "").split(".")
        header = json.loads(_b64(header_b64))
        claims = json.loads(_b64(payload_b64))
        signature = _b64(signature_b64)
    except ValueError:
        return _grant_error(
            "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe"
        )
    if header.get("alg") != "RS256":
        return _grant_error("invalid_grant", "Invalid JWT signature.")
    with tenant.state.lock:
        account = tenant.service_accounts.get(str(claims.get("iss", "")))
    if account is None:
        return _grant_error("invalid_grant", "Invalid JWT Signature.")
    public = serialization.load_pem_public_key(account.public_pem)
    if not isinstance(public, rsa.RSAPublicKey):
        return _grant_error("invalid_grant", "Invalid JWT Signature.")
    try:
        public.verify(signature, f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return _grant_error("invalid_grant", "Invalid JWT Signature.")
    # The assertion is stamped with the client's wall clock, so it is checked against wall time.
    now = time.time()
    if not (float(claims.get("iat", 0)) - 300 <= now <= float(claims.get("exp", 0)) + 300):
        return _grant_error(
            "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe"
        )
    # google-auth stamps Google's canonical endpoint as audience whatever token_uri says.
    if claims.get("aud") not in (f"{tenant.base_url}/token", "https://oauth2.googleapis.com/token"):
        return _grant_error("invalid_grant", "Invalid JWT: Failed audience check.")
    scopes = set(str(claims.get("scope", "")).split())
    if not scopes:
        return _grant_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    subject = claims.get("sub")
    if subject is not None:
        if tenant.domain_user(str(subject)) is None:
            return _grant_error("invalid_grant", "Invalid email or User ID")
        if not scopes <= account.scopes:
            return 401, dict(UNAUTHORIZED_CLIENT)
    acting = str(subject).lower() if subject else account.client_email
    token = "ya29.sandbox-" + tenant.new_id(
        40, alphabet="0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"
    )
    expires = tenant.state.clock.now() + TOKEN_LIFETIME
    with tenant.state.lock:
        tenant.tokens[token] = AccessToken(acting, scopes, expires)
    return 200, {
        "access_token": token,
        "expires_in": int(TOKEN_LIFETIME.total_seconds()) - 1,
        "token_type": "Bearer",
    }


def bearer(tenant: GoogleTenant, authorization: str | None, method_scopes: list[str]) -> AccessToken:
    """The token behind an Authorization header, valid on the sandbox clock and in scope."""
    if not authorization or not authorization.startswith("Bearer "):
        raise unauthenticated()
    with tenant.state.lock:
        token = tenant.tokens.get(authorization.removeprefix("Bearer ").strip())
    if token is None or token.expires_at <= tenant.state.clock.now():
        raise unauthenticated()
    if method_scopes and not token.scopes.intersection(method_scopes):
        raise insufficient_scopes()
    return token
