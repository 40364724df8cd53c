"""Redaction: the one rule for what must never be written down — e-mail addresses, tokens, secrets.

Used by the log filter (the last line of defence), by the job-run error texts and by the outbox's
stored provider errors, since a vendor's error text may quote a recipient or a credential.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
# Order matters: a Bearer header or JWT is removed whole before the email pattern looks at it.
PATTERNS = [
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?"),  # JWT
    re.compile(r"\bitk_[A-Za-z0-9_-]{16,}"),  # our API tokens
    re.compile(r"\bya29\.[A-Za-z0-9._-]+"),  # Google OAuth access tokens
    re.compile(r"(?i)\b(?:client_secret|password|passwd|secret|token|access_token|refresh_token|assertion)"
               r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\",}&]+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
]

def redact(text: str) -> str:
    """`text` with every address, token and secret replaced by [redacted]."""
    for pattern in PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text
