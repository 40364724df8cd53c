"""Entra ID v2 for app-only auth: OIDC metadata, JWKS, and the client-credentials token endpoint.

MSAL (inside azure-identity) with ``authority=<sandbox>`` and ``disable_instance_discovery=True``
reads ``{authority}/{tenant}/v2.0/.well-known/openid-configuration`` and then posts to the
``token_endpoint`` it names. Both a client secret and a certificate ``client_assertion`` are
accepted; access tokens are RS256 JWTs in Graph's v1 shape carrying the app's ``roles``.
Token lifetimes use the wall clock: SDKs cache tokens by real time, so a test that advances the
sandbox clock by a week must not make every cached token fail.
"""

from __future__ import annotations

import base64
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from integrator.sandbox.graph import signin
from integrator.sandbox.graph.errors import EntraError, GraphError
from integrator.sandbox.graph.tenant import GRAPH_APP_ID, GRAPH_RESOURCE, GraphTenant, RegisteredApp

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_GRAPH_SCOPES = {f"{GRAPH_RESOURCE}/.default", f"{GRAPH_RESOURCE}//.default", f"{GRAPH_APP_ID}/.default"}


@dataclass(frozen=True)
class Principal:
    """Who a valid access token speaks for."""

    client_id: str
    roles: frozenset[str]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _int_b64(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _known_tenant(tenant: GraphTenant, name: str) -> None:
    if name not in (tenant.tenant_id, tenant.domain):
        raise EntraError(
            400,
            "invalid_request",
            90002,
            f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud. Check with your subscription administrator, this may happen if there "
            "are no active subscriptions for the tenant.",
        )


def openid_configuration(tenant: GraphTenant, name: str) -> Response:
    _known_tenant(tenant, name)
    base = request.host_url.rstrip("/")
    tid = tenant.tenant_id
    # Entra's document: the issuer is the public one (the ID tokens' `iss`), the endpoints this host.
    return jsonify(
        {
            "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": signin.issuer(tenant),
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                                 "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                 "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": f"{base}/{tid}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
    )


def jwks(tenant: GraphTenant, name: str) -> Response:
    _known_tenant(tenant, name)
    numbers = tenant.signing_key.public_key().public_numbers()
    key = {"kty": "RSA", "use": "sig", "kid": tenant.signing_kid, "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}
    return jsonify({"keys": [key]})


def instance_discovery() -> Response:
    """For MSAL configured without ``disable_instance_discovery``: treat the sandbox as a known cloud."""
    host = request.host
    return jsonify(
        {
            "tenant_discovery_endpoint": f"https://{host}/{{tenant}}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }
    )


def _check_scope(scope: str) -> None:
    scopes = scope.split()
    if not scopes:
        raise EntraError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
    for item in scopes:
        if not item.endswith("/.default"):
            raise EntraError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {item} is not valid. Client credential flows must have a scope "
                "value with /.default suffixed to the resource identifier (application ID URI).",
            )
        if item not in _GRAPH_SCOPES:
            resource = item.removesuffix("/.default")
            raise EntraError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant. This can happen if the "
                "application has not been installed by the administrator of the tenant.",
            )


def _thumbprints(cert: x509.Certificate) -> set[bytes]:
    return {cert.fingerprint(hashes.SHA256()), cert.fingerprint(hashes.SHA1())}  # noqa: S303 - x5t is SHA-1 by spec


def _thumb_bytes(value: object) -> bytes:
    """x5t / x5t#S256 as sent: base64url or (as MSAL does for x5t) padded standard base64."""
    if not isinstance(value, str):
        return b""
    text = value.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""


def _verify_assertion(app: RegisteredApp, assertion: str, token_url: str) -> None:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from None
    thumb = header.get("x5t#S256") or header.get("x5t")
    cert = next((c for c in app.certificates if _thumb_bytes(thumb) in _thumbprints(c)), None)
    if cert is None:
        raise EntraError(
            401,
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on "
            f"application. [Reason - The key was not found., Thumbprint of key used by client: '{thumb}']",
        )
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            cert.public_key(),  # type: ignore[arg-type]
            algorithms=["RS256", "PS256"],
            audience=[token_url, f"https://login.microsoftonline.com/{token_url.split('/')[3]}/oauth2/v2.0/token"],
            issuer=app.client_id,
            options={"require": ["exp", "aud", "iss", "sub"]},
            leeway=300,
        )
    except jwt.ExpiredSignatureError:
        raise EntraError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.") from None
    except jwt.InvalidAudienceError:
        raise EntraError(
            401, "invalid_client", 700021, "Client assertion audience claim does not match Realm issuer."
        ) from None
    except jwt.PyJWTError:
        raise EntraError(401, "invalid_client", 7000274, "Client assertion contains an invalid signature.") from None
    if claims.get("sub") != app.client_id:
        raise EntraError(401, "invalid_client", 700023, "Client assertion subject does not match the client id.")


def token(tenant: GraphTenant, name: str) -> Response:
    _known_tenant(tenant, name)
    form = request.form
    grant = form.get("grant_type", "")
    if grant == "authorization_code":
        return signin.redeem_code(tenant)
    if grant != "client_credentials":
        raise EntraError(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'.")
    client_id = form.get("client_id", "")
    if not client_id:
        raise EntraError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
    with tenant.state.lock:
        app = tenant.apps.get(client_id)
    if app is None:
        raise EntraError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant.domain}'. "
            "This can happen if the application has not been installed by the administrator of the tenant "
            "or consented to by any user in the tenant. You may have sent your authentication request to "
            "the wrong tenant.",
        )
    _check_scope(form.get("scope", ""))
    if form.get("client_assertion"):
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise EntraError(400, "invalid_request", 50027, "Invalid client_assertion_type.")
        _verify_assertion(app, form["client_assertion"], f"{request.host_url}{name}/oauth2/v2.0/token")
    elif "client_secret" in form:
        if not hmac.compare_digest(form["client_secret"].encode(), app.secret.encode()):
            raise EntraError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
    else:
        raise EntraError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    lifetime = int(tenant.token_lifetime.total_seconds())
    return jsonify(
        {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": issue_access_token(tenant, app, lifetime),
        }
    )


