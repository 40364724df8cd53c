"""The sandbox's Forms API, driven by googleapiclient over a real socket.

Request bodies marked "Google's sample" are copied from googleworkspace/python-samples
(forms/quickstart/quickstart.py, forms/snippets/update_form.py, convert_form.py, add_item.py,
publish_form.py, anyone_with_link_responder.py) and the reference pages under
developers.google.com/workspace/forms/api/reference/rest/v1.
"""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import google_auth_httplib2
import httplib2
import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import CLIENT_A, COACH, GoogleSandbox

FORM = "application/vnd.google-apps.form"

#: Google's sample (forms/quickstart/quickstart.py): the create body and a RADIO question.
QUICKSTART_FORM = {"info": {"title": "Quickstart form"}}
QUICKSTART_QUESTION = {"requests": [{"createItem": {
    "item": {"title": "In what year did the United States land a mission on the moon?",
             "questionItem": {"question": {"required": True, "choiceQuestion": {
                 "type": "RADIO",
                 "options": [{"value": "1965"}, {"value": "1967"}, {"value": "1969"}, {"value": "1971"}],
                 "shuffle": True}}}},
    "location": {"index": 0}}}]}
#: Google's samples: forms/snippets/update_form.py, convert_form.py, add_item.py.
UPDATE_INFO = {"requests": [{"updateFormInfo": {
    "info": {"description": "Please complete this quiz based on this week's readings for class."},
    "updateMask": "description"}}]}
CONVERT_TO_QUIZ = {"requests": [{"updateSettings": {"settings": {"quizSettings": {"isQuiz": True}},
                                                    "updateMask": "quizSettings.isQuiz"}}]}
ADD_VIDEO = {"requests": [{"createItem": {
    "item": {"title": "Homework video", "description": "Quizzes in Google Forms",
             "videoItem": {"video": {"youtubeUri": "https://www.youtube.com/watch?v=Lt5HqPvM-eI"}}},
    "location": {"index": 0}}}]}
#: Google's samples: forms/snippets/publish_form.py and anyone_with_link_responder.py.
PUBLISH = {"publishSettings": {"publishState": {"isPublished": True, "isAcceptingResponses": True}}}
ANYONE_RESPONDS = {"type": "anyone", "view": "published", "role": "reader"}


def error_of(exc: HttpError) -> dict[str, Any]:
    err: dict[str, Any] = json.loads(exc.content)["error"]
    return err


def question(qid: str, title: str = "Q", **kind: Any) -> dict[str, Any]:
    body = kind or {"textQuestion": {}}
    return {"createItem": {"item": {"itemId": f"a{qid}"[:8], "title": title,
                                    "questionItem": {"question": {"questionId": qid, **body}}},
                           "location": {"index": 0}}}


@pytest.fixture
def forms(google: GoogleSandbox) -> Any:
    return google.service("forms").forms()


def test_google_sample_bodies_are_accepted(google: GoogleSandbox, forms: Any) -> None:
    form = forms.create(body=QUICKSTART_FORM).execute()
    form_id = form["formId"]
    reply = forms.batchUpdate(formId=form_id, body=QUICKSTART_QUESTION).execute()
    assert list(reply["replies"][0]["createItem"]) == ["itemId", "questionId"]
    forms.batchUpdate(formId=form_id, body=UPDATE_INFO).execute()
    forms.batchUpdate(formId=form_id, body=CONVERT_TO_QUIZ).execute()
    forms.batchUpdate(formId=form_id, body=ADD_VIDEO).execute()
    assert forms.setPublishSettings(formId=form_id, body=PUBLISH).execute()["publishSettings"] == PUBLISH["publishSettings"]
    google.service("drive").permissions().create(fileId=form_id, body=ANYONE_RESPONDS).execute()

    got = forms.get(formId=form_id).execute()
    assert got["info"] == {"title": "Quickstart form", "documentTitle": "Quickstart form",
                           "description": "Please complete this quiz based on this week's readings for class."}
    assert got["settings"]["quizSettings"] == {"isQuiz": True}
    assert [i["title"] for i in got["items"]] == ["Homework video", QUICKSTART_QUESTION["requests"][0]["createItem"]["item"]["title"]]
    assert got["responderUri"].startswith("https://docs.google.com/forms/d/e/")
    # The publish guide's REST sample puts isPublished directly under publishSettings; the
    # discovery document (and python-samples) nest it in publishState: the flat one is refused.
    with pytest.raises(HttpError) as flat:
        forms.setPublishSettings(formId=form_id, body={"publishSettings": {"isPublished": True,
                                                                          "isAcceptingResponses": True}}).execute()
    assert flat.value.status_code == 400 and "Unknown name \"isPublished\"" in error_of(flat.value)["message"]


