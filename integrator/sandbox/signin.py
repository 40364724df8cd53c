"""The interactive half of the sandbox's two identity providers (Entra ID and Google): the pending
authorization requests, the one-time codes with their PKCE check, and the tester's pages (pick a
sandbox user, then consent). Each vendor's module (graph/signin.py, google/signin.py) validates
the requests and shapes the answers as its vendor does; what they share is here.

Codes live ten minutes of wall time (Entra's and Google's lifetime), like the tokens: the product
checks an ID token's `exp` against the wall clock, whatever the sandbox clock says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

CODE_LIFETIME_S = 600


@dataclass(frozen=True)
class AuthRequest:
    """An authorization request as the client sent it (validated by the vendor's module)."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    login_hint: str | None


@dataclass(frozen=True)
class IssuedCode:
    request: AuthRequest
    user_key: str  # Entra: the user's object id; Google: the user's id
    expires_at: float


@dataclass
class SignInBook:
    """Pending requests (between the login page and consent) and issued codes, by their ids."""

    pending: dict[str, AuthRequest] = field(default_factory=dict)
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    redeemed: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, request: AuthRequest) -> str:
        request_id = secrets.token_urlsafe(16)
        with self.lock:
            self.pending[request_id] = request
        return request_id

    def pending_request(self, request_id: str) -> AuthRequest | None:
        with self.lock:
            return self.pending.get(request_id)

    def issue(self, request_id: str, user_key: str) -> tuple[AuthRequest, str] | None:
        """A code for the pending request (which ends); None if it is unknown or ended."""
        code = secrets.token_urlsafe(48)
        with self.lock:
            request = self.pending.pop(request_id, None)
            if request is None:
                return None
            self.codes[code] = IssuedCode(request, user_key, time.time() + CODE_LIFETIME_S)
        return request, code

    def decline(self, request_id: str) -> AuthRequest | None:
        with self.lock:
            return self.pending.pop(request_id, None)

    def redeem(self, code: str) -> tuple[IssuedCode | None, bool]:
        """(the code's grant, already redeemed?): a code works once and only in its lifetime."""
        with self.lock:
            if code in self.redeemed:
                return None, True
            issued = self.codes.pop(code, None)
            if issued is not None:
                self.redeemed.add(code)
        if issued is None or issued.expires_at < time.time():
            return None, False
        return issued, False


def pkce_matches(request: AuthRequest, verifier: str | None) -> bool:
    """RFC 7636 section 4.6: the verifier's S256 (or plain) form equals the request's challenge."""
    if request.code_challenge is None:
        return verifier is None or verifier == ""
    if not verifier:
        return False
    if request.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        expected = verifier
    return hmac.compare_digest(expected, request.code_challenge)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: the left half of the SHA-256 of the access token (RS256 ID tokens)."""
    return b64url(hashlib.sha256(access_token.encode()).digest()[:16])


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """`uri` with `params` (those not None) appended to its query, as the vendors redirect."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
            '<body style="font-family: sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem">'
            f"<main>{body}</main></body></html>")


def sign_in_page(vendor: str, action: str, request_id: str, *, hint: str | None, label: str,
                 error: str | None = None) -> str:
    """The tester types the sandbox user to sign in as (any user of the sandbox tenant)."""
    failure = f'<p role="alert" style="color: #a00">{escape(error)}</p>' if error else ""
    return _page(f"Sign in - {vendor} (sandbox)", (
        f"<h1>Sign in</h1><p>{escape(vendor)} (sandbox): type the e-mail address of a sandbox user.</p>{failure}"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="request_id" value="{escape(request_id)}">'
        f'<p><label for="login">{escape(label)}</label><br>'
        f'<input id="login" name="login" type="email" value="{escape(hint or "")}" required autofocus></p>'
        '<p><button type="submit" name="step" value="sign_in">Next</button></p></form>'))


def consent_page(vendor: str, action: str, request_id: str, *, login: str, heading: str,
                 permissions: list[str], accept: str) -> str:
    items = "".join(f"<li>{escape(p)}</li>" for p in permissions)
    return _page(f"{heading} - {vendor} (sandbox)", (
        f"<h1>{escape(heading)}</h1><p>{escape(login)}</p><ul>{items}</ul>"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="request_id" value="{escape(request_id)}">'
        f'<input type="hidden" name="login" value="{escape(login)}">'
        f'<button type="submit" name="step" value="accept">{escape(accept)}</button> '
        '<button type="submit" name="step" value="cancel">Cancel</button></form>'))


def error_page(vendor: str, heading: str, message: str) -> str:
    """An authorization request the provider cannot send back (unknown client, redirect URI not
    registered): the vendors show an error page instead of redirecting anywhere."""
    return _page(f"{heading} - {vendor} (sandbox)", f"<h1>{escape(heading)}</h1><p>{escape(message)}</p>")
