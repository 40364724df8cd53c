"""Peer-group meetings: one Teams or Meet event per work day, planned (plan) then applied (apply)
through each provider's MeetingService (services).

Our memory of each meeting is an `ExternalResource` (kind "meeting", key
``meeting:<group>:<day>``). Its `state` holds the provider, a generation number, the
idempotency key of the current generation (Graph `transactionId` / Calendar event id), the
event id, join URL, onlineMeeting id and a fingerprint of what we last applied. The row is
written as "pending" *before* the provider call, so a crash between the call and our commit
is resumed with the same idempotency key and never makes a second meeting.

`plan.plan_meetings` and `apply.apply_meetings` are the entry points.
"""
