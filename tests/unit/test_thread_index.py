"""The compact thread index and the conversation row helpers."""

from __future__ import annotations

from webmail.mailaccess.threads import ThreadIndex


def test_index_orders_conversations_by_newest_activity_and_keeps_reading_order() -> None:
    index = ThreadIndex([[(1, 0), (9, 1)], [(5, 0)], [(3, 0), (4, 1), (7, 2)]])
    assert len(index) == 3
    assert [index.conversation(i) for i in range(3)] == [[(1, 0), (9, 1)], [(3, 0), (4, 1), (7, 2)], [(5, 0)]]


def test_conversations_are_ordered_by_latest_arrival_not_by_uid() -> None:
    """UID 9 is an import dated last month: its conversation is not the newest activity."""
    arrival = [9, 1, 3, 5, 4, 7]  # earliest first, as SORT (ARRIVAL) answers
    index = ThreadIndex([[(1, 0), (9, 1)], [(5, 0)], [(3, 0), (4, 1), (7, 2)]], arrival)
    assert [index.conversation(i) for i in range(3)] == [[(3, 0), (4, 1), (7, 2)], [(5, 0)], [(1, 0), (9, 1)]]
    assert index.by_arrival(2) == [1, 9]  # its newest message is 1, not 9
    late = ThreadIndex([[(2, 0)], [(8, 0)]], [8])  # 2 arrived after the SORT: it counts as newest
    assert late.conversation(0) == [(2, 0)]
