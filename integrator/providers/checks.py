"""The result of one tenant check, shared by the Google and Microsoft checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from integrator.providers.errors import ProviderError, Retriable

CheckStatus = Literal["ok", "fail", "warn", "skip"]

# A throttled or briefly unavailable vendor says nothing about the settings: the fix is to wait,
# never to renew a secret or re-grant a scope (which would not help and may break what works).
THROTTLED = ("The vendor throttled the request or was briefly unavailable (e.g. HTTP 429 from the token "
             "endpoint); the credentials were not refused. Run the check again in a few minutes.")
THROTTLED_FI = ("Palvelu rajoitti pyyntöjä tai oli hetken poissa käytöstä (esim. HTTP 429 tunnuspalvelusta); "
                "tunnuksia tai lupia ei hylätty, joten niitä ei pidä uusia. Aja tarkistus uudelleen "
                "muutaman minuutin kuluttua.")

UNREACHABLE = ("The service could not be reached (connection error or timeout); check the network, proxy and "
               "the service address in the config, then run the check again.")
UNREACHABLE_FI = ("Palveluun ei saatu yhteyttä (yhteysvirhe tai aikakatkaisu). Tarkista verkko, välityspalvelin "
                  "ja asetusten palveluosoite, ja aja tarkistus uudelleen.")


@dataclass(frozen=True)
class CheckResult:
    """`name` like "microsoft.token"; `hint` says what an IT admin does to fix a failure (English,
    for the CLI), `hint_fi` the same in Finnish (the web's status page)."""

    name: str
    status: CheckStatus
    detail: str
    hint: str = ""
    hint_fi: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skip", "warn")


def failed(name: str, err: ProviderError, hint: str, hint_fi: str) -> CheckResult:
    """A check that a vendor error failed: a throttled call gets the "wait" hint, not the fix of
    a setting (the setting was never looked at)."""
    if isinstance(err, Retriable):
        if err.status is None and err.reason != "token_throttled":
            return CheckResult(name, "fail", str(err)[:300], UNREACHABLE, UNREACHABLE_FI)
        return CheckResult(name, "fail", str(err)[:300], THROTTLED, THROTTLED_FI)
    return CheckResult(name, "fail", str(err)[:300], hint, hint_fi)
