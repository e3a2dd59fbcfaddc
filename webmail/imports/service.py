"""One import run of an external account, exactly once, whatever its source.

1. Lock the account: a running FetchRun with a lease (``runlock``).
2. Open a session with the source (``sources``; POP3 or IMAP: connect to an address
   the SSRF check approved, STARTTLS if asked, authenticate).
3. List its messages (POP3: UIDL or fallback keys; IMAP: folder, UIDVALIDITY and UID
   of every message of the chosen folders; and sizes), compared with the ledger (``plan``).
4. For each batch of new messages (at most ``WEBMAIL_POP_MAX_MESSAGES_PER_RUN`` a
   run while other accounts wait for a worker; past that while none does):
   a. RETR them (pipelined). One left "pending" by an interrupted run is first
      looked for in its folder (``find_copy``), and not stored again if it is there;
   b. write "pending" rows (Message-ID, size, the folder the user's filters chose
      for it, and that folder's UIDVALIDITY and UIDNEXT from before the run stored
      anything there) and commit, renewing the lease in the same transaction;
   c. APPEND them, one MULTIAPPEND per folder (INTERNALDATE from the Date header,
      \\Seen if asked, and the filters' flags);
   d. record them stored, and commit;
   e. only now delete (POP3: DELE; IMAP: STORE \\Deleted and UID EXPUNGE) those the policy lets go.
5. Finish the session (POP3: QUIT, which is when the server deletes); then record the deletions.

IMAP messages go to a folder under the account's label named as on the source (the
Inbox to the inbox or the label, as for POP3), with their read, flagged and answered
flags. A message whose key is new but whose Message-ID and size (or, without a
Message-ID, a hash of its header block) were already stored is recorded as a
duplicate: the same mail under a new UIDVALIDITY, or moved within the source.

Killed anywhere, the next run finds at most one batch of "pending" rows, and
the folder search tells which of those had been stored.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.fields import secret_unreadable
from accounts.models import MailAccount
from webmail.filters import imported
from webmail.filters.imported import Placer
from webmail.mailaccess.append import Incoming, MailboxWriter, describe, header_block, normalise_crlf
from webmail.mailaccess.errors import AuthenticationFailed, FolderNotFound, MailError
from webmail.mailaccess.sasl import BearerToken
from webmail.mailaccess.types import Endpoint
from webmail.push.events import MailboxEvent, publish

from . import dispatch, ledger, oauth, runlock, sources
from .destination import OwnMailboxError, open_mailbox, own_mailbox
from .ledger import Outcome
from .models import ExternalAccount, FetchRun, LedgerEntry
from .plan import Known, Plan, ServerMessage, batches, make_plan, next_check
from .sources import SourceSession
from .sources import imap as imap_source
from .sources import pop3 as pop3_source

logger = logging.getLogger(__name__)

State = LedgerEntry.State
SEEN = (b"\\Seen",)
HISTORY_KEPT = 100  # runs kept per account
RUN_SECONDS = 60  # a run goes past its cap (nobody else waiting) for this long at most


__all__ = ["OwnMailboxError", "StoredPasswordUnreadable", "account_import", "connection_test"]


class StoredPasswordUnreadable(MailError):
    """The account's stored POP3 password cannot be decrypted (the keys changed without rotation)."""

    default_message = gettext_lazy(
        "The stored password of this account can no longer be read. "
        "Edit the account and enter its password again."
    )


@dataclass
class Tally:
    on_server: int = 0
    planned: int = 0  # messages this run set out to store
    imported: int = 0
    duplicates: int = 0
    skipped: int = 0
    deleted: int = 0
    remaining: int = 0  # new messages left for the next run (the run stopped at its cap)

    @property
    def progressed(self) -> bool:
        """Mail moved: a failure after this is no sign that the account is broken."""
        return self.imported + self.duplicates + self.deleted > 0

    @property
    def unfinished(self) -> int:
        """Messages still waiting once this run stops (the cap's, and its own if it failed)."""
        done = self.imported + self.duplicates + (self.skipped if self.planned else 0)
        return self.remaining + max(0, self.planned - done)