def test_create_takes_only_title_and_document_title(google: GoogleSandbox, forms: Any) -> None:
    for body in ({"info": {"title": "T", "description": "D"}},
                 {"info": {"title": "T"}, "items": [{"title": "Q", "textItem": {}}]},
                 {"info": {"title": "T"}, "settings": {"emailCollectionType": "DO_NOT_COLLECT"}}):
        with pytest.raises(HttpError) as refused:
            forms.create(body=body).execute()
        assert refused.value.status_code == 400 and error_of(refused.value)["status"] == "INVALID_ARGUMENT"
    with pytest.raises(HttpError) as unknown:
        forms.create(body={"info": {"title": "T", "subtitle": "x"}}).execute()
    assert unknown.value.status_code == 400
    assert google.sb.google.forms.forms == {}

    made = forms.create(body={"info": {"title": "Kysely", "documentTitle": "ktt-1 Kysely"}}).execute()
    # The form is a Drive file of the creator, found by mimeType, invisible to others.
    drive = google.service("drive").files()
    listed = drive.list(q=f"mimeType = '{FORM}'", fields="files(id,name,owners(emailAddress))").execute()["files"]
    assert listed == [{"id": made["formId"], "name": "ktt-1 Kysely", "owners": [{"emailAddress": COACH}]}]
    other = google.service("drive", subject=CLIENT_A).files().list(q=f"mimeType = '{FORM}'").execute()
    assert other["files"] == []
    with pytest.raises(HttpError) as hidden:
        google.service("forms", subject=CLIENT_A).forms().get(formId=made["formId"]).execute()
    assert hidden.value.status_code == 403


def test_item_and_question_ids_are_unique_and_batch_is_all_or_nothing(google: GoogleSandbox, forms: Any) -> None:
    form_id = forms.create(body={"info": {"title": "T"}}).execute()["formId"]
    reply = forms.batchUpdate(formId=form_id, body={"requests": [question("0a")]}).execute()
    assert reply["replies"][0]["createItem"] == {"itemId": "a0a", "questionId": ["0a"]}
    same_item, same_question = question("0b"), question("0a")
    same_item["createItem"]["item"]["itemId"] = "a0a"
    same_question["createItem"]["item"]["itemId"] = "c1"
    for dup in (same_item, same_question):
        with pytest.raises(HttpError) as refused:
            forms.batchUpdate(formId=form_id, body={"requests": [dup]}).execute()
        assert refused.value.status_code == 400 and "already used" in error_of(refused.value)["message"]
    with pytest.raises(HttpError) as not_hex:
        forms.batchUpdate(formId=form_id, body={"requests": [question("q01")]}).execute()
    assert not_hex.value.status_code == 400
    # A valid request before a bad one: neither is applied.
    with pytest.raises(HttpError):
        forms.batchUpdate(formId=form_id, body={"requests": [question("0c"), question("0a")]}).execute()
    items = forms.get(formId=form_id).execute()["items"]
    assert [i["questionItem"]["question"]["questionId"] for i in items] == ["0a"]


