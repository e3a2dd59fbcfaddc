"""What a run decides to fetch, skip and delete, from the server's listing and the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from webmail.imports.plan import (
    DUPLICATE,
    PENDING,
    SKIPPED,
    STORED,
    Known,
    ServerMessage,
    batches,
    looks_reset,
    make_plan,
    next_check,
)
from webmail.imports.sources.pop3 import fallback_keys

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def listing(*keys: str, size: int = 100) -> list[ServerMessage]:
    return [ServerMessage(n, key, size) for n, key in enumerate(keys, start=1)]


def plan(server: list[ServerMessage], known: dict[str, Known], **options: object):  # type: ignore[no-untyped-def]
    defaults: dict[str, object] = {
        "max_size": 1000,
        "cap": 100,
        "leave_copy": True,
        "delete_after": None,
        "now": NOW,
    }
    return make_plan(server, known, **{**defaults, **options})  # type: ignore[arg-type]


def test_new_and_interrupted_messages_are_fetched_stored_ones_are_not() -> None:
    known = {"a": Known(STORED, NOW), "b": Known(PENDING), "c": Known(DUPLICATE, NOW)}
    result = plan(listing("a", "b", "c", "d"), known)
    assert [m.key for m in result.fetch] == ["b", "d"]
    assert result.delete == []


def test_too_large_messages_are_reported_not_fetched_and_tried_again_later() -> None:
    server = [ServerMessage(1, "big", 5000), ServerMessage(2, "small", 10)]
    result = plan(server, {})
    assert [m.key for m in result.too_large] == ["big"]
    assert [m.key for m in result.fetch] == ["small"]
    # Skipped earlier: once the limit is raised it is fetched.
    again = plan(server, {"big": Known(SKIPPED), "small": Known(STORED, NOW)}, max_size=10_000)
    assert [m.key for m in again.fetch] == ["big"]


def test_the_cap_leaves_the_rest_for_the_next_run() -> None:
    result = plan(listing(*"abcdef"), {}, cap=4)
    assert [m.key for m in result.fetch] == ["a", "b", "c", "d"]
    assert result.remaining == 2


def test_leave_copy_off_deletes_everything_stored_but_never_pending_or_skipped() -> None:
    known = {"a": Known(STORED, NOW), "b": Known(PENDING), "c": Known(SKIPPED), "d": Known(DUPLICATE, NOW)}
    result = plan(listing("a", "b", "c", "d"), known, leave_copy=False)
    assert [m.key for m in result.delete] == ["a", "d"]


def test_delete_after_n_days() -> None:
    known = {"old": Known(STORED, NOW - timedelta(days=8)), "new": Known(STORED, NOW - timedelta(days=2))}
    result = plan(listing("old", "new"), known, delete_after=timedelta(days=7))
    assert [m.key for m in result.delete] == ["old"]
    assert plan(listing("old", "new"), known).delete == []  # without the option, copies stay


def test_stored_messages_no_longer_on_the_server_are_noted_gone() -> None:
    known = {"a": Known(STORED, NOW), "b": Known(STORED, NOW), "c": Known(STORED, NOW, deleted=True)}
    assert plan(listing("a"), known).gone == ["b"]


def test_uidl_reset_is_detected_when_no_known_message_is_listed_any_more() -> None:
    known = {"old1": Known(STORED, NOW), "old2": Known(STORED, NOW)}
    assert looks_reset(["new1", "new2"], known)
    assert not looks_reset(["old1", "new2"], known)  # one still matches: ordinary new mail
    assert not looks_reset([], known)  # an empty mailbox is not a reset
    assert not looks_reset(["x"], {"gone": Known(STORED, NOW, deleted=True)})  # we deleted them
    assert not looks_reset(["x"], {})  # first run


def test_fallback_keys_are_stable_and_repeats_get_a_counter() -> None:
    head_a = b"Message-ID: <a@x>\r\nSubject: a\r\n\r\n"
    head_b = b"Message-ID: <b@x>\r\nSubject: b\r\n\r\n"
    keys = fallback_keys([(head_a, 10), (head_b, 10), (head_a, 10)])
    assert keys[0] != keys[1]
    assert keys[2] == keys[0] + "#2"
    assert keys == fallback_keys([(head_a, 10), (head_b, 10), (head_a, 10)])
    assert fallback_keys([(head_a, 11)])[0] != keys[0]  # the size is part of the key
    assert all(len(k) <= 255 for k in keys)


def test_batches_by_count_and_size() -> None:
    messages = [ServerMessage(i, str(i), size) for i, size in enumerate([10, 10, 10, 500, 10], start=1)]
    assert [[m.number for m in b] for b in batches(messages, count=2, size=100)] == [[1, 2], [3], [4], [5]]


def test_next_check_backs_off_exponentially_and_is_capped() -> None:
    interval = timedelta(minutes=15)
    cap = timedelta(hours=12)

    def delay(failures: int, more: bool = False) -> timedelta:
        return (
            next_check(now=NOW, interval=interval, failures=failures, more_waiting=more, max_backoff=cap)
            - NOW
        )

    assert delay(0) == interval
    assert delay(0, more=True) == timedelta(0)  # capped run: due again at once
    assert [delay(n) for n in (1, 2, 3, 4)] == [interval, interval * 2, interval * 4, interval * 8]
    assert delay(30) == cap
