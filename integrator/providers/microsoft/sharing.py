"""`tenant check`, Microsoft side: may the task folders be shared with the clients?

Clients usually have personal addresses (@gmail.com, @outlook.com): external users to the
tenant. Sharing a task folder with them (Graph `invite`) needs the organisation-level sharing
setting to allow external users, which Graph shows as `sharingCapability` in
`GET /admin/sharepoint/settings` (application permission SharePointTenantSettings.Read.All).
That permission is optional (least privilege): without it the check says what to look at by hand.
A site's own sharing setting may be narrower than the organisation's; Graph v1.0 does not show it,
so the answer names where to see it.
"""

from __future__ import annotations

from integrator.providers.checks import CheckResult, failed
from integrator.providers.errors import ProviderError
from integrator.providers.microsoft.client import GraphClient

NAME = "microsoft.sharing"
GUIDE = "docs/admin-guide-microsoft.md"
PERMISSION = "SharePointTenantSettings.Read.All"
#: Settings that let an invite reach an address outside the tenant ("New and existing guests", "Anyone").
EXTERNAL = ("externalUserSharingOnly", "externalUserAndGuestSharing")
NEEDED = "externalUserSharingOnly or wider"
SITE_NOTE = ("the task folders' site may still be narrower: SharePoint admin center > Sites > Active sites > "
             "the site > Sharing (or Get-SPOSite -Identity <site url> | Select SharingCapability)")
SITE_NOTE_FI = ("tehtäväkansioiden sivuston oma asetus voi silti olla suppeampi: SharePoint-hallintakeskus > "
                "Sivustot > Aktiiviset sivustot > sivusto > Jakaminen")
WIDEN = ("SharePoint admin center > Policies > Sharing: set SharePoint (and the task folders' site) to "
         "'New and existing guests' (sharingCapability externalUserSharingOnly) or 'Anyone'; keep 'Guests must "
         "sign in using the same account to which sharing invitations are sent' on. See " + GUIDE + " section 6a.")
WIDEN_FI = ("SharePoint-hallintakeskus > Käytännöt > Jakaminen: salli SharePointissa (ja tehtäväkansioiden "
            "sivustolla) 'Uudet ja olemassa olevat vieraat' (externalUserSharingOnly) tai 'Kuka tahansa'. Katso "
            + GUIDE + " kohta 6a.")
BY_HAND = ("Check by hand in SharePoint admin center > Policies > Sharing: SharePoint must allow at least 'New "
           "and existing guests'. Or add the application permission " + PERMISSION + " (read-only) and grant "
           "admin consent, and this check reads the setting. See " + GUIDE + " section 3.")
BY_HAND_FI = ("Tarkista käsin: SharePoint-hallintakeskus > Käytännöt > Jakaminen: SharePointissa on sallittava "
              "vähintään 'Uudet ja olemassa olevat vieraat'. Tai lisää sovellukselle lupa " + PERMISSION
              + " (vain luku) ja myönnä järjestelmänvalvojan suostumus, niin tämä tarkistus lukee asetuksen.")


def check_sharing(client: GraphClient) -> CheckResult:
    """The organisation's sharing setting against what inviting clients with personal addresses needs."""
    try:
        settings = client.call("sharepoint.settings.get", lambda sdk: sdk.admin.sharepoint.settings.get())
    except ProviderError as err:
        if err.status == 403:
            return CheckResult(NAME, "warn", f"could not read (permission {PERMISSION} missing): check by hand in "
                               "SharePoint admin center > Policies > Sharing", BY_HAND, BY_HAND_FI)
        return failed(NAME, err, BY_HAND, BY_HAND_FI)
    raw = getattr(settings, "sharing_capability", None)
    capability = str(getattr(raw, "value", raw) or "unknown")
    if capability in EXTERNAL:
        return CheckResult(NAME, "ok", f"the organisation allows sharing with external users ({capability}); "
                           + SITE_NOTE, "", SITE_NOTE_FI)
    if capability == "existingExternalUserSharingOnly":
        return CheckResult(NAME, "warn", f"needs {NEEDED} (now: {capability}): only guests already in the "
                           "directory can be invited, so each client must first be added as a guest in Entra",
                           WIDEN, WIDEN_FI)
    return CheckResult(NAME, "fail", f"needs {NEEDED} (now: {capability}): invites to clients' personal "
                       "addresses are refused", WIDEN, WIDEN_FI)
