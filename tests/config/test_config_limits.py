"""The config loader's limits: size, depth, aliases, and the values it used to accept though wrong."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from integrator.config import check_config, load_settings
from integrator.config.parsing import MAX_CONFIG_BYTES, MAX_VALUES

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "integrator.example.yaml"


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    _, problems = check_config(path, check_secrets=False)
    return [p.format().removeprefix(f"{path}:") for p in problems]


def large_installation(organisations: int, staff: int, groups: int) -> str:
    """A plausible file of a large installation, written out in full (no aliases)."""
    lines = ["organisations:"]
    for o in range(organisations):
        lines += [f"  - key: org-{o}", f"    name: Organisaatio {o}", "    microsoft:", "      tenant_id: t",
                  "      client_id: c", "      client_secret: {env: X}", f"      mail_sender: posti@o{o}.example.fi",
                  "    mail: {via: graph}", "    closure_days: [2026-12-24, 2026-12-31]", "    staff:"]
        lines += [f"      - {{email: s{s}@o{o}.example.fi, name: Ohjaaja {s}, role: coordinator}}" for s in range(staff)]
        lines += ["    groups:"]
        lines += [f"      - {{key: g{g}, name: Ryhmä {g}, coordinator: s0@o{o}.example.fi, weekdays: [ti],\n"
                  f"         meeting: {{start: '10:00', end: '11:00'}}}}" for g in range(groups)]
    return "\n".join(lines) + "\n"


def test_a_large_installation_is_well_within_the_limits(tmp_path: Path) -> None:
    text = large_installation(30, 50, 10)
    assert len(text.encode()) < MAX_CONFIG_BYTES / 2
    assert problems_of(tmp_path, text) == []


def test_a_file_over_one_mib_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with path.open("wb") as f:
        f.write(b"time_zone: Europe/Helsinki\n")
        f.truncate(50 * 1024 * 1024)
    _, problems = check_config(path)
    assert [p.format() for p in problems] == [
        f"{path}: larger than 1 MiB; a configuration is a few kilobytes (is this the right file?)"]


def test_a_one_megabyte_organisation_name_is_too_long(tmp_path: Path) -> None:
    text = "organisations:\n  - key: raisio\n    name: " + "R" * 1_000_000 + "\n"
    assert problems_of(tmp_path, text) == ["3: organisations[0].name: too long; at most 200 characters"]


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("rules: &strict {period_max_months: 12, max_days_per_week: 3}\n"
                    "organisations:\n"
                    "  - {key: a, name: A, rules: *strict}\n"
                    "  - {key: b, name: B, rules: *strict}\n", encoding="utf-8")
    settings = load_settings(path)
    assert [o.rules.period_max_months for o in settings.organisations if o.rules] == [12, 12]


def test_merge_keys_count_as_what_they_expand_to(tmp_path: Path) -> None:
    lines = ["a0: &a0 {k: v}"]
    lines += [f"a{i}: &a{i} {{<<: [{', '.join(f'*a{i - 1}' for _ in range(9))}]}}" for i in range(1, 10)]
    found = problems_of(tmp_path, "\n".join(lines) + "\n")
    assert len(found) == 1 and f"more than {MAX_VALUES:,} values" in found[0]


def test_dates_are_dates_and_times_stay_times_of_day(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE, check_secrets=False)
    assert settings.organisations[0].closure_days == [date(2026, 12, 24), date(2026, 12, 31)]
    # A date where text is expected stays the text it is (it was a date object before).
    assert problems_of(tmp_path, "organisations:\n  - {key: a, name: 2026-12-24}\n") == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "https://localhost:9443/", "http://[::1]:80",
                                 "http://127.0.0.2:1"])
def test_sandbox_urls_on_this_machine_are_accepted(tmp_path: Path, url: str) -> None:
    assert problems_of(tmp_path, "organisations:\n  - key: a\n    name: A\n    google:\n      domain: a.fi\n"
                                 "      service_account: {env: X}\n      admin_subject: x@a.fi\n      mail_sender: x@a.fi\n"
                                 f"      api_base_url: '{url}'\n    mail: {{via: gmail}}\n") == []


@pytest.mark.parametrize("url", ["https://www.googleapis.com", "http://10.0.0.1", "http://localhost.evil.example",
                                 "ftp://127.0.0.1", "127.0.0.1:8080", "http://[::1"])
def test_sandbox_urls_elsewhere_are_refused(tmp_path: Path, url: str) -> None:
    found = problems_of(tmp_path, "organisations:\n  - key: a\n    name: A\n    microsoft:\n      tenant_id: t\n"
                                  "      client_id: c\n      client_secret: {env: X}\n"
                                  f"      graph_base_url: '{url}'\n")
    assert len(found) == 1 and found[0].startswith("8: organisations[0].microsoft.graph_base_url: ")


@pytest.mark.parametrize("url", ["postgresql://integrator@db/integrator?sslkey=/etc/key.pem&passfile=/etc/pgpass",
                                 "sqlite:///./var/integrator.db?mode=ro", "postgresql:///integrator"])
def test_database_urls_naming_files_are_not_passwords(tmp_path: Path, url: str) -> None:
    assert problems_of(tmp_path, f"database_url: '{url}'\n") == []


@pytest.mark.parametrize("parameter", ["password", "PASSWORD", "sslpassword", "pwd", "access_token"])
def test_every_password_parameter_of_a_database_url_is_refused(tmp_path: Path, parameter: str) -> None:
    found = problems_of(tmp_path, f"database_url: 'postgresql://u@h/db?{parameter}=S3CRET'\n")
    assert found == [f"1: database_url: contains a password (query parameter '{parameter}'); "
                     "set INTEGRATOR_DATABASE_URL in the environment instead"]
