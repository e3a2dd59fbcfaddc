"""The user's Sieve script (RFC 5228) read into the editor's rules, and written back.

sievelib does the language: its lexer splits the script into top-level
commands (each with its comments and exact text), its parser builds the
command tree, its command classes build ours and print them. A rule becomes a
``Filter`` (or the ``Vacation``) only when printing the filter rebuilt from it
gives exactly the command the parser read: anything the editor would not
reproduce to the letter stays a ``RawRule`` and is written back verbatim.

What we write, one rule per ``if``, named by a comment (sievelib's convention)::

    # Filter: Bank
    if allof (header :contains "from" "bank", size :over 1M) {
        addflag "\\\\Seen";
        fileinto "Bank";
    }

A paused rule is wrapped in ``if false { ... }``. The vacation reply is an
``if allof (...) { vacation ...; }`` whose tests hold its date range (the
``date`` extension), the list and automatic-mail checks and, for "only my
contacts", their addresses.
"""

from __future__ import annotations

import hashlib
import io
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from email import message_from_string
from email.message import Message
from email.policy import compat32

from sievelib import commands, tools
from sievelib.commands import Command
from sievelib.parser import Lexer, Parser

from .rules import KB, MB, Actions, Criteria, Entry, Filter, RawRule, Rules, Vacation

FILTER_PREFIX = "# Filter: "
VACATION_COMMENT = "# Vacation"
SEEN = "\\Seen"
FLAGGED = "\\Flagged"
# Mailing lists and automatic mail never get the vacation reply (besides the server's own checks).
LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")
BULK_PRECEDENCE = ("bulk", "list", "junk")
ATTACHMENT_TYPE = "multipart/mixed"  # as the search's "has attachment" (mailaccess/search.py)


# ------------------------------------------------------------------ reading
@dataclass(frozen=True)
class _Segment:
    """One top-level command: its bytes (leading comments included) and first word."""

    start: int
    end: int
    command: str
    comments: tuple[str, ...]


def _lex(data: bytes) -> list[tuple[str, bytes, int]] | None:
    """(type, value, offset) of each token; None when sievelib's lexer cannot read the script."""
    lexer = Lexer(Parser.lrules)
    tokens: list[tuple[str, bytes, int]] = []
    try:
        for kind, value in lexer.scan(data):
            tokens.append((kind, value, lexer.pos))  # pos is the token's start while it is yielded
    except Exception:  # sievelib's ParseError, or anything its regexes choke on
        return None
    return tokens


def _split(data: bytes) -> tuple[list[_Segment], int] | None:
    """Top-level commands (``elsif``/``else`` joined to their ``if``) and where the last ends."""
    tokens = _lex(data)
    if tokens is None:
        return None
    segments: list[_Segment] = []
    depth, start, command, comments = 0, 0, "", []
    for kind, value, offset in tokens:
        if kind == "hash_comment" and not command:
            comments.append(value.decode("utf-8", "replace").strip())
            continue
        if kind == "identifier" and depth == 0 and not command:
            command = value.decode("ascii").lower()
            continue
        if kind == "left_cbracket":
            depth += 1
        elif kind == "right_cbracket":
            depth -= 1
        end_here = (kind == "semicolon" and depth == 0) or (kind == "right_cbracket" and depth == 0)
        if not end_here:
            continue
        end = offset + len(value)
        if command in ("elsif", "else") and segments and segments[-1].command == "if":
            last = segments.pop()
            segments.append(_Segment(last.start, end, "if", last.comments))
        else:
            segments.append(_Segment(start, end, command, tuple(comments)))
        start, command, comments = end, "", []
    if depth != 0 or command:
        return None  # unbalanced: the server would not have accepted it; show it whole
    return segments, start


def _require_names(segment_text: str) -> list[str]:
    tokens = _lex(segment_text.encode()) or []
    return [tools.unquote(v.decode()) for kind, v, _o in tokens if kind == "string"]


def _parse_one(requires: list[str], text: str) -> Command | None:
    """The single command in ``text``, parsed with the script's extensions loaded."""
    parser = Parser()
    prefix = f"require [{', '.join(tools.quote(r) for r in requires)}];\n" if requires else ""
    if not parser.parse((prefix + text).encode()):
        return None
    found = [c for c in parser.result if not isinstance(c, commands.RequireCommand)]
    return found[0] if len(found) == 1 else None


