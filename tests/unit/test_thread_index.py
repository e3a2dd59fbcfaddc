"""The compact thread index and the conversation row helpers."""

from __future__ import annotations

from webmail.mailaccess.threads import MAX_DEPTH_SHOWN, MAX_SHOWN_PER_THREAD, ThreadIndex, _tree, parse_tree


def test_index_orders_conversations_by_newest_activity_and_keeps_reading_order() -> None:
    index = ThreadIndex([[(1, 0), (9, 1)], [(5, 0)], [(3, 0), (4, 1), (7, 2)]])
    assert len(index) == 3
    assert [index.conversation(i) for i in range(3)] == [[(1, 0), (9, 1)], [(3, 0), (4, 1), (7, 2)], [(5, 0)]]


def test_tree_of_a_huge_thread_keeps_its_newest_messages_in_reading_order() -> None:
    conv = [(uid, min(uid - 1, 1)) for uid in range(1, 401)]
    tree = parse_tree(_tree(conv))
    assert len(tree) == MAX_SHOWN_PER_THREAD
    assert [uid for uid, _d in tree] == list(range(301, 401))


def test_parse_tree_is_bounded_and_ignores_junk() -> None:
    assert parse_tree("5:0,x:1,7:99,-3:1,8:") == [(5, 0), (7, MAX_DEPTH_SHOWN)]
    assert len(parse_tree(",".join(f"{i}:0" for i in range(1, 10_000)))) == MAX_SHOWN_PER_THREAD
