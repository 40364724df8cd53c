"""`integrator tenant check`, Microsoft side: token, permissions, Teams policy, sender mailbox, task folders
and their sharing policy (providers/microsoft/sharing.py).

Every check says what it found and, when it fails, exactly what the IT admin does about it
(docs/admin-guide-microsoft.md has the long form).
"""

from __future__ import annotations

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder

from integrator.config import OrganisationConfig
from integrator.providers.checks import CheckResult, failed
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.microsoft.client import GraphClient, map_error
from integrator.providers.microsoft.events import user_object_id
from integrator.providers.microsoft.online_meetings import find_by_join_url
from integrator.providers.microsoft.sharing import check_sharing
from integrator.providers.retry import RetryPolicy

GUIDE = "docs/admin-guide-microsoft.md"
PROBE_JOIN_URL = "https://teams.microsoft.com/l/meetup-join/integrator-tenant-check"
POLICY_HINT = (
    "Teams application access policy missing for this organiser. In Teams PowerShell: "
    "New-CsApplicationAccessPolicy -Identity Integrator-Meetings -AppIds \"{app}\" "
    "-Description \"integrator\"; then Grant-CsApplicationAccessPolicy -PolicyName Integrator-Meetings "
    "-Identity \"{user}\" (or -Global). Changes take up to 30 minutes. See " + GUIDE + "."
)
POLICY_HINT_FI = (
    "Tältä järjestäjältä puuttuu Teamsin sovelluskäyttökäytäntö (application access policy). Teams "
    "PowerShellissä: New-CsApplicationAccessPolicy -Identity Integrator-Meetings -AppIds \"{app}\" "
    "-Description \"integrator\"; sitten Grant-CsApplicationAccessPolicy -PolicyName Integrator-Meetings "
    "-Identity \"{user}\" (tai -Global). Muutos tulee voimaan enintään 30 minuutissa. Katso " + GUIDE + "."
)


def required_permissions(org_cfg: OrganisationConfig) -> dict[str, str]:
    """Application permission -> why we need it, for this organisation's configuration."""
    need = {"User.Read.All": "find organisers' object ids"}
    if any(g.meeting.provider == "teams" for g in org_cfg.groups):
        need["Calendars.ReadWrite"] = "create peer-group meetings on coordinators' calendars"
        need["OnlineMeetings.ReadWrite.All"] = "resolve each event's Teams meeting"
        need["OnlineMeetingArtifact.Read.All"] = "read attendance reports"
    if org_cfg.mail.via == "graph":
        need["Mail.Send"] = "send weekly letters and reminders"
    return need


def _token(client: GraphClient) -> tuple[CheckResult, set[str] | None]:
    try:
        claims = client.access_token_claims()
    except Exception as exc:  # noqa: BLE001 - any failure here is the admin's to see, not a crash
        return failed("microsoft.token", map_error(exc, "token"),
                      "Check tenant_id and client_id, and that the client secret or certificate "
                      "is the current one (Entra admin center > App registrations > Certificates & "
                      "secrets; secrets expire).",
                      "Tarkista tenant_id ja client_id sekä se, että asiakassalaisuus tai varmenne on voimassa "
                      "oleva (Entra-hallintakeskus > Sovellusten rekisteröinnit > Varmenteet ja salaisuudet; "
                      "salaisuudet vanhenevat)."), None
    roles = set(claims.get("roles") or [])
    return CheckResult("microsoft.token", "ok", f"app-only token for tenant {claims.get('tid', '?')}"), roles


def _permissions(org_cfg: OrganisationConfig, roles: set[str]) -> CheckResult:
    need = required_permissions(org_cfg)
    have = set(roles)
    if "OnlineMeetings.Read.All" in have:
        have.add("OnlineMeetings.ReadWrite.All")  # read is enough for what we do
    missing = sorted(set(need) - have)
    if missing:
        why = "; ".join(f"{p} ({need[p]})" for p in missing)
        return CheckResult("microsoft.permissions", "fail", f"missing application permissions: {why}",
                           "Entra admin center > App registrations > the app > API permissions > Add a "
                           "permission > Microsoft Graph > Application permissions: add "
                           + ", ".join(missing) + "; then 'Grant admin consent'.",
                           "Entra-hallintakeskus > Sovellusten rekisteröinnit > sovellus > API-käyttöoikeudet > "
                           "Lisää käyttöoikeus > Microsoft Graph > Sovelluksen käyttöoikeudet: lisää "
                           + ", ".join(missing) + "; sitten 'Myönnä järjestelmänvalvojan suostumus' "
                           "(Grant admin consent).")
    return CheckResult("microsoft.permissions", "ok", "granted: " + ", ".join(sorted(need)))


