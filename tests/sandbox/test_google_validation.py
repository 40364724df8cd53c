"""Requests are checked against the discovery documents the client library ships."""

from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import GoogleSandbox


def test_unknown_query_parameter_is_refused(google: GoogleSandbox) -> None:
    request = google.service("classroom").courses().list()
    request.uri += "&colour=blue"
    with pytest.raises(HttpError) as failed:
        request.execute()
    assert failed.value.status_code == 400
    assert 'Unknown name "colour": Cannot bind query parameter' in failed.value.reason


def test_enum_query_parameter_outside_the_enum_is_refused(google: GoogleSandbox) -> None:
    request = google.service("classroom").courses().list()
    request.uri += "&courseStates=OPEN"
    with pytest.raises(HttpError) as failed:
        request.execute()
    assert failed.value.status_code == 400 and "TYPE_ENUM" in failed.value.reason


def test_wrong_json_type_in_a_body_is_refused(google: GoogleSandbox) -> None:
    calendar = google.service("calendar")
    body = {"summary": 5, "start": {"date": "2026-01-05"}, "end": {"date": "2026-01-06"}}
    with pytest.raises(HttpError) as failed:
        calendar.events().insert(calendarId="primary", body=body).execute()
    assert failed.value.status_code == 400
    assert json.loads(failed.value.content)["error"]["status"] == "INVALID_ARGUMENT"


def test_app_properties_map_accepts_any_key_but_only_string_values(google: GoogleSandbox) -> None:
    drive = google.service("drive")
    made = (
        drive.files()
        .create(body={"name": "x", "appProperties": {"anyKey": "v"}}, fields="appProperties")
        .execute()
    )
    assert made["appProperties"] == {"anyKey": "v"}
    with pytest.raises(HttpError):
        drive.files().create(body={"name": "x", "appProperties": {"anyKey": {"nested": 1}}}).execute()


def test_unknown_path_answers_404_in_googles_shape(google: GoogleSandbox) -> None:
    request = google.service("drive").files().list()
    request.uri = request.uri.replace("/drive/v3/files", "/drive/v3/filez")
    with pytest.raises(HttpError) as failed:
        request.execute()
    assert failed.value.status_code == 404
    assert json.loads(failed.value.content)["error"]["code"] == 404
