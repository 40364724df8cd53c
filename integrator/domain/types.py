"""The domain's vocabulary: the closed sets of values the store, the rules and the pages share.

StrEnums, so that a value is its own lower-case word in the database, JSON and logs.
"""

from __future__ import annotations

import enum


class OrgKind(enum.StrEnum):
    MUNICIPALITY = "municipality"
    PROVIDER = "provider"


class StaffRole(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    SOCIAL_WORKER = "social_worker"  # a contact for alerts; never logs in


class SupportLevel(enum.StrEnum):
    """Digital support need, the four levels of the Raisio pilot survey."""

    A_LOT = "a_lot"
    A_LITTLE = "a_little"
    NONE = "none"
    HELPS_OTHERS = "helps_others"


class ServiceModel(enum.StrEnum):
    LONG_TERM = "long_term"  # over 3 months
    SHORT_TERM = "short_term"  # 3 months
    INTERVAL = "interval"  # about 2 weeks, e.g. while the centre is closed
    HYBRID = "hybrid"  # on site some days, remote on others


class MeetingProvider(enum.StrEnum):
    TEAMS = "teams"
    MEET = "meet"


class WorkDayStatus(enum.StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


class VariantKind(enum.StrEnum):
    STANDARD = "standard"
    PLAIN_LANGUAGE = "plain_language"  # selkokieli
    EASIER = "easier"
    HARDER = "harder"


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    PENDING = "pending"  # evidence not yet available (meeting report not ready)
    EXCUSED = "excused"  # set by a coordinator, e.g. sick leave


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed; provider call in flight
    SENT = "sent"
    PARKED = "parked"  # over a sending limit; resumed later
    FAILED = "failed"
    CANCELLED = "cancelled"
    # The run stopped, or the provider answered 5xx, while sending: maybe sent. Never resent
    # automatically; a coordinator checks the sender's Sent Items and requeues or drops it.
    UNCERTAIN = "uncertain"


class MessageKind(enum.StrEnum):
    WEEKLY_LETTER = "weekly_letter"
    REMINDER = "reminder"
    ABSENCE_ALERT = "absence_alert"
    # "The alert you got no longer holds": one per alert, to the same social worker.
    ABSENCE_ALERT_CORRECTION = "absence_alert_correction"
    # An evaluation survey's link when no weekly letter carried it, and its one reminder.
    SURVEY = "survey"
    SURVEY_REMINDER = "survey_reminder"


class JobStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # finished, some items failed
    FAILED = "failed"
