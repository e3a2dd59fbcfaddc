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


def test_uids_from_untrusted_text_are_ascii_and_32_bit() -> None:
    from webmail.mailaccess.actions import MAX_UID, parse_uid

    assert parse_uid("42") == 42 and parse_uid(str(MAX_UID)) == MAX_UID
    for junk in ("²", "٣", "0", "-1", "4294967296", "1e3", " 7", "", "12345678901"):
        assert parse_uid(junk) is None, junk
    assert parse_tree("²:0,4294967296:1,9:٣,5:1") == [(5, 1)]


def test_uid_sets_are_bounded_across_every_field_and_say_when_they_were_cut() -> None:
    from webmail.mailaccess.actions import parse_uid_sets

    assert parse_uid_sets(["3:5,9", "7:6", "x,²,0:2"], 100) == ([3, 4, 5, 6, 7, 9], False)
    uids, cut = parse_uid_sets(["1:4294967295"] * 1000, 5000)
    assert cut and uids == list(range(1, 5001))
    uids, cut = parse_uid_sets(["1:3000", "2001:6000", "9"], 5000)  # overlapping ranges
    assert cut and uids == list(range(1, 5001))
    assert parse_uid_sets(["1:5000"], 5000) == (list(range(1, 5001)), False)


def test_a_selection_of_the_same_range_repeated_costs_no_more_than_one_range() -> None:
    """One POST of "1:4000" repeated 100,000 times (a 700 KB field) used to take minutes of CPU."""
    import time

    from webmail.mailaccess.actions import MAX_UID_PIECES, parse_uid_sets

    hostile = ",".join(["1:4000"] * 100_000)
    started = time.process_time()
    uids, cut = parse_uid_sets([hostile] * 3, 5000)
    assert time.process_time() - started < 1.0
    assert uids == list(range(1, 4001)) and cut  # pieces past MAX_UID_PIECES were not read
    uids, cut = parse_uid_sets(["1:5000"] * (MAX_UID_PIECES - 1), 5000)
    assert uids == list(range(1, 5001)) and not cut


def test_conversations_are_ordered_by_latest_arrival_not_by_uid() -> None:
    """UID 9 is an import dated last month: its conversation is not the newest activity."""
    arrival = [9, 1, 3, 5, 4, 7]  # earliest first, as SORT (ARRIVAL) answers
    index = ThreadIndex([[(1, 0), (9, 1)], [(5, 0)], [(3, 0), (4, 1), (7, 2)]], arrival)
    assert [index.conversation(i) for i in range(3)] == [[(3, 0), (4, 1), (7, 2)], [(5, 0)], [(1, 0), (9, 1)]]
    assert index.by_arrival(2) == [1, 9]  # its newest message is 1, not 9
    late = ThreadIndex([[(2, 0)], [(8, 0)]], [8])  # 2 arrived after the SORT: it counts as newest
    assert late.conversation(0) == [(2, 0)]