def issue_access_token(tenant: GraphTenant, app: RegisteredApp, lifetime: int) -> str:
    now = int(time.time())
    claims = {
        "aud": GRAPH_RESOURCE,
        "iss": f"https://sts.windows.net/{tenant.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "appid": app.client_id,
        "appidacr": "2" if app.certificates else "1",
        "idtyp": "app",
        "oid": app.client_id,
        "roles": sorted(app.permissions),
        "sub": app.client_id,
        "tid": tenant.tenant_id,
        "uti": uuid.uuid4().hex,
        "ver": "1.0",
    }
    return jwt.encode(claims, tenant.signing_key, algorithm="RS256", headers={"kid": tenant.signing_kid})


def authenticate(tenant: GraphTenant, header: str | None) -> Principal:
    """The caller's app and roles from ``Authorization: Bearer``, or Graph's 401."""
    scheme, _, value = (header or "").partition(" ")
    if not value or scheme.lower() != "bearer":
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        claims: dict[str, Any] = jwt.decode(
            value,
            tenant.signing_key.public_key(),
            algorithms=["RS256"],
            audience=[GRAPH_RESOURCE, GRAPH_APP_ID],
            issuer=f"https://sts.windows.net/{tenant.tenant_id}/",
        )
    except jwt.ExpiredSignatureError:
        raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.") from None
    except jwt.DecodeError:
        raise GraphError(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.") from None
    except jwt.PyJWTError:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.") from None
    return Principal(client_id=str(claims.get("appid", "")), roles=frozenset(claims.get("roles") or ()))


def register(app: Flask, tenant: GraphTenant) -> None:
    """Login routes. They are not Graph: no bearer token, Entra's error shape."""
    app.add_url_rule(
        "/<name>/v2.0/.well-known/openid-configuration",
        "login.openid_configuration",
        lambda name: openid_configuration(tenant, name),
    )
    app.add_url_rule("/<name>/discovery/v2.0/keys", "login.jwks", lambda name: jwks(tenant, name))
    app.add_url_rule("/common/discovery/instance", "login.instance_discovery", instance_discovery)
    app.add_url_rule(
        "/<name>/oauth2/v2.0/token", "login.token", lambda name: token(tenant, name), methods=["POST"]
    )
    # A user's sign-in (authorization code flow with PKCE): the pages, and the userinfo endpoint.
    app.add_url_rule("/<name>/oauth2/v2.0/authorize", "login.authorize",
                     lambda name: _authorize(tenant, name), methods=["GET", "POST"])
    app.add_url_rule("/oidc/userinfo", "login.userinfo", lambda: signin.userinfo(tenant))


def _authorize(tenant: GraphTenant, name: str) -> ResponseReturnValue:
    _known_tenant(tenant, name)
    return signin.authorize(tenant, name)
