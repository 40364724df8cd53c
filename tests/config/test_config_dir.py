"""Organisations in files of their own (config/integrator.d/*.yaml beside config/integrator.yaml):
checked and applied as one configuration, every problem named by its file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from integrator.cli import cli
from integrator.config import check_config
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import Organisation, PeerGroup

MAIN = """\
time_zone: Europe/Helsinki
organisations:
  - key: raisio
    name: Raision kaupunki
"""


def organisation(key: str, coordinator: str) -> str:
    return f"""\
key: {key}
name: Organisaatio {key}
staff:
  - email: {coordinator}
    name: Olli Ohjaaja
    role: coordinator
groups:
  - key: {key}-tiistai
    name: Tiistairyhmä
    coordinator: {coordinator}
    weekdays: [2]
    meeting: {{start: "10:00", end: "11:00", provider: meet}}
google:
  domain: {key}.example.fi
  admin_subject: admin@{key}.example.fi
  mail_sender: posti@{key}.example.fi
  service_account: {{file: /dev/null}}
"""


@pytest.fixture(autouse=True)
def no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTEGRATOR_CONFIG", raising=False)


def write(tmp_path: Path, main: str, files: dict[str, str]) -> Path:
    main_file = tmp_path / "integrator.yaml"
    main_file.write_text(main, encoding="utf-8")
    folder = tmp_path / "integrator.d"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return main_file


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_organisation_files_are_checked_and_applied_with_the_main_file(tmp_path: Path) -> None:
    main = write(tmp_path, MAIN, {"turku.yaml": organisation("turku", "ohjaaja@turku.example.fi"),
                                  "naantali.yaml": organisation("naantali", "ohjaaja@naantali.example.fi"),
                                  "README.txt": "not a config file"})

    settings, problems = check_config(main, check_secrets=False)
    checked = run("config", "check", "--skip-secrets", str(main))

    assert problems == [] and settings is not None
    assert [o.key for o in settings.organisations] == ["raisio", "naantali", "turku"]  # main, then by file name
    assert checked.exit_code == 0, checked.output
    assert "3 organisation(s), 2 group(s)" in checked.output and "2 organisation file(s)" in checked.output

    db_url = f"sqlite:///{tmp_path / 'integrator.db'}"
    upgrade(db_url)
    applied = run("config", "apply", "--database-url", db_url, str(main))
    again = run("config", "apply", "--database-url", db_url, str(main))

    assert applied.exit_code == 0, applied.output
    assert "nothing to change" in again.output
    store = Store(db_url)
    with store.session() as s:
        assert sorted(s.scalars(select(Organisation.key))) == ["naantali", "raisio", "turku"]
        assert s.scalars(select(PeerGroup).where(PeerGroup.key == "turku-tiistai")).one().organisation.key == "turku"
    store.dispose()


def test_a_problem_in_an_organisation_file_names_that_file_its_line_and_key(tmp_path: Path) -> None:
    bad = organisation("turku", "ohjaaja@turku.example.fi").replace('end: "11:00"', 'end: "25:00"')
    main = write(tmp_path, MAIN, {"turku.yaml": bad})

    result = run("config", "check", "--skip-secrets", str(main))

    assert result.exit_code == 2
    turku = tmp_path / "integrator.d" / "turku.yaml"
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "25:00" in text)
    assert f"{turku}:{line}: groups[0].meeting.end: expected a time of day as HH:MM" in result.output, result.output


def test_an_organisation_key_in_two_files_is_refused_naming_both(tmp_path: Path) -> None:
    main = write(tmp_path, MAIN, {"a-turku.yaml": organisation("turku", "ohjaaja@turku.example.fi"),
                                  "b-turku.yaml": organisation("turku", "toinen@turku.example.fi")})

    result = run("config", "check", "--skip-secrets", str(main))

    folder = tmp_path / "integrator.d"
    assert result.exit_code == 2
    assert (f"{folder / 'b-turku.yaml'}:1: key: organisation key 'turku' is already used by "
            f"{folder / 'a-turku.yaml'}:1") in result.output, result.output


def test_an_organisation_file_repeating_one_of_the_main_file_is_refused(tmp_path: Path) -> None:
    main = write(tmp_path, MAIN, {"raisio.yaml": organisation("raisio", "ohjaaja@raisio.example.fi")})

    result = run("config", "check", "--skip-secrets", str(main))

    assert result.exit_code == 2
    assert (f"{tmp_path / 'integrator.d' / 'raisio.yaml'}:1: key: organisation key 'raisio' is already used "
            "by organisations[0]") in result.output, result.output


def test_a_staff_user_in_two_organisation_files_names_the_other_file(tmp_path: Path) -> None:
    main = write(tmp_path, MAIN, {"naantali.yaml": organisation("naantali", "olli@example.fi"),
                                  "turku.yaml": organisation("turku", "olli@example.fi")})

    result = run("config", "check", "--skip-secrets", str(main))

    assert result.exit_code == 2
    assert (f"turku.yaml:4: staff[0].email: the same email is already given at "
            f"{tmp_path / 'integrator.d' / 'naantali.yaml'}:4 (staff[0])") in result.output, result.output


@pytest.mark.parametrize(("text", "message"), [
    ("organisations:\n  - key: turku\n", ":1: organisations: an organisation file holds one organisation's keys"),
    ("key: turku\nname: [unclosed\n", "YAML syntax error"),
    ("- key: turku\n", ":1: expected one organisation's settings"),
    ("", ": the file is empty; expected one organisation's settings"),
])
def test_a_malformed_organisation_file_is_named(tmp_path: Path, text: str, message: str) -> None:
    main = write(tmp_path, MAIN, {"turku.yaml": text})

    result = run("config", "check", "--skip-secrets", str(main))

    assert result.exit_code == 2
    line = next(x for x in result.output.splitlines() if x.startswith(str(tmp_path / "integrator.d" / "turku.yaml")))
    assert message in line, result.output


def test_the_main_file_may_hold_only_the_shared_settings(tmp_path: Path) -> None:
    main = write(tmp_path, "time_zone: Europe/Helsinki\n",
                 {"turku.yaml": organisation("turku", "ohjaaja@turku.example.fi")})

    settings, problems = check_config(main, check_secrets=False)

    assert problems == [] and settings is not None and [o.key for o in settings.organisations] == ["turku"]
    assert yaml.safe_load(main.read_text()) == {"time_zone": "Europe/Helsinki"}