def connection_test(
    *,
    endpoint: Endpoint,
    username: str,
    password: str | BearerToken,
    protocol: str = ExternalAccount.Protocol.POP3,
    folders: list[str] | None = None,
) -> int:
    """What "save" checks: the host is allowed, and the server accepts this login (IMAP: and the
    chosen folders exist). Returns its count of messages (IMAP: in the Inbox)."""
    if protocol == ExternalAccount.Protocol.IMAP:
        return imap_source.check_login(
            endpoint=endpoint, username=username, password=password, folders=folders or []
        )
    return pop3_source.check_login(endpoint=endpoint, username=username, password=password)


def account_import(*, account_id: int, trigger: str = FetchRun.Trigger.OTHER) -> FetchRun | None:
    """Run one check of an enabled account; None if it is paused, gone, or already being checked."""
    account = ExternalAccount.objects.filter(pk=account_id, enabled=True).first()
    if account is None:
        ExternalAccount.objects.filter(pk=account_id).update(queued_at=None)  # paused since: claim used up
        return None
    run = runlock.acquire(account, trigger)
    if run is None:
        logger.info("Import of account %s skipped: another run holds its lock", account_id)
        return None
    tally = Tally()
    with runlock.Heartbeat(run):
        try:
            _run(account, run, tally)
        except runlock.LeaseLost:
            logger.warning("Import run %s of account %s lost its lock and stopped", run.pk, account_id)
            return run
        except MailError as exc:
            logger.info("Import of account %s failed: %s", account_id, exc)
            _finish(account, run, tally, exc)
        except Exception:
            logger.exception("Import of account %s crashed", account_id)
            error = MailError(_("An internal error stopped this check; it will be retried."))
            _finish(account, run, tally, error)
            raise
        else:
            _finish(account, run, tally, None)
    return run


def _run(account: ExternalAccount, run: FetchRun, tally: Tally) -> None:
    if secret_unreadable(account.password):
        raise StoredPasswordUnreadable()
    source = sources.open_session(account)
    try:
        server = source.listing()
        tally.on_server = len(server)
        known = ledger.load(account, stored_dates=bool(account.leave_copy and account.delete_after_days))
        plan = make_plan(
            server,
            known,
            max_size=settings.WEBMAIL_POP_MAX_MESSAGE_BYTES,
            cap=settings.WEBMAIL_POP_MAX_MESSAGES_PER_RUN,
            leave_copy=account.leave_copy,
            delete_after=timedelta(days=account.delete_after_days) if account.delete_after_days else None,
            now=timezone.now(),
        )
        tally.remaining = plan.remaining
        tally.planned = len(plan.fetch)
        ledger.start_backlog(run, account, waiting=len(plan.fetch) + plan.remaining)
        if plan.uidl_reset:
            logger.warning(
                "Import of account %s: UIDLs look reset; de-duplicating by Message-ID and size", account.pk
            )
        if plan.too_large:
            _record_too_large(run, account, plan.too_large)
            tally.skipped += len(plan.too_large)
        if plan.gone:
            ledger.mark_deleted(account, plan.gone)
        deleted = source.delete(plan.delete) if plan.delete else []
        if plan.fetch:
            deleted += _store_all(account, run, tally, source, plan, known)
        if source.more_waiting():
            tally.remaining += 1  # due again at once (an archive uploaded meanwhile)
        source.finish()  # POP3's QUIT: the server removes the deleted messages now, not before
    finally:
        source.close()
    if deleted:
        ledger.mark_deleted(account, [m.key for m in deleted])
        tally.deleted = len(deleted)


def _record_too_large(run: FetchRun, account: ExternalAccount, messages: list[ServerMessage]) -> None:
    limit_mb = settings.WEBMAIL_POP_MAX_MESSAGE_BYTES / (1024 * 1024)
    note = _("larger than the %(limit)g MB limit; left on the server") % {"limit": limit_mb}
    ledger.record(run, account, [Outcome(m.key, State.SKIPPED, size=m.size, note=note) for m in messages])


