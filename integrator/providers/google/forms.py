"""Google Forms v1: an evaluation survey's form, made once and found again, and its answers.

Every call acts as the form's owner (the coordinator) through domain-wide delegation, with the
Drive scope the tenant already grants (client.SCOPES["forms"]).

Finding a form again (idempotent under re-runs, crashes and lost answers)
    ``forms.create`` takes nothing but ``info.title`` and ``info.documentTitle`` ("All other
    fields including the form description, items and settings are disallowed";
    developers.google.com/workspace/forms/api/reference/rest/v1/forms/create) and has no
    idempotency key. ``documentTitle`` is the form's Drive file name, so the one atomic place for
    our marker is there: the name starts with it, and a Drive ``files.list`` for
    ``mimeType = 'application/vnd.google-apps.form' and name contains '<marker>'`` finds the form
    even when the create's answer was lost. Drive's ``q`` has no term for a description, and
    ``contains`` "only performs prefix matching for a name term" (Drive guides/ref-search-terms),
    hence the marker first. appProperties would need a second write after the create: a lost
    answer in between would leave a form nobody finds.

Completing it, in an order whose every step can be checked by reading
    1. create, unpublished (``unpublished=true``): nobody can answer a half-made form;
    2. ONE ``forms.batchUpdate`` (atomic: "All the specified updates are made or none of them
       are"): ``updateFormInfo`` (the description, ending with the marker line),
       ``updateSettings`` (``emailCollectionType`` DO_NOT_COLLECT unless asked) and a
       ``createItem`` for each question missing, with our own itemId and questionId;
    3. ``forms.setPublishSettings``: published and accepting responses (forms the API makes
       after June 30, 2026 start unpublished anyway: guides/api-changes-to-google-forms);
    4. the responders, a Drive permission with ``view: "published"``: ``anyone`` (no sign-in)
       unless sign-in is asked for, then the owner's domain (googleworkspace/python-samples
       forms/snippets/anyone_with_link_responder.py; guides/publish-form).
    A re-run reads the Drive listing (with the published-view permissions) and the form, and
    does only the steps whose effect is missing. Writes are sent once each (``retry=False``);
    when one fails retriably the whole pass starts again from the listing, under the client's
    RetryPolicy, so a write whose answer was lost is found done instead of repeated.

Requests: a new form costs 5 (files.list, create, batchUpdate, setPublishSettings,
permissions.create); an existing complete form 2 (files.list, get).

Answers
    ``forms.responses.list`` with ``filter=timestamp > <RFC3339>`` when ``after`` is given, every
    page; each answer is ``answers[questionId].textAnswers.answers[].value`` (a choice's text,
    a scale's number as a string, a text as written).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from integrator.providers.google.client import GoogleClient

Json = dict[str, Any]
log = logging.getLogger(__name__)

FORM = "application/vnd.google-apps.form"
KINDS = ("choice", "scale", "text")
#: Item and question ids we choose: hexadecimal, at most 8 characters (the shape of the ids
#: Forms assigns; the reference documents no format, so we keep to that one).
_HEX_ID = re.compile(r"^[0-9a-f]{1,8}$")
#: A marker is meaningless and safe inside a Drive query string (no quotes, no spaces).
_MARKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")
MARKER_LINE = "Tunniste: "


@dataclass(frozen=True)
class FormItem:
    """One question of the form, in order."""

    question_id: str  # our stable id, hex, <= 8 chars: sent as the questionId
    title: str
    kind: str  # "choice" | "scale" | "text"
    options: tuple[str, ...] = ()  # choice options in order
    low: int = 1
    high: int = 5
    low_label: str = ""
    high_label: str = ""
    required: bool = False
    paragraph: bool = False  # text: a paragraph rather than a short answer
    multiple: bool = False  # choice: checkboxes (several answers) rather than radio buttons


@dataclass(frozen=True)
class FormRef:
    form_id: str
    responder_uri: str


@dataclass(frozen=True)
class FormAnswer:
    response_id: str
    submitted_at: datetime  # lastSubmittedTime (aware, UTC)
    answers: dict[str, list[str]]  # question_id -> values


# ---- pure mappings ---------------------------------------------------------------------------


def item_id_for(question_id: str) -> str:
    """The itemId of the item holding a question: derived, so that a re-run sends the same one."""
    return hashlib.sha256(f"item:{question_id}".encode()).hexdigest()[:8]


def check_items(items: Sequence[FormItem]) -> None:
    """Refuse a question list Forms would refuse, or that could not be matched to its answers."""
    seen: set[str] = set()
    for item in items:
        where = f"question {item.question_id!r}"
        if not _HEX_ID.match(item.question_id):
            raise ValueError(f"{where}: question_id must be 1-8 lowercase hexadecimal characters")
        if item.question_id in seen:
            raise ValueError(f"{where}: question_id appears twice")
        seen.add(item.question_id)
        if item.kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, not {item.kind!r}")
        if not item.title.strip():
            raise ValueError(f"{where}: title is empty")
        if item.kind == "choice" and (not item.options or len(set(item.options)) != len(item.options)
                                      or any(not o.strip() for o in item.options)):
            raise ValueError(f"{where}: a choice needs distinct, non-empty options")
        if item.kind == "scale" and not (item.low in (0, 1) and 2 <= item.high <= 10):
            # The limits of a linear scale in Google Forms: from 0 or 1 up to 2..10.
            raise ValueError(f"{where}: a scale runs from 0 or 1 to 2..10, not {item.low}..{item.high}")
    clash = seen & {item_id_for(q) for q in seen}
    if clash:
        raise ValueError(f"question ids {sorted(clash)} collide with derived item ids; choose others")


def check_marker(marker: str) -> None:
    if not _MARKER.match(marker):
        raise ValueError(f"marker must be 4-64 letters, digits, '-' or '_' (starting with a letter or digit), "
                         f"not {marker!r}")


def document_title(marker: str, title: str) -> str:
    """The form's Drive file name: the marker first (Drive matches names by prefix)."""
    return f"{marker} {title}".strip()