def _organiser(client: GraphClient, org_cfg: OrganisationConfig, upn: str) -> list[CheckResult]:
    out: list[CheckResult] = []
    try:
        oid = user_object_id(client, upn)
    except ProviderError as err:
        return [failed(f"microsoft.organiser:{upn}", err,
                       "The coordinator must be a licensed user in this tenant with an Exchange "
                       "mailbox; check the email in the config.",
                       "Ohjaajan on oltava tämän vuokraajan lisensoitu käyttäjä, jolla on Exchange-postilaatikko; "
                       "tarkista sähköpostiosoite asetuksista.")]
    config = RequestConfiguration(query_parameters=EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
        top=1, select=["id"]))
    try:
        client.call("events.list", lambda sdk: sdk.users.by_user_id(oid).events.get(request_configuration=config))
        out.append(CheckResult(f"microsoft.calendar:{upn}", "ok", "calendar readable and writable"))
    except ProviderError as err:
        out.append(failed(f"microsoft.calendar:{upn}", err,
                          "The coordinator needs an Exchange Online mailbox (a licence), and the app "
                          "Calendars.ReadWrite; an Exchange application access policy, if you use one, "
                          "must include this mailbox.",
                          "Ohjaaja tarvitsee Exchange Online -postilaatikon (lisenssin) ja sovellus luvan "
                          "Calendars.ReadWrite; jos käytössä on Exchangen sovelluskäyttökäytäntö, sen on "
                          "katettava tämä postilaatikko."))
    try:
        find_by_join_url(client, oid, PROBE_JOIN_URL)
        out.append(CheckResult(f"microsoft.meeting_policy:{upn}", "ok",
                               "the app may read this organiser's online meetings"))
    except ProviderError as err:
        policy = err.status == 403
        hint = POLICY_HINT.format(app=client.tenant.client_id, user=upn) if policy else (
            "Unexpected answer; see " + GUIDE)
        hint_fi = POLICY_HINT_FI.format(app=client.tenant.client_id, user=upn) if policy else (
            "Odottamaton vastaus; katso " + GUIDE)
        out.append(failed(f"microsoft.meeting_policy:{upn}", err, hint, hint_fi))
    return out


#: Application permissions that let the app write in any document library (Sites.Selected, the
#: least, writes only where a site grant says so).
TENANT_WIDE_WRITE = ("Files.ReadWrite.All", "Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All")
GRANT_HINT = ("Give the app write access to the task folders' site: either the application permission "
              "Sites.Selected and a per-site grant (POST /sites/{site}/permissions with roles [\"write\"] for "
              "the app, e.g. Grant-PnPAzureADAppSitePermission -Permissions Write), or Files.ReadWrite.All "
              "(every library of the tenant); then 'Grant admin consent'. See " + GUIDE + " section 6a.")
GRANT_HINT_FI = ("Anna sovellukselle kirjoitusoikeus tehtäväkansioiden sivustoon: joko sovelluslupa "
                 "Sites.Selected ja sivustokohtainen oikeus (POST /sites/{site}/permissions, roles [\"write\"], "
                 "esim. Grant-PnPAzureADAppSitePermission -Permissions Write) tai Files.ReadWrite.All "
                 "(kaikki vuokraajan kirjastot); sitten järjestelmänvalvojan suostumus. Katso " + GUIDE + " kohta 6a.")


