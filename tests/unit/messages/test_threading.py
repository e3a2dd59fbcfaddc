"""Conversations from a THREAD answer and from headers alone."""

from __future__ import annotations

from webmail.messages.threading import ThreadHeaders, build_threads, parse_thread_answer


def h(mid: str, irt: str = "", refs: str = "") -> ThreadHeaders:
    return ThreadHeaders(f"<{mid}>", f"<{irt}>" if irt else "", " ".join(f"<{r}>" for r in refs.split()))


def test_rfc5256_example_is_flattened_with_depths() -> None:
    # RFC 5256's example answer.
    assert parse_thread_answer(b"(2)(3 6 (4 23)(44 7 96))") == [
        [(2, 0)],
        [(3, 0), (6, 1), (4, 2), (23, 3), (44, 2), (7, 3), (96, 4)],
    ]


def test_thread_under_a_missing_root_keeps_its_siblings_at_the_top() -> None:
    assert parse_thread_answer(b"((3)(5))") == [[(3, 0), (5, 0)]]
    assert parse_thread_answer(b"") == []


def test_a_thread_nested_thousands_deep_is_read_without_recursion() -> None:
    # Each message gets a leaf reply and a reply that goes on: (1 (2)(3 (4)(5 ...
    depth = 20_000
    opening = b"".join(b"%d (%d)(" % (2 * i + 1, 2 * i + 2) for i in range(depth))
    raw = b"(" + opening + b"0" + b")" * (depth + 1)
    [conv] = parse_thread_answer(raw)
    assert len(conv) == 2 * depth + 1
    assert conv[:4] == [(1, 0), (2, 1), (3, 1), (4, 2)]


def test_a_long_chain_of_references_threads_in_linear_time() -> None:
    n = 20_000
    headers = {1: h("m1@x")} | {i: h(f"m{i}@x", refs=f"m{i - 1}@x") for i in range(2, n + 1)}
    [conv] = build_threads(headers)
    assert conv[-1] == (n, n - 1)


def test_headers_group_replies_under_what_they_answer() -> None:
    headers = {
        1: h("a@x"),
        2: h("b@x", irt="a@x", refs="a@x"),
        3: h("lonely@x"),
        4: h("c@x", irt="b@x", refs="a@x b@x"),
        5: h("d@x", irt="a@x"),  # In-Reply-To only
    }
    assert build_threads(headers) == [[(1, 0), (2, 1), (4, 2), (5, 1)], [(3, 0)]]


def test_a_missing_middle_message_does_not_split_the_thread() -> None:
    headers = {1: h("a@x"), 7: h("c@x", refs="a@x gone@x")}
    assert build_threads(headers) == [[(1, 0), (7, 1)]]


def test_looping_references_lose_no_message() -> None:
    headers = {1: h("a@x", refs="b@x"), 2: h("b@x", refs="a@x"), 3: h("c@x", refs="c@x")}
    threads = build_threads(headers)
    assert sorted(uid for conv in threads for uid, _depth in conv) == [1, 2, 3]


def test_duplicate_message_ids_and_missing_ids_stay_separate_messages() -> None:
    headers = {1: h("a@x"), 2: h("a@x"), 3: ThreadHeaders("", "", ""), 4: h("r@x", irt="a@x")}
    threads = build_threads(headers)
    assert [(1, 0), (4, 1)] in threads  # the reply joins the first copy
    assert sorted(uid for conv in threads for uid, _depth in conv) == [1, 2, 3, 4]
