"""The survey form client (providers/google/forms.py) against the sandbox over real sockets.

Counts are HTTP requests on the wire as the sandbox logged them (token requests excluded).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from integrator.config import GoogleTenant
from integrator.providers.errors import Retriable
from integrator.providers.google.client import GoogleClient
from integrator.providers.google.forms import FormItem, check_items, find_or_create_form, list_responses
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox

DOMAIN = "sandbox.example.fi"
ADMIN, COACH, CLIENT = f"admin@{DOMAIN}", f"ohjaaja@{DOMAIN}", f"k-0001@{DOMAIN}"
MARKER = "ktt-kysely-3f9a1c"
ONCE = RetryPolicy(max_attempts=1, sleep=lambda s: None)
RETRYING = RetryPolicy(max_attempts=3, sleep=lambda s: None)
ITEMS = (
    FormItem("1a", "Tarvitsin digitukea jakson alussa", "choice",
             ("paljon", "vähän", "en lainkaan", "autoin muita"), required=True),
    FormItem("2b", "Tulin kuulluksi ja kohdatuksi", "scale", low=1, high=5, low_label="hyvin", high_label="huonosti"),
    FormItem("3c", "Mitä palvelu toi elämääsi?", "text", paragraph=True),
)


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox(page_size=2) as sb:
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Iterator[Sandbox]:
    server.reset()
    for email, name in ((ADMIN, "Admin"), (COACH, "Olli Ohjaaja"), (CLIENT, "K 0001")):
        server.google.add_user(email, name)
    # A tenant whose forms collect verified addresses by default: ours must not.
    server.google.forms.default_settings = {"emailCollectionType": "VERIFIED"}
    yield server
    server.state.faults.clear()


def client(sb: Sandbox, tmp_path: Path, policy: RetryPolicy = ONCE) -> GoogleClient:
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sb.google.service_account_info()))
    tenant = GoogleTenant(domain=DOMAIN, service_account={"file": key}, admin_subject=ADMIN,  # type: ignore[arg-type]
                          mail_sender=COACH, api_base_url=sb.google_url)
    return GoogleClient(tenant, policy=policy)


def calls(sb: Sandbox) -> dict[str, int]:
    """API operations since the last reset, e.g. {"forms forms.create": 1}, tokens left out."""
    counts: dict[str, int] = {}
    for entry in sb.state.log.entries:
        if entry.api != "oauth":
            key = f"{entry.api} {entry.operation}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def form_items(sb: Sandbox) -> list[tuple[str, str]]:
    (form,) = sb.google.forms.forms.values()  # exactly one form
    return [(i["itemId"], i["questionItem"]["question"]["questionId"]) for i in form.items]


def test_create_then_answers_with_and_without_after(sb: Sandbox, tmp_path: Path) -> None:
    gc = client(sb, tmp_path)
    ref = find_or_create_form(gc, COACH, MARKER, "Arviointikysely", ITEMS, description="Vastaa nimettömästi.")
    assert calls(sb) == {"drive files.list": 1, "forms forms.create": 1, "forms forms.batchUpdate": 1,
                         "forms forms.setPublishSettings": 1, "drive permissions.create": 1}
    form = sb.google.forms.forms[ref.form_id]
    assert ref.responder_uri.endswith("/viewform") and form.published and form.accepting
    assert [q for _, q in form_items(sb)] == ["1a", "2b", "3c"]
    assert form.info["description"] == f"Vastaa nimettömästi.\n\nTunniste: {MARKER}"
    assert form.info["documentTitle"] == f"{MARKER} Arviointikysely" and form.info["title"] == "Arviointikysely"
    assert form.settings["emailCollectionType"] == "DO_NOT_COLLECT"
    scale = form.items[1]["questionItem"]["question"]["scaleQuestion"]
    assert scale == {"low": 1, "high": 5, "lowLabel": "hyvin", "highLabel": "huonosti"}
    assert sb.google.drive.files[ref.form_id].owner == COACH

    # Anyone with the link answers, no sign-in, no address kept.
    start = sb.state.clock.now()
    first = sb.google.submit_response(ref.form_id, {"1a": ["vähän"], "2b": ["2"]}, at=start + timedelta(hours=1))
    sb.google.submit_response(ref.form_id, {"1a": ["paljon"], "3c": ["Rytmiä viikkoon"]}, at=start + timedelta(hours=2))
    sb.google.submit_response(ref.form_id, {"1a": ["autoin muita"]}, at=start + timedelta(hours=3))
    sb.state.log.reset()
    every = list_responses(gc, COACH, ref.form_id, None)
    assert [a.answers for a in every] == [{"1a": ["vähän"], "2b": ["2"]},
                                          {"1a": ["paljon"], "3c": ["Rytmiä viikkoon"]}, {"1a": ["autoin muita"]}]
    assert every[0].response_id == first and every[0].submitted_at == start + timedelta(hours=1)
    assert calls(sb) == {"forms forms.responses.list": 2}  # page size 2 in this sandbox: every page read
    later = list_responses(gc, COACH, ref.form_id, every[0].submitted_at)
    assert [a.response_id for a in later] == [a.response_id for a in every[1:]]
    assert list_responses(gc, COACH, ref.form_id, every[-1].submitted_at) == []


def test_rerun_finds_the_form_and_writes_nothing(sb: Sandbox, tmp_path: Path) -> None:
    gc = client(sb, tmp_path)
    ref = find_or_create_form(gc, COACH, MARKER, "Arviointikysely", ITEMS)
    sb.state.log.reset()
    again = find_or_create_form(client(sb, tmp_path), COACH, MARKER, "Arviointikysely", ITEMS)
    assert again == ref and len(sb.google.forms.forms) == 1
    assert calls(sb) == {"drive files.list": 1, "forms forms.get": 1}


def test_a_marker_extending_ours_is_another_survey(sb: Sandbox, tmp_path: Path) -> None:
    gc = client(sb, tmp_path)
    sb.state.clock.set(sb.state.clock.now() - timedelta(days=1))
    longer = find_or_create_form(gc, COACH, MARKER + "0", "Toinen", ITEMS[:1])  # older, listed first
    sb.state.clock.advance(timedelta(days=1))
    ref = find_or_create_form(gc, COACH, MARKER, "Arviointikysely", ITEMS)  # Drive's prefix match lists both
    assert ref.form_id != longer.form_id and len(sb.google.forms.forms) == 2


def test_lost_answer_on_create_then_rerun_makes_one_form(sb: Sandbox, tmp_path: Path) -> None:
    sb.state.faults.lose_answer(vendor="google", path_glob="/forms/v1/forms", http_method="POST", count=1)
    with pytest.raises(Retriable):
        find_or_create_form(client(sb, tmp_path), COACH, MARKER, "Arviointikysely", ITEMS)
    assert len(sb.google.forms.forms) == 1 and form_items(sb) == []  # made, empty, unpublished
    (half,) = sb.google.forms.forms.values()
    assert not half.published
    ref = find_or_create_form(client(sb, tmp_path), COACH, MARKER, "Arviointikysely", ITEMS)
    assert len(sb.google.forms.forms) == 1 and ref.form_id == half.form_id
    assert [q for _, q in form_items(sb)] == ["1a", "2b", "3c"] and sb.google.forms.forms[ref.form_id].published


def test_lost_answer_on_create_is_recovered_within_the_run(sb: Sandbox, tmp_path: Path) -> None:
    sb.state.faults.lose_answer(vendor="google", path_glob="/forms/v1/forms", http_method="POST", count=1)
    ref = find_or_create_form(client(sb, tmp_path, RETRYING), COACH, MARKER, "Arviointikysely", ITEMS)
    assert list(sb.google.forms.forms) == [ref.form_id]
    assert calls(sb)["forms forms.create"] == 1 and calls(sb)["drive files.list"] == 2


def test_crash_between_create_and_batch_update_adds_items_once(sb: Sandbox, tmp_path: Path) -> None:
    sb.state.faults.inject(vendor="google", path_glob="*:batchUpdate", http_method="POST", rate=1.0, status=503,
                           count=1)
    with pytest.raises(Retriable):
        find_or_create_form(client(sb, tmp_path), COACH, MARKER, "Arviointikysely", ITEMS)
    assert form_items(sb) == []
    find_or_create_form(client(sb, tmp_path), COACH, MARKER, "Arviointikysely", ITEMS)
    assert [q for _, q in form_items(sb)] == ["1a", "2b", "3c"]
    # Lost answer on the batchUpdate itself: applied once, found done, not sent again.
    sb.reset()
    sb.google.add_user(COACH, "Olli Ohjaaja")
    sb.state.faults.lose_answer(vendor="google", path_glob="*:batchUpdate", http_method="POST", count=1)
    ref = find_or_create_form(client(sb, tmp_path, RETRYING), COACH, MARKER, "Arviointikysely", ITEMS)
    assert [q for _, q in form_items(sb)] == ["1a", "2b", "3c"] and calls(sb)["forms forms.batchUpdate"] == 1
    assert sb.google.forms.forms[ref.form_id].published


def test_missing_question_is_appended_once(sb: Sandbox, tmp_path: Path) -> None:
    gc = client(sb, tmp_path)
    ref = find_or_create_form(gc, COACH, MARKER, "Arviointikysely", ITEMS[:2])
    find_or_create_form(gc, COACH, MARKER, "Arviointikysely", ITEMS)
    find_or_create_form(gc, COACH, MARKER, "Arviointikysely", ITEMS)
    assert [q for _, q in form_items(sb)] == ["1a", "2b", "3c"] and list(sb.google.forms.forms) == [ref.form_id]


def test_sign_in_required_lets_only_the_domain_answer(sb: Sandbox, tmp_path: Path) -> None:
    ref = find_or_create_form(client(sb, tmp_path), COACH, MARKER, "Arviointikysely", ITEMS, sign_in_required=True)
    with pytest.raises(PermissionError):
        sb.google.submit_response(ref.form_id, {"1a": ["vähän"]})
    sb.google.submit_response(ref.form_id, {"1a": ["vähän"]}, email=CLIENT)
    (answer,) = list_responses(client(sb, tmp_path), COACH, ref.form_id, None)
    assert answer.answers == {"1a": ["vähän"]}


def test_items_forms_would_refuse_are_refused_before_any_call() -> None:
    with pytest.raises(ValueError, match="hexadecimal"):
        check_items([FormItem("q01", "Otsikko", "text")])
    with pytest.raises(ValueError, match="twice"):
        check_items([FormItem("1", "A", "text"), FormItem("1", "B", "text")])
    with pytest.raises(ValueError, match="options"):
        check_items([FormItem("1", "A", "choice")])
    with pytest.raises(ValueError, match="scale"):
        check_items([FormItem("1", "A", "scale", low=1, high=11)])