def _store_all(
    account: ExternalAccount,
    run: FetchRun,
    tally: Tally,
    source: SourceSession,
    plan: Plan,
    known: dict[str, Known],
) -> list[ServerMessage]:
    """Store the planned messages batch by batch; returns those deleted on the way."""
    deleted: list[ServerMessage] = []
    with open_mailbox(account) as mailbox:
        with own_mailbox():
            folder = mailbox.ensure_folder(account.target_label)
            # Once per run: every message appended from here on gets a UID >= this UIDNEXT,
            # which is all an interrupted run's copy needs to be found (find_copy).
            mark = mailbox.uid_mark(folder)
        # After a UIDL reset, and always for IMAP (a new UIDVALIDITY, a move within the source):
        # mail already stored under another key is recognised by Message-ID and size.
        pairs = ledger.stored_pairs(account) if plan.uidl_reset or account.is_imap else None
        # IMAP: each source folder's own folder under the account's label.
        targets = (
            _targets(account, mailbox, source, folder, plan) if account.is_imap or account.is_archive else {}
        )
        # The user's own filters say where each message goes, and with which flags.
        with own_mailbox():
            placer = imported.placer_for(account.user_id, mailbox.existing_folders())
        step = _Step(
            run, account, tally, source, mailbox, folder, known, pairs, {folder: mark}, placer, targets
        )
        todo = plan.fetch
        while todo:
            for batch in batches(
                todo, count=settings.WEBMAIL_POP_BATCH_MESSAGES, size=settings.WEBMAIL_POP_BATCH_BYTES
            ):
                outcomes = step.store(batch)
                if not account.leave_copy:
                    in_mailbox = {o.key for o in outcomes if o.state in (State.STORED, State.DUPLICATE)}
                    deleted += source.delete([m for m in batch if m.key in in_mailbox])
            todo = plan.next_slice(settings.WEBMAIL_POP_MAX_MESSAGES_PER_RUN) if _go_on(account, run) else []
            tally.planned += len(todo)
            tally.remaining = plan.remaining
    return deleted


def _targets(
    account: ExternalAccount, mailbox: MailboxWriter, source: SourceSession, inbox: str, plan: Plan
) -> dict[str, str]:
    """Where each source folder's mail goes: the Inbox as for POP3 (``inbox``); every other IMAP
    folder to the same name under the folder named after the account; an archive's labels to
    folders of their own names (all created if missing)."""
    targets: dict[str, str] = {}
    parent = None if account.is_archive else account.email
    for origin in dict.fromkeys(m.origin for m in [*plan.fetch, *plan.later]):
        if not origin or imap_source.is_inbox(origin):
            targets[origin] = inbox
        else:
            with own_mailbox():
                targets[origin] = mailbox.ensure_path(parent, origin.split(source.delimiter(origin)))
    return targets


def _second_key(raw: bytes, mid: str) -> str:
    """The Message-ID, or for a message without one a hash of its header block."""
    if mid:
        return mid
    return "~" + hashlib.sha256(header_block(raw).replace(b"\r\n", b"\n")).hexdigest()[:40]


def _go_on(account: ExternalAccount, run: FetchRun) -> bool:
    """At the cap: go on with the same sessions while no other account waits for a worker (and
    for a minute at most, so deletions are committed and a warm shutdown does not wait long)."""
    if timezone.now() - run.started_at > timedelta(seconds=RUN_SECONDS):
        return False
    return not dispatch.others_waiting(account.pk)


