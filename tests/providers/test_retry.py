"""The shared retry policy and rate limiter."""

from __future__ import annotations

import random

import pytest

from integrator.providers.errors import Fatal, Retriable
from integrator.providers.retry import RateLimiter, RetryPolicy


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
