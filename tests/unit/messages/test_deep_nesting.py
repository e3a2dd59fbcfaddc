"""Messages nested thousands deep (issue 12): every recursive path stays bounded.

A forwarded message inside a forwarded message, hundreds of levels deep, gave
a 500 (RecursionError in the recursive body template). The part tree, the
display plan, the rendered layout, the template and the BODYSTRUCTURE parse
are each checked here with nesting far past any sensible limit.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from imapclient.response_parser import parse_fetch_response

from webmail.mailaccess.connection import ImapConnection
from webmail.mailaccess.message import fetch_head
from webmail.mailaccess.session import MailSession
from webmail.messages.choose import MAX_NESTED_MESSAGES, choose_display
from webmail.messages.parts import Envelope, MimePart, build_part_tree
from webmail.reading.reader import RenderedItem, RenderedMessage

DEPTH = 5000  # far past Python's recursion limit
assert DEPTH > sys.getrecursionlimit()

TEXT = (b"text", b"plain", (b"charset", b"utf-8"), None, None, b"7bit", 5, 1)


def envelope(level: int) -> tuple[Any, ...]:
    sender = ((b"Level %d" % level, None, b"l%d" % level, b"example.test"),)
    return (None, b"level %d" % level, sender, sender, sender, None, None, None, None, None)


def rfc822_chain(depth: int) -> tuple[Any, ...]:
    """A message/rfc822 holding a message/rfc822 ... ``depth`` times, then text."""
    body: tuple[Any, ...] = TEXT
    for level in range(depth, 0, -1):
        body = (b"message", b"rfc822", None, None, None, b"7bit", 100, envelope(level), body, 3)
    return body


def forward_chain(depth: int) -> tuple[Any, ...]:
    """multipart/mixed (text, message/rfc822 (multipart/mixed (text, message/rfc822 ...)))."""
    body: tuple[Any, ...] = TEXT
    for level in range(depth, 0, -1):
        message = (b"message", b"rfc822", None, None, None, b"7bit", 100, envelope(level), body, 3)
        body = (TEXT, message, b"mixed")
    return body


def multipart_chain(depth: int) -> tuple[Any, ...]:
    body: tuple[Any, ...] = TEXT
    for _ in range(depth):
        body = (body, b"mixed")
    return body


@pytest.mark.parametrize("make", [rfc822_chain, forward_chain, multipart_chain])
def test_part_tree_is_bounded_and_walks_without_recursion(make: Any) -> None:
    tree = build_part_tree(make(DEPTH))
    parts = list(tree.walk())
    assert 1 < len(parts) < 200
    assert all(tree.find(p.section) is p for p in parts)
    leaves = list(tree.leaves())
    assert leaves and all(not p.is_multipart for p in leaves)


def test_walk_of_a_tree_built_by_hand_deeper_than_the_stack() -> None:
    part = MimePart(section="x", content_type="text/plain")
    for level in range(DEPTH):
        part = MimePart(section=f"m{level}", content_type="multipart/mixed", children=(part,))
    assert sum(1 for _ in part.walk()) == DEPTH + 1
    assert part.find("x") is not None


@pytest.mark.parametrize("make", [rfc822_chain, forward_chain])
def test_plan_shows_a_few_levels_and_offers_the_rest_as_a_download(make: Any) -> None:
    plan = choose_display(build_part_tree(make(DEPTH)))
    levels, deepest = 0, plan
    while True:
        nested = [i for i in deepest.body if i.kind == "nested-message"]
        if not nested:
            break
        levels += 1
        deepest = nested[0].plan  # type: ignore[assignment]
    assert levels == MAX_NESTED_MESSAGES
    offered = deepest.attachments
    assert len(offered) == 1 and offered[0].content_type == "message/rfc822"
    assert offered[0].name.endswith(".eml")
    assert plan.all_attachments()[-1] == offered[0]  # the list's paperclip agrees


def test_plan_of_deep_multiparts_shows_the_text() -> None:
    plan = choose_display(build_part_tree(multipart_chain(DEPTH)))
    assert [i.kind for i in plan.body] in (["text"], [])
    assert len(plan.all_attachments()) <= 1


def nested_rendered(depth: int) -> RenderedMessage:
    part = MimePart(section="1", content_type="text/plain")
    inner = RenderedMessage(Envelope(subject="innermost"), [RenderedItem("text", part, html="<p>deep</p>")])
    for level in range(depth):
        holder = MimePart(section=f"{level}", content_type="message/rfc822")
        item = RenderedItem("nested-message", holder, nested=inner)
        inner = RenderedMessage(Envelope(subject=f"level {level}"), [item])
    return inner


def test_rendered_blocks_are_flat_and_balanced() -> None:
    blocks = nested_rendered(DEPTH).blocks()
    kinds = [b.kind for b in blocks]
    assert kinds.count("open-nested") == kinds.count("close-nested") == DEPTH
    assert kinds[DEPTH] == "item" and blocks[DEPTH].item.html == "<p>deep</p>"  # type: ignore[union-attr]
    assert [b.item for b in blocks if b.item and b.item.kind == "html"] == []


def test_body_template_does_not_recurse(settings: Any) -> None:
    html = render_to_string(
        "reading/partials/_message_body.html",
        {"message": nested_rendered(DEPTH), "folder": "INBOX", "uid": 1, "previewable": ()},
    )
    assert html.count('<article class="nested-message">') == DEPTH
    assert html.count("</article>") == DEPTH
    assert "<p>deep</p>" in html and "innermost" in html


# --------------------------------------------------------------------------
# BODYSTRUCTURE deeper than imapclient's recursive parser can follow


def structure_wire(depth: int) -> bytes:
    wire = b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 5 1)'
    for _ in range(depth):
        wire = b"(" + wire + b' "mixed")'
    return wire


def test_imapclient_cannot_parse_it() -> None:
    with pytest.raises(RecursionError):
        parse_fetch_response([b"1 (UID 1 BODYSTRUCTURE " + structure_wire(DEPTH) + b")"])


class ScriptedImap:
    """Just enough of an IMAP server on a local socket: greets, selects INBOX,
    and answers a FETCH of message 7 with or without its (too deep) structure."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.commands: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* PREAUTH [CAPABILITY IMAP4rev1] signed in\r\n")
            for line in lines:
                tag, _, command = line.rstrip(b"\r\n").partition(b" ")
                self.commands.append(command)
                verb = command.split(b" ", 2)
                if verb[0] == b"CAPABILITY":
                    conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
                elif verb[0] == b"SELECT":
                    conn.sendall(
                        b"* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n" + tag + b" OK [READ-WRITE] done\r\n"
                    )
                elif verb[:2] == [b"UID", b"FETCH"]:
                    fields = b'FLAGS (\\Seen) RFC822.SIZE 99 INTERNALDATE "01-Jan-2024 10:00:00 +0000" '
                    fields += b'ENVELOPE (NIL "deep" NIL NIL NIL NIL NIL NIL NIL NIL)'
                    if b"BODYSTRUCTURE" in command:
                        fields += b" BODYSTRUCTURE " + structure_wire(DEPTH)
                    conn.sendall(b"* 1 FETCH (UID 7 " + fields + b")\r\n" + tag + b" OK done\r\n")
                elif verb[0] == b"LOGOUT":
                    conn.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
                    return
                else:
                    conn.sendall(tag + b" OK done\r\n")


