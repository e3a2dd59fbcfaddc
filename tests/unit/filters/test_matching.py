"""The editor's conditions evaluated on a message as Sieve would, and where imported mail is placed."""

from __future__ import annotations

from email.message import EmailMessage

from webmail.filters.imported import FLAGGED, SEEN, Placer
from webmail.filters.matching import matches, parse
from webmail.filters.rules import Actions, Criteria, Filter


def raw_message(**headers: str) -> bytes:
    msg = EmailMessage()
    body = headers.pop("body", "Hello there")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body, charset="utf-8", cte="base64")
    return bytes(msg).replace(b"\n", b"\r\n")


def test_headers_decoded_and_compared_without_ascii_case() -> None:
    raw = raw_message(
        From="=?utf-8?q?Banque_=C3=89toile?= <ALERTS@MyBank.test>", To="a@x.test", Cc="me@y.test"
    )
    message = parse(raw)
    assert matches(Criteria(sender="BANQUE Étoile"), message, len(raw))  # decoded, ASCII case ignored
    assert matches(Criteria(sender="alerts@mybank"), message, len(raw))
    assert not matches(Criteria(sender="banque étoile"), message, len(raw))  # i;ascii-casemap: É ≠ é
    assert matches(Criteria(recipient="me@y"), message, len(raw))  # To or Cc
    assert not matches(Criteria(recipient="nobody"), message, len(raw))


def test_words_in_the_decoded_text_sizes_strict_and_attachments_by_type() -> None:
    raw = raw_message(From="a@x.test", Subject="Invoice", body="Your INVOICE for June is ready")
    message = parse(raw)
    assert matches(Criteria(has_words="invoice for june"), message, len(raw))  # base64 decoded
    assert not matches(Criteria(has_words="invoice", lacks_words="june"), message, len(raw))
    assert matches(Criteria(larger_than=len(raw) - 1, smaller_than=len(raw) + 1), message, len(raw))
    assert not matches(Criteria(larger_than=len(raw)), message, len(raw))
    assert not matches(Criteria(has_attachment=True), message, len(raw))
    mixed = EmailMessage()
    mixed["From"] = "a@x.test"
    mixed.set_content("see attached")
    mixed.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="a.pdf")
    data = bytes(mixed)
    assert matches(Criteria(has_attachment=True), parse(data), len(data))
    assert not matches(Criteria(), message, len(raw))  # no condition: a filter never matches all


def test_imported_mail_is_stored_once_where_the_first_mover_says_with_every_matching_flag() -> None:
    placer = Placer(
        (
            Filter(Criteria(sender="bank"), Actions(star=True)),
            Filter(Criteria(sender="bank"), Actions(move_to="Gone")),  # a folder that no longer exists
            Filter(Criteria(subject="statement"), Actions(move_to="Bank", mark_read=True)),
            Filter(Criteria(sender="bank"), Actions(move_to="Other")),
            Filter(Criteria(subject="offer"), Actions(delete=True)),
        ),
        frozenset({"INBOX", "Bank", "Other", "Trash"}),
    )
    raw = raw_message(From="bank@x.test", Subject="Statement")
    placed = placer.place(raw, folder="INBOX", flags=(SEEN,))
    assert placed.folder == "Bank" and set(placed.flags) == {SEEN, FLAGGED}
    assert placer.place(raw_message(From="a@x.test", Subject="offer"), folder="Label").folder == "Trash"
    assert placer.place(raw_message(From="a@x.test", Subject="hi"), folder="Label").folder == "Label"
    assert Placer().place(raw, folder="INBOX").folder == "INBOX"
