"""The shared retry policy and rate limiter."""

from __future__ import annotations

import random

import pytest

from integrator.providers.errors import Fatal, Parked, ProviderError, Retriable
from integrator.providers.retry import RateLimiter, RetryPolicy, retry_in_chunks


def _policy(sleeps: list[float], **kw: object) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps.append, rng=random.Random(1), **kw)  # type: ignore[arg-type]


def test_retry_after_from_the_server_is_honoured() -> None:
    sleeps: list[float] = []
    calls = iter([Retriable("429", retry_after=7), "ok"])

    def fn() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert _policy(sleeps).call(fn) == "ok"
    assert len(sleeps) == 1 and 7.0 <= sleeps[0] <= 7.4


def test_backoff_grows_exponentially_and_is_capped() -> None:
    sleeps: list[float] = []
    policy = _policy(sleeps, max_attempts=8, base_delay_s=1.0, max_delay_s=10.0, jitter=0.0)

    def always() -> None:
        raise Retriable("503")

    with pytest.raises(Retriable):
        policy.call(always)
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_fatal_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    attempts = []

    def bad() -> None:
        attempts.append(1)
        raise Fatal("400 invalid argument")

    with pytest.raises(Fatal):
        _policy(sleeps).call(bad)
    assert attempts == [1] and sleeps == []


def test_a_retry_after_longer_than_the_cap_is_reported_not_waited_out() -> None:
    sleeps: list[float] = []

    def parked() -> None:
        raise Retriable("quota", retry_after=3600)

    with pytest.raises(Retriable):
        _policy(sleeps).call(parked)
    assert sleeps == []


class Vendor:
    """Answers each item from a script of outcomes (None: done), one per time it is sent."""

    def __init__(self, script: dict[str, list[ProviderError | None]]) -> None:
        self.script = script
        self.envelopes: list[list[str]] = []
        self.outcome: dict[str, ProviderError | None] = {}

    def send(self, chunk: list[str]) -> None:
        self.envelopes.append(list(chunk))
        for item in chunk:
            self.outcome[item] = self.script[item].pop(0) if self.script[item] else None


def test_only_retriable_items_go_again_in_envelopes_at_the_limit_after_the_longest_retry_after() -> None:
    sleeps: list[float] = []
    vendor = Vendor({"a": [Retriable("429", retry_after=2)], "b": [Fatal("404")], "c": [Retriable("503")],
                     "d": [], "e": []})
    retries: list[int] = []
    retry_in_chunks(list("abcde"), 2, vendor.send, vendor.outcome.get, policy=_policy(sleeps),
                    on_retry=lambda attempt, err, wait: retries.append(attempt))
    assert vendor.envelopes == [["a", "b"], ["c", "d"], ["e"], ["a", "c"]]
    assert vendor.outcome["a"] is None and isinstance(vendor.outcome["b"], Fatal)
    assert retries == [1] and len(sleeps) == 1 and 2.0 <= sleeps[0] <= 2.2


def test_items_that_keep_failing_are_sent_at_most_max_attempts_times() -> None:
    sleeps: list[float] = []
    vendor = Vendor({"a": [Retriable("503")] * 10})
    retry_in_chunks(["a"], 50, vendor.send, vendor.outcome.get, policy=_policy(sleeps, max_attempts=3))
    assert len(vendor.envelopes) == 3 and len(sleeps) == 2
    assert isinstance(vendor.outcome["a"], Retriable)


def test_a_retry_after_beyond_the_cap_ends_the_retries_at_once() -> None:
    sleeps: list[float] = []
    vendor = Vendor({"a": [Retriable("429", retry_after=3600)], "b": [Retriable("503")]})
    retry_in_chunks(["a", "b"], 50, vendor.send, vendor.outcome.get, policy=_policy(sleeps))
    assert len(vendor.envelopes) == 1 and sleeps == []


def test_without_retry_every_item_is_sent_once() -> None:
    sleeps: list[float] = []
    vendor = Vendor({"a": [Retriable("503")]})
    retry_in_chunks(["a"], 50, vendor.send, vendor.outcome.get, policy=_policy(sleeps), retry=False)
    assert vendor.envelopes == [["a"]] and sleeps == []


def test_a_used_up_daily_quota_parks_every_item_not_yet_sent() -> None:
    sleeps: list[float] = []
    vendor = Vendor({"a": [Parked("dailyLimitExceeded")], "b": [Retriable("503")], "c": [], "d": []})
    parked: dict[str, str] = {}
    retry_in_chunks(list("abcd"), 2, vendor.send, vendor.outcome.get, policy=_policy(sleeps),
                    park=lambda item, err: parked.setdefault(item, str(err)))
    assert vendor.envelopes == [["a", "b"]]
    assert parked == {"c": "dailyLimitExceeded", "d": "dailyLimitExceeded", "b": "dailyLimitExceeded"}


def test_rate_limiter_paces_to_the_published_limit() -> None:
    now = [0.0]
    waited: list[float] = []

    def sleep(s: float) -> None:
        waited.append(s)
        now[0] += s

    limiter = RateLimiter(30, 60.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(45):
        limiter.acquire()
    # 30 at once (the burst), then one every 2 s: 15 more take 30 s.
    assert now[0] == pytest.approx(30.0)
    assert not limiter.try_acquire()
