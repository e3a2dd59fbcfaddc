"""The server's Sieve script read into the editor's rules and written back (sievelib), with no server."""

from __future__ import annotations

from datetime import date

import pytest

from webmail.filters import script
from webmail.filters.rules import MB, Actions, Criteria, Filter, RawRule, Rules, Vacation, describe
from webmail.mailaccess.batch import FilterQuery, format_uid_set, parse_uid_set

EVERYTHING = Filter(
    Criteria(
        sender="bank",
        recipient="me",
        subject='say "hi" \\ there',
        has_words="invoice",
        lacks_words="draft",
        has_attachment=True,
        larger_than=MB,
        smaller_than=5000,
    ),
    Actions(move_to="Bank/2026", mark_read=True, star=True, forward_to="me@elsewhere.test"),
    "Bank: everything",
)
VACATION = Vacation(
    enabled=True,
    start=date(2026, 3, 1),
    end=date(2026, 3, 10),
    subject="Away",
    text="Back soon.\n.a line with a dot\nÉté\n",
    html="<p>Back <b>soon</b></p>",
    days=3,
    contacts_only=True,
    contacts=("ann@example.test", "bob@example.test"),
    addresses=("me@example.test",),
)


@pytest.mark.parametrize(
    "rule",
    [
        EVERYTHING,
        Filter(Criteria(subject="x"), Actions(delete=True)),
        Filter(Criteria(sender="a"), Actions(never_junk=True), "paused", enabled=False),
        Filter(Criteria(larger_than=1536), Actions(star=True)),
        Filter(Criteria(smaller_than=100 * 1024), Actions(mark_read=True)),
    ],
)
def test_each_filter_reads_back_as_written(rule: Filter) -> None:
    text = script.write(Rules(entries=[rule]), trash="Trash")
    back = script.read(text, trash="Trash")
    assert back.entries == [rule]
    assert script.write(back, trash="Trash") == text


@pytest.mark.parametrize(
    "vacation",
    [
        VACATION,
        Vacation(enabled=False, subject="Off", text="plain", days=1),
        Vacation(True, subject="s", text="t"),
    ],
)
def test_the_vacation_reply_reads_back_as_written(vacation: Vacation) -> None:
    rules = Rules(entries=[EVERYTHING], vacation=vacation)
    text = script.write(rules)
    back = script.read(text)
    assert back.vacation == vacation and back.entries == [EVERYTHING]
    assert script.write(back) == text


def test_what_the_editor_writes_is_what_a_person_reads() -> None:
    text = script.write(Rules(entries=[EVERYTHING]))
    assert "# Filter: Bank: everything\n" in text
    assert 'header :contains "from" "bank"' in text
    assert 'header :contains ["to", "cc"] "me"' in text
    assert "size :over 1M" in text and "size :under 5000" in text
    # Flags before the fileinto, so imap4flags puts them on the filed copy.
    assert text.index('addflag "\\\\Seen"') < text.index('fileinto "Bank/2026"')
    assert 'redirect :copy "me@elsewhere.test"' in text
    assert describe(EVERYTHING).startswith("From contains “bank” and To contains “me”")
    assert describe(EVERYTHING).endswith("→ move to Bank/2026, mark read, star, forward to me@elsewhere.test")


FOREIGN = """\
# Made by another program
require ["fileinto", "include", "variables"];

# rule:[tickets]
if header :matches "subject" "*[ticket-*]*" {
    set "ticket" "${2}";
    fileinto "Tickets";
} elsif header :is "x-priority" "1" {
    fileinto "Urgent";
} else {
    keep;
}
include :personal "other";
# Filter: Newsletters
if allof (header :contains "from" "news", size :over 1M) {
    fileinto "News";
}
# the end
"""


