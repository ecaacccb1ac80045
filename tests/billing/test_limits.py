"""Token buckets: bursts up to the bucket, then one request per 1/rate seconds; bounded memory."""

from __future__ import annotations

import pytest

from worker.billing.errors import RateLimited
from worker.billing.limits import RateLimit, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimit(rate=2.0, burst=3), "payer", clock=clock)
    for _ in range(3):
        limiter.take("alice")
    with pytest.raises(RateLimited, match="at most 2/s") as refused:
        limiter.take("alice")
    assert refused.value.retry_after == pytest.approx(0.5)
    limiter.take("bob")  # buckets are per key
    clock.now += 0.5
    limiter.take("alice")  # one token back after 1/rate seconds
    with pytest.raises(RateLimited):
        limiter.take("alice")


def test_rate_zero_is_no_limit_and_memory_is_bounded() -> None:
    unlimited = RateLimiter(RateLimit(rate=0, burst=0), "client address")
    for _ in range(1000):
        unlimited.take("x")
    limiter = RateLimiter(RateLimit(rate=1.0, burst=1), "client address", max_keys=10)
    for i in range(100):
        limiter.take(f"ip-{i}")
    assert len(limiter._buckets) == 10


def test_the_address_limit_counts_an_ipv6_client_by_its_slash_64() -> None:
    from worker.serve.app import client_key

    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:10.0.0.7") == client_key("10.0.0.7") == "10.0.0.7"
    assert client_key("testclient") == "testclient"
