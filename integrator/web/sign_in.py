"""Sign-in with the organisation's identity provider: OpenID Connect authorization code flow with
PKCE (S256), through Authlib's Flask client, which also validates the ID token (signature from
the provider's JWKS, `iss`, `aud`, `exp`, `nonce`); who the token names is staff_identity's call.

The organisation is chosen by the e-mail domain: each domain signs in to one organisation
(config check refuses a domain given twice). With one organisation offering the kind, its button
goes straight to the provider; with several, a page asks for the work address first. A login
page never lists the organisations that use the service, and hundreds of them fit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError

from integrator.config import Settings, SignInProvider
from integrator.web import accounts, staff_identity
from integrator.web.auth import SESSION_KEY, safe_next, settings_or_none
from integrator.web.context import get_store, now
from integrator.web.security import CSP

log = logging.getLogger(__name__)
bp = Blueprint("sign_in", __name__)
OAUTH_KEY = "integrator.oauth"
FLOW_KEY = "sign_in"  # the session's note of the flow under way: provider and where to go after
KINDS = {"entra": "Microsoft", "google": "Google"}
CLOCK_SKEW_S = 120

REFUSALS = {
    staff_identity.UNKNOWN: "Tunnuksellasi ei ole käyttäjää tässä palvelussa. Pyydä ylläpitoa lisäämään sinut.",
    staff_identity.DEACTIVATED: "Käyttäjätunnuksesi on poistettu käytöstä. Ota yhteyttä ylläpitoon.",
    staff_identity.DOMAIN: "Tämän sähköpostiosoitteen verkkotunnuksella ei voi kirjautua tähän organisaatioon.",
    staff_identity.UNVERIFIED: "Kirjautumispalvelu ei vahvistanut sähköpostiosoitettasi, joten kirjautuminen "
                               "ei onnistunut. Ota yhteyttä ylläpitoon.",
    staff_identity.LINKED_ELSEWHERE: "Käyttäjäsi on jo liitetty toiseen tiliin tässä kirjautumispalvelussa. "
                                     "Ota yhteyttä ylläpitoon.",
    "state": "Kirjautuminen ei onnistunut: kirjautumispyyntö oli vanhentunut tai virheellinen. Yritä uudelleen.",
    "cancelled": "Kirjautuminen peruttiin.",
    "provider_error": "Kirjautumispalvelu ei hyväksynyt kirjautumista. Yritä uudelleen tai ota yhteyttä ylläpitoon.",
    "unavailable": "Kirjautumispalveluun ei saatu yhteyttä. Yritä hetken kuluttua uudelleen.",
}


@dataclass(frozen=True)
class Configured:
    org_key: str
    provider: SignInProvider

    @property
    def name(self) -> str:  # Authlib's client name, also in its session keys
        return f"{self.org_key}-{self.provider.kind}"


def init_app(app: Flask) -> None:
    app.extensions[OAUTH_KEY] = OAuth(app)


def _configured(settings: Settings | None, kind: str) -> list[Configured]:
    if settings is None:
        return []
    return [Configured(org.key, p) for org in settings.organisations for p in org.sign_in.providers if p.kind == kind]


def _client(c: Configured) -> object:
    oauth: OAuth = current_app.extensions[OAUTH_KEY]
    client = oauth.create_client(c.name)
    if client is None:
        # Registered on first use: the secret is read then, not at start.
        kwargs: dict[str, object] = {"scope": "openid email profile", "code_challenge_method": "S256",
                                     "token_endpoint_auth_method": "client_secret_post", "timeout": 15}
        if c.provider.ca_bundle is not None:
            # The sandbox's own CA. requests lets $REQUESTS_CA_BUNDLE override a session's
            # `verify` (psf/requests#3829), so the environment is not consulted for this client.
            kwargs.update(verify=str(c.provider.ca_bundle), trust_env=False)
        client = oauth.register(c.name, client_id=c.provider.client_id,
                                client_secret=c.provider.client_secret.read().strip(),
                                server_metadata_url=c.provider.discovery_url, client_kwargs=kwargs)
    return client


@bp.get("/login/sso/<any(entra, google):kind>")  # the two kinds of KINDS; any other path is 404
def start(kind: str) -> ResponseReturnValue:
    """A provider's button: straight to the provider, or first the work address (several organisations)."""
    if kind not in KINDS:
        abort(404)
    candidates = _configured(settings_or_none(), kind)
    if not candidates:
        abort(404)
    email = request.args.get("email", "").strip()[:320]
    target = safe_next(request.args.get("next"), url_for("ui.dashboard"))
    if email:
        domain = email.rpartition("@")[2].lower()
        chosen = [c for c in candidates if domain in c.provider.allowed_domains]
        if not chosen:
            return _ask_address(kind, candidates, target, email,
                                f"Tällä sähköpostiosoitteella ei voi kirjautua {KINDS[kind]}-tilillä. Tarkista "
                                "osoite tai kirjaudu toisella tavalla.", 400)
    elif len(candidates) == 1:
        chosen = candidates
    else:
        return _ask_address(kind, candidates, target, "", None, 200)
    c = chosen[0]
    session[FLOW_KEY] = {"provider": c.name, "next": target}
    try:
        response: ResponseReturnValue = _client(c).authorize_redirect(  # type: ignore[attr-defined]
            url_for("sign_in.callback", _external=True), login_hint=email or None)
    except (requests.RequestException, ValueError, LookupError, OSError):
        return _refused(c, "unavailable")
    return response