def form_query(marker: str) -> str:
    return f"mimeType = '{FORM}' and name contains '{marker}' and trashed = false"


def description_with_marker(description: str, marker: str) -> str:
    return f"{description.rstrip()}\n\n{MARKER_LINE}{marker}".lstrip()


def question_body(item: FormItem) -> Json:
    question: Json = {"questionId": item.question_id, "required": item.required}
    if item.kind == "choice":
        question["choiceQuestion"] = {"type": "CHECKBOX" if item.multiple else "RADIO",
                                      "options": [{"value": o} for o in item.options]}
    elif item.kind == "scale":
        scale: Json = {"low": item.low, "high": item.high}
        if item.low_label:
            scale["lowLabel"] = item.low_label
        if item.high_label:
            scale["highLabel"] = item.high_label
        question["scaleQuestion"] = scale
    else:
        question["textQuestion"] = {"paragraph": item.paragraph}
    return question


def create_item_request(item: FormItem, index: int) -> Json:
    return {"createItem": {
        "item": {"itemId": item_id_for(item.question_id), "title": item.title,
                 "questionItem": {"question": question_body(item)}},
        "location": {"index": index},
    }}


def question_ids_of(form: Json) -> set[str]:
    found: set[str] = set()
    for item in form.get("items") or []:
        question = (item.get("questionItem") or {}).get("question") or {}
        if question.get("questionId"):
            found.add(str(question["questionId"]))
    return found


def completion_requests(form: Json, marker: str, description: str, items: Sequence[FormItem],
                        email_collection: str) -> list[Json]:
    """The batchUpdate requests a form still needs: description, settings, missing questions."""
    requests: list[Json] = []
    info = form.get("info") or {}
    if (MARKER_LINE + marker) not in (info.get("description") or ""):
        requests.append({"updateFormInfo": {"info": {"description": description_with_marker(description, marker)},
                                            "updateMask": "description"}})
    if (form.get("settings") or {}).get("emailCollectionType") != email_collection:
        requests.append({"updateSettings": {"settings": {"emailCollectionType": email_collection},
                                            "updateMask": "emailCollectionType"}})
    present = question_ids_of(form)
    # batchUpdate is all-or-nothing, so our questions are either all there or none; any missing
    # (someone deleted one by hand) are appended in order after what is there.
    at = len(form.get("items") or [])
    for item in items:
        if item.question_id not in present:
            requests.append(create_item_request(item, at))
            at += 1
    return requests


def responder_permission(sign_in_required: bool, owner: str) -> Json:
    if sign_in_required:
        return {"type": "domain", "domain": owner.rsplit("@", 1)[-1], "role": "reader", "view": "published"}
    return {"type": "anyone", "role": "reader", "view": "published"}


def has_responders(permissions: Sequence[Json], wanted: Json) -> bool:
    return any(all(p.get(k) == v for k, v in wanted.items()) for p in permissions)


def is_published(form: Json) -> bool:
    settings = form.get("publishSettings")
    if settings is None:
        return True  # a legacy form has no publish settings: it takes answers as it always did
    state = settings.get("publishState") or {}
    return bool(state.get("isPublished")) and bool(state.get("isAcceptingResponses"))


