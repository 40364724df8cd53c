"""`integrator tenant check`, Google side: key, token, delegation per scope, APIs, shared drive.

Every check says what it found and, when it fails, what the IT admin does about it
(docs/admin-guide-google.md has the long form). Checks only read; they never create anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from integrator.config import OrganisationConfig
from integrator.providers.checks import CheckResult, failed
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.google.client import SCOPES, GoogleClient
from integrator.providers.retry import RetryPolicy

GUIDE = "docs/admin-guide-google.md"
DWD_HINT = ("Google Admin console > Security > Access and data control > API controls > Manage domain-wide "
            "delegation: add client ID {client_id} with exactly the scopes listed in " + GUIDE + ".")
DWD_HINT_FI = ("Google Admin -konsoli > Suojaus > Käyttöoikeuksien ja datan hallinta > API-asetukset > "
               "Hallinnoi koko verkkotunnuksen laajuista delegointia: lisää asiakastunnus (client ID) {client_id} "
               "täsmälleen ohjeen " + GUIDE + " luettelemin käyttöalueineen (scopes).")


def required_scopes(org_cfg: OrganisationConfig) -> list[str]:
    """The domain-wide-delegation scopes this organisation's configuration needs."""
    apis = ["classroom", "drive"]
    if org_cfg.mail.via == "gmail":
        apis.append("gmail")
    if any(g.meeting.provider == "meet" for g in org_cfg.groups):
        apis += ["calendar", "meet"]
    return [scope for api in apis for scope in SCOPES[api]]


def _key_file(org_cfg: OrganisationConfig) -> tuple[CheckResult, dict[str, Any] | None]:
    assert org_cfg.google is not None
    ref = org_cfg.google.service_account
    try:
        info = json.loads(ref.read())
    except (LookupError, OSError) as exc:
        return CheckResult("google.key", "fail", f"cannot read the service-account key ({ref.describe()}): {exc}",
                           "Put the JSON key of the service account where the config points (file or env).",
                           "Tallenna palvelutilin JSON-avain siihen paikkaan (tiedosto tai ympäristömuuttuja), "
                           "johon asetukset osoittavat."), None
    except ValueError:
        return CheckResult("google.key", "fail", f"the service-account key ({ref.describe()}) is not JSON",
                           "Download a new JSON key: Cloud console > IAM & Admin > Service accounts > Keys.",
                           "Lataa uusi JSON-avain: Cloud-konsoli > IAM & Admin > Service accounts > Keys."), None
    missing = [k for k in ("client_email", "client_id", "private_key", "token_uri") if not info.get(k)]
    if info.get("type") != "service_account" or missing:
        return CheckResult("google.key", "fail", f"not a service-account key (missing {', '.join(missing) or 'type'})",
                           "Use the JSON key of a service account, not an OAuth client secret.",
                           "Käytä palvelutilin JSON-avainta, ei OAuth-asiakkaan salaisuutta."), None
    return CheckResult("google.key", "ok", f"service account {info['client_email']} (client ID {info['client_id']})"), info


def _probe(name: str, fn: Callable[[], Any], ok: str, hint: str, hint_fi: str,
           delegation: tuple[str, str] | None = None) -> CheckResult:
    """`delegation`: the hints (English, Finnish) when the token itself is refused (a scope taken
    out of the delegation): then the API's own hint (enable it, add a member) would mislead."""
    try:
        fn()
    except NeedsReauth as err:
        return failed(name, err, *(delegation or (hint, hint_fi)))
    except ProviderError as err:
        return failed(name, err, hint, hint_fi)
    return CheckResult(name, "ok", ok)


def _teacher_probe(gc: GoogleClient, coordinator: str) -> Any:
    return gc.execute(gc.service("classroom", subject=coordinator).courses().list(pageSize=1, teacherId="me"),
                      retry=False)