def read(text: str, *, trash: str = "Trash") -> Rules:
    """The server's script as rules; ``trash`` is the folder a "delete" files into."""
    text = text.replace("\r\n", "\n")
    data = text.encode()
    split = _split(data)
    if split is None:
        return Rules(entries=[RawRule(text.strip())] if text.strip() else [], whole_raw=bool(text.strip()))
    segments, last_end = split
    rules = Rules(tail=data[last_end:].decode().strip())
    for segment in segments:
        chunk = data[segment.start : segment.end].decode()
        if segment.command == "require":
            rules.requires += [r for r in _require_names(chunk) if r not in rules.requires]
            if not rules.entries and segment.comments:
                rules.preamble += "".join(f"{c}\n" for c in segment.comments)
            continue
        command = _parse_one(rules.requires, chunk)
        name = _name(segment.comments)
        entry: Entry | None = None
        if command is not None:
            if rules.vacation is None and VACATION_COMMENT in segment.comments:
                vacation = _as_vacation(command)
                if vacation is not None:
                    rules.vacation = vacation
                    rules.vacation_at = len(rules.entries)
                    continue
            entry = _as_filter(command, name, trash)
        rules.entries.append(entry or RawRule(chunk.strip(), name))
    return rules


def _name(comments: Iterable[str]) -> str:
    for comment in comments:
        if comment.startswith(FILTER_PREFIX):
            return comment[len(FILTER_PREFIX) :].strip()
    return ""


def _canonical(command: Command) -> str:
    out = io.StringIO()
    command.tosieve(target=out)
    return out.getvalue()


def _unwrap_paused(command: Command) -> tuple[Command, bool]:
    """``if false { <rule> }`` is a paused rule."""
    if (
        isinstance(command, commands.IfCommand)
        and isinstance(command.arguments.get("test"), commands.FalseCommand)
        and len(command.children) == 1
        and isinstance(command.children[0], commands.IfCommand)
    ):
        return command.children[0], False
    return command, True


def _tests(command: Command) -> list[Command] | None:
    if not isinstance(command, commands.IfCommand) or not command.children:
        return None
    test = command.arguments.get("test")
    if not isinstance(test, commands.AllofCommand):
        return None
    return list(test.arguments.get("tests", []))


def _as_filter(command: Command, name: str, trash: str) -> Filter | None:
    inner, enabled = _unwrap_paused(command)
    tests = _tests(inner)
    if tests is None:
        return None
    criteria = _criteria(tests)
    actions = _actions(inner.children, trash)
    if criteria is None or actions is None:
        return None
    rule = Filter(criteria, actions, name, enabled)
    try:
        rebuilt = _filter_command(rule, trash)
    except commands.CommandError:
        return None
    return rule if _canonical(rebuilt) == _canonical(command) else None


def _key(command: Command) -> str:
    value = tools.unquote_arg(command.arguments.get("key-list", ""))
    return value if isinstance(value, str) else ""


def _number(value: str) -> int | None:
    match = re.fullmatch(r"(\d+)([KMG]?)", value.upper())
    if not match:
        return None
    return int(match.group(1)) * {"": 1, "K": KB, "M": MB, "G": 1024 * MB}[match.group(2)]


_HEADER_FIELDS = {"from": "sender", "subject": "subject", "content-type": "attachment"}


def _criteria(tests: list[Command]) -> Criteria | None:
    """The editor's conditions, or None when a test is not one of them (or comes twice)."""
    text: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for test in tests:
        negated = isinstance(test, commands.NotCommand)
        if negated:
            test = test.arguments.get("test")
        if isinstance(test, commands.HeaderCommand) and not negated:
            names = tools.unquote_arg(test.arguments.get("header-names", ""))
            field = "recipient" if names == ["to", "cc"] else _HEADER_FIELDS.get(str(names), "")
            if not field or field in text:
                return None
            text[field] = _key(test)
        elif isinstance(test, commands.BodyCommand):
            field = "lacks_words" if negated else "has_words"
            if field in text:
                return None
            text[field] = _key(test)
        elif isinstance(test, commands.SizeCommand) and not negated:
            size = _number(str(test.arguments.get("limit", "")))
            over = str(test.arguments.get("comparator", "")).lower() == ":over"
            field = "larger_than" if over else "smaller_than"
            if size is None or field in sizes:
                return None
            sizes[field] = size
        else:
            return None
    if text.get("attachment", ATTACHMENT_TYPE) != ATTACHMENT_TYPE:
        return None
    return Criteria(
        sender=text.get("sender", ""),
        recipient=text.get("recipient", ""),
        subject=text.get("subject", ""),
        has_words=text.get("has_words", ""),
        lacks_words=text.get("lacks_words", ""),
        has_attachment="attachment" in text,
        larger_than=sizes.get("larger_than"),
        smaller_than=sizes.get("smaller_than"),
    )


