"""Selections and opened conversations as the web carries them: read from untrusted text, bounded."""

from __future__ import annotations

import time

from webmail.http.bounds import MAX_UID, parse_uid
from webmail.mailaccess.threads import MAX_DEPTH_SHOWN, MAX_SHOWN_PER_THREAD, _shown
from webmail.mailbox.uidsets import (
    MAX_UID_PIECES,
    expand_uid_set,
    format_tree,
    format_uid_set,
    parse_tree,
    parse_uid_sets,
)


def test_tree_of_a_huge_thread_keeps_its_newest_messages_in_reading_order() -> None:
    conv = [(uid, min(uid - 1, 1)) for uid in range(1, 401)]
    tree = parse_tree(format_tree(_shown(conv)))
    assert len(tree) == MAX_SHOWN_PER_THREAD
    assert [uid for uid, _d in tree] == list(range(301, 401))


def test_parse_tree_is_bounded_and_ignores_junk() -> None:
    assert parse_tree("5:0,x:1,7:99,-3:1,8:") == [(5, 0), (7, MAX_DEPTH_SHOWN)]
    assert len(parse_tree(",".join(f"{i}:0" for i in range(1, 10_000)))) == MAX_SHOWN_PER_THREAD


def test_uids_from_untrusted_text_are_ascii_and_32_bit() -> None:
    assert parse_uid("42") == 42 and parse_uid(str(MAX_UID)) == MAX_UID
    for junk in ("²", "٣", "0", "-1", "4294967296", "1e3", " 7", "", "12345678901"):
        assert parse_uid(junk) is None, junk
    assert parse_tree("²:0,4294967296:1,9:٣,5:1") == [(5, 1)]


def test_uid_sets_are_bounded_across_every_field_and_say_when_they_were_cut() -> None:
    assert parse_uid_sets(["3:5,9", "7:6", "x,²,0:2"], 100) == ([3, 4, 5, 6, 7, 9], False)
    uids, cut = parse_uid_sets(["1:4294967295"] * 1000, 5000)
    assert cut and uids == list(range(1, 5001))
    uids, cut = parse_uid_sets(["1:3000", "2001:6000", "9"], 5000)  # overlapping ranges
    assert cut and uids == list(range(1, 5001))
    assert parse_uid_sets(["1:5000"], 5000) == (list(range(1, 5001)), False)


def test_a_selection_of_the_same_range_repeated_costs_no_more_than_one_range() -> None:
    """One POST of "1:4000" repeated 100,000 times (a 700 KB field) used to take minutes of CPU."""

    hostile = ",".join(["1:4000"] * 100_000)
    started = time.process_time()
    uids, cut = parse_uid_sets([hostile] * 3, 5000)
    assert time.process_time() - started < 1.0
    assert uids == list(range(1, 4001)) and cut  # pieces past MAX_UID_PIECES were not read
    uids, cut = parse_uid_sets(["1:5000"] * (MAX_UID_PIECES - 1), 5000)
    assert uids == list(range(1, 5001)) and not cut


def test_a_uid_set_written_is_read_back() -> None:
    uids = [9, 1, 2, 3, 7, 5, 4]
    assert format_uid_set(uids) == "1:5,7,9"
    assert expand_uid_set(format_uid_set(uids)) == [1, 2, 3, 4, 5, 7, 9]
    assert format_uid_set([]) == "" and expand_uid_set("") == []
