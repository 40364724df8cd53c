"""The result of one tenant check, shared by the Google and Microsoft checks; and what the deep
probes (`tenant check --deep`) share: the name of what they make, and one way to run a probe
so that whatever it made is removed after a pass and after a failure alike."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from integrator.providers.errors import NeedsReauth, ProviderError, Retriable

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

#: Everything a probe makes is named with this prefix, so that the next run finds and removes
#: a leftover of an interrupted one (and an admin recognises it).
PROBE_PREFIX = "integrator-probe-"
#: Probe calendar events sit on this day, far from anyone's week, so that a leftover is found by
#: listing one fixed day and never shows up in a coordinator's calendar view of now.
PROBE_START = datetime(2000, 1, 3, 9, 0, tzinfo=UTC)
PROBE_MINUTES = 15


def probe_name() -> str:
    return PROBE_PREFIX + secrets.token_hex(4)


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
class ProbeStep(Exception):  # noqa: N818 - a step's failure, carried to the probe's result
    """A probe step failed: `hint` is the fix for that step."""

    def __init__(self, step: str, err: ProviderError | str, hint: str) -> None:
        super().__init__(f"{step}: {str(err)[:300]}")
        self.hint = hint
        self.cause = err if isinstance(err, ProviderError) else None


def run_probe(name: str, body: Callable[[list[Callable[[], object]]], str],
              hint_for: Callable[[ProviderError], str]) -> CheckResult:
    """Run `body(cleanups)`, which registers an undo for each thing it makes as soon as it exists
    and returns what it proved; then run every undo, newest first, whatever happened.

    A step's failure is the probe's failure with that step's hint; an undo that fails makes the
    probe fail too (something was left behind: the next run removes it by its prefix).
    """
    cleanups: list[Callable[[], object]] = []
    result: CheckResult
    try:
        result = CheckResult(name, "ok", body(cleanups))
    except ProbeStep as err:
        # A refused token is the credentials' or the delegation's problem, whatever the step.
        hint = hint_for(err.cause) if isinstance(err.cause, NeedsReauth) else err.hint
        result = CheckResult(name, "fail", str(err), hint)
    except ProviderError as err:
        result = CheckResult(name, "fail", str(err)[:300], hint_for(err))
    finally:
        left: list[str] = []
        for undo in reversed(cleanups):
            try:
                undo()
            except ProviderError as err:
                left.append(str(err)[:200])
    if left:
        detail = f"{result.detail}; NOT cleaned up: {'; '.join(left)}"
        return CheckResult(name, "fail", detail,
                           (result.hint + " " if result.status == "fail" else "")
                           + f"Delete the object named {PROBE_PREFIX}… by hand, or run the check again: "
                             "it removes leftovers first.")
    return result


def step(what: str, fn: Callable[[], object], hint: str) -> object:
    """One probe step: its failure carries its own fix hint."""
    try:
        return fn()
    except ProviderError as err:
        raise ProbeStep(what, err, hint) from err
