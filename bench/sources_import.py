"""The import's other sources, timed in one run on a private Dovecot (var/bench/dovecot-sources).

``imap``: 2,000 mixed messages (the POP benchmark's sizes) over four folders of an "external"
IMAP mailbox, imported by our engine inside one run (folders mapped, flags carried, ledger
and all), and by getmail6's SimpleIMAPRetriever (``mailboxes = ALL``, ``read_all``, no
delete) writing straight into a Maildir of the same Dovecot (its fastest delivery; through
dovecot-lda it lost child exits under load and waited 60 s for each): msg/s and the ratio.

``archive``: a generated Gmail Takeout .mbox (5,000 messages by default, plus repeats and
broken ones) imported by the engine inside one run, then one four times as large: msg/s
and how much the process's resident memory grew over each (it should not grow with the
archive's size).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.pop_import import LDA, ensure_fetchmail, messages
from bench.setup import BENCH_VAR, configure_django
from webmail.devstack.dovecot import MAIL_USER, DovecotInstance, ensure_mail_user
from webmail.devstack.takeout import write_takeout

SOURCE = ("external@imap.bench.test", "external-pw")
FETCHMAIL = ("fetchmail@bench.test", "fetchmail-pw")
OURS = ("ours@bench.test", "ours-pw")
THEIRS = ("getmail@bench.test", "getmail-pw")
ARCHIVE_OWNERS = [("archive1@bench.test", "archive1-pw"), ("archive2@bench.test", "archive2-pw")]
FOLDERS = ["INBOX", "Work", "Work/2025", "Lists"]


def main(argv: list[str], *, only: str | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"bench {only or 'sources'}")
    parser.add_argument("--messages", type=int, default=2000, help="IMAP source messages")
    parser.add_argument("--archive-messages", type=int, default=5000)
    args = parser.parse_args(argv)
    dovecot = DovecotInstance.create(BENCH_VAR / "dovecot-sources")
    dovecot.start()
    try:
        for address, password in (SOURCE, OURS, THEIRS, FETCHMAIL, *ARCHIVE_OWNERS):
            shutil.rmtree(dovecot.home(address), ignore_errors=True)
            dovecot.add_user(address, password)
        (BENCH_VAR / "bench.sqlite3").unlink(missing_ok=True)
        os.environ.update({"WEBMAIL_POP_ALLOWED_HOSTS": "127.0.0.1", "WEBMAIL_POP_TIMEOUT": "60"})
        os.environ["WEBMAIL_UPLOAD_DIR"] = str(BENCH_VAR / "uploads")
        configure_django(dovecot.imap_port, dovecot.cert_path)
        # Another benchmark may have set Django up first, on its own Dovecot: point it at ours.
        from django.conf import settings

        settings.WEBMAIL_IMAP_PORT = dovecot.imap_port
        settings.WEBMAIL_TLS_CA_FILE = str(dovecot.cert_path)
        settings.WEBMAIL_UPLOAD_DIR = str(BENCH_VAR / "uploads")
        load_before = os.getloadavg()
        if only in (None, "imap"):
            _imap(dovecot, args.messages)
        if only in (None, "archive"):
            _archive(dovecot, args.archive_messages)
        load = os.getloadavg()
        print(
            f"\nload average at the start {load_before[0]:.2f}, at the end {load[0]:.2f}, "
            f"{load[1]:.2f}, {load[2]:.2f} ({os.cpu_count()} cores)"
        )
    finally:
        dovecot.stop()


def main_imap(argv: list[str]) -> None:
    main(argv, only="imap")


def main_archive(argv: list[str]) -> None:
    main(argv, only="archive")


# ------------------------------------------------------------------ IMAP source
def _imap(dovecot: DovecotInstance, count: int) -> None:
    items = messages(count, seed=3000)
    per_folder = -(-count // len(FOLDERS))
    for n, folder in enumerate(FOLDERS):
        chunk = items[n * per_folder : (n + 1) * per_folder]
        dovecot.write_messages(
            SOURCE[0], folder, [(r, "S" if i % 2 else "", t) for i, (r, _f, t) in enumerate(chunk)]
        )
    megabytes = sum(len(raw) + raw.count(b"\n") for raw, _f, _t in items) / 1e6
    print(f"IMAP source: {count} messages, {megabytes:.1f} MB over {len(FOLDERS)} folders")
    _warm(dovecot)
    ours = _ours(dovecot, count)
    print(f"webmail: {count} messages in {ours:.1f} s ({count / ours:.0f} msg/s)", flush=True)
    fm_seconds, fm_delivered = _fetchmail_imap(dovecot, count)
    print(
        f"fetchmail (IMAP): {fm_delivered} messages in {fm_seconds:.1f} s "
        f"({fm_delivered / fm_seconds:.0f} msg/s); webmail {fm_seconds / ours:.1f}x",
        flush=True,
    )
    if shutil.which("getmail") is None:
        print("getmail6 is not installed (apt-get install getmail6): no comparison")
        return
    theirs, delivered, error = _getmail(dovecot, count)
    print(
        f"getmail6: {delivered} messages in {theirs:.1f} s ({delivered / theirs:.0f} msg/s) {error}",
        flush=True,
    )
    print(
        f"\n| {count:,} messages over {len(FOLDERS)} folders "
        "| messages stored | seconds | msg/s | x getmail6 |"
    )
    print("|---|---|---|---|---|")
    ratio = (count / ours) / (delivered / theirs) if delivered else float("inf")
    print(f"| webmail, inside one run | {count} | {ours:.1f} | {count / ours:.0f} | {ratio:.1f} |")
    print(
        f"| getmail6 6.18 (IMAP, read_all) into the Maildir | {delivered} | {theirs:.1f} "
        f"| {delivered / theirs:.0f} | 1.0 |"
    )
    if error:
        print(f"\ngetmail6 stopped before the end: {error}")


def _warm(dovecot: DovecotInstance) -> None:
    """Index every source folder first, so neither importer pays for it."""
    import imapclient

    client = imapclient.IMAPClient("127.0.0.1", port=dovecot.imap_port, ssl=False)
    client.login(*SOURCE)
    for folder in FOLDERS:
        client.select_folder(folder, readonly=True)
        client.fetch(client.search(["ALL"])[:1] or [1], ["RFC822.SIZE"])
    client.logout()


def _user(owner: tuple[str, str]) -> Any:
    from django.contrib.auth import get_user_model

    from accounts.models import MailAccount
    from accounts.secret_binding import endpoint_key
    from accounts.servers import default_server

    user, _ = get_user_model().objects.get_or_create(username=owner[0], defaults={"email": owner[0]})
    MailAccount.objects.update_or_create(
        user=user,
        defaults={
            "email": owner[0],
            "imap_password": owner[1],
            "imap_password_for": endpoint_key(default_server().imap),
        },
    )
    return user


def _ours(dovecot: DovecotInstance, count: int) -> float:
    from django.test import override_settings

    from webmail.imports import service
    from webmail.imports.models import ExternalAccount

    account = ExternalAccount(
        user=_user(OURS),
        email=SOURCE[0],
        protocol="imap",
        host="127.0.0.1",
        port=dovecot.imap_port,
        security="none",
        username=SOURCE[0],
    )
    account.password = SOURCE[1]
    account.save()
    with override_settings(WEBMAIL_POP_MAX_MESSAGES_PER_RUN=count):
        t0 = time.perf_counter()
        run = service.account_import(account_id=account.pk)
        seconds = time.perf_counter() - t0
    assert run is not None
    run.refresh_from_db()
    if (run.status, run.imported) != ("ok", count):
        raise SystemExit(f"our import did not finish: {run.status} {run.imported} {run.error!r}")
    return seconds


def _getmail(dovecot: DovecotInstance, count: int) -> tuple[float, int, str]:
    work = BENCH_VAR / "getmail"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    maildir = dovecot.maildir(THEIRS[0])
    uid, gid = ensure_mail_user()
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
        os.chown(maildir / sub, uid, gid)
    (work / "getmailrc").write_text(
        "[retriever]\ntype = SimpleIMAPRetriever\nserver = 127.0.0.1\n"
        f"port = {dovecot.imap_port}\nusername = {SOURCE[0]}\npassword = {SOURCE[1]}\n"
        "mailboxes = ALL\n\n"
        # Straight into the Maildir: getmail's MDA_external (one dovecot-lda a message) lost
        # child exits under load here and waited 60 s for each; this is getmail at its fastest.
        f"[destination]\ntype = Maildir\npath = {maildir}/\nuser = {MAIL_USER}\n\n"
        "[options]\nread_all = true\ndelete = false\nverbose = 0\nmessage_log_syslog = false\n"
    )
    command = ["getmail", "--getmaildir", str(work), "--rcfile", "getmailrc"]
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    delivered = dovecot.message_count(THEIRS[0])
    error = (
        "" if proc.returncode == 0 and delivered == count else (proc.stderr.strip().splitlines() or ["?"])[-1]
    )
    return seconds, delivered, error


def _fetchmail_imap(dovecot: DovecotInstance, count: int) -> tuple[float, int]:
    """fetchmail's IMAP mode (``keep``, every folder listed) through dovecot-lda, as the POP bench."""
    fetchmail = ensure_fetchmail()
    work = BENCH_VAR / "fetchmail-imap"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rc = work / "fetchmailrc"
    folders = ",".join(f'"{f}"' for f in FOLDERS)
    rc.write_text(
        "set no syslog\n"
        f"poll 127.0.0.1 service {dovecot.imap_port} protocol imap\n"
        f'  user "{SOURCE[0]}" there with password "{SOURCE[1]}" is root here\n'
        f"  folder {folders}\n"
        f'  mda "{LDA} -c {dovecot.config_path} -d {FETCHMAIL[0]}"\n'
        "  keep fetchall\n  sslproto ''\n"
    )
    rc.chmod(0o600)
    command = [fetchmail, "-f", str(rc), "-i", str(work / "ids"), "--pidfile", str(work / "pid"), "-s"]
    t0 = time.perf_counter()
    subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, "HOME": str(work)}
    )
    seconds = time.perf_counter() - t0
    return seconds, dovecot.message_count(FETCHMAIL[0])


