"""Forms v1: forms.create, get, batchUpdate and setPublishSettings (responses: ``forms_responses``).

A form is also a Drive file (``application/vnd.google-apps.form``) owned by its creator and
named by ``info.documentTitle`` (else ``info.title``), as in Google: the form id is the Drive file
id, ``files.list`` finds it by mimeType and name, and who may read or change it is Drive's
permission model. Responders are Drive permissions with ``view: "published"`` (see
``drive_sharing``): they never give access to the form's editor view.

Where the vendor says so (developers.google.com/workspace/forms/api/reference/rest/v1):
- forms.create: "Only the form.info.title and form.info.document_title fields are copied to the
  new form. All other fields including the form description, items and settings are disallowed."
  We answer 400 INVALID_ARGUMENT for any other field (the message text is ours).
- ``unpublished`` query parameter; without it a form is published "through June 30, 2026" and
  unpublished after that (guides/api-changes-to-google-forms): decided on the sandbox clock.
- Item.itemId / Question.questionId: "On creation, it can be provided but the ID must not be
  already used in the form." A reused id is 400 INVALID_ARGUMENT. The reference gives no id
  format; the ids Google assigns are up to 8 hex digits, and the sandbox refuses anything else
  rather than accept an id the real service might not.
- batchUpdate: "All the specified updates are made or none of them are"; ``Location.index``
  in [0..N]; updateMask required; ``documentTitle`` "cannot be modified by a batchUpdate".
- setPublishSettings: "both is_published and is_accepting_responses must be set", and
  accepting without being published "isn't supported and returns an error".
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integrator.sandbox.google import drive
from integrator.sandbox.google.errors import GoogleError, invalid, not_found, permission_denied
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.tenant import GoogleTenant, GoogleUser

Json = dict[str, Any]
FORM = "application/vnd.google-apps.form"
#: "forms created by the API after June 30, 2026 will be created in an unpublished state".
UNPUBLISHED_BY_DEFAULT_FROM = datetime(2026, 7, 1, tzinfo=UTC)
HEX_ID = re.compile(r"^[0-9a-f]{1,8}$")
_QUESTION_KINDS = ("choiceQuestion", "textQuestion", "scaleQuestion", "dateQuestion", "timeQuestion",
                   "fileUploadQuestion", "ratingQuestion", "rowQuestion")
_ITEM_KINDS = ("questionItem", "questionGroupItem", "pageBreakItem", "textItem", "imageItem", "videoItem")
_INFO_MASK = ("title", "description")
_SETTINGS_MASK = ("emailCollectionType", "quizSettings", "quizSettings.isQuiz")


@dataclass
class Response:
    response_id: str
    created: datetime
    submitted: datetime
    answers: dict[str, list[str]]
    email: str | None = None


@dataclass
class StoredForm:
    form_id: str
    info: Json
    settings: Json
    published_id: str
    published: bool
    accepting: bool
    items: list[Json] = field(default_factory=list)
    revision: int = 1
    responses: list[Response] = field(default_factory=list)

    def question_ids(self) -> set[str]:
        return {qid for item in self.items for qid in _questions_of(item)}


@dataclass
class FormsData:
    forms: dict[str, StoredForm] = field(default_factory=dict)
    #: What a new form's settings are before anyone changes them (a tenant may collect
    #: verified e-mail addresses by default: set this to {"emailCollectionType": "VERIFIED"}).
    default_settings: Json = field(default_factory=lambda: {"emailCollectionType": "DO_NOT_COLLECT"})


def _questions_of(item: Json) -> list[str]:
    if "questionItem" in item:
        return [str(item["questionItem"]["question"]["questionId"])]
    group = item.get("questionGroupItem") or {}
    return [str(q["questionId"]) for q in group.get("questions", [])]


def form_json(form: StoredForm) -> Json:
    body: Json = {
        "formId": form.form_id,
        "info": copy.deepcopy(form.info),
        "settings": copy.deepcopy(form.settings),
        "revisionId": f"{form.revision:08d}",
        "responderUri": f"https://docs.google.com/forms/d/e/{form.published_id}/viewform",
        "publishSettings": {"publishState": {"isPublished": form.published,
                                             "isAcceptingResponses": form.accepting}},
    }
    if form.items:
        body["items"] = copy.deepcopy(form.items)
    return body


def lookup(call: Call, write: bool = False) -> StoredForm:
    """The form behind ``formId`` as the caller may see it (Drive decides who may)."""
    form_id = call.params["formId"]
    return form_for(call.tenant, call.user, form_id, write)


def form_for(tenant: GoogleTenant, user: GoogleUser, form_id: str, write: bool = False) -> StoredForm:
    form = tenant.forms.forms.get(form_id)
    record = tenant.drive.files.get(form_id)
    if form is None or record is None:
        raise not_found()
    role = drive.role_of(tenant, user, record)
    if role is None or (write and role not in drive.WRITERS):
        raise permission_denied()
    return form


@handles("forms.forms.create")
def create_form(call: Call) -> Json:
    body: Json = call.body or {}
    info: Json = body.get("info") or {}
    extra = [k for k in body if k != "info"] + [f"info.{k}" for k in info if k not in ("title", "documentTitle")]
    if extra:
        raise invalid(f"Only info.title and info.document_title can be set when creating a form; "
                      f"set {', '.join(sorted(extra))} with forms.batchUpdate.")
    tenant = call.tenant
    title = str(info.get("title") or "")
    document_title = str(info.get("documentTitle") or title or "Untitled form")
    unpublished = call.param("unpublished")
    published = (not unpublished) if unpublished is not None else tenant.state.clock.now() < UNPUBLISHED_BY_DEFAULT_FROM
    record = drive.new_file(tenant, call.user, {"name": document_title, "mimeType": FORM},
                            [drive.root_of(tenant, call.user)], b"", None)
    form_id = str(record.resource["id"])
    published_id = "1FAIpQLS" + tenant.new_id(48, alphabet=drive.ID_ALPHABET)
    form = StoredForm(form_id, {"title": title, "documentTitle": document_title},
                      copy.deepcopy(tenant.forms.default_settings), published_id, published, published)
    tenant.forms.forms[form_id] = form
    return form_json(form)


@handles("forms.forms.get")
def get_form(call: Call) -> Json:
    return form_json(lookup(call))


@handles("forms.forms.batchUpdate")
def batch_update(call: Call) -> Json:
    form = lookup(call, write=True)
    body: Json = call.body or {}
    control = body.get("writeControl") or {}
    required = control.get("requiredRevisionId")
    if required is not None and required != f"{form.revision:08d}":
        raise invalid(f"The revision {required} is not the latest revision of the form.")
    requests = body.get("requests")
    if not requests:
        raise invalid("requests must not be empty.", reason="required", location="requests")
    # All or nothing: work on a copy and keep it only when every request applied.
    draft = copy.deepcopy(form)
    replies = [_apply(call.tenant, draft, request, i) for i, request in enumerate(requests)]
    draft.revision += 1
    call.tenant.forms.forms[form.form_id] = draft
    drive.record_change(call.tenant, call.tenant.drive.files[form.form_id])
    answer: Json = {"replies": replies, "writeControl": {"requiredRevisionId": f"{draft.revision:08d}"}}
    if body.get("includeFormInResponse"):
        answer["form"] = form_json(draft)
    return answer


def _apply(tenant: GoogleTenant, form: StoredForm, request: Json, index: int) -> Json:
    kinds = [k for k in request if request[k] is not None]
    if len(kinds) != 1:
        raise invalid(f"requests[{index}] must set exactly one kind of request.")
    kind = kinds[0]
    spec: Json = request[kind]
    if kind == "updateFormInfo":
        for name in _mask(spec, _INFO_MASK, index, "info"):
            value = (spec.get("info") or {}).get(name)
            if value is None:
                form.info.pop(name, None)
            else:
                form.info[name] = value
        return {}
    if kind == "updateSettings":
        for name in _mask(spec, _SETTINGS_MASK, index, "settings"):
            settings = spec.get("settings") or {}
            if name.startswith("quizSettings"):
                form.settings["quizSettings"] = {"isQuiz": bool((settings.get("quizSettings") or {}).get("isQuiz"))}
            elif settings.get(name) is not None:
                form.settings[name] = settings[name]
        return {}
    if kind == "createItem":
        return {"createItem": _create_item(tenant, form, spec, index)}
    raise GoogleError(501, f"{kind} is not implemented by the sandbox", "UNIMPLEMENTED")


def _mask(spec: Json, allowed: tuple[str, ...], index: int, root: str) -> list[str]:
    mask = str(spec.get("updateMask") or "").strip()
    if not mask:
        raise invalid(f"requests[{index}]: updateMask is required; at least one field must be specified.")
    if mask == "*":
        return [name for name in allowed if "." not in name]
    names = [m.strip() for m in mask.split(",")]
    for name in names:
        if name == "documentTitle" and root == "info":
            raise invalid("info.document_title cannot be modified by batchUpdate; use the Drive API.")
        if name not in allowed:
            raise invalid(f"requests[{index}]: updateMask names an unknown field: {root}.{name}")
    return names


def _new_id(tenant: GoogleTenant, taken: set[str]) -> str:
    while True:
        candidate = tenant.new_id(8, alphabet="0123456789abcdef")
        if candidate not in taken:
            return candidate


def _checked_id(given: Any, taken: set[str], what: str) -> str | None:
    if given is None:
        return None
    value = str(given)
    if not HEX_ID.match(value):
        raise invalid(f"Invalid {what} {value!r}: expected a hexadecimal string of at most 8 characters.")
    if value in taken:
        raise invalid(f"The {what} {value!r} is already used in this form.")
    return value


def _create_item(tenant: GoogleTenant, form: StoredForm, spec: Json, index: int) -> Json:
    item: Json = copy.deepcopy(spec.get("item") or {})
    location = spec.get("location")
    if location is None or location.get("index") is None:
        raise invalid(f"requests[{index}].create_item.location is required.")
    at = int(location["index"])
    if not 0 <= at <= len(form.items):
        raise invalid(f"requests[{index}]: location.index {at} is out of range [0, {len(form.items)}].")
    kinds = [k for k in _ITEM_KINDS if k in item]
    if len(kinds) != 1:
        raise invalid(f"requests[{index}].create_item.item must set exactly one kind of item.")
    item_ids = {str(i["itemId"]) for i in form.items}
    taken = item_ids | form.question_ids()
    item_id = _checked_id(item.get("itemId"), item_ids, "item ID") or _new_id(tenant, taken)
    taken.add(item_id)
    reply: Json = {"itemId": item_id}
    item["itemId"] = item_id
    if "questionItem" in item:
        question: Json = item["questionItem"].get("question") or {}
        _check_question(question, index)
        question_id = _checked_id(question.get("questionId"), form.question_ids(), "question ID") or _new_id(tenant, taken)
        question["questionId"] = question_id
        item["questionItem"]["question"] = question
        reply["questionId"] = [question_id]
    elif "questionGroupItem" in item:
        raise GoogleError(501, "questionGroupItem is not implemented by the sandbox", "UNIMPLEMENTED")
    form.items.insert(at, item)
    return reply


def _check_question(question: Json, index: int) -> None:
    kinds = [k for k in _QUESTION_KINDS if k in question]
    if len(kinds) != 1:
        raise invalid(f"requests[{index}]: a question must set exactly one kind of question.")
    choice = question.get("choiceQuestion")
    if choice is not None:
        if choice.get("type") in (None, "CHOICE_TYPE_UNSPECIFIED"):
            raise invalid(f"requests[{index}]: choiceQuestion.type is required.")
        values = [o.get("value") for o in choice.get("options") or [] if not o.get("isOther")]
        if not values or any(not v for v in values):
            raise invalid(f"requests[{index}]: choiceQuestion.options must have a value each.")
        if len(set(values)) != len(values):
            raise invalid(f"requests[{index}]: choiceQuestion.options must be unique.")
    scale = question.get("scaleQuestion")
    if scale is not None:
        low, high = scale.get("low"), scale.get("high")
        if low is None or high is None or int(low) >= int(high):
            raise invalid(f"requests[{index}]: scaleQuestion needs low < high.")


@handles("forms.forms.setPublishSettings")
def set_publish_settings(call: Call) -> Json:
    form = lookup(call, write=True)
    body: Json = call.body or {}
    mask = str(body.get("updateMask") or "*")
    if mask not in ("*", "publishState"):
        raise invalid(f"updateMask names an unknown field: {mask}")
    state = (body.get("publishSettings") or {}).get("publishState") or {}
    if state.get("isPublished") is None or state.get("isAcceptingResponses") is None:
        raise invalid("Both publish_state.is_published and publish_state.is_accepting_responses must be set.")
    if state["isAcceptingResponses"] and not state["isPublished"]:
        raise invalid("A form that is not published cannot accept responses.")
    form.published, form.accepting = bool(state["isPublished"]), bool(state["isAcceptingResponses"])
    return {"formId": form.form_id, "publishSettings": form_json(form)["publishSettings"]}
