"""Job errors explained in words a coordinator can act on (Finnish).

The kinds are what the jobs record (integrator.jobs.runs.RunRecorder.error): the provider error
class in lower case (retriable, fatal, parked, needsreauth, deliveryuncertain), or the job's own
word (reauth, needs_reauth, no_worker, meet, teams, meetings, lookuperror, crash, skipped, and
uncertain: an outbox message that may have been delivered, integrator.jobs.notify.send_runs).
"""

from __future__ import annotations

from typing import Any

REAUTH = "Palvelun tunnukset tai luvat eivät enää kelpaa. Ylläpitäjän on uusittava lupa tai salaisuus."
MEETINGS = ("Tapaamispalvelu (Teams tai Meet) ei vastannut odotetusti. Tiedot haetaan uudelleen "
            "seuraavalla ajolla; jos virhe toistuu, ilmoita ylläpidolle.")
EXPLANATIONS: dict[str, str] = {
    "retriable": "Palvelu ei vastannut hetkellisesti. Tämä yritetään automaattisesti uudelleen seuraavalla ajolla.",
    "rate_limited": "Palvelun käyttöraja täyttyi hetkeksi. Tämä yritetään uudelleen myöhemmin.",
    "parked": "Päivän käyttöraja (esim. lähetettävien viestien määrä) täyttyi. Työ jatkuu automaattisesti huomenna.",
    "needsreauth": REAUTH,
    "needs_reauth": REAUTH,
    "reauth": REAUTH,
    # Never "the service rejected it": a requeue of a message that did arrive sends it twice.
    "uncertain": "Lähetys saattoi mennä perille — tarkista lähettäjän Lähetetyt-kansio ennen uudelleenlähetystä.",
    "deliveryuncertain": "Viestin perillemenoa ei voitu varmistaa. Se tarkistetaan ennen kuin mitään lähetetään uudelleen.",
    "no_worker": "Asiakkaalla on toistuvia poissaoloja, mutta hänen jaksolleen ei ole merkitty vastuutyöntekijää, "
                 "jolle ilmoittaa. Lisää vastuutyöntekijä asiakastietoihin.",
    "meet": MEETINGS,
    "teams": MEETINGS,
    "meetings": MEETINGS,
    "lookuperror": "Tarvittavaa tietoa ei löytynyt (esimerkiksi ryhmä tai tapaaminen puuttuu). Tarkista asetukset "
                   "ja aja uudelleen.",
    "not_found": "Kohdetta ei löytynyt palvelusta (se on ehkä poistettu käsin). Tarkista tilanne ja aja uudelleen.",
    "skipped": "Tämä ohitettiin, koska sen edellytys jäi tekemättä (esim. kurssia ei voitu luoda).",
    "crash": "Ajo keskeytyi odottamattomaan virheeseen. Ylläpito näkee tekniset tiedot lokista; aja uudelleen.",
    "consent": "Asiakkaan tietosuojaperehdytystä ei ole kirjattu, joten hänelle ei luotu mitään.",
    "config": "Asetuksissa on virhe. Ylläpitäjän on korjattava asetustiedosto.",
    "interrupted": "Ajo keskeytyi, koska palvelun prosessi päättyi kesken (esim. uudelleenkäynnistys). "
                   "Aja se uudelleen; jo tehty ei tule kahdesti.",
    "tenant_check": "Vuokraajan tarkistus epäonnistui: katso korjausohje tilasivulta ja aja tarkistus uudelleen.",
    "survey_forms": "Kyselylomakkeiden vastauksia ei saatu luettua. Ne luetaan uudelleen ensi yönä.",
    "fatal": "Pysyvä virhe: palvelu hylkäsi pyynnön. Tarkista asetukset tai ota yhteys ylläpitoon.",
}


def explain_error(error: dict[str, Any]) -> str:
    kind = str(error.get("kind") or "fatal").lower().replace("-", "_")
    return EXPLANATIONS.get(kind, EXPLANATIONS["fatal"])