@pytest.fixture
def scripted() -> Iterator[ScriptedImap]:
    server = ScriptedImap()
    yield server
    server.listener.close()


def test_fetch_head_survives_a_structure_too_deep_to_parse(scripted: ScriptedImap) -> None:
    client = ImapConnection("127.0.0.1", port=scripted.port, ssl=False, timeout=5)
    head = fetch_head(client, "INBOX", 7)
    assert head.structure_unreadable
    assert head.envelope.subject == "deep" and head.size == 99 and head.uidvalidity == 42
    assert choose_display(head.tree).body == () and choose_display(head.tree).all_attachments() == ()
    client.logout()  # the connection still answers
    fetches = [c for c in scripted.commands if c.startswith(b"UID FETCH")]
    assert len(fetches) == 2 and b"BODYSTRUCTURE" not in fetches[1]


def test_the_pane_says_when_the_structure_could_not_be_read(scripted: ScriptedImap) -> None:
    from webmail.reading.reader import open_message

    client = ImapConnection("127.0.0.1", port=scripted.port, ssl=False, timeout=5)
    opened = open_message(
        MailSession(client), "INBOX", 7, prefer_html=True, allow_remote=False, mark_read=False
    )
    client.logout()
    html = render_to_string(
        "reading/partials/message.html",
        {"opened": opened, "message": opened.rendered, "folder": "INBOX", "uid": 7, "previewable": ()},
        request=RequestFactory().get("/mail/message/?folder=INBOX&uid=7"),
    )
    assert "nested too deeply to show here" in html and "Download (.eml)" in html