def _ask_address(kind: str, candidates: list[Configured], target: str, email: str,
                 error: str | None, status: int) -> ResponseReturnValue:
    html = render_template("sign_in_address.html", kind=kind, label=KINDS[kind], next=target, email=email,
                           error=error)
    response = current_app.make_response((html, status))
    # The form goes to us, and we redirect to the provider: browsers hold a form's redirects to
    # the page's form-action too, so the providers' sign-in pages are named here.
    origins = sorted({_origin(c) for c in candidates} - {""})
    response.headers["Content-Security-Policy"] = CSP.replace("form-action 'self'",
                                                              " ".join(["form-action 'self'", *origins]))
    return response


def _origin(c: Configured) -> str:
    try:
        endpoint = str(_client(c).load_server_metadata().get("authorization_endpoint", ""))  # type: ignore[attr-defined]
    except (requests.RequestException, ValueError, LookupError, OSError):
        return ""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@bp.get("/login/oidc/callback")
def callback() -> ResponseReturnValue:
    """Where the provider sends the browser back with a code (public: the state in the session
    and the PKCE verifier tie it to the flow this browser began)."""
    flow = session.pop(FLOW_KEY, None)
    name = flow.get("provider") if isinstance(flow, dict) else None
    chosen = next((c for kind in KINDS for c in _configured(settings_or_none(), kind) if c.name == name), None)
    if chosen is None:
        return _refused(None, "state")
    try:
        token = _client(chosen).authorize_access_token(  # type: ignore[attr-defined]
            claims_options=_claims_options(chosen.provider), leeway=CLOCK_SKEW_S)
    except MismatchingStateError:
        return _refused(chosen, "state")
    except OAuthError as err:
        return _refused(chosen, "cancelled" if err.error == "access_denied" else "provider_error")
    except JoseError:  # signature, iss, aud, exp, nonce or tid: not a token for this sign-in
        return _refused(chosen, "state")
    except (requests.RequestException, ValueError, OSError):
        return _refused(chosen, "unavailable")
    claims = dict(token.get("userinfo") or {})
    if not claims:
        return _refused(chosen, "state")
    store = get_store()
    found = staff_identity.match(store, chosen.org_key, chosen.provider, claims, now())
    account = staff_identity.subject_hash(chosen.provider.issuer, staff_identity.subject_of(chosen.provider, claims))
    if found.refusal is not None or found.staff_id is None:
        return _refused(chosen, found.refusal or staff_identity.UNKNOWN, found.staff_id, account)
    session.clear()  # a fresh session id and CSRF token: no session fixation
    session[SESSION_KEY] = accounts.start_session(store, found.staff_id, current_app.permanent_session_lifetime)
    session.permanent = True
    log.info("login", extra={"staff_id": found.staff_id, "via": chosen.provider.kind, "linked": found.linked})
    target = flow.get("next") if isinstance(flow, dict) else None
    return redirect(safe_next(target, url_for("ui.dashboard")))


def _claims_options(provider: SignInProvider) -> dict[str, dict[str, object]]:
    # Pinned to the configured issuer and our client id, not to whatever the metadata says.
    options: dict[str, dict[str, object]] = {"iss": {"essential": True, "value": provider.issuer},
                                             "aud": {"essential": True, "value": provider.client_id}}
    if provider.tenant_id is not None:
        options["tid"] = {"essential": True, "value": provider.tenant_id}
    return options


def _refused(c: Configured | None, reason: str, staff_id: int | None = None,
             account: str | None = None) -> ResponseReturnValue:
    kind = c.provider.kind if c else None
    log.warning("sign-in refused", extra={"reason": reason, "provider": kind, "staff_id": staff_id,
                                          "account": account})
    staff_identity.record_refusal(get_store(), c.org_key if c else None, kind, reason, staff_id, account, now())
    return render_template("login.html", error=REFUSALS[reason], providers=staff_identity.offered_kinds(
        settings_or_none()), next=None), 503 if reason == "unavailable" else 403
