"""Forms v1 responses: forms.responses.list and get, and the ``submit_response`` simulation.

Where the vendor says so (developers.google.com/workspace/forms/api/reference/rest/v1/forms.responses):
- list ``filter``: "the only supported filters are: timestamp > N ... timestamp >= N", N in
  RFC3339 UTC "Zulu" format; anything else is 400 INVALID_ARGUMENT.
- list ``pageToken``: "the form and the values of the filter must be the same as for the
  original request" (a token carries its filter here, and a different one is refused).
- list omits ``formId`` in each FormResponse ("The formId field is not returned ... for list").
- TextAnswer.value: a choice is the option's text, a scale "the number as a string", a text
  question the text as entered.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

from integrator.sandbox.google import drive
from integrator.sandbox.google.errors import invalid, not_found
from integrator.sandbox.google.forms import Response, StoredForm, lookup
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.tenant import GoogleTenant
from integrator.sandbox.google.util import page, parse_time, rfc3339

Json = dict[str, Any]
_FILTER = re.compile(r"^\s*timestamp\s*(>=|>)\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z)\s*$")
#: forms.responses.list pageSize: "If unspecified or zero, at most 5000 responses are returned."
PAGE_MAX = 5000


def response_json(form: StoredForm, response: Response, with_form_id: bool) -> Json:
    body: Json = {
        "responseId": response.response_id,
        "createTime": rfc3339(response.created),
        "lastSubmittedTime": rfc3339(response.submitted),
        "answers": {
            qid: {"questionId": qid, "textAnswers": {"answers": [{"value": v} for v in values]}}
            for qid, values in response.answers.items()
        },
    }
    if response.email is not None:
        body["respondentEmail"] = response.email
    if with_form_id:
        body["formId"] = form.form_id
    return body


def _after(text: str | None) -> tuple[str, datetime] | None:
    if not text:
        return None
    found = _FILTER.match(text)
    if not found:
        raise invalid(f"Invalid filter: {text}. Supported: timestamp > N and timestamp >= N (RFC3339 UTC).",
                      reason="invalid", location="filter")
    # Nanoseconds do not fit a datetime; the sandbox keeps milliseconds anyway.
    stamp = re.sub(r"\.(\d{1,6})\d*Z$", lambda m: "." + m.group(1).ljust(6, "0") + "Z", found.group(2))
    return found.group(1), parse_time(stamp)


@handles("forms.forms.responses.list")
def list_responses(call: Call) -> Json:
    form = lookup(call)
    flt = call.param("filter")
    after = _after(flt)
    chosen = [r for r in sorted(form.responses, key=lambda r: (r.submitted, r.response_id))
              if after is None or (r.submitted > after[1] if after[0] == ">" else r.submitted >= after[1])]
    token = call.param("pageToken")
    offset_token = None
    if token:
        try:
            offset, _, bound = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        except ValueError:
            raise invalid("The page token is invalid.", reason="invalid", location="pageToken") from None
        if bound != (flt or ""):
            raise invalid("The filter must be the same as in the request that returned the page token.",
                          reason="invalid", location="pageToken")
        offset_token = offset
    size = int(call.param("pageSize") or 0) or PAGE_MAX
    chunk, following = page(chosen, offset_token, min(size, PAGE_MAX), call.tenant.state.page_size)
    body: Json = {"responses": [response_json(form, r, with_form_id=False) for r in chunk]}
    if following:
        body["nextPageToken"] = base64.urlsafe_b64encode(f"{following}|{flt or ''}".encode()).decode()
    return body


@handles("forms.forms.responses.get")
def get_response(call: Call) -> Json:
    form = lookup(call)
    for response in form.responses:
        if response.response_id == call.params["responseId"]:
            return response_json(form, response, with_form_id=True)
    raise not_found()


# ---- simulation ----


def _may_respond(tenant: GoogleTenant, form_id: str, email: str | None) -> bool:
    """Responders are the form's published-view permissions (anyone, the domain, or people)."""
    record = tenant.drive.files[form_id]
    user = tenant.user(email) if email else None
    if user is not None and drive.role_of(tenant, user, record) is not None:
        return True  # the owner and editors may always answer
    for perm in record.permissions:
        if perm.get("view") != "published":
            continue
        if perm.get("type") == "anyone":
            return True
        if user is None or user.external:
            continue
        if perm.get("type") == "domain" and perm.get("domain") == tenant.domain:
            return True
        if perm.get("emailAddress") == user.email:
            return True
    return False


def _check_answer(question: Json, qid: str, values: list[str]) -> None:
    if "choiceQuestion" in question:
        choice = question["choiceQuestion"]
        options = [o.get("value") for o in choice.get("options", [])]
        if choice.get("type") != "CHECKBOX" and len(values) > 1:
            raise ValueError(f"question {qid} takes one choice, got {values}")
        for value in values:
            if value not in options:
                raise ValueError(f"{value!r} is not an option of question {qid}: {options}")
    elif "scaleQuestion" in question:
        scale = question["scaleQuestion"]
        if len(values) != 1 or not values[0].isdigit() or not int(scale["low"]) <= int(values[0]) <= int(scale["high"]):
            raise ValueError(f"question {qid} takes one number from {scale['low']} to {scale['high']}, got {values}")
    elif len(values) != 1:
        raise ValueError(f"question {qid} takes one text, got {values}")


def submit_response(tenant: GoogleTenant, form_id: str, answers: dict[str, list[str]], at: datetime | None = None,
                    email: str | None = None) -> str:
    """A responder submits the form through its responder link; returns the response id.

    Refused (PermissionError) when the form does not accept responses or the responder may not
    answer it (no sign-in: only an "anyone" published permission lets an anonymous responder in);
    ValueError for an answer the form would not take (an unknown question, a value outside the
    options or the scale, a required question left empty).
    """
    with tenant.state.lock:
        form = tenant.forms.forms.get(form_id)
        if form is None or form_id not in tenant.drive.files:
            raise KeyError(f"no form {form_id}")
        if not (form.published and form.accepting):
            raise PermissionError(f"form {form_id} is not accepting responses")
        if not _may_respond(tenant, form_id, email):
            raise PermissionError(f"form {form_id} asks the responder to sign in" if email is None
                                  else f"{email} may not respond to form {form_id}")
        questions = {str(i["questionItem"]["question"]["questionId"]): i["questionItem"]["question"]
                     for i in form.items if "questionItem" in i}
        clean = {qid: [str(v) for v in values] for qid, values in answers.items() if values}
        for qid, values in clean.items():
            if qid not in questions:
                raise ValueError(f"form {form_id} has no question {qid}")
            _check_answer(questions[qid], qid, values)
        missing = [qid for qid, q in questions.items() if q.get("required") and qid not in clean]
        if missing:
            raise ValueError(f"required questions left unanswered: {missing}")
        when = at or tenant.state.clock.now()
        when = when.replace(microsecond=when.microsecond // 1000 * 1000)  # Google's stamps: milliseconds
        response_id = "ACYDBN" + tenant.new_id(40, alphabet=drive.ID_ALPHABET)
        collect = form.settings.get("emailCollectionType") not in (None, "DO_NOT_COLLECT", "EMAIL_COLLECTION_TYPE_UNSPECIFIED")
        form.responses.append(Response(response_id, when, when, clean, email if collect else None))
        return response_id
