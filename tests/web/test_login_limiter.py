"""The login limiter's memory stays bounded whatever an attacker sends, and its limits still hold."""

from __future__ import annotations

import tracemalloc

from integrator.web.ratelimit import LoginLimiter

ATTEMPTS = 100_000


def _address(i: int) -> str:
    return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"


def test_100k_failed_logins_from_distinct_addresses_keep_the_table_bounded() -> None:
    limiter = LoginLimiter()
    tracemalloc.start()
    try:
        for i in range(ATTEMPTS):
            address = _address(i)
            if limiter.allowed("victim@example.fi", address):
                limiter.failed("victim@example.fi", address)
            else:
                raise AssertionError("a fresh address is refused")
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(limiter) <= limiter.max_keys == 10_000
    assert limiter.timestamps() <= limiter.max_keys
    assert current < 5_000_000, f"{current} bytes kept after {ATTEMPTS} attempts"


def test_refused_attempts_and_checks_add_nothing() -> None:
    limiter = LoginLimiter()
    for _ in range(5):
        limiter.failed("victim@example.fi", "10.0.0.1")
    for i in range(ATTEMPTS):
        assert not limiter.allowed("victim@example.fi", "10.0.0.1")
        assert limiter.allowed(f"user{i}@example.fi", _address(i))
    assert len(limiter) == 2  # the account's and the address's
    assert limiter.timestamps() == 10


def test_one_key_keeps_no_more_failures_than_its_limit() -> None:
    limiter = LoginLimiter()
    for _ in range(ATTEMPTS // 10):
        limiter.failed("victim@example.fi", "10.0.0.1")
    assert limiter.timestamps() == limiter.per_account + limiter.per_address


def test_failures_past_the_window_are_forgotten_and_the_limits_still_hold() -> None:
    now = [0.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    for i in range(5_000):
        limiter.failed(f"user{i}@example.fi", _address(i))
    assert len(limiter) == 10_000
    now[0] += limiter.window_s + 1
    limiter.failed("victim@example.fi", "10.9.9.9")
    assert len(limiter) == 2  # everything older than the window went with one failure
    for _ in range(4):
        limiter.failed("victim@example.fi", "10.9.9.9")
    assert not limiter.allowed("victim@example.fi", "10.9.9.9")
    assert limiter.allowed("other@example.fi", "10.9.9.9")
    for i in range(25):
        limiter.failed(f"spray{i}@example.fi", "10.9.9.9")
    assert not limiter.allowed("other@example.fi", "10.9.9.9")  # 30 from one address
    now[0] += limiter.window_s + 1
    assert limiter.allowed("victim@example.fi", "10.9.9.9")
