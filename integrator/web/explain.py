"""Job errors explained in words a coordinator can act on (Finnish)."""

from __future__ import annotations

from typing import Any

EXPLANATIONS = {
    "retriable": "Palvelu ei vastannut hetkellisesti. Tämä yritetään automaattisesti uudelleen seuraavalla ajolla.",
    "rate_limited": "Palvelun käyttöraja täyttyi hetkeksi. Tämä yritetään uudelleen myöhemmin.",
    "parked": "Päivän käyttöraja (esim. lähetettävien viestien määrä) täyttyi. Työ jatkuu automaattisesti huomenna.",
    "reauth": "Palvelun tunnukset tai luvat eivät enää kelpaa. Ylläpitäjän on uusittava lupa tai salaisuus.",
    "needs_reauth": "Palvelun tunnukset tai luvat eivät enää kelpaa. Ylläpitäjän on uusittava lupa tai salaisuus.",
    "not_found": "Kohdetta ei löytynyt palvelusta (se on ehkä poistettu käsin). Tarkista tilanne ja aja uudelleen.",
    "consent": "Asiakkaan tietosuojaperehdytystä ei ole kirjattu, joten hänelle ei luotu mitään.",
    "config": "Asetuksissa on virhe. Ylläpitäjän on korjattava asetustiedosto.",
    "fatal": "Pysyvä virhe: palvelu hylkäsi pyynnön. Tarkista asetukset tai ota yhteys ylläpitoon.",
}


def explain_error(error: dict[str, Any]) -> str:
    kind = str(error.get("kind") or "fatal").lower().replace("-", "_")
    for key, text in EXPLANATIONS.items():
        if key == kind or key in kind:
            return text
    return EXPLANATIONS["fatal"]