def parse_time(text: str) -> datetime:
    """Google's RFC3339 'Z' time, whose fraction may run to nanoseconds, as an aware datetime."""
    text = re.sub(r"\.(\d{1,6})\d*Z$", lambda m: "." + m.group(1).ljust(6, "0") + "Z", text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def rfc3339(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("aware datetime required")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def answer_of(response: Json) -> FormAnswer:
    answers: dict[str, list[str]] = {}
    for qid, answer in (response.get("answers") or {}).items():
        values = [str(a.get("value", "")) for a in ((answer.get("textAnswers") or {}).get("answers") or [])]
        answers[str(qid)] = values
    stamp = response.get("lastSubmittedTime") or response["createTime"]
    return FormAnswer(str(response["responseId"]), parse_time(str(stamp)), answers)


# ---- calls -----------------------------------------------------------------------------------


def _find(gc: GoogleClient, owner: str, marker: str) -> Json | None:
    files = gc.collection("drive", "files", subject=owner)
    found = gc.collect(files.list(q=form_query(marker), orderBy="createdTime", includePermissionsForView="published",
                                  fields="nextPageToken,files(id,name,createdTime,permissions(id,type,role,view,domain))"),
                       "files")
    # `contains` matches prefixes: "ktt-1" would also find "ktt-12 ...".
    ours = [f for f in found if str(f.get("name", "")).split(" ", 1)[0] == marker]
    if len(ours) > 1:
        log.warning("several survey forms carry one marker; the oldest is used",
                    extra={"form_ids": [f["id"] for f in ours]})
    return ours[0] if ours else None


def _complete(gc: GoogleClient, owner: str, marker: str, title: str, items: Sequence[FormItem], description: str,
              sign_in_required: bool, collect_email: bool) -> FormRef:
    forms = gc.collection("forms", "forms", subject=owner)
    found = _find(gc, owner, marker)
    if found is None:
        body = {"info": {"title": title, "documentTitle": document_title(marker, title)}}
        form: Json = gc.execute(forms.create(body=body, unpublished=True), retry=False)
        permissions: list[Json] = []
    else:
        form = gc.execute(forms.get(formId=found["id"]), retry=False)
        permissions = list(found.get("permissions") or [])
    form_id = str(form["formId"])
    requests = completion_requests(form, marker, description, items,
                                   "VERIFIED" if collect_email else "DO_NOT_COLLECT")
    if requests:
        gc.execute(forms.batchUpdate(formId=form_id, body={"requests": requests}), retry=False)
    if not is_published(form):
        publish = {"publishSettings": {"publishState": {"isPublished": True, "isAcceptingResponses": True}},
                   "updateMask": "publishState"}
        gc.execute(forms.setPublishSettings(formId=form_id, body=publish), retry=False)
    wanted = responder_permission(sign_in_required, owner)
    if not has_responders(permissions, wanted):
        perms = gc.collection("drive", "permissions", subject=owner)
        # (No sendNotificationEmail: Drive allows it only for users and groups.)
        gc.execute(perms.create(fileId=form_id, body=wanted, fields="id"), retry=False)
    return FormRef(form_id, str(form["responderUri"]))


def find_or_create_form(gc: GoogleClient, owner: str, marker: str, title: str, items: Sequence[FormItem], *,
                        description: str = "", sign_in_required: bool = False,
                        collect_email: bool = False) -> FormRef:
    """The owner's form carrying `marker`, made and completed if need be (see the module).

    `marker` is meaningless and unique to the survey (no names, no client codes): it starts the
    form's Drive name and ends its description. Responders need no sign-in unless
    `sign_in_required` (then only the owner's domain may answer); e-mail addresses are not
    collected unless `collect_email` (verified addresses; needs sign-in).
    """
    check_marker(marker)
    check_items(items)
    if collect_email and not sign_in_required:
        raise ValueError("collect_email needs sign_in_required: Forms verifies addresses by sign-in")
    return gc.policy.call(lambda: _complete(gc, owner, marker, title, items, description, sign_in_required,
                                            collect_email))


def list_responses(gc: GoogleClient, owner: str, form_id: str, after: datetime | None) -> list[FormAnswer]:
    """Every response submitted after `after` (all when None), oldest first, every page read.

    A response edited after `after` comes again with the same response_id: keep the latest.
    """
    params: Json = {"formId": form_id}
    if after is not None:
        params["filter"] = f"timestamp > {rfc3339(after)}"
    responses = gc.collection("forms", "forms.responses", subject=owner)
    found = [answer_of(r) for r in gc.collect(responses.list(**params), "responses")]
    return sorted(found, key=lambda a: (a.submitted_at, a.response_id))