def _actions(children: list[Command], trash: str) -> Actions | None:
    """The editor's actions, or None when one is not (the order is checked by rebuilding)."""
    flags: set[str] = set()
    move_to = forward_to = ""
    for child in children:
        if not isinstance(child, commands.ActionCommand):
            return None
        args = child.args_as_tuple()
        name, rest = args[0], args[1:]
        if name == "addflag" and rest in ((SEEN,), (FLAGGED,)):
            flags.add(str(rest[0]))
        elif name == "redirect" and len(rest) == 2 and rest[0] == ":copy" and isinstance(rest[1], str):
            forward_to = rest[1]
        elif name == "fileinto" and len(rest) == 1 and rest[0] == trash:
            flags.add("delete")
        elif name == "fileinto" and len(rest) == 1 and isinstance(rest[0], str):
            move_to = rest[0]
        elif name == "keep" and not rest:
            flags.add("keep")
        else:
            return None
    return Actions(
        move_to=move_to,
        mark_read=SEEN in flags,
        star=FLAGGED in flags,
        forward_to=forward_to,
        delete="delete" in flags,
        never_junk="keep" in flags,
    )


def _strings_of(value: object) -> tuple[str, ...]:
    found = tools.unquote_arg(value) if isinstance(value, str | list) else []
    return (found,) if isinstance(found, str) else tuple(found)


def _as_vacation(command: Command) -> Vacation | None:
    inner, enabled = _unwrap_paused(command)
    tests = _tests(inner)
    if tests is None or len(inner.children) != 1:
        return None
    action = inner.children[0]
    if not isinstance(action, commands.VacationCommand):
        return None
    days: dict[str, date] = {}
    contacts: tuple[str, ...] | None = None
    for test in tests:
        if isinstance(test, commands.CurrentdateCommand):
            args = test.args_as_tuple()  # ("currentdate", ":value", "ge", "date", "2026-03-01")
            if len(args) != 5 or args[1] != ":value" or args[3] != "date":
                return None
            try:
                days["start" if args[2] == "ge" else "end"] = date.fromisoformat(str(args[4]))
            except ValueError:
                return None
        elif isinstance(test, commands.AddressCommand):
            contacts = _strings_of(test.arguments.get("key-list", []))
        # The list and automatic-mail checks are rebuilt as they always are (and compared below).
    reason = tools.unquote(str(action.arguments.get("reason", "")))
    text, html = reason, ""
    if "mime" in action.arguments:
        parts = _mime_parts(reason)
        if parts is None:
            return None
        text, html = parts
    extra = action.extra_arguments
    try:
        period = int(extra.get("days", 7))
    except ValueError:
        return None
    vacation = Vacation(
        enabled=enabled,
        start=days.get("start"),
        end=days.get("end"),
        subject=tools.unquote(str(extra.get("subject", ""))),
        text=text,
        html=html,
        days=period,
        contacts_only=contacts is not None,
        contacts=contacts or (),
        addresses=_strings_of(extra.get("addresses", [])),
    )
    try:
        rebuilt = _vacation_command(vacation)
    except commands.CommandError:
        return None
    return vacation if _canonical(rebuilt) == _canonical(command) else None


def _mime_parts(entity: str) -> tuple[str, str] | None:
    message: Message = message_from_string(entity, policy=compat32)
    if message.get_content_type() != "multipart/alternative":
        return None
    text = html = ""
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        value = payload.decode(part.get_content_charset() or "utf-8", "replace")
        if part.get_content_type() == "text/plain":
            text = value
        elif part.get_content_type() == "text/html":
            html = value
    return text, html


# ------------------------------------------------------------------ writing
def _quote(value: str) -> str:
    return tools.quote(value)


def _strings(command: Command, value: str | list[str]) -> None:
    if isinstance(value, list):
        command.check_next_arg("stringlist", [_quote(v) for v in value])
    else:
        command.check_next_arg("string", _quote(value))


def _new(name: str, parent: Command | None) -> Command:
    # checkexists=False: which extensions the script loads is our business (``requires``).
    return commands.get_command_instance(name, parent, False)


def _header(parent: Command, names: str | list[str], match: str, keys: str | list[str]) -> Command:
    test = _new("header", parent)
    test.check_next_arg("tag", match)
    _strings(test, names)
    _strings(test, keys)
    return test


