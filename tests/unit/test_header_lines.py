"""The rows' header reader gives what email's parser gives, for any bytes."""

from __future__ import annotations

import email.parser
import email.policy
import random

import pytest

from webmail.mailaccess.headerlines import raw_items

PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def _email(raw: bytes) -> list[tuple[str, str]]:
    return list(PARSER.parsebytes(raw).raw_items())


PIECES = [
    b"From: Ann <a@x.test>",
    b"Subject: hi",
    b"Subject:",
    b"subject:  \t spaced",
    b"Date: Mon, 2 Mar 2026 10:00:00 +0000",
    b"To: a@x.test,",
    b" b@x.test",
    b"\tc@x.test",
    b" ",
    b"From x@y Mon Jan  1 00:00:00 2026",
    b"From : spaced colon",
    b": no name",
    b"Subject : space before colon",
    b"X-8bit: caf\xe9 \xff",
    b"Subject: =?iso-2022-jp?b?GyRCJEYkOSRIGyhC?=",
    b"Subject: ctrl \x01\x7f\x00 chars",
    b"no colon at all",
    b"",
    b"Subj",
]
ENDS = [b"\r\n", b"\n", b"\r", b"\r\r\n", b""]


@pytest.mark.parametrize("seed", range(300))
def test_random_header_blocks_read_as_email_reads_them(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        raw = b"".join(rng.choice(PIECES) + rng.choice(ENDS) for _ in range(rng.randint(0, 8)))
        if rng.random() < 0.3:
            raw = raw[: rng.randint(0, len(raw))]  # cut by the byte cap, anywhere
        assert raw_items(raw) == _email(raw), raw


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n",
        b"Date: x\r\nFrom: a@b\r\nSubject: s\r\n\r\n",
        b" continuation first\r\nSubject: s\r\n\r\n",
        b"From a@b Mon\r\n folded envelope\r\nSubject: s\r\n\r\n",
        b"Subject: s\r\nFrom a@b Mon\r\n",
        b"Subject: s\r\nFrom a@b Mon\r\nTo: t\r\n",
        b"Subject: s\r\n: x\r\n y\r\nTo: t\r\n",
        b"Subject: one\r\n two\r\n\tthree\r\n\r\nbody: not a header\r\n",
        b"Subject: " + b"S" * 5000,
        b"To: " + b",\r\n ".join(b"r%d@example.test" % i for i in range(100))[:1024],
    ],
)
def test_odd_header_blocks_read_as_email_reads_them(raw: bytes) -> None:
    assert raw_items(raw) == _email(raw)
