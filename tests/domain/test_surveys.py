"""The pilot's survey, word for word; scores normalised so that higher is better; no figure
for fewer than five answers."""

from __future__ import annotations

from integrator.config.models import SurveysConfig
from integrator.domain import surveys as rules
from integrator.domain.surveys import PILOT_END, PILOT_START, shown, summarise


def test_the_default_set_reproduces_the_pilots_questions_exactly() -> None:
    before, after = PILOT_START.question("a01"), PILOT_END.question("a01")
    assert before.options == ("tarvitsin paljon tukea", "tarvitsin vähän tukea", "en tarvinnut tukea",
                              "autoin ja tuin muita digiasioissa")
    assert after.options == ("tarvitsen vielä paljon tukea", "tarvitsen vielä vähän tukea", "en tarvitse tukea",
                             "osaan auttaa ja tukea muita digiasioissa")
    assert before.text == "IT: minulla on hyvät digi-valmiudet (laitteet, osaaminen)"
    heard, sharing, atmosphere = (PILOT_END.question(q) for q in ("a02", "a03", "a04"))
    assert (heard.text, heard.low_label, heard.high_label) == ("Tulin kuulluksi ja kohdatuksi…", "hyvin", "huonosti")
    assert (sharing.text, sharing.low_label, sharing.high_label) == ("Asioiden jakaminen oli…", "turvatonta",
                                                                     "turvallista")
    assert (atmosphere.text, atmosphere.low_label, atmosphere.high_label) == ("Ilmapiiri oli", "luotettava",
                                                                              "epäluotettava")
    likert = PILOT_END.question("a05")
    assert likert.text.startswith("Minulle tuli kokemus, että sain vaikuttaa työtoimintapäivän sisältöön.")
    assert likert.options[-1] == "En osaa sanoa" and likert.unscored == ("En osaa sanoa",)
    assert [q.text for q in PILOT_END.questions if q.kind == "text"] == [
        "Millä tavoin tehtävistä keskusteltiin Teams-ryhmässä?",
        "Mitä etäkuntouttava työtoiminta on tuonut elämääsi?",
        "Mitä hyvää on etäkuntouttavassa työtoiminnassa?",
        "Mitä kehitettävää on etäkuntouttavassa työtoiminnassa?"]
    assert all(q.plain for q in PILOT_END.questions), "every question has a plain-language wording"
    # The config's default set is the pilot's, version 1.
    cfg = SurveysConfig(enabled=True, page_url="https://x.example.fi")
    assert cfg.definition("start") == PILOT_START and cfg.definition("end") == PILOT_END


def test_reversed_scales_are_normalised_so_that_higher_is_better() -> None:
    heard, sharing, atmosphere = (PILOT_END.question(q) for q in ("a02", "a03", "a04"))
    assert heard.score("1") == 5 and heard.score("5") == 1  # 1 = "hyvin"
    assert sharing.score("1") == 1 and sharing.score("5") == 5  # 1 = "turvatonta"
    assert atmosphere.score("1") == 5 and atmosphere.score("5") == 1  # 5 = "epäluotettava"
    assert heard.score("6") is None and heard.score("x") is None


def test_no_figure_under_five_answers_and_cant_say_is_counted_apart() -> None:
    heard = PILOT_END.question("a02")
    four = summarise(heard, ["1", "1", "2", "5"])
    assert not four.shown and four.mean is None and not shown(4)
    five = summarise(heard, ["1", "1", "2", "5", "3"])
    assert five.shown and five.n == 5
    assert five.mean == round((5 + 5 + 4 + 1 + 3) / 5, 2) == 3.6
    assert five.counts == {"1": 2, "2": 1, "3": 1, "4": 0, "5": 1}
    likert = PILOT_END.question("a05")
    s = summarise(likert, ["Täysin samaa mieltä"] * 3 + ["Täysin eri mieltä"] * 2 + ["En osaa sanoa"] * 4)
    assert s.n == 5 and s.apart == {"En osaa sanoa": 4}
    assert s.mean == (5 * 3 + 1 * 2) / 5  # 3.4: "en osaa sanoa" not in it


def test_a_changed_question_changes_the_fingerprint() -> None:
    changed = rules.SurveyDefinition(PILOT_END.key, PILOT_END.version, PILOT_END.round, PILOT_END.title,
                                     (PILOT_END.questions[0],))
    assert changed.fingerprint() != PILOT_END.fingerprint()
    assert rules.definition_from_snapshot(PILOT_END.snapshot()) == PILOT_END


def test_submitted_choices_are_stored_in_the_definitions_own_wording() -> None:
    answers, missing = rules.clean_answers(PILOT_END, {"a01": "3", "a02": "2", "a05": "5", "a06": " hyvin "})
    assert missing == []
    assert answers == {"a01": ["osaan auttaa ja tukea muita digiasioissa"], "a02": ["2"], "a05": ["En osaa sanoa"],
                       "a06": ["hyvin"]}
    _, missing = rules.clean_answers(PILOT_END, {"a01": "9"})
    assert missing == ["a01"]
