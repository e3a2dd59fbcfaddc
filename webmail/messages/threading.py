"""Conversations: a server's THREAD answer flattened, or threads built from headers.

Both produce the same shape: a list of conversations, each a list of
``(uid, depth)`` in reading order (a reply follows what it answers).
The header fallback links a message to its parent by the last Message-ID
of ``References`` (else ``In-Reply-To``), like RFC 5256's REFERENCES
algorithm minus subject merging, which joins unrelated "Hello" mails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

Conversation = list[tuple[int, int]]  # (uid, depth)

_MSGID_RE = re.compile(r"<([^<>\s]+)>")


def parse_thread_answer(raw: bytes) -> list[Conversation]:
    """Conversations from the text of a ``THREAD`` answer, e.g. ``(2)(3 6 (4 23)(44 7 96))``.

    RFC 5256: each number answers the one before it; a parenthesised branch
    answers the last number before it; a thread may start with branches under
    a missing root. Read with an explicit stack, not recursion: a forged
    branchy thread nests thousands of levels deep.
    """
    conversations: list[Conversation] = []
    stack: list[int] = []  # per open parenthesis: the depth its next number gets
    current: Conversation = []
    for token in _THREAD_TOKEN.findall(raw):
        if token == b"(":
            if not stack:
                current = []
                conversations.append(current)
            stack.append(stack[-1] if stack else 0)
        elif token == b")":
            if stack:
                stack.pop()
        elif stack:
            current.append((int(token), stack[-1]))
            stack[-1] += 1
    return [conv for conv in conversations if conv]


_THREAD_TOKEN = re.compile(rb"\(|\)|\d+")


@dataclass(frozen=True)
class ThreadHeaders:
    message_id: str
    in_reply_to: str
    references: str


def message_ids(value: str) -> list[str]:
    return [m.lower() for m in _MSGID_RE.findall(value or "")]


def build_threads(headers: Mapping[int, ThreadHeaders]) -> list[Conversation]:
    """Group messages by their reply chains; each conversation in UID order of its root."""
    uid_by_id: dict[str, int] = {}
    for uid in sorted(headers):
        ids = message_ids(headers[uid].message_id)
        if ids and ids[0] not in uid_by_id:  # a duplicate Message-ID keeps the first copy
            uid_by_id[ids[0]] = uid
    parent: dict[int, int] = {}
    for uid, h in headers.items():
        chain = message_ids(h.references) or message_ids(h.in_reply_to)
        # The nearest ancestor we have: a thread survives a missing middle message.
        for ref in reversed(chain):
            candidate = uid_by_id.get(ref)
            if candidate is not None and candidate != uid:
                parent[uid] = candidate
                break
    _break_cycles(parent)
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    for uid in sorted(headers):
        if uid in parent:
            children.setdefault(parent[uid], []).append(uid)
        else:
            roots.append(uid)
    conversations: list[Conversation] = []
    for root in roots:
        out: Conversation = []
        stack = [(root, 0)]
        while stack:
            uid, depth = stack.pop()
            out.append((uid, depth))
            stack.extend((child, depth + 1) for child in reversed(children.get(uid, [])))
        conversations.append(out)
    return conversations


def _break_cycles(parent: dict[int, int]) -> None:
    """Forged or looping References must not hide messages: cut each loop once (linear time)."""
    done: set[int] = set()
    for start in list(parent):
        path: dict[int, None] = {}
        node: int | None = start
        while node is not None and node not in done:
            if node in path:
                parent.pop(node, None)  # the loop closes here
                break
            path[node] = None
            node = parent.get(node)
        done.update(path)