def _not(parent: Command, inner: Command) -> Command:
    test = _new("not", parent)
    inner.parent = test
    test.check_next_arg("test", inner)
    return test


def _body(parent: Command, phrase: str) -> Command:
    test = _new("body", parent)
    test.check_next_arg("tag", ":text")
    test.check_next_arg("tag", ":contains")
    _strings(test, phrase)
    return test


def _sieve_number(size: int) -> str:
    if size and size % MB == 0:
        return f"{size // MB}M"
    if size and size % KB == 0:
        return f"{size // KB}K"
    return str(size)


def _size(parent: Command, comparator: str, size: int) -> Command:
    test = _new("size", parent)
    test.check_next_arg("tag", comparator)
    test.check_next_arg("number", _sieve_number(size))
    return test


def _if(tests: list[Command], owner: Command) -> None:
    allof = _new("allof", owner)
    for test in tests:
        test.parent = allof
        allof.check_next_arg("test", test)
    owner.check_next_arg("test", allof)


def _action(parent: Command, name: str, *args: tuple[str, str | list[str]]) -> Command:
    action = _new(name, parent)
    for kind, value in args:
        action.check_next_arg(kind, value, check_extension=False)
    if action.non_deterministic_args:
        action.reassign_arguments()
    parent.addchild(action)
    return action


def _paused(inner: Command) -> Command:
    outer = _new("if", None)
    outer.check_next_arg("test", _new("false", outer))
    inner.parent = outer
    outer.addchild(inner)
    return outer


def _filter_command(rule: Filter, trash: str) -> Command:
    command = _new("if", None)
    c, a = rule.criteria, rule.actions
    tests: list[Command] = []
    if c.sender:
        tests.append(_header(command, "from", ":contains", c.sender))
    if c.recipient:
        tests.append(_header(command, ["to", "cc"], ":contains", c.recipient))
    if c.subject:
        tests.append(_header(command, "subject", ":contains", c.subject))
    if c.has_words:
        tests.append(_body(command, c.has_words))
    if c.lacks_words:
        tests.append(_not(command, _body(command, c.lacks_words)))
    if c.has_attachment:
        tests.append(_header(command, "content-type", ":contains", ATTACHMENT_TYPE))
    if c.larger_than is not None:
        tests.append(_size(command, ":over", c.larger_than))
    if c.smaller_than is not None:
        tests.append(_size(command, ":under", c.smaller_than))
    if not tests:
        raise commands.CommandError("a filter needs at least one condition")
    _if(tests, command)
    # Flags first: imap4flags applies them to the fileinto (or keep) that follows.
    if a.mark_read:
        _action(command, "addflag", ("string", _quote(SEEN)))
    if a.star:
        _action(command, "addflag", ("string", _quote(FLAGGED)))
    if a.forward_to:
        _action(command, "redirect", ("tag", ":copy"), ("string", _quote(a.forward_to)))
    if a.move_to:
        _action(command, "fileinto", ("string", _quote(a.move_to)))
    if a.delete:
        _action(command, "fileinto", ("string", _quote(trash)))
    if a.never_junk:
        _action(command, "keep")
    if not command.children:
        raise commands.CommandError("a filter needs at least one action")
    return command if rule.enabled else _paused(command)


def _filter_requires(rule: Filter) -> list[str]:
    c, a = rule.criteria, rule.actions
    needed: list[str] = []
    if a.move_to or a.delete:
        needed.append("fileinto")
    if a.mark_read or a.star:
        needed.append("imap4flags")
    if a.forward_to:
        needed.append("copy")
    if c.has_words or c.lacks_words:
        needed.append("body")
    return needed


def mime_reason(text: str, html: str) -> str:
    """The vacation reply as a MIME entity (``:mime``): text and HTML side by side.

    Quoted-printable keeps it 7-bit; the boundary comes from the content, so
    the same reply is always written the same way (and read back as ours).
    """
    boundary = "webmail-vacation-" + hashlib.sha256(f"{text}\0{html}".encode()).hexdigest()[:16]

    def part(subtype: str, body: str) -> str:
        encoded = quopri.encodestring(body.encode("utf-8")).decode("ascii").replace("\r\n", "\n")
        return (
            f"--{boundary}\nContent-Type: text/{subtype}; charset=utf-8\n"
            f"Content-Transfer-Encoding: quoted-printable\n\n{encoded}\n"
        )

    return (
        f'Content-Type: multipart/alternative; boundary="{boundary}"\nMIME-Version: 1.0\n\n'
        + part("plain", text)
        + part("html", html)
        + f"--{boundary}--\n"
    )


