"""Who is who: the identity join order and the keys under which a coordinator's mapping is reused."""

from __future__ import annotations

from integrator.jobs.identity import ClientIndex, looks_like_phone, participant_key


def index() -> ClientIndex:
    return ClientIndex(by_entra={"oid-1": 1}, by_google={"g-2": 2}, by_email={"aino@example.fi": 3},
                       mappings={("teams", "email:aino@example.fi"): 4, ("meet", "phone:+358 40 1234567"): 5},
                       staff_emails={"ohjaaja@example.fi"})


def test_a_stable_account_id_wins_over_a_mapping_and_an_email() -> None:
    assert index().resolve("teams", user_id="oid-1", key="email:aino@example.fi", email="Aino@Example.fi") == 1
    assert index().resolve("meet", user_id="g-2", key="user:g-2", email=None) == 2


def test_a_coordinators_mapping_wins_over_an_email_match() -> None:
    assert index().resolve("teams", user_id="guest-uuid", key="email:aino@example.fi", email="aino@example.fi") == 4


def test_an_email_matches_case_insensitively_when_nothing_else_does() -> None:
    assert index().resolve("meet", user_id=None, key="email:aino@example.fi", email="AINO@example.FI") == 3


def test_an_unknown_guest_stays_unmatched() -> None:
    assert index().resolve("teams", user_id="x", key="name:vieras", email=None) is None


def test_keys_stay_the_same_from_one_meeting_to_the_next() -> None:
    # A guest gets a new session id every time; the address, the number or the name does not change.
    assert participant_key(user_id="a1", email=" Aino@Example.fi ", display_name="Aino") == "email:aino@example.fi"
    assert participant_key(user_id=None, email=None, display_name="+358 40 1234567", via_phone=True) == \
        "phone:+358 40 1234567"
    assert participant_key(user_id="g-2", email=None, display_name="Aino V") == "user:g-2"
    assert participant_key(user_id=None, email=None, display_name="Vieras Käyttäjä") == "name:vieras käyttäjä"


def test_a_masked_phone_number_is_recognised_as_a_dial_in() -> None:
    assert looks_like_phone("+358 40 *** **12")
    assert looks_like_phone("040-1234567")
    assert not looks_like_phone("Aino Virtanen")
    assert not looks_like_phone(None)
