"""The four ways a vendor call can fail, as the jobs need to react to them.

Every provider module turns vendor exceptions (googleapiclient HttpError, kiota APIError,
transport errors) into exactly one of these, in one place, so jobs never inspect vendor types.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base: `vendor` is "google" or "graph"; `status` the HTTP status when there was one."""

    def __init__(self, message: str, *, vendor: str = "", status: int | None = None,
                 reason: str | None = None) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.status = status
        self.reason = reason


#: ``ProviderError.reason`` of a failure before the request left us: no connection could be made,
#: or the access token for it could not be had (throttled or unreachable token endpoint).
NOT_SENT_REASONS = frozenset({"connect", "token_throttled", "token_unreachable"})


class Retriable(ProviderError):
    """Try again later: 429, 5xx, 403 rate limits, connection errors."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class Fatal(ProviderError):
    """This item cannot succeed as asked (400, 404, 409 not handled by the caller): report it."""


class NeedsReauth(ProviderError):
    """Credentials or delegation are wrong (401, unauthorized_client): stop the whole run."""


class Parked(ProviderError):
    """A daily quota is used up: park the rest of the work until the quota resets."""


class DeliveryUncertain(Fatal):
    """A send (Gmail send, Graph sendMail) that may have gone through: a 5xx or a timeout after
    the request left. Neither API has an idempotency key, so it is never retried blindly."""


def never_reached(err: ProviderError | None) -> bool:
    """Whether the service did not act on the failed request, so a create without an idempotency
    key may be sent again without first looking for it: a 429 (Google and Graph both document a
    throttled request as not processed) or a request that never left us (`NOT_SENT_REASONS`).
    A timeout, reset or 5xx after the request left is a lost answer: it may have been applied.
    The one rule for both vendors (Graph's sendMail, Gmail's send, Classroom's coursework create)."""
    return isinstance(err, Retriable) and (err.status == 429 or err.reason in NOT_SENT_REASONS)


def outcome_label(err: ProviderError | None) -> str:
    """The metrics label of one vendor call's outcome (a small fixed vocabulary)."""
    if err is None:
        return "ok"
    if isinstance(err, Parked):
        return "parked"
    if isinstance(err, Retriable):
        return "rate_limited" if err.status in (403, 429) else "retried"
    return "failed"
