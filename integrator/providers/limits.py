"""Every vendor limit the product keeps to, in one place, each with where the vendor says so.

Where our number is below the vendor's maximum, the comment says which is which: the vendor's
figure is the ceiling, ours is what we send. Retry and backoff settings are not vendor limits;
they are our policy (integrator.providers.retry.RetryPolicy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# ---- batch envelopes -------------------------------------------------------------------------

#: Most calls one Google batch envelope carries, per API.
#:   classroom 50: "You're limited to 50 calls in a single batch request."
#:       https://developers.google.com/workspace/classroom/best-practices/batch
#:   drive 100: "You're limited to 100 calls in a single batch request."
#:       https://developers.google.com/workspace/drive/api/guides/performance#batch-requests
#:   calendar 50: the vendor allows 1,000 calls a batch; we send 50, as for Classroom.
#:       https://developers.google.com/workspace/calendar/api/guides/batch
#:   gmail 50: the vendor allows 100 and advises against more than 50 (rate limiting).
#:       https://developers.google.com/workspace/gmail/api/guides/batch
#:   meet 50, forms 50: neither API documents a batch maximum (their discovery documents have a
#:       batchPath); 50 is our choice. (Forms calls are not batched today.)
GOOGLE_BATCH_LIMITS: Final[Mapping[str, int]] = {
    "classroom": 50, "drive": 100, "calendar": 50, "gmail": 50, "meet": 50, "forms": 50,
}

#: Graph JSON batching: "JSON batch requests are currently limited to 20 individual requests."
#:   https://learn.microsoft.com/graph/json-batching
GRAPH_BATCH_LIMIT: Final = 20

#: (How a vendor says that a daily quota is used up, e.g. Gmail's dailyLimitExceeded, is error
#: classification, not a number to keep to: integrator.providers.google.errors.DAILY_REASONS.)

# ---- pages and counts ------------------------------------------------------------------------

#: Drive files.list and changes.list: "The maximum value is 1000" (pageSize).
#:   https://developers.google.com/workspace/drive/api/reference/rest/v3/files/list
#:   https://developers.google.com/workspace/drive/api/reference/rest/v3/changes/list
DRIVE_PAGE_SIZE_MAX: Final = 1000

#: Drive files.generateIds: count is 1..1000 (the API's discovery document, "maximum": "1000").
#:   https://developers.google.com/workspace/drive/api/reference/rest/v3/files/generateIds
DRIVE_GENERATE_IDS_MAX: Final = 1000

#: Meet conferenceRecords.list: "The maximum value is 100; values above 100 are coerced to 100."
#:   https://developers.google.com/workspace/meet/api/reference/rest/v2/conferenceRecords/list
MEET_CONFERENCE_RECORDS_PAGE_MAX: Final = 100

#: Forms responses.list pageSize: "If unspecified or zero, at most 5000 responses are returned."
#:   https://developers.google.com/workspace/forms/api/reference/rest/v1/forms.responses/list
FORMS_RESPONSES_PAGE_MAX: Final = 5000

# ---- request rates -------------------------------------------------------------------------

#: Google's per-user per-minute request quotas the weekly apply schedules by (buckets.py: the
#: bucket with the most queued work for its rate is served first; it is the one that sets how
#: long the run must take). Google counts them per acting user; the ceiling is Google's, we do
#: not throttle ahead of it (a 429 with Retry-After says when the next window opens).
#:   classroom 1,200 per user (and 3,000 per project) a minute:
#:       https://developers.google.com/workspace/classroom/limits
#:   drive 12,000 per user a minute: https://developers.google.com/workspace/drive/api/guides/limits
#:   calendar 600 per user a minute: https://developers.google.com/workspace/calendar/api/guides/quota
#:   meet 6,000 per user a minute: https://developers.google.com/workspace/meet/api/guides/limits
GOOGLE_PER_USER_PER_MINUTE: Final[Mapping[str, int]] = {
    "classroom": 1200, "drive": 12000, "calendar": 600, "meet": 6000,
}

#: Forms API quotas, requests per minute as (per project, per user per project), by kind:
#:   read (forms.get ...) 975 / 390; expensive read ("Used for forms.responses.list requests")
#:   450 / 180; write (create, batchUpdate, setPublishSettings) 375 / 150. No daily limit. Over
#:   a quota the answer is 429 (Retriable: the shared RetryPolicy backs off).
#:   https://developers.google.com/workspace/forms/api/limits
#: Making one survey form costs at most 3 Forms writes (create, batchUpdate, setPublishSettings)
#: and reading its answers one expensive read per page: far inside these figures, so nothing
#: throttles ahead of them.
FORMS_QUOTAS_PER_MINUTE: Final[Mapping[str, tuple[int, int]]] = {
    "read": (975, 390), "expensive_read": (450, 180), "write": (375, 150),
}

# ---- sending mail ----------------------------------------------------------------------------

#: Letters a sending mailbox may send, by mailer: (per minute, per day).
#:   gmail per minute 60: messages.send costs 100 quota units of the per-user per-minute quota;
#:       60 a minute keeps well inside it.
#:       https://developers.google.com/workspace/gmail/api/reference/quota
#:   gmail per day 2,000: Google Workspace sending limit, messages per user per day.
#:       https://support.google.com/a/answer/166852
#:   graph per minute 30: Exchange Online message rate limit, 30 messages a minute.
#:   graph per day 10,000: Exchange Online recipient rate limit, 10,000 recipients a day.
#:       https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits#sending-limits
#: An organisation's `mail.per_minute` / `mail.per_day` may set lower figures.
MAIL_SENDING_LIMITS: Final[Mapping[str, tuple[int, int]]] = {"gmail": (60, 2000), "graph": (30, 10000)}
