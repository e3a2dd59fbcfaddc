"""The POP3 client's framing and protocol rules, against a scripted server."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from tests.unit.imports.fakepop import FakePop, multiline
from webmail.mailaccess.errors import (
    AuthenticationFailed,
    ProtocolError,
    ServerBusy,
    ServerUnavailable,
    TlsError,
)
from webmail.mailaccess.pop3 import Capabilities, external_tls_context
from webmail.mailaccess.types import Endpoint, Security

CAPA = multiline(b"UIDL", b"TOP", b"PIPELINING", b"USER", b"RESP-CODES", b"SASL PLAIN")


def started(fake: FakePop):  # type: ignore[no-untyped-def]
    client = fake.client()
    client.start()
    return client


def test_dot_stuffed_lines_are_unstuffed_and_the_terminator_removed() -> None:
    message = [b"Subject: dots", b"", b".leading dot", b"..two dots", b".", b"end"]
    fake = FakePop({b"CAPA": CAPA, b"RETR": multiline(*message)})
    client = started(fake)
    [(number, body)] = list(client.retrieve([1], max_size=10_000))
    assert number == 1
    assert body == b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"


def test_first_body_line_starting_with_a_dot() -> None:
    fake = FakePop({b"CAPA": CAPA, b"RETR": multiline(b".x", b"y")})
    [(_, body)] = list(started(fake).retrieve([1], max_size=1000))
    assert body == b".x\r\ny\r\n"


def test_empty_multiline_body() -> None:
    fake = FakePop({b"CAPA": CAPA, b"RETR": b"+OK 0 octets\r\n.\r\n"})
    assert list(started(fake).retrieve([1], max_size=1000)) == [(1, b"")]


def test_terminator_split_across_reads() -> None:
    body = [b"Subject: slow", b"", *(b"line %d" % i for i in range(50))]
    fake = FakePop({b"CAPA": CAPA, b"RETR": multiline(*body)}, chunk=3)
    [(_, got)] = list(started(fake).retrieve([1], max_size=100_000))
    assert got == b"\r\n".join(body) + b"\r\n"


def test_header_lines_longer_than_poplibs_2048_byte_limit() -> None:
    long_header = b"X-Long: " + b"x" * 100_000
    fake = FakePop({b"CAPA": CAPA, b"RETR": multiline(long_header, b"", b"body")})
    [(_, got)] = list(started(fake).retrieve([1], max_size=1_000_000))
    assert got.startswith(long_header + b"\r\n")


def test_a_status_line_over_512_octets_is_a_protocol_error() -> None:
    fake = FakePop({b"CAPA": CAPA, b"STAT": b"+OK " + b"9" * 600 + b"\r\n"})
    client = started(fake)
    with pytest.raises(ProtocolError):
        client.stat()
    assert client.broken


def test_a_body_over_the_size_limit_is_refused_not_buffered_forever() -> None:
    fake = FakePop({b"CAPA": CAPA, b"RETR": multiline(b"x" * 200_000)})
    with pytest.raises(ProtocolError):
        list(started(fake).retrieve([1], max_size=10))


def test_retr_is_pipelined_when_offered() -> None:
    fake = FakePop({b"CAPA": CAPA, b"RETR": lambda line: multiline(b"msg " + line)}, delay=0.05)
    got = list(started(fake).retrieve([1, 2, 3], max_size=1000))
    assert [n for n, _ in got] == [1, 2, 3]
    assert got[2][1] == b"msg RETR 3\r\n"
    # RETR 2 and 3 were already waiting when the server answered RETR 1.
    assert fake.queued[-3:] == [2, 1, 0]


def test_no_pipelining_without_the_capability() -> None:
    capa = multiline(b"UIDL", b"USER")
    fake = FakePop({b"CAPA": capa, b"RETR": lambda line: multiline(b"x")}, delay=0.02)
    list(started(fake).retrieve([1, 2], max_size=1000))
    assert fake.queued == [0, 0, 0]


def test_stopping_early_drains_answers_in_flight() -> None:
    fake = FakePop({b"CAPA": CAPA, b"RETR": lambda line: multiline(b"x"), b"STAT": b"+OK 3 30\r\n"})
    client = started(fake)
    answers = client.retrieve([1, 2, 3], max_size=1000)
    next(answers)
    answers.close()  # the caller gave up after the first message
    assert client.stat() == (3, 30)  # the session is still in step


def test_an_err_for_one_message_does_not_stop_the_others() -> None:
    def retr(line: bytes) -> bytes:
        return b"-ERR no such message\r\n" if line.endswith(b" 2") else multiline(b"ok")

    fake = FakePop({b"CAPA": CAPA, b"RETR": retr})
    assert list(started(fake).retrieve([1, 2, 3], max_size=100)) == [
        (1, b"ok\r\n"),
        (2, None),
        (3, b"ok\r\n"),
    ]


def test_uidl_and_list() -> None:
    fake = FakePop(
        {
            b"CAPA": CAPA,
            b"UIDL": multiline(b"1 abc", b"2 def"),
            b"LIST": multiline(b"1 120", b"2 3400"),
        }
    )
    client = started(fake)
    assert client.uidl() == {1: "abc", 2: "def"}
    assert client.list_sizes() == {1: 120, 2: 3400}


def test_listings_tolerate_spacing_and_blank_lines_and_refuse_a_garbled_line() -> None:
    fake = FakePop(
        {
            b"CAPA": CAPA,
            b"UIDL": multiline(b"1  abc ", b"", b"2\tdef", b" 3 g h"),
            b"LIST": multiline(b"1 120", b"two 3400"),
        }
    )
    client = started(fake)
    assert client.uidl() == {1: "abc", 2: "def", 3: "g h"}
    with pytest.raises(ProtocolError):
        client.list_sizes()


def test_no_uidl_capability_means_none() -> None:
    fake = FakePop({b"CAPA": multiline(b"USER", b"TOP")})
    client = started(fake)
    assert client.uidl() is None
    assert b"UIDL" not in fake.commands


def test_server_without_capa_gets_user_pass() -> None:
    fake = FakePop({b"CAPA": b"-ERR what?\r\n", b"USER": b"+OK\r\n", b"PASS": b"+OK\r\n"})
    client = started(fake)
    assert not client.caps.known
    client.login("me", "secret word")
    assert fake.commands[-2:] == [b"USER me", b"PASS secret word"]


def test_auth_plain_with_initial_response() -> None:
    fake = FakePop({b"CAPA": CAPA, b"AUTH": b"+OK welcome\r\n"})
    started(fake).login("me", "pw")
    token = base64.b64encode(b"\0me\0pw")
    assert fake.commands[1] == b"AUTH PLAIN " + token


def test_auth_plain_too_long_for_one_line_waits_for_the_continuation() -> None:
    fake = FakePop({b"CAPA": CAPA, b"AUTH": b"+ \r\n"})
    fake.script[b"AUTH PLAIN"] = b"+ \r\n"
    username, password = "u" * 120, "p" * 120
    token = base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode())
    fake.script[token] = b"+OK\r\n"
    started(fake).login(username, password)
    assert fake.commands[1:] == [b"AUTH PLAIN", token, b"CAPA"]


def test_apop_on_a_plain_connection_when_the_greeting_has_a_timestamp() -> None:
    stamp = b"<1896.697170952@dbc.mtview.ca.us>"
    fake = FakePop({b"CAPA": CAPA, b"APOP": b"+OK\r\n"}, greeting=b"+OK POP3 server ready " + stamp)
    started(fake).login("mrose", "tanstaaf")
    # The example of RFC 1939, section 7.
    assert fake.commands[1] == b"APOP mrose c4c9334bac560ecc979e58001b3e22fb"
    assert hashlib.md5(stamp + b"tanstaaf").hexdigest() == "c4c9334bac560ecc979e58001b3e22fb"  # noqa: S324


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"-ERR [AUTH] invalid password\r\n", AuthenticationFailed),
        (b"-ERR bad login\r\n", AuthenticationFailed),
        (b"-ERR [IN-USE] mailbox locked\r\n", ServerBusy),
        (b"-ERR [SYS/TEMP] try later\r\n", ServerUnavailable),
    ],
)
def test_login_refusals_become_domain_errors(reply: bytes, error: type[Exception]) -> None:
    fake = FakePop({b"CAPA": CAPA, b"AUTH": reply})
    with pytest.raises(error) as caught:
        started(fake).login("me", "pw")
    if error is AuthenticationFailed:
        assert "pop.test:110" in caught.value.user_message
        assert "pw" not in str(caught.value)


def test_a_password_is_never_sent_in_clear_when_the_server_forbids_it() -> None:
    fake = FakePop({b"CAPA": multiline(b"UIDL", b"STLS")})
    with pytest.raises(TlsError):
        started(fake).login("me", "pw")
    assert fake.commands == [b"CAPA"]


def test_starttls_required_but_not_offered() -> None:
    fake = FakePop({b"CAPA": multiline(b"UIDL", b"USER")})
    client = started(fake)
    with pytest.raises(TlsError, match="does not offer STARTTLS"):
        client.starttls()


def test_line_breaks_in_settings_cannot_smuggle_commands() -> None:
    fake = FakePop({b"CAPA": CAPA, b"USER": b"+OK\r\n"})
    client = started(fake)
    with pytest.raises(ProtocolError):
        client._simple("USER", "me\r\nDELE 1")
    assert fake.commands == [b"CAPA"]


def test_connection_closed_mid_retr_is_a_lost_connection() -> None:
    fake = FakePop({b"CAPA": CAPA, b"RETR": b"+OK\r\nSubject: cut\r\n\r\npart of the bo"})
    fake.script[b"NOOP"] = None
    client = started(fake)
    answers = client.retrieve([1], max_size=1000)
    fake._server.shutdown(2)  # the server goes away mid-message
    with pytest.raises(ServerUnavailable, match="lost"):
        list(answers)
    assert client.broken


def test_dele_returns_what_was_accepted_and_quit_commits() -> None:
    def dele(line: bytes) -> bytes:
        return b"-ERR already deleted\r\n" if line.endswith(b" 2") else b"+OK\r\n"

    fake = FakePop({b"CAPA": CAPA, b"DELE": dele, b"QUIT": b"+OK bye\r\n"})
    client = started(fake)
    assert client.delete([1, 2, 3]) == [1, 3]
    client.quit()
    assert fake.commands[-1] == b"QUIT"


def test_capabilities_parse() -> None:
    caps = Capabilities.parse(b"TOP\r\nuidl\r\nSASL PLAIN LOGIN\r\nIMPLEMENTATION x\r\n")
    assert caps.has("UIDL") and caps.has("top")
    assert caps.sasl == {"PLAIN", "LOGIN"}


def test_external_servers_are_verified_against_system_cas_plus_the_extra_bundle(tmp_path: Path) -> None:
    import ssl
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-subj", "/CN=extra",
         "-keyout", str(key), "-out", str(cert), "-days", "1"],
        check=True, capture_output=True,
    )  # fmt: skip
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]
    context = external_tls_context(Endpoint("pop.test", 995, Security.TLS, ca_file=str(cert)))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == system + 1
