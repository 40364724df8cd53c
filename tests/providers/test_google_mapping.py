"""Pure mappings from our specs to Classroom and Drive bodies (offline)."""

from __future__ import annotations

from datetime import UTC, datetime

from integrator.domain.types import VariantKind
from integrator.jobs.weekly.tasks import TaskEntry, choose_variant
from integrator.providers.google.classroom import (
    CourseSpec,
    CourseWorkSpec,
    assignee_change,
    course_alias,
    course_body,
    coursework_body,
    coursework_patch,
    marker,
    marker_of,
)
from integrator.providers.google.drive import FOLDER, FolderSpec, folder_body, key_of, org_folders_query

SPEC = CourseWorkSpec("coursework:ti:2026-W49:wd1:t1:standard", "ti 1.12. Päiväkirja", "Kirjoita päivästäsi.",
                      datetime(2026, 12, 1, 6, 0, tzinfo=UTC), datetime(2026, 12, 1, 21, 59, tzinfo=UTC), "t1",
                      ("111", "222"), ("file1",))


def test_a_course_is_created_active_under_its_alias_owned_by_the_coordinator() -> None:
    body = course_body(CourseSpec(course_alias("raisio", "ti"), "Tiistairyhmä", "ETT", "o@x.fi"))
    assert body == {"id": "p:ktt-raisio-ti", "name": "Tiistairyhmä", "section": "ETT", "ownerId": "o@x.fi",
                    "courseState": "ACTIVE"}


def test_coursework_is_a_scheduled_draft_for_individual_students_with_a_findable_marker() -> None:
    body = coursework_body(SPEC)
    assert body["state"] == "DRAFT" and body["scheduledTime"] == "2026-12-01T06:00:00Z"
    assert body["dueDate"] == {"year": 2026, "month": 12, "day": 1}
    assert body["dueTime"] == {"hours": 21, "minutes": 59}
    assert body["assigneeMode"] == "INDIVIDUAL_STUDENTS"
    assert body["individualStudentsOptions"] == {"studentIds": ["111", "222"]}
    assert body["materials"] == [{"driveFile": {"driveFile": {"id": "file1"}, "shareMode": "VIEW"}}]
    assert marker_of(body["description"]) == marker(SPEC.local_key)
    assert "ti:" not in marker(SPEC.local_key)  # the marker reveals nothing of the key


def test_a_moved_day_patches_only_times_and_texts() -> None:
    body, mask = coursework_patch(SPEC)
    assert mask == "title,description,scheduledTime,dueDate,dueTime,topicId"
    assert "individualStudentsOptions" not in body


def test_assignee_changes_add_and_remove_only_the_difference() -> None:
    assert assignee_change(["1", "2"], ["2", "3"]) == {
        "assigneeMode": "INDIVIDUAL_STUDENTS",
        "modifyIndividualStudentsOptions": {"addStudentIds": ["3"], "removeStudentIds": ["1"]}}
    assert assignee_change(["1"], ["1"]) is None


def test_a_folder_reserves_its_id_and_carries_our_key() -> None:
    body = folder_body(FolderSpec("folder:K-0001", "raisio", "K-0001", "root"), "1abc")
    assert body["id"] == "1abc" and body["mimeType"] == FOLDER and body["parents"] == ["root"]
    assert key_of(body) == "folder:K-0001"
    assert "integratorOrg' and value='raisio'" in org_folders_query("raisio")


def test_plain_language_wins_then_the_coordinators_choice_then_standard() -> None:
    all_kinds = list(VariantKind)
    assert choose_variant(True, VariantKind.HARDER, all_kinds) == VariantKind.PLAIN_LANGUAGE
    assert choose_variant(False, VariantKind.HARDER, all_kinds) == VariantKind.HARDER
    assert choose_variant(False, None, all_kinds) == VariantKind.STANDARD
    assert choose_variant(True, None, [VariantKind.STANDARD]) == VariantKind.STANDARD


def test_a_task_file_entry_matches_groups_and_weekdays() -> None:
    entry = TaskEntry.model_validate({"groups": ["ti"], "days": ["tuesday"], "title": "Päiväkirja"})
    assert entry.matches("ti", datetime(2026, 12, 1).date())
    assert not entry.matches("ti", datetime(2026, 12, 2).date())
    assert not entry.matches("to", datetime(2026, 12, 1).date())