def test_rules_written_elsewhere_are_kept_verbatim_and_ours_are_understood() -> None:
    rules = script.read(FOREIGN)
    assert rules.requires == ["fileinto", "include", "variables"]
    assert rules.preamble == "# Made by another program\n"
    assert rules.tail == "# the end"
    kinds = [type(e) for e in rules.entries]
    assert kinds == [RawRule, RawRule, Filter]
    tickets = rules.entries[0]
    assert isinstance(tickets, RawRule)
    assert tickets.text.startswith("# rule:[tickets]\nif header :matches")
    assert tickets.text.endswith("} else {\n    keep;\n}")
    assert rules.entries[2] == Filter(
        Criteria(sender="news", larger_than=MB), Actions(move_to="News"), "Newsletters"
    )

    # A new filter: the foreign rules stay as they were, the requires grow.
    rules.entries.append(Filter(Criteria(subject="x"), Actions(star=True)))
    text = script.write(rules)
    for entry in rules.entries[:2]:
        assert isinstance(entry, RawRule) and entry.text in text
    assert text.startswith(
        '# Made by another program\nrequire ["fileinto", "include", "variables", "imap4flags"];'
    )
    assert text.rstrip().endswith("# the end")
    assert script.read(text).entries == rules.entries


def test_a_rule_the_editor_would_not_write_to_the_letter_stays_raw() -> None:
    for text in (
        'require "fileinto";\nif anyof (header :contains "from" "x") { fileinto "Y"; }\n',
        # "From", not "from": the same test, but not written as the editor writes it
        'require "fileinto";\nif allof (header :contains "From" "x") { fileinto "Y"; }\n',
        'require "fileinto";\nif allof (header :is "from" "x") { fileinto "Y"; }\n',
        'require "fileinto";\nif allof (header :contains "from" "x") { fileinto :copy "Y"; }\n',
        'require "fileinto";\nif allof (header :contains "from" "x") { fileinto "Y"; stop; }\n',
        'require "fileinto";\n'
        'if allof (header :contains "from" "x", header :contains "from" "y") { fileinto "Y"; }\n',
    ):
        rules = script.read(text)
        assert [type(e) for e in rules.entries] == [RawRule], text
        assert script.write(rules).endswith(text.split("\n", 1)[1])


def test_a_script_the_lexer_cannot_read_is_kept_whole() -> None:
    text = 'if header :is "x" "y" { discard; } ` stray'
    rules = script.read(text)
    assert rules.whole_raw and rules.entries == [RawRule(text)]
    assert script.write(rules) == text + "\n"


def test_forwarding_targets_found_in_any_script() -> None:
    text = (
        'require ["copy", "enotify"];\n'
        'redirect :copy "A@Example.test";\n'
        'if true { redirect "b@example.test"; }\n'
        'notify :message "hi" "mailto:c@example.test?subject=x";\n'
        'fileinto "redirect";\n'
    )
    assert script.forward_targets(text) == {"a@example.test", "b@example.test", "c@example.test"}
    assert script.forward_targets("redirect ` broken") is None


def test_the_same_conditions_as_imap_search_keys() -> None:
    query = FilterQuery(
        sender="bank", recipient="me", body="a b", not_body="x", has_attachment=True, larger=10, smaller=99
    )
    assert query.criteria() == [
        b"FROM", "bank",
        b"OR", b"TO", "me", b"CC", "me",
        b"BODY", "a b",
        b"NOT", b"BODY", "x",
        b"HEADER", b"Content-Type", b"multipart/mixed",
        b"LARGER", 10,
        b"SMALLER", 99,
    ]  # fmt: skip
    assert FilterQuery(subject="line\r\nbreak").criteria() == [b"SUBJECT", "line break"]
    assert FilterQuery().criteria() == [b"ALL"]


def test_uid_sets_store_long_lists_in_a_few_bytes() -> None:
    uids = [*range(1, 5001), 5003, *range(6000, 6003)]
    assert format_uid_set(uids) == "1:5000,5003,6000:6002"
    assert parse_uid_set(format_uid_set(uids)) == uids
    assert parse_uid_set("") == [] and format_uid_set([]) == ""