def run_checks(org_cfg: OrganisationConfig, *, client: GoogleClient | None = None) -> list[CheckResult]:
    """All Google checks for one organisation; never raises for a tenant problem."""
    google = org_cfg.google
    if google is None:
        return [CheckResult("google.config", "skip", "no Google Workspace configured")]
    key, info = _key_file(org_cfg)
    if info is None:
        return [key]
    gc = client or GoogleClient(google, policy=RetryPolicy(max_attempts=2, base_delay_s=0.2))
    dwd = DWD_HINT.format(client_id=info["client_id"])
    dwd_fi = DWD_HINT_FI.format(client_id=info["client_id"])
    deleg = (dwd, dwd_fi)  # an API's token refused: the delegation, not the API, needs the fix
    results = [key]
    admin = google.admin_subject
    token = _probe("google.token", lambda: gc.check_token(admin, [SCOPES["drive"][0]]),
                   f"token for {admin} through domain-wide delegation",
                   f"{dwd} Also check that admin_subject {admin} is an existing, active user of {google.domain}.",
                   f"{dwd_fi} Tarkista myös, että admin_subject {admin} on olemassa oleva, aktiivinen "
                   f"{google.domain}-käyttäjä.")
    results.append(token)
    if token.status == "fail":
        return results
    for scope in required_scopes(org_cfg):
        subject = google.mail_sender if scope.endswith("gmail.send") and google.mail_sender else admin
        results.append(_probe(f"google.scope {scope.rsplit('/', 1)[-1]}", partial(gc.check_token, subject, [scope]),
                              f"delegated (acting as {subject.split('@')[0]}@…)", dwd, dwd_fi))
    classroom = gc.service("classroom")
    results.append(_probe("google.classroom", lambda: gc.execute(classroom.courses().list(pageSize=1), retry=False),
                          "Classroom API reachable",
                          "Enable the Google Classroom API in the Cloud project of the service account, and turn "
                          "Classroom on for the coordinators' organisational unit (Admin console > Apps > "
                          "Google Workspace > Classroom).",
                          "Ota Google Classroom API käyttöön palvelutilin Cloud-projektissa ja Classroom "
                          "ohjaajien organisaatioyksikölle (Admin-konsoli > Sovellukset > Google Workspace > "
                          "Classroom).", delegation=deleg))
    drive = gc.service("drive")
    results.append(_probe("google.drive", lambda: gc.execute(drive.files().list(pageSize=1, fields="files(id)"),
                                                             retry=False),
                          "Drive API reachable", "Enable the Google Drive API in the Cloud project.",
                          "Ota Google Drive API käyttöön Cloud-projektissa.", delegation=deleg))
    if google.shared_drive_id:
        sd = google.shared_drive_id
        results.append(_probe("google.shared_drive", lambda: gc.execute(drive.drives().get(driveId=sd), retry=False),
                              f"shared drive {sd} open to {admin}",
                              f"Add {admin} to the shared drive as Manager (Drive > Shared drives > Manage "
                              "members), and check shared_drive_id.",
                              f"Lisää {admin} jaetun Driven ylläpitäjäksi (Ylläpitäjä; Drive > Jaetut Drivet > "
                              "Hallinnoi jäseniä) ja tarkista asetus shared_drive_id.", delegation=deleg))
    else:
        results.append(CheckResult("google.shared_drive", "skip",
                                   "no shared drive: client folders go to each coordinator's My Drive"))
    if google.material_bank_folder_id:
        bank = google.material_bank_folder_id
        results.append(_probe("google.material_bank", lambda: gc.execute(drive.files().get(
            fileId=bank, supportsAllDrives=True, fields="id,mimeType"), retry=False),
            f"material bank folder {bank} readable",
            f"Share the material bank folder with {admin} and the coordinators (Viewer), and check "
            "material_bank_folder_id.",
            f"Jaa materiaalipankin kansio käyttäjälle {admin} ja ohjaajille (katselija) ja tarkista asetus "
            "material_bank_folder_id.", delegation=deleg))
    for coordinator in sorted({g.coordinator for g in org_cfg.groups}):
        results.append(_probe(f"google.coordinator {coordinator.split('@')[0]}@…",
                              partial(_teacher_probe, gc, coordinator),
                              "can act as teacher in Classroom",
                              f"The coordinator must be an active {google.domain} user with Classroom on, "
                              "allowed to create classes (Classroom > Teacher permissions).",
                              f"Ohjaajan on oltava aktiivinen {google.domain}-käyttäjä, jolla Classroom on "
                              "käytössä ja lupa luoda kursseja (Classroom > Opettajan käyttöoikeudet).", delegation=deleg))
    return results