def test_responses_list_filters_pages_and_gets(google: GoogleSandbox, forms: Any) -> None:
    tenant = google.sb.google
    form_id = forms.create(body={"info": {"title": "T"}}, unpublished=True).execute()["formId"]
    forms.batchUpdate(formId=form_id, body={"requests": [
        question("1", scaleQuestion={"low": 1, "high": 5}),
        question("2", choiceQuestion={"type": "RADIO", "options": [{"value": "kyllä"}, {"value": "ei"}]})]}).execute()
    with pytest.raises(PermissionError):  # unpublished
        tenant.submit_response(form_id, {"1": ["3"]})
    forms.setPublishSettings(formId=form_id, body=PUBLISH).execute()
    with pytest.raises(PermissionError):  # published, but responders must sign in
        tenant.submit_response(form_id, {"1": ["3"]})
    tenant.submit_response(form_id, {"1": ["3"]}, email=COACH)  # the owner may answer
    google.service("drive").permissions().create(fileId=form_id, body=ANYONE_RESPONDS).execute()
    with pytest.raises(ValueError):
        tenant.submit_response(form_id, {"1": ["9"]})
    with pytest.raises(ValueError):
        tenant.submit_response(form_id, {"2": ["ehkä"]})
    start = google.sb.state.clock.now()
    for n in range(6):
        tenant.submit_response(form_id, {"1": [str(1 + n % 5)], "2": ["ei"]}, at=start + timedelta(minutes=n + 1))

    responses = forms.responses()
    first = responses.list(formId=form_id).execute()
    assert len(first["responses"]) == 5 and "formId" not in first["responses"][0]
    rest = responses.list(formId=form_id, pageToken=first["nextPageToken"]).execute()
    assert len(rest["responses"]) == 2 and "nextPageToken" not in rest
    boundary = (start + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = responses.list(formId=form_id, filter=f"timestamp > {boundary}").execute()["responses"]
    assert [r["answers"]["1"]["textAnswers"]["answers"] for r in after] == [[{"value": v}] for v in "451"]
    since = responses.list(formId=form_id, filter=f"timestamp >= {boundary}").execute()["responses"]
    assert len(since) == 4
    with pytest.raises(HttpError) as other_filter:
        responses.list(formId=form_id, filter=f"timestamp > {boundary}", pageToken=first["nextPageToken"]).execute()
    assert other_filter.value.status_code == 400
    with pytest.raises(HttpError) as bad_filter:
        responses.list(formId=form_id, filter="createTime > 2026-01-01").execute()
    assert bad_filter.value.status_code == 400
    one = responses.get(formId=form_id, responseId=after[0]["responseId"]).execute()
    assert one["formId"] == form_id and one["answers"]["2"]["questionId"] == "2" and "respondentEmail" not in one


def test_publishing_rules_and_default_by_date(google: GoogleSandbox, forms: Any) -> None:
    before = forms.create(body={"info": {"title": "T"}}).execute()
    assert before["publishSettings"]["publishState"] == {"isPublished": True, "isAcceptingResponses": True}
    google.sb.state.clock.set(datetime(2026, 7, 1, 8, tzinfo=UTC))
    after = forms.create(body={"info": {"title": "T"}}).execute()
    assert after["publishSettings"]["publishState"]["isPublished"] is False
    with pytest.raises(HttpError) as half:
        forms.setPublishSettings(formId=after["formId"], body={"publishSettings": {"publishState": {
            "isPublished": False, "isAcceptingResponses": True}}}).execute()
    assert half.value.status_code == 400
    with pytest.raises(HttpError) as early:  # responders only on a published form
        google.service("drive").permissions().create(fileId=after["formId"], body=ANYONE_RESPONDS).execute()
    assert early.value.status_code == 400


def test_lost_answer_on_create_leaves_one_form(google: GoogleSandbox, forms: Any) -> None:
    creds = google.credentials("forms")
    creds.refresh(google_auth_httplib2.Request(httplib2.Http()))
    google.sb.state.faults.lose_answer(vendor="google", path_glob="/forms/v1/forms", http_method="POST", count=1)
    # One plain send (httplib2 itself would send again after the lost answer: see
    # integrator/providers/google/transport.py).
    conn = http.client.HTTPConnection(urlsplit(google.sb.google_url).netloc, timeout=10)
    conn.request("POST", "/forms/v1/forms", json.dumps({"info": {"title": "T", "documentTitle": "ktt-lost T"}}),
                 {"Authorization": f"Bearer {creds.token}", "Content-Type": "application/json"})
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    conn.close()
    files = google.service("drive").files().list(q=f"mimeType = '{FORM}' and name contains 'ktt-lost'").execute()
    assert len(files["files"]) == 1 and len(google.sb.google.forms.forms) == 1


def test_forms_write_quota_answers_429(google: GoogleSandbox, forms: Any) -> None:
    google.sb.state.quotas.forms_write_per_user_per_min = 1
    forms.create(body={"info": {"title": "T"}}).execute()
    with pytest.raises(HttpError) as limited:
        forms.create(body={"info": {"title": "T"}}).execute()
    assert limited.value.status_code == 429 and "Write requests" in error_of(limited.value)["message"]
