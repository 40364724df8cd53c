"""`integrator config check`: every bad file is explained with file, line and key path."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel

from integrator.cli import cli
from integrator.config import ConfigError, SecretRef, Settings, check_config, load_settings
from integrator.config.loader import _unwrap

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "integrator.example.yaml"
BAD = sorted((REPO / "tests" / "corpus" / "config_bad").glob("*.yaml"))
SECRET_VALUE = "S3CRET"  # every secret in the corpus contains this; it must never be printed


@pytest.fixture(autouse=True)
def corpus_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORPUS_GRAPH_SECRET", f"{SECRET_VALUE}-from-env")
    monkeypatch.setenv("CORPUS_GOOGLE_KEY", f"{SECRET_VALUE}-from-env-too")
    monkeypatch.delenv("CORPUS_NOT_SET_ANYWHERE", raising=False)
    monkeypatch.delenv("INTEGRATOR_CONFIG", raising=False)


def check(*args: str) -> Any:
    return CliRunner().invoke(cli, ["config", "check", *args])


def test_the_corpus_has_at_least_fifteen_bad_files() -> None:
    assert len(BAD) >= 15
    assert all(f.with_suffix(".expect").exists() for f in BAD)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_each_bad_config_is_explained_with_file_line_and_key(path: Path) -> None:
    result = check(str(path))
    assert result.exit_code == 2, result.output
    for fragment in path.with_suffix(".expect").read_text(encoding="utf-8").splitlines():
        assert fragment in result.output, f"{fragment!r} not in:\n{result.output}"
    problem_lines = result.output.splitlines()[:-1]
    assert problem_lines and all(line.startswith(f"{path}:") for line in problem_lines)
    assert SECRET_VALUE not in result.output


def test_a_missing_file_is_an_error_that_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = check(str(missing))
    assert result.exit_code == 2
    assert f"{missing}: config file not found" in result.output
    with pytest.raises(ConfigError) as err:
        load_settings(missing)
    assert err.value.problems[0].file == str(missing)


def test_the_file_comes_from_integrator_config_then_the_default_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"config/integrator.yaml: config file not found"):
        load_settings()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "integrator.yaml").write_text("time_zone: Europe/Helsinki\n", encoding="utf-8")
    assert load_settings().time_zone == "Europe/Helsinki"
    other = tmp_path / "other.yaml"
    other.write_text("time_zone: Europe/Stockholm\n", encoding="utf-8")
    monkeypatch.setenv("INTEGRATOR_CONFIG", str(other))
    assert load_settings().time_zone == "Europe/Stockholm"


def test_the_example_config_validates() -> None:
    settings = load_settings(EXAMPLE, check_secrets=False)
    assert [o.key for o in settings.organisations] == ["raisio", "naantali", "raisio-tuottaja"]
    assert [g.key for o in settings.organisations for g in o.groups] == ["tiistai", "keskiviikko", "torstai"]
    assert settings.organisations[0].groups[0].meeting.start == time(10, 0)
    # With secrets checked, only the secrets a real installation provides are missing.
    _, problems = check_config(EXAMPLE)
    assert {p.key_path for p in problems} == {
        "organisations[0].google.service_account.file",
        "organisations[0].microsoft.client_secret.env",
        "organisations[0].sign_in.providers[0].client_secret.env",
        "organisations[1].microsoft.client_secret.env",
        "organisations[2].google.service_account.env",
    }


def _schema_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        paths.add(path)
        inner = _unwrap(field.annotation)
        # A secret reference has the same two keys everywhere; shown once is enough.
        if isinstance(inner, type) and issubclass(inner, BaseModel) and inner is not SecretRef:
            paths |= _schema_paths(inner, path)
    return paths


def _data_paths(data: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.add(path)
            paths |= _data_paths(value, path)
    elif isinstance(data, list):
        for item in data:
            paths |= _data_paths(item, prefix)
    return paths


def test_the_example_config_shows_every_key_of_the_schema() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    # Organisation rules are the same model as the global rules; one full example is enough.
    shown = _data_paths(data)
    expected = {p.replace("organisations.rules.", "rules.") for p in _schema_paths(Settings)}
    assert not expected - shown
    assert {"organisations.google.service_account.file", "organisations.microsoft.client_secret.env"} <= shown


def test_a_time_without_quotes_stays_a_time_of_day(tmp_path: Path) -> None:
    # YAML 1.1 reads 10:30 as the number 630 (base 60); the loader must not.
    path = tmp_path / "c.yaml"
    path.write_text("schedule:\n  nightly_sync: 10:30\n", encoding="utf-8")
    assert load_settings(path).schedule.nightly_sync == time(10, 30)


def test_an_env_secret_value_never_appears_in_any_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAISIO_GRAPH_SECRET", "very-secret-value-123")
    path = tmp_path / "c.yaml"
    path.write_text(
        "organisations:\n"
        "  - key: raisio\n"
        "    name: Raisio\n"
        "    microsoft: {tenant_id: t, client_id: c, client_secret: {env: RAISIO_GRAPH_SECRET}}\n"
        "    mail: {via: gmail}\n"
        "    groups:\n"
        "      - {key: tiistai, name: T, coordinator: x@raisio.example.fi, weekdays: [ti],\n"
        "         meeting: {start: '10:00', end: '09:00'}}\n",
        encoding="utf-8")
    failing = check(str(path))
    assert failing.exit_code == 2
    path.write_text(path.read_text(encoding="utf-8").replace("'09:00'", "'11:00'"), encoding="utf-8")
    _, problems = check_config(path)
    assert problems  # mail via gmail without google, coordinator not among staff
    path.write_text(
        "organisations:\n"
        "  - key: raisio\n"
        "    name: Raisio\n"
        "    microsoft: {tenant_id: t, client_id: c, client_secret: {env: RAISIO_GRAPH_SECRET},\n"
        "                mail_sender: posti@raisio.example.fi}\n"
        "    mail: {via: graph}\n",
        encoding="utf-8")
    passing = check(str(path))
    assert passing.exit_code == 0
    assert "OK: 1 organisation(s), 0 group(s), 0 staff user(s)" in passing.output
    everything = failing.output + passing.output + "\n".join(str(p) for p in problems)
    assert "very-secret-value-123" not in everything


def test_problems_in_several_places_are_all_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "time_zone: Europe/Helsinki\n"
        "rules: {min_hours_per_day: -1}\n"
        "organisations:\n"
        "  - key: Raisio\n"
        "    name: Raisio\n"
        "    kind: kunta\n",
        encoding="utf-8")
    result = check(str(path))
    assert result.exit_code == 2
    assert f"{path}:2: rules.min_hours_per_day: must be greater than 0" in result.output
    assert f"{path}:4: organisations[0].key: expected a key of lower-case letters" in result.output
    assert f"{path}:6: organisations[0].kind: expected 'municipality' or 'provider'" in result.output
    assert "3 problem(s) found." in result.output