# ------------------------------------------------------------------ archives
def _archive(dovecot: DovecotInstance, count: int) -> None:
    print()
    rows = []
    for owner, n in zip(ARCHIVE_OWNERS, (count, count * 4), strict=True):
        path = BENCH_VAR / f"takeout-{n}.mbox"
        t0 = time.perf_counter()
        expected = write_takeout(path, n, seed=n)
        size_mb = path.stat().st_size / 1e6
        print(f"archive: generated {n} messages ({size_mb:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        seconds, growth = _import_archive(owner, path, len(expected.folders))
        rows.append((n, size_mb, seconds, growth))
    print("\n| Takeout .mbox | MB | seconds | msg/s | resident memory growth |")
    print("|---|---|---|---|---|")
    for n, size_mb, seconds, growth in rows:
        print(f"| {n:,} messages | {size_mb:.0f} | {seconds:.1f} | {n / seconds:.0f} | {growth:.0f} MB |")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _import_archive(owner: tuple[str, str], path: Path, distinct: int) -> tuple[float, float]:
    from django.test import override_settings

    from webmail.imports import actions, service
    from webmail.imports.models import ArchiveUpload
    from webmail.imports.sources.archive import archive_path

    user = _user(owner)
    upload = actions.archive_start(
        user=user, filename=path.name, size=path.stat().st_size, mailbox_password=owner[1]
    )
    target = archive_path(upload)
    target.unlink()
    shutil.copyfile(path, target)  # (the upload's own speed is the network's)
    ArchiveUpload.objects.filter(pk=upload.pk).update(received=upload.size, status="ready")
    before = _rss_mb()
    peak = [before]
    done = threading.Event()

    def sample() -> None:  # resident memory every 20 ms while the import runs
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with override_settings(WEBMAIL_POP_MAX_MESSAGES_PER_RUN=10**9):
        t0 = time.perf_counter()
        run = service.account_import(account_id=upload.account_id)
        seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    assert run is not None
    run.refresh_from_db()
    upload.refresh_from_db()
    if (run.status, run.imported, upload.status) != ("ok", distinct, "done"):
        raise SystemExit(
            f"archive import did not finish: {run.status} {run.imported} {upload.status} {run.error!r}"
        )
    return seconds, max(0.0, peak[0] - before)