def _task_folders(client: GraphClient, org_cfg: OrganisationConfig, roles: set[str]) -> CheckResult:
    """The task folders' drive answers, and the token may write there."""
    assert org_cfg.microsoft is not None and org_cfg.microsoft.task_folders is not None
    folders = org_cfg.microsoft.task_folders
    site = folders.site_id or "{site-id}"
    wide = sorted(set(TENANT_WIDE_WRITE) & roles)
    if not wide and "Sites.Selected" not in roles:
        return CheckResult("microsoft.task_folders", "fail",
                           "the token has no permission to write in a document library",
                           GRANT_HINT.replace("{site}", site), GRANT_HINT_FI.replace("{site}", site))
    try:
        drive = client.call("drive.get", lambda sdk: sdk.drives.by_drive_id(folders.drive_id).get())
    except ProviderError as err:
        if err.status == 404:
            return failed("microsoft.task_folders", err,
                          "No drive with microsoft.task_folders.drive_id: read the library's id with GET "
                          "/sites/{site-id}/drive (or /sites/{host}:/sites/{name}:/drives) and put it in the config.",
                          "Asetuksen microsoft.task_folders.drive_id kirjastoa ei löydy: lue kirjaston tunnus "
                          "kutsulla GET /sites/{site-id}/drive ja kirjoita se asetuksiin.")
        return failed("microsoft.task_folders", err, GRANT_HINT.replace("{site}", site),
                      GRANT_HINT_FI.replace("{site}", site))
    how = ", ".join(wide) if wide else "Sites.Selected (the site's grant must give the app the write role)"
    name = getattr(drive, "name", None) or folders.drive_id
    return CheckResult("microsoft.task_folders", "ok", f"task-folder library '{name}' reachable; write via {how}")


def _sender(client: GraphClient, org_cfg: OrganisationConfig) -> CheckResult:
    sender = org_cfg.microsoft.mail_sender if org_cfg.microsoft else None
    if not sender:
        return CheckResult("microsoft.sender", "fail", "mail.via is graph but microsoft.mail_sender is not set",
                           "Set microsoft.mail_sender to the mailbox (UPN) letters are sent from, e.g. a "
                           "shared mailbox tyotoiminta@kunta.fi.",
                           "Aseta microsoft.mail_sender siksi postilaatikoksi (UPN), josta kirjeet lähetetään, "
                           "esim. jaettu postilaatikko tyotoiminta@kunta.fi.")
    try:
        user = client.call("users.get", lambda sdk: sdk.users.by_user_id(sender).get())
    except ProviderError as err:
        return failed("microsoft.sender", err,
                      "Create the sender mailbox (a shared mailbox needs no licence) and check the "
                      "address in microsoft.mail_sender.",
                      "Luo lähettäjän postilaatikko (jaettu postilaatikko ei tarvitse lisenssiä) ja tarkista "
                      "osoite asetuksesta microsoft.mail_sender.")
    if user is None or not user.mail:
        return CheckResult("microsoft.sender", "fail", f"{sender} has no mailbox (no mail address)",
                           "Give the sender an Exchange Online mailbox.",
                           "Anna lähettäjälle Exchange Online -postilaatikko.")
    return CheckResult("microsoft.sender", "ok", f"sender mailbox {user.mail} exists")


def run_checks(org_cfg: OrganisationConfig) -> list[CheckResult]:
    """All Microsoft checks for one organisation; never raises for a tenant problem."""
    teams = [g for g in org_cfg.groups if g.meeting.provider == "teams"]
    if org_cfg.microsoft is None:
        if teams or org_cfg.mail.via == "graph":
            return [CheckResult("microsoft.config", "fail", "Teams meetings or Graph mail are configured but "
                                "there is no microsoft: section", "Add the microsoft: tenant settings; see " + GUIDE,
                                "Lisää asetuksiin microsoft:-osio (vuokraajan tiedot); katso " + GUIDE)]
        return [CheckResult("microsoft.config", "skip", "no Microsoft tenant configured")]
    try:
        client = GraphClient(org_cfg.microsoft, policy=RetryPolicy(max_attempts=2, base_delay_s=0.2))
    except (LookupError, OSError, ValueError) as exc:
        return [CheckResult("microsoft.config", "fail", f"cannot build the credential: {exc}",
                            "Check the client_secret / certificate reference (file or env) in the config.",
                            "Tarkista asetusten client_secret- tai varmenneviittaus (tiedosto tai "
                            "ympäristömuuttuja).")]
    with client:
        token, roles = _token(client)
        results = [token]
        if roles is None:
            return results
        results.append(_permissions(org_cfg, roles))
        try:
            for upn in sorted({g.coordinator.lower() for g in teams}):
                results.extend(_organiser(client, org_cfg, upn))
            if org_cfg.mail.via == "graph":
                results.append(_sender(client, org_cfg))
            if org_cfg.microsoft.task_folders is not None:
                results.append(_task_folders(client, org_cfg, roles))
                results.append(check_sharing(client))
        except NeedsReauth as err:
            results.append(CheckResult("microsoft.token", "fail", str(err)[:300], "The token stopped working.",
                                       "Tunnus lakkasi toimimasta kesken tarkistuksen; aja tarkistus uudelleen."))
    return results
