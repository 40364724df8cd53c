"""A weekly-setup plan's one-line Finnish summary (the demo and the command line)."""

from __future__ import annotations

from integrator.web.plan_text import plan_summary


def test_the_plan_summary_names_resources_in_finnish_and_never_prints_internal_keys() -> None:
    line = plan_summary({"create:document": 6, "create:folder": 3, "create:permission": 6,
                         "skip:organisation": 1})
    assert line == ("luodaan tehtävädokumentti 6, tehtäväkansio 3, kansion jako 6; "
                    "ohitetaan Classroom ja Drive (ei Google Workspacea)")
    assert ":" not in line and "=" not in line
    assert plan_summary({}) == "ei muutoksia"
