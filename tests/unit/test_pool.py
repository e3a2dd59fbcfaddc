"""Pool bookkeeping, with a stand-in client: exclusive checkout, caps, eviction, probing."""

from __future__ import annotations

import imaplib
import threading
import time

import pytest

from webmail.mailaccess.errors import FolderNotFound, ProtocolError, ServerBusy, ServerUnavailable
from webmail.mailaccess.imap import mark_unusable
from webmail.mailaccess.pool import ImapPool, PoolKey


class StubClient:
    def __init__(self, alive: bool = True) -> None:
        self.alive = alive
        self.closed = False
        self.unusable = False  # ImapConnection.unusable
        self.checkouts = 0  # ImapConnection.checkouts, counted by the pool
        self.noops = 0

    def noop(self) -> None:
        self.noops += 1
        if not self.alive:
            raise OSError("dead")

    def logout(self) -> None:
        self.closed = True

    def shutdown(self) -> None:
        self.closed = True


KEY = PoolKey.for_login("h", 1, "u@example.test", "pw", b"pepper")


def test_key_depends_on_password_and_hides_it() -> None:
    other = PoolKey.for_login("h", 1, "u@example.test", "other", b"pepper")
    assert KEY != other
    assert "pw" not in repr(KEY) and KEY.secret_digest not in repr(KEY)


def test_reuses_idle_connection() -> None:
    pool = ImapPool(max_per_key=2)
    made: list[StubClient] = []

    def opener() -> StubClient:
        made.append(StubClient())
        return made[-1]

    for _ in range(3):
        with pool.connection(KEY, opener) as client:
            assert client is made[0]
    assert len(made) == 1 and pool.reused == 2


def test_checkout_is_exclusive_and_capped() -> None:
    pool = ImapPool(max_per_key=2, wait_seconds=0.2)
    with pool.connection(KEY, StubClient) as a, pool.connection(KEY, StubClient) as b:
        assert a is not b
        with pytest.raises(ServerBusy), pool.connection(KEY, StubClient):
            pass
    assert pool.stats()["open"] == 2


def test_waiter_gets_connection_when_released() -> None:
    pool = ImapPool(max_per_key=1, wait_seconds=2)
    got: list[object] = []
    with pool.connection(KEY, StubClient) as first:
        t = threading.Thread(target=lambda: got.append(pool.run(KEY, StubClient, lambda c: c)))
        t.start()
        time.sleep(0.1)
        assert not got
    t.join(2)
    assert got == [first]


def test_connection_that_fails_probe_is_replaced() -> None:
    pool = ImapPool(probe_after=0)
    dead = StubClient(alive=False)
    pool.adopt(KEY, dead)
    with pool.connection(KEY, StubClient) as client:
        assert client is not dead
    assert dead.closed and dead.noops == 1


def test_failed_operation_discards_connection() -> None:
    pool = ImapPool()
    with pytest.raises(OSError), pool.connection(KEY, StubClient) as client:
        raise OSError("socket died")
    assert client.closed and pool.stats()["open"] == 0


def test_run_retries_once_on_dead_reused_connection() -> None:
    pool = ImapPool()
    pool.adopt(KEY, StubClient())
    calls: list[object] = []

    def op(client: object) -> str:
        calls.append(client)
        if len(calls) == 1:
            raise OSError("broken pipe")
        return "ok"

    assert pool.run(KEY, StubClient, op) == "ok"
    assert len(calls) == 2 and calls[0] is not calls[1]


def test_idle_connections_expire() -> None:
    pool = ImapPool(idle_seconds=0.05)
    old = StubClient()
    pool.adopt(KEY, old)
    time.sleep(0.1)
    with pool.connection(KEY, StubClient) as client:
        assert client is not old
    assert old.closed


def _count_checkouts(pool: ImapPool) -> list[int]:
    calls: list[int] = []
    checkout = pool._checkout

    def counting(key: PoolKey, opener: object) -> object:
        calls.append(1)
        return checkout(key, opener)  # type: ignore[arg-type]

    pool._checkout = counting  # type: ignore[method-assign]
    return calls


def test_run_does_not_retry_when_the_pool_is_busy() -> None:
    pool = ImapPool(max_per_key=1, wait_seconds=0.1)
    calls = _count_checkouts(pool)
    with pool.connection(KEY, StubClient), pytest.raises(ServerBusy):
        pool.run(KEY, StubClient, lambda c: c)
    assert len(calls) == 2  # the held connection, then run's single attempt


@pytest.mark.parametrize("error", [ServerBusy(), ServerUnavailable(detail="refused")])
def test_run_does_not_retry_when_the_server_says_busy_or_refuses(error: Exception) -> None:
    pool = ImapPool()
    opened: list[int] = []

    def opener() -> StubClient:
        opened.append(1)
        raise error

    with pytest.raises(type(error)):
        pool.run(KEY, opener, lambda c: c)
    assert opened == [1]
    assert pool.stats()["open"] == 0


def test_run_does_not_retry_on_a_connection_opened_just_now() -> None:
    pool = ImapPool()
    made: list[StubClient] = []

    def opener() -> StubClient:
        made.append(StubClient())
        return made[-1]

    def op(client: object) -> None:
        raise OSError("reset by peer")

    with pytest.raises(OSError):
        pool.run(KEY, opener, op)
    assert len(made) == 1


@pytest.mark.parametrize(
    "error",
    [
        ProtocolError(detail="FETCH => got more than 1000000 bytes"),
        imaplib.IMAP4.error("line too long"),
        KeyError("x"),
    ],
    ids=["protocol-error", "imaplib-error", "unexpected"],
)
def test_a_connection_that_saw_a_protocol_error_is_never_handed_out_again(error: Exception) -> None:
    pool = ImapPool()
    with pytest.raises(type(error)), pool.connection(KEY, StubClient) as client:
        raise error
    assert client.closed and pool.stats() == {"open": 0, "idle": 0, "opened": 1, "reused": 0}
    with pool.connection(KEY, StubClient) as fresh:
        assert fresh is not client


def test_a_domain_error_keeps_the_connection() -> None:
    pool = ImapPool()
    with pytest.raises(FolderNotFound), pool.connection(KEY, StubClient) as client:
        raise FolderNotFound(detail="Nope")
    assert not client.closed
    with pool.connection(KEY, StubClient) as again:
        assert again is client


def test_a_connection_marked_unusable_is_closed_even_when_the_request_succeeds() -> None:
    pool = ImapPool()
    with pool.connection(KEY, StubClient) as client:
        mark_unusable(client)  # type: ignore[arg-type]
    assert client.closed and pool.stats()["open"] == 0