def _vacation_command(vacation: Vacation) -> Command:
    command = _new("if", None)
    tests: list[Command] = []
    for comparator, day in (("ge", vacation.start), ("le", vacation.end)):
        if day is None:
            continue
        test = _new("currentdate", command)
        test.check_next_arg("tag", ":value", check_extension=False)
        for value in (comparator, "date", day.isoformat()):
            test.check_next_arg("string", _quote(value))
        tests.append(test)
    exists = _new("exists", command)
    _strings(exists, list(LIST_HEADERS))
    tests.append(_not(command, exists))
    tests.append(_not(command, _header(command, "auto-submitted", ":contains", "auto-")))
    tests.append(_not(command, _header(command, "precedence", ":is", list(BULK_PRECEDENCE))))
    if vacation.contacts_only:
        if not vacation.contacts:
            raise commands.CommandError("no contacts to reply to")
        address = _new("address", command)
        address.check_next_arg("tag", ":is")
        _strings(address, "from")
        _strings(address, list(vacation.contacts))
        tests.append(address)
    _if(tests, command)
    args: list[tuple[str, str | list[str]]] = [("tag", ":subject"), ("string", _quote(vacation.subject))]
    args += [("tag", ":days"), ("number", str(vacation.days))]
    if vacation.addresses:
        args += [("tag", ":addresses"), ("stringlist", [_quote(a) for a in vacation.addresses])]
    if vacation.html:
        args += [("tag", ":mime"), ("string", _quote(mime_reason(vacation.text, vacation.html)))]
    else:
        args += [("string", _quote(vacation.text))]
    _action(command, "vacation", *args)
    return command if vacation.enabled else _paused(command)


VACATION_REQUIRES = ["vacation", "date", "relational"]


@dataclass
class _Writer:
    trash: str
    requires: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def need(self, names: Iterable[str]) -> None:
        self.requires += [n for n in names if n not in self.requires]

    def add(self, comment: str, command: Command) -> None:
        self.parts.append(f"{comment}\n{_canonical(command)}")

    def entry(self, entry: Entry) -> None:
        if isinstance(entry, RawRule):
            self.parts.append(entry.text.strip() + "\n")
            return
        self.need(_filter_requires(entry))
        name = " ".join((entry.name or "").split())
        self.add(f"{FILTER_PREFIX}{name}".rstrip(), _filter_command(entry, self.trash))

    def vacation(self, vacation: Vacation) -> None:
        self.need(VACATION_REQUIRES)
        self.add(VACATION_COMMENT, _vacation_command(vacation))


def write(rules: Rules, *, trash: str = "Trash") -> str:
    """The script for ``rules``. Raises sievelib's CommandError for a rule it cannot express."""
    writer = _Writer(trash, requires=list(rules.requires))
    for index, entry in enumerate(rules.entries):
        if rules.vacation is not None and index == rules.vacation_at:
            writer.vacation(rules.vacation)
        writer.entry(entry)
    if rules.vacation is not None and rules.vacation_at >= len(rules.entries):
        writer.vacation(rules.vacation)
    head = rules.preamble
    if writer.requires:
        head += f"require [{', '.join(_quote(r) for r in writer.requires)}];\n"
    body = "\n".join(writer.parts)
    tail = f"\n{rules.tail}\n" if rules.tail else ""
    return f"{head}\n{body}{tail}" if head else f"{body}{tail}"


# ------------------------------------------------------------------ forwarding targets
def forward_targets(text: str) -> set[str] | None:
    """Addresses the script sends mail to (``redirect``, ``notify "mailto:..."``), lower-cased.

    None when the script cannot be read token by token: it cannot be checked.
    """
    tokens = _lex(text.replace("\r\n", "\n").encode())
    if tokens is None:
        return None
    found: set[str] = set()
    command = ""
    for kind, value, _offset in tokens:
        if kind == "identifier":
            command = value.decode("ascii").lower()
        elif kind in ("string", "multiline") and command == "redirect":
            found.add(tools.unquote(value.decode()).strip().lower())
            command = ""
        elif kind in ("string", "multiline"):
            literal = tools.unquote(value.decode()).strip()
            if command == "notify" and literal.lower().startswith("mailto:"):
                found.add(literal[len("mailto:") :].split("?", 1)[0].strip().lower())
        elif kind == "semicolon":
            command = ""
    return found
