"""The OpenAPI 3.0 document of /api/v1, written by hand and checked against the routes by tests."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from integrator import __version__
from integrator.domain.periods import END_REASONS
from integrator.domain.weeks import MONTH_PATTERN, SETUP_WEEKS_AHEAD, SETUP_WEEKS_BACK, WEEK_PATTERN
from integrator.web.validation import ID_MAX, JOB_KIND_PATTERN

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

J = dict[str, Any]


def _ref(name: str) -> J:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: J, required: list[str] | None = None) -> J:
    return {"type": "object", "properties": props, "required": required if required is not None else list(props)}


STR: J = {"type": "string"}
INT: J = {"type": "integer"}
BOOL: J = {"type": "boolean"}
NSTR: J = {"type": "string", "nullable": True}
NINT: J = {"type": "integer", "nullable": True}
STATUS_OR_NULL: J = {"type": "string", "enum": ["present", "absent", "pending", "excused", None], "nullable": True}
DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
REASON: J = {"type": "string", "minLength": 1, "maxLength": 500, "pattern": r"\S",
             "description": "Why; kept in the audit trail (not only white space)"}
ID_PARAM_MAX = ID_MAX  # the URL converter's bound: a larger id answers 404

SETUP_WEEK_RULE = (f"ISO week. A preview accepts {SETUP_WEEKS_BACK} weeks back to {SETUP_WEEKS_AHEAD} weeks ahead "
                   f"of this week, an apply this week to {SETUP_WEEKS_AHEAD} weeks ahead (never a past week, "
                   "unless an admin types it again in force_past_week); any other week answers 400 naming the window.")

SCHEMAS: J = {
    "Error": _obj({"error": STR, "message": STR}),
    "Me": _obj({"staff_id": INT, "role": {"type": "string", "enum": ["admin", "coordinator"]},
                "organisation_id": NINT, "via": {"type": "string", "enum": ["session", "token"]}}),
    "Organisation": _obj({"id": INT, "key": STR, "name": STR,
                          "kind": {"type": "string", "enum": ["municipality", "provider"]}}),
    "OrganisationDetail": {"allOf": [_ref("Organisation"), _obj({"groups": {"type": "array", "items": _ref("Group")}})]},
    "Group": _obj({"id": INT, "key": STR, "name": STR, "organisation_id": INT, "coordinator_id": NINT,
                   "weekdays": {"type": "array", "items": INT}, "meeting_start": STR, "meeting_end": STR,
                   "meeting_provider": {"type": "string", "enum": ["teams", "meet"]}, "time_zone": STR,
                   "active": BOOL}),
    "Period": _obj({"id": INT, "service_model": STR, "start_date": {"type": "string", "format": "date"},
                    "end_date": {"type": "string", "format": "date"}, "weekdays": {"type": "array", "items": INT},
                    "hours_per_day": {"type": "number"}, "briefing_recorded": BOOL}),
    "Client": _obj({"id": INT, "code": STR, "display_name": STR, "organisation_id": INT, "plain_language": BOOL,
                    "digital_support": NSTR, "periods": {"type": "array", "items": _ref("Period")}},
                   required=["id", "code", "display_name", "organisation_id", "plain_language",
                             "digital_support"]),
    "WorkDay": _obj({"id": INT, "group_id": INT, "day": {"type": "string", "format": "date"}, "iso_week": STR,
                     "status": {"type": "string", "enum": ["planned", "cancelled"]}, "cancelled_reason": NSTR,
                     "meeting_start": STR, "meeting_end": STR, "tasks": {"type": "array", "items": STR}}),
    "AttendanceCell": _obj({"id": INT, "status": STR, "computed_status": STR, "override_status": NSTR,
                            "override_reason": NSTR, "minutes": INT, "evidence": {"type": "object"},
                            "needs_decision": BOOL}),
    "AttendanceGrid": _obj({
        "group": _ref("Group"), "week": STR, "work_days": {"type": "array", "items": _ref("WorkDay")},
        "rows": {"type": "array", "items": _obj({
            "client": _ref("Client"),
            "days": {"type": "array", "items": {"allOf": [_ref("AttendanceCell")], "nullable": True}}})}}),
    "Correction": {**_obj({"status": {"type": "string", "enum": ["present", "absent", "excused"]},
                           "reason": REASON}), "additionalProperties": False},
    "Revert": {**_obj({"reason": REASON}), "additionalProperties": False},
    "CorrectionOutcome": _obj({
        "client": STR, "group": STR, "day": {"type": "string", "format": "date"}, "attendance_day_id": NINT,
        "status": {**STATUS_OR_NULL, "description": "The effective status after the change"},
        "before": {**STATUS_OR_NULL, "description": "The effective status before; null: not evaluated"},
        "computed_status": STATUS_OR_NULL, "override_status": STATUS_OR_NULL, "override_reason": NSTR,
        "changed": {"type": "boolean", "description": "false: the same decision was already in force "
                                                      "(or there was none to revert); nothing was written"}}),
    "CorrectionEvent": _obj({
        "at": STR, "day": {"type": "string", "format": "date"}, "group": STR,
        "action": {"type": "string", "enum": ["decided", "reverted"]}, "from": STATUS_OR_NULL,
        "to": STATUS_OR_NULL, "computed": STATUS_OR_NULL, "reason": STR, "actor": STR, "staff_id": NINT,
        "staff_name": NSTR}),
    "SetupRequest": {"type": "object", "additionalProperties": False, "required": ["week"],
                     "properties": {"week": {"type": "string", "pattern": WEEK_PATTERN, "description": SETUP_WEEK_RULE},
                                    "group_id": {"type": "integer", "minimum": 1, "maximum": ID_PARAM_MAX},
                                    "organisation_id": {"type": "integer", "minimum": 1,
                                                        "maximum": ID_PARAM_MAX},
                                    "confirm_removals": {
                                        "type": "array", "maxItems": 10000,
                                        "items": {"type": "string", "minLength": 1, "maxLength": 200},
                                        "description": "Apply: the keys of the preview's remove actions of "
                                                       "access (enrolment, permission) you confirm; every other "
                                                       "removal is held back and the access stays."},
                                    "force_past_week": {"type": "string", "maxLength": 8,
                                                        "description": "Apply, admins: the week typed again to "
                                                                       "apply a past week (403 for others)."}}},
    "Action": _obj({"op": STR, "resource": STR, "key": STR, "group": NSTR, "client": NSTR, "reason": STR,
                    "detail": {"type": "object"}}),
    "Preview": _obj({"job_run_id": INT, "week": STR, "counts": {"type": "object", "additionalProperties": INT},
                     "text": STR, "actions": {"type": "array", "items": _ref("Action")}}),
    "Started": _obj({"job_run_id": INT}),
    "MoveRequest": {"type": "object", "additionalProperties": False, "required": ["to_group", "from"],
                    "properties": {"to_group": {"type": "string", "minLength": 1, "maxLength": 64},
                                   "from": {"type": "string", "format": "date"},
                                   "confirm": {"type": "boolean", "description": "false or absent: a preview"}}},
    "EndRequest": {"type": "object", "additionalProperties": False, "required": ["on", "reason"],
                   "properties": {"on": {"type": "string", "format": "date", "description": "the last day"},
                                  "reason": {"type": "string", "enum": sorted(END_REASONS)},
                                  "confirm": {"type": "boolean", "description": "false or absent: a preview"}}},
    "ClientChange": _obj({"changed": BOOL, "applied": BOOL, "job_run_id": NINT, "preview": STR, "messages": INT,
                          "actions": {"type": "array", "items": _ref("Action")},
                          "errors": {"type": "array", "items": {"type": "object"}}}),
    "Unmatched": _obj({"source": {"type": "string", "enum": ["teams", "meet"]}, "participant_key": STR,
                       "display_name": NSTR, "email": NSTR, "via_phone": BOOL, "records": INT,
                       "work_day_ids": {"type": "array", "items": INT}}),
    "Mapping": {"type": "object", "additionalProperties": False, "required": ["source", "participant_key", "client_id"],
                "properties": {"source": {"type": "string", "enum": ["teams", "meet"]},
                               "participant_key": {"type": "string", "minLength": 1, "maxLength": 300},
                               "client_id": {"type": "integer", "minimum": 1, "maximum": ID_PARAM_MAX}}},
    "Mapped": _obj({"records": INT}),
    "JobRun": _obj({"id": INT, "kind": STR, "organisation_id": NINT, "params": {"type": "object"},
                    "dry_run": BOOL, "status": {"type": "string",
                                                "enum": ["running", "succeeded", "partial", "failed"]},
                    "triggered_by": STR, "started_at": STR, "finished_at": NSTR, "progress_done": NINT,
                    "progress_total": NINT, "counts": {"type": "object"}, "counts_hidden": BOOL,
                    "errors": {"type": "array", "items": {"type": "object"}},
                    "plan": {"type": "array", "items": {"type": "object"}}},
                   required=["id", "kind", "organisation_id", "params", "dry_run", "status", "triggered_by",
                             "started_at", "finished_at", "progress_done", "progress_total", "counts",
                             "counts_hidden", "errors"]),
}


def _err(desc: str) -> J:
    return {"description": desc, "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(schema: J, desc: str = "OK") -> J:
    return {"description": desc, "content": {"application/json": {"schema": schema}}}


# Links: which value of an answer opens which operation. A client may follow them; the fuzzer
# (tests/fuzz) chains operations along them, so that it reaches real objects, not random ids.
GROUP_OPS = ("getGroup", "listGroupClients", "listWorkDays", "attendanceGrid", "listUnmatchedAttendees",
             "downloadRegister")


def _to(param: str, expr: str, *op_ids: str) -> J:
    """Each of `op_ids` takes its path parameter `param` from the runtime expression `expr`."""
    return {op: {"operationId": op, "parameters": {param: expr}} for op in op_ids}


def _setup(group_expr: str) -> J:
    return {op: {"operationId": op, "requestBody": {"group_id": group_expr}}
            for op in ("previewWeeklySetup", "applyWeeklySetup")}


def _map_attendee(body: J) -> J:
    return {"mapAttendee": {"operationId": "mapAttendee", "parameters": {"group_id": "$request.path.group_id"},
                            "requestBody": body}}


CLIENT_CHANGES = ("moveClient", "endPeriod", "undoEndPeriod")

# operationId -> the links of its success answer
LINKS: dict[str, J] = {
    "listOrganisations": _to("org_id", "$response.body#/0/id", "getOrganisation"),
    "getOrganisation": _to("group_id", "$response.body#/groups/0/id", *GROUP_OPS),
    "listGroups": {**_to("group_id", "$response.body#/0/id", *GROUP_OPS), **_setup("$response.body#/0/id")},
    "getGroup": {**_to("group_id", "$response.body#/id", *GROUP_OPS),
                 **_to("org_id", "$response.body#/organisation_id", "getOrganisation"),
                 **_setup("$response.body#/id")},
    "listGroupClients": {**_to("client_id", "$response.body#/0/id", "getClient", *CLIENT_CHANGES),
                         **_map_attendee({"client_id": "$response.body#/0/id"})},
    "getClient": _to("client_id", "$response.body#/id", *CLIENT_CHANGES),
    "attendanceGrid": {**_to("attendance_day_id", "$response.body#/rows/0/days/0/id", "correctAttendance"),
                       **{op: {"operationId": op, "parameters": {"client_id": "$response.body#/rows/0/client/id",
                                                                 "day": "$response.body#/work_days/0/day"}}
                          for op in ("correctClientDay", "revertClientDay", "clientDayHistory")}},
    "listUnmatchedAttendees": _map_attendee({"source": "$response.body#/0/source",
                                             "participant_key": "$response.body#/0/participant_key"}),
    "previewWeeklySetup": _to("run_id", "$response.body#/job_run_id", "getJob"),
    "applyWeeklySetup": _to("run_id", "$response.body#/job_run_id", "getJob"),
    "listJobs": _to("run_id", "$response.body#/0/id", "getJob"),
}


def _id(name: str) -> J:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": ID_PARAM_MAX}}


WEEK_Q: J = {"name": "week", "in": "query", "required": False,
             "schema": {"type": "string", "pattern": WEEK_PATTERN}, "description": "ISO week, default this week"}
DAY_PARAM: J = {"name": "day", "in": "path", "required": True,
                "schema": {"type": "string", "format": "date", "pattern": DAY_PATTERN},
                "description": "The work day, e.g. 2026-11-24; a text that is not a calendar date answers 404"}
COMMON = {"401": _err("Not logged in / no valid token")}
NOTFOUND = {"404": _err("Not found or not visible to you")}
BAD = {"400": _err("Invalid request")}
REFUSED = {"409": _err("The day cannot take this: not a work day of the client, not a day they are "
                             "expected on, or an absence recorded in advance (the message names the field)")}


def _op(op_id: str, summary: str, responses: J, params: list[J] | None = None, body: J | None = None) -> J:
    if op_id in LINKS:
        success = next(code for code in responses if code.startswith("2"))
        responses = {**responses, success: {**responses[success], "links": LINKS[op_id]}}
    out: J = {"operationId": op_id, "summary": summary, "responses": {**responses, **COMMON}}
    if params:
        out["parameters"] = params
    if body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return out


CHANGE_ANSWERS: J = {"200": _ok(_ref("ClientChange")), **BAD, "403": _err("Not a client of your groups"),
                    **NOTFOUND, "409": _err("Cannot run now (weekly setup running, not configured)"),
                    "502": _err("The tenant failed (credentials, outage)")}


def _array(name: str) -> J:
    return {"type": "array", "items": _ref(name)}


PATHS: J = {
    "/me": {"get": _op("me", "Who am I", {"200": _ok(_ref("Me"))})},
    "/organisations": {"get": _op("listOrganisations", "Organisations (admin)",
                                  {"200": _ok(_array("Organisation")), "403": _err("Admins only")})},
    "/organisations/{org_id}": {"get": _op("getOrganisation", "One organisation with its groups (admin)",
                                           {"200": _ok(_ref("OrganisationDetail")), "403": _err("Admins only"),
                                            **NOTFOUND}, [_id("org_id")])},
    "/groups": {"get": _op("listGroups", "Groups visible to you", {"200": _ok(_array("Group"))})},
    "/groups/{group_id}": {"get": _op("getGroup", "One group", {"200": _ok(_ref("Group")), **NOTFOUND},
                                      [_id("group_id")])},
    "/groups/{group_id}/clients": {"get": _op("listGroupClients", "The group's clients and their periods",
                                              {"200": _ok(_array("Client")), **BAD, **NOTFOUND},
                                              [_id("group_id"), WEEK_Q])},
    "/clients/{client_id}": {"get": _op("getClient", "One client with periods",
                                        {"200": _ok(_ref("Client")), **NOTFOUND}, [_id("client_id")])},
    "/clients/{client_id}/move": {"post": _op(
        "moveClient", "Move the client to another group from a date (the days before stay as they were); "
                      "a preview unless confirm is true",
        CHANGE_ANSWERS, [_id("client_id")], _ref("MoveRequest"))},
    "/clients/{client_id}/end": {
        "post": _op("endPeriod", "End the client's period early (keskeytys): access, future messages and "
                                 "invitations end; a preview unless confirm is true",
                    CHANGE_ANSWERS, [_id("client_id")], _ref("EndRequest")),
        "delete": _op("undoEndPeriod", "Undo the client's early end; a preview unless confirm=true",
                      CHANGE_ANSWERS, [_id("client_id"), {"name": "confirm", "in": "query", "required": False,
                                                          "schema": {"type": "string", "enum": ["true", "false"]}}])},
    "/groups/{group_id}/work-days": {"get": _op("listWorkDays", "Work days of a week",
                                                {"200": _ok(_array("WorkDay")), **BAD, **NOTFOUND},
                                                [_id("group_id"), WEEK_Q])},
    "/groups/{group_id}/attendance": {"get": _op("attendanceGrid", "Attendance grid of a week",
                                                 {"200": _ok(_ref("AttendanceGrid")), **BAD, **NOTFOUND},
                                                 [_id("group_id"), WEEK_Q])},
    "/attendance/{attendance_day_id}/correction": {"post": _op(
        "correctAttendance", "A coordinator's decision on one day, with its reason",
        {"200": _ok(_ref("AttendanceCell")), **BAD, **NOTFOUND, **REFUSED}, [_id("attendance_day_id")],
        _ref("Correction"))},
    "/clients/{client_id}/attendance/{day}": {"post": _op(
        "correctClientDay", "A decision on the client's work day, in advance (excused or present) or afterwards",
        {"200": _ok(_ref("CorrectionOutcome")), **BAD, **NOTFOUND, **REFUSED}, [_id("client_id"), DAY_PARAM],
        _ref("Correction"))},
    "/clients/{client_id}/attendance/{day}/revert": {"post": _op(
        "revertClientDay", "The client's day back to its computed status (the decision removed, audited)",
        {"200": _ok(_ref("CorrectionOutcome")), **BAD, **NOTFOUND, **REFUSED}, [_id("client_id"), DAY_PARAM],
        _ref("Revert"))},
    "/clients/{client_id}/attendance/{day}/history": {"get": _op(
        "clientDayHistory", "Every correction of the client's day, oldest first",
        {"200": _ok(_array("CorrectionEvent")), **BAD, **NOTFOUND}, [_id("client_id"), DAY_PARAM])},
    "/groups/{group_id}/unmatched-attendees": {"get": _op(
        "listUnmatchedAttendees", "Meeting attendees of this group nobody could place",
        {"200": _ok(_array("Unmatched")), **NOTFOUND}, [_id("group_id")])},
    "/groups/{group_id}/identity-mappings": {"post": _op(
        "mapAttendee", "Map an unmatched attendee to a client of the group, once; their days are re-evaluated",
        {"200": _ok(_ref("Mapped")), **BAD, **NOTFOUND}, [_id("group_id")], _ref("Mapping"))},
    "/jobs/weekly-setup/preview": {"post": _op(
        "previewWeeklySetup", "Dry-run: the plan of next week's setup, nothing written to the tenant",
        {"200": _ok(_ref("Preview")), **BAD, **NOTFOUND, "409": _err("Cannot run now (lock held, not configured)"),
         "502": _err("The tenant failed (credentials, outage)")},
        body=_ref("SetupRequest"))},
    "/jobs/weekly-setup/apply": {"post": _op(
        "applyWeeklySetup", "Apply the setup in the background; follow GET /jobs/{run_id}",
        {"202": _ok(_ref("Started"), "Started"), **BAD, **NOTFOUND, "403": _err("Only an admin may force a past week"),
         "409": _err("Cannot run now (lock held, not configured)")}, body=_ref("SetupRequest"))},
    "/jobs": {"get": _op("listJobs", "Recent job runs visible to you", {"200": _ok(_array("JobRun")), **BAD},
                         [{"name": "kind", "in": "query", "required": False,
                           "schema": {"type": "string", "pattern": JOB_KIND_PATTERN}}])},
    "/jobs/{run_id}": {"get": _op("getJob", "One job run with progress, errors and plan",
                                  {"200": _ok(_ref("JobRun")), **NOTFOUND}, [_id("run_id")])},
    "/groups/{group_id}/register": {"get": _op(
        "downloadRegister", "The month's attendance register as CSV or XLSX",
        {"200": {"description": "The file", "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                {"schema": {"type": "string", "format": "binary"}}}},
         **BAD, **NOTFOUND, "409": _err("The organisation's rules (daily compensation rate) cannot be read "
                                       "from the configuration: no register at a default rate")},
        [_id("group_id"),
         {"name": "month", "in": "query", "required": False, "schema": {"type": "string", "pattern": MONTH_PATTERN}},
         {"name": "format", "in": "query", "required": False,
          "schema": {"type": "string", "enum": ["csv", "xlsx"]}}])},
    "/openapi.json": {"get": _op("openapi", "This document", {"200": _ok({"type": "object"})})},
}


def document() -> J:
    return {
        "openapi": "3.0.3",
        "info": {"title": "integrator API", "version": __version__,
                 "description": "Remote rehabilitative work activity: groups, clients, work days, attendance "
                                "and jobs. Clients appear by pseudonymous code and id, never by email."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API token (integrator staff token create)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "integrator_session"}},
            "schemas": SCHEMAS},
        "paths": PATHS,
    }


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())