@dataclass
class _Step:
    """Stores one batch at a time (steps 4a to 4d of the module docstring)."""

    run: FetchRun
    account: ExternalAccount
    tally: Tally
    source: SourceSession
    mailbox: MailboxWriter
    folder: str
    known: dict[str, Known]
    pairs: set[tuple[str, int]] | None
    # Each folder's UIDVALIDITY and UIDNEXT from before the run stored anything in it.
    marks: dict[str, tuple[int, int]]
    placer: Placer
    targets: dict[str, str]  # IMAP: source folder -> folder in the mailbox

    def store(self, batch: list[ServerMessage]) -> list[Outcome]:
        interrupted = {m.key for m in batch if (k := self.known.get(m.key)) and k.state == State.PENDING}
        outcomes: list[Outcome] = []
        to_store: list[tuple[Outcome, bytes, datetime | None, tuple[bytes, ...]]] = []
        limit = settings.WEBMAIL_POP_MAX_MESSAGE_BYTES
        in_batch: set[tuple[str, int]] = set()  # second keys of this batch's messages to store
        for message, body in self.source.retrieve(batch, max_size=limit):
            if body is None:
                continue  # the server refused this RETR: tried again next run
            raw = normalise_crlf(body)
            mid, date = describe(raw)
            if self.account.is_imap:
                mid = _second_key(raw, mid)
            pair = (mid, len(raw))
            if message.key in interrupted and self._already_stored(self.known[message.key], raw):
                folder = self.known[message.key].folder or self.folder
                outcomes.append(Outcome(message.key, State.STORED, mid, len(raw), folder))
            elif self.pairs is not None and mid and (pair in self.pairs or pair in in_batch):
                outcomes.append(Outcome(message.key, State.DUPLICATE, mid, len(raw)))
            else:
                flags = tuple(message.flags)
                if self.account.mark_seen and SEEN[0] not in flags:
                    flags += SEEN
                folder = self.targets.get(message.origin, self.folder)
                if folder == self.folder:  # the Inbox (or the label): the user's filters apply
                    placed = self.placer.place(raw, folder=folder, flags=flags)
                    folder, flags = placed.folder, placed.flags
                outcome = Outcome(message.key, State.STORED, mid, len(raw), folder)
                to_store.append((outcome, raw, date, flags))
                in_batch.add(pair)
        groups: dict[str, list[tuple[Outcome, bytes, datetime | None, tuple[bytes, ...]]]] = {}
        for item in to_store:
            groups.setdefault(item[0].folder, []).append(item)
        # The intents, committed before the APPEND (the lease is checked in the same transaction),
        # each with the mark of the folder it goes to: where an interrupted run's copy is looked for.
        for folder, items in groups.items():
            uidvalidity, uid_floor = self._mark(folder)
            intents = [item[0] for item in items]
            ledger.write_intent(self.run, self.account, intents, uidvalidity=uidvalidity, uid_floor=uid_floor)
        stored: list[tuple[Outcome, str | None]] = []
        for folder, items in groups.items():
            with own_mailbox():
                refusals = self.mailbox.append(
                    folder, [Incoming(raw, flags, date) for _o, raw, date, flags in items]
                )
            stored += zip([item[0] for item in items], refusals, strict=True)
        for intent, refusal in stored:
            if refusal is None:
                outcomes.append(intent)
                if self.pairs is not None and intent.message_id:
                    self.pairs.add((intent.message_id, intent.size))
            else:
                note = _("refused by your mailbox: %(reason)s") % {"reason": refusal}
                outcomes.append(Outcome(intent.key, State.SKIPPED, intent.message_id, intent.size, note=note))
        ledger.record(self.run, self.account, outcomes, progress=True)
        self._announce(outcomes)
        for outcome in outcomes:
            if outcome.state == State.STORED:
                self.tally.imported += 1
            elif outcome.state == State.DUPLICATE:
                self.tally.duplicates += 1
            else:
                self.tally.skipped += 1
        return outcomes

    def _announce(self, outcomes: list[Outcome]) -> None:
        """Tell the owner's open pages (and Web Push) that mail arrived, once per folder (issue 16)."""
        folders = {o.folder for o in outcomes if o.state == State.STORED and o.folder}
        if not folders:
            return
        owner = MailAccount.objects.filter(user_id=self.account.user_id)
        login = owner.values_list("email", flat=True).first() or ""
        for folder in sorted(folders) if login else ():
            publish(login, MailboxEvent(folder, "new"))

    def _mark(self, folder: str) -> tuple[int, int]:
        if folder not in self.marks:
            with own_mailbox():
                self.marks[folder] = self.mailbox.uid_mark(folder)
        return self.marks[folder]

    def _already_stored(self, entry: Known, raw: bytes) -> bool:
        """Did an interrupted run store this message after writing its intent?"""
        try:
            with own_mailbox():
                return self.mailbox.find_copy(
                    entry.folder or self.folder, raw, uidvalidity=entry.uidvalidity, uid_floor=entry.uid_floor
                )
        except FolderNotFound:
            return False


