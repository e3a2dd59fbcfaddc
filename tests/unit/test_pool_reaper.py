"""The pool closes what idles without waiting for the next request: spares soon, the last one later."""

from __future__ import annotations

import time

from webmail.mailaccess.pool import ImapPool, PoolKey

from .test_pool import KEY, StubClient

OTHER = PoolKey.for_login("h", 1, "v@example.test", "pw", b"pepper")


def test_spares_from_a_burst_close_first_and_the_last_used_one_stays() -> None:
    pool = ImapPool(idle_seconds=5, spare_seconds=0.05, reap_every=0)
    with pool.connection(KEY, StubClient) as a, pool.connection(KEY, StubClient) as b:
        pass  # two parallel requests: two connections
    assert pool.held(KEY) == 2
    time.sleep(0.1)
    assert pool.reap() == 1
    assert pool.held(KEY) == 1
    assert a.closed != b.closed  # exactly one closed
    kept = b if a.closed else a
    with pool.connection(KEY, StubClient) as again:
        assert again is kept


def test_the_reaper_thread_closes_idle_connections_with_no_request_coming() -> None:
    pool = ImapPool(idle_seconds=0.1, spare_seconds=0.1, reap_every=0.02)
    try:
        first, second = StubClient(), StubClient()
        pool.adopt(KEY, first)
        pool.adopt(OTHER, second)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not (first.closed and second.closed):
            time.sleep(0.02)
        assert first.closed and second.closed
        assert pool.stats()["open"] == 0 and pool.users() == 0
    finally:
        pool.shutdown()


def test_a_sign_in_connection_no_request_used_here_is_only_a_spare() -> None:
    # Behind the balancer the sign-in may land on one instance and the user's pages on another.
    pool = ImapPool(idle_seconds=5, spare_seconds=1, adopted_seconds=0.05, reap_every=0)
    unused, used = StubClient(), StubClient()
    pool.adopt(KEY, unused)
    pool.adopt(OTHER, used)
    with pool.connection(OTHER, StubClient) as client:
        assert client is used
    time.sleep(0.1)
    assert pool.reap() == 1
    assert unused.closed and not used.closed
    assert pool.held(KEY) == 0 and pool.held(OTHER) == 1