def _finish(account: ExternalAccount, run: FetchRun, tally: Tally, error: MailError | None) -> None:
    """Close the run and write the account's status and next check.

    More waiting (the cap, or a failure after progress): due at once, and the
    task hands on to the dispatcher. A failure that moved no mail backs off.
    """
    now = timezone.now()
    withdrawn = isinstance(error, oauth.GrantWithdrawn)
    refused = isinstance(error, AuthenticationFailed) and not withdrawn
    # A run that moved mail before it failed (a dropped connection, say) proves the account works.
    failed = error is not None and not tally.progressed
    failures = account.failures + 1 if failed else 0
    auth_failures = account.auth_failures + 1 if refused else 0
    # An unreadable stored password will not become readable by retrying: only the user can fix it.
    pause = auth_failures >= settings.WEBMAIL_POP_AUTH_FAILURES_BEFORE_PAUSE or isinstance(
        error, StoredPasswordUnreadable
    )
    message = error.user_message if error else ""
    if withdrawn:
        # Retrying cannot help: only the user, at the provider, can grant access again.
        message = _(
            "Checking is paused: the authorization to read this account was withdrawn or has expired. "
            "Reconnect to go on importing."
        )
    elif pause and refused:
        message = _(
            "Checking is paused: the server refused the username or password %(count)d times in a row. "
            "Check the password, then resume."
        ) % {"count": auth_failures}
    if error:
        status = FetchRun.Status.FAILED
    else:
        status = FetchRun.Status.PARTIAL if tally.remaining else FetchRun.Status.OK
    if error is None:
        waiting: int | None = tally.remaining  # (a message the server refused waits for the next check)
    else:
        waiting = tally.unfinished if tally.progressed else None  # None: unknown, keep the backlog
    fields: dict[str, object] = {
        "last_run_at": run.started_at,
        "next_run_at": next_check(
            now=now,
            interval=timedelta(minutes=account.interval_minutes),
            failures=failures,
            more_waiting=bool(waiting),
            max_backoff=timedelta(seconds=settings.WEBMAIL_POP_MAX_BACKOFF_SECONDS),
        ),
        "last_imported": tally.imported,  # the total grows with each batch (ledger.record)
        "last_error": message,
        "failures": failures,
        "auth_failures": auth_failures,
    }
    if error is None:
        fields["last_success_at"] = now
    if waiting == 0:
        fields["backlog_since"] = None  # all the waiting mail is in: this import is over
    if withdrawn:
        fields.update(enabled=False, paused_reason=ExternalAccount.Paused.OAUTH, queued_at=None)
    elif pause:
        fields.update(enabled=False, paused_reason=ExternalAccount.Paused.AUTH)
    with transaction.atomic():
        closed = FetchRun.objects.filter(pk=run.pk, status=FetchRun.Status.RUNNING).update(
            status=status,
            finished_at=now,
            lease_until=None,
            on_server=tally.on_server,  # imported, duplicates, skipped: counted batch by batch
            deleted=tally.deleted,
            remaining=tally.remaining,
            error=message,
        )
        if closed:  # else another run took over: it owns the status now
            ExternalAccount.objects.filter(pk=account.pk).update(**fields)
    logger.info(
        "Import run %s of account %s: %s, %d imported, %d duplicates, %d skipped, %d deleted, %d left",
        run.pk,
        account.pk,
        status,
        tally.imported,
        tally.duplicates,
        tally.skipped,
        tally.deleted,
        tally.remaining,
    )
    old = FetchRun.objects.filter(account=account).values_list("pk", flat=True)[HISTORY_KEPT:]
    FetchRun.objects.filter(pk__in=list(old)).delete()
