"""A private Dovecot instance in a throwaway data directory.

Used by ``make demo``, the pytest session fixtures and the benchmarks. Everything
(config, certificate, logs, passwd file, maildirs, sockets) lives under one
``root`` directory, so several instances can run side by side and a re-run on
the same root picks up where the last one stopped.
"""

from __future__ import annotations

import contextlib
import email.utils
import grp
import hashlib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from webmail.devstack.ports import free_port

DOVECOT_BIN = "/usr/sbin/dovecot"
DOVEADM_BIN = "/usr/bin/doveadm"
DOVECOT_PACKAGES = (
    "dovecot-core",
    "dovecot-imapd",
    "dovecot-pop3d",
    "dovecot-lmtpd",
    # Pigeonhole: Sieve filtering at delivery, and ManageSieve to edit the scripts.
    "dovecot-sieve",
    "dovecot-managesieved",
)
MANAGESIEVE_BIN = "/usr/lib/dovecot/managesieve"
MAIL_USER = "vmail"
# ``outbound_port`` is not a listener: it is where Dovecot sends what Sieve sends
# (vacation replies, redirects), over plain SMTP on loopback; tests listen there.
# ``oauth_port`` is not a listener either: the OAuth 2.0 authorization server whose
# introspection endpoint (RFC 7662) checks XOAUTH2 and OAUTHBEARER sign-ins
# (``webmail.devstack.oauthserver``, started by whoever needs those sign-ins).
PORT_NAMES = (
    "imap_port",
    "imaps_port",
    "pop3_port",
    "pop3s_port",
    "lmtp_port",
    "managesieve_port",
    "outbound_port",
    "oauth_port",
)
SPECIAL_USE = {
    "Sent": r"\Sent",
    "Drafts": r"\Drafts",
    "Trash": r"\Trash",
    "Junk": r"\Junk",
    "Archive": r"\Archive",
}
# Maildir info flags, in the order the Maildir spec wants them (ASCII order).
MAILDIR_FLAGS = frozenset("DFPRST")
START_TIMEOUT = 10.0

# One counter per process keeps seeded file names unique across calls.
_SEQ = itertools.count(1)
_HOST = socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"
_DATE_RE = re.compile(rb"^Date:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)

Message = bytes | tuple[bytes, str, float]


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Fixed argument lists built here, never from a shell string.
    return subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)


def ensure_dovecot_installed() -> None:
    """Install Dovecot (with Pigeonhole) from Debian packages when it is missing."""
    if Path(DOVECOT_BIN).exists() and Path(MANAGESIEVE_BIN).exists():
        return
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        [*prefix, "apt-get", "update"],
        [*prefix, "apt-get", "install", "-y", *DOVECOT_PACKAGES],
    ):
        try:
            proc = _run(cmd, env=env)
        except OSError as exc:
            raise RuntimeError(f"could not run {' '.join(cmd)!r}: {exc}") from exc
        if proc.returncode != 0:
            raise RuntimeError(
                f"installing Dovecot failed ({' '.join(cmd)} exited {proc.returncode}); "
                f"install {' '.join(DOVECOT_PACKAGES)} by hand.\n{proc.stderr[-2000:]}"
            )
    for binary in (DOVECOT_BIN, MANAGESIEVE_BIN):
        if not Path(binary).exists():
            raise RuntimeError(f"{binary} is still missing after installing Dovecot")


def ensure_mail_user() -> tuple[int, int]:
    """Return (uid, gid) of the ``vmail`` system user, creating it if needed."""
    try:
        entry = pwd.getpwnam(MAIL_USER)
    except KeyError:
        prefix = [] if os.geteuid() == 0 else ["sudo"]
        proc = _run(
            [
                *prefix,
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                MAIL_USER,
            ]
        )
        # A concurrent creator may have won the race; only fail if it is still missing.
        try:
            entry = pwd.getpwnam(MAIL_USER)
        except KeyError:
            raise RuntimeError(f"could not create system user {MAIL_USER!r}: {proc.stderr}") from None
    return entry.pw_uid, entry.pw_gid


def _make_reachable(path: Path) -> None:
    """Give every ancestor of ``path`` the o+x bit.

    Dovecot's auth and mail processes run as ``dovecot`` and ``vmail``; if any
    parent (for example a 0700 pytest or mkdtemp directory) is not traversable
    for them, every login fails with "Temporary authentication failure".
    """
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            try:
                parent.chmod(mode | 0o001)
            except PermissionError as exc:
                raise RuntimeError(
                    f"{parent} must be traversable (o+x) by the dovecot and {MAIL_USER} users"
                ) from exc


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie counts as gone.

    The daemonized master's parent is PID 1, which in some containers reaps
    exited children only every second or two; kill(pid, 0) still succeeds on
    the zombie meanwhile, and Dovecot's own "already running" check too.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill()
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _message_time(data: bytes) -> float | None:
    """Unix time of the Date header, or None when missing or unparsable."""
    end = data.find(b"\n\n")
    head = data if end < 0 else data[: end + 1]
    match = _DATE_RE.search(head)
    if not match:
        return None
    try:
        value = match.group(1).decode("ascii", "replace")
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


def _check_folder(folder: str) -> str:
    """Map an IMAP folder name (separator "/") to its Maildir++ directory name."""
    if folder.upper() == "INBOX":
        return ""
    parts = folder.split("/")
    if any(not p or "." in p or p.startswith("~") for p in parts):
        # "." is Maildir++'s on-disk separator; Dovecot would split the name there.
        raise ValueError(f"unsupported folder name for Maildir++ seeding: {folder!r}")
    return "." + ".".join(parts)


class PortTaken(RuntimeError):
    """Dovecot could not listen: another program holds one of its ports."""


@dataclass
class DovecotInstance:
    """A private Dovecot (IMAP, IMAPS, POP3, POP3S, LMTP, ManageSieve) rooted in ``root``.

    LMTP runs each user's active Sieve script (Pigeonhole); what the scripts send
    (vacation replies, redirects) goes to SMTP on ``outbound_port``.
    """

    root: Path
    imap_port: int
    imaps_port: int
    pop3_port: int
    pop3s_port: int
    lmtp_port: int
    managesieve_port: int
    outbound_port: int
    oauth_port: int = 0
    host: str = "127.0.0.1"
    # Dovecot's per user and address connection limit (tests lower it to provoke "[LIMIT]").
    max_userip_connections: int = 50
    # Appended to the generated config (the scale benchmark raises the process limits).
    extra_config: str = ""
    # Push (webmail/push): where the push_notification Lua driver posts mailbox events, and the
    # shared secret (given to Dovecot in its environment, not written into the config).
    push_url: str = ""
    push_secret: str = ""
    # The ports ``create`` picked (not given): picked again if another program took one first.
    picked_ports: tuple[str, ...] = ()
    # Dovecot's mailbox list index, off as in deploy/dovecot.conf (see the config text's
    # comment). On, Dovecot offers NOTIFY, which the IDLE-mode push watcher uses.
    mailbox_list_index: bool = False

    @classmethod
    def create(cls, root: Path, ports: dict[str, int] | None = None) -> DovecotInstance:
        """Build an instance, picking free loopback ports for those not given."""
        given = dict(ports or {})
        unknown = set(given) - set(PORT_NAMES)
        if unknown:
            raise ValueError(f"unknown port names: {sorted(unknown)}")
        chosen: dict[str, int] = {}
        for name in PORT_NAMES:
            port = given.get(name) or free_port()
            # free_port() may hand out the same number twice in a row.
            while name not in given and port in chosen.values():
                port = free_port()
            chosen[name] = port
        return cls(
            root=Path(root).resolve(),
            imap_port=chosen["imap_port"],
            imaps_port=chosen["imaps_port"],
            pop3_port=chosen["pop3_port"],
            pop3s_port=chosen["pop3s_port"],
            lmtp_port=chosen["lmtp_port"],
            managesieve_port=chosen["managesieve_port"],
            outbound_port=chosen["outbound_port"],
            oauth_port=chosen["oauth_port"],
            picked_ports=tuple(name for name in PORT_NAMES if name not in given),
        )

    # ----------------------------------------------------------------- paths
    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def cert_path(self) -> Path:
        return self.root / "ssl" / "cert.pem"

    @property
    def key_path(self) -> Path:
        return self.root / "ssl" / "key.pem"

    @property
    def users_path(self) -> Path:
        """Directory of passwd files, one per user (see :meth:`add_users`)."""
        return self.root / "passwd.d"

    @property
    def oauth2_config_path(self) -> Path:
        return self.root / "dovecot-oauth2.conf.ext"

    @property
    def oauth_introspection_client(self) -> tuple[str, str]:
        """The client id and secret Dovecot authenticates with at the introspection endpoint."""
        digest = hashlib.sha256(b"oauth2-introspection\0" + str(self.root).encode()).hexdigest()
        return "dovecot", digest[:32]

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def pid_path(self) -> Path:
        return self.run_dir / "master.pid"

    @property
    def mail_root(self) -> Path:
        return self.root / "mail"

    @property
    def instance_name(self) -> str:
        # Unique per root so doveadm and the master never confuse two instances.
        digest = hashlib.sha1(str(self.root).encode(), usedforsecurity=False).hexdigest()
        return f"devstack-{digest[:12]}"

    def home(self, address: str) -> Path:
        return self.mail_root / address.lower()

    def maildir(self, address: str) -> Path:
        return self.home(address) / "Maildir"

    def sieve_dir(self, address: str) -> Path:
        """Where a user's Sieve scripts live (the active one is ``home/.dovecot.sieve``)."""
        return self.home(address) / "sieve"

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Write the config and start Dovecot; return once IMAP accepts connections.

        A port picked by ``create`` can be taken by another program between the pick and
        Dovecot's listen (parallel test runs): those ports are picked again, twice at most.
        """
        for attempt in range(3):
            try:
                self._start_once()
                return
            except PortTaken:
                if attempt == 2 or not self.picked_ports:
                    raise
                taken = {getattr(self, name) for name in PORT_NAMES}
                for name in self.picked_ports:
                    port = free_port()
                    while port in taken:
                        port = free_port()
                    taken.add(port)
                    setattr(self, name, port)

    def _start_once(self) -> None:
        ensure_dovecot_installed()
        uid, gid = ensure_mail_user()
        self._prepare_dirs(uid, gid)
        self.stop()  # a master left over from an earlier run on this root
        self._ensure_cert()
        self.oauth2_config_path.write_text(self._oauth2_config_text())
        self.config_path.write_text(self._config_text(uid, gid) + self.extra_config)
        # A stale anvil-auth-penalty socket would survive "mode = 0" and re-enable
        # the 4-15 s login penalty (see NOTES.md).
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / "anvil-auth-penalty").unlink()
        size_before = self.log_path.stat().st_size if self.log_path.exists() else 0
        # Not capture_output: the daemonized master inherits the pipes and would
        # keep them open, so communicate() would wait forever. Use a file.
        with tempfile.TemporaryFile() as err:
            code = subprocess.call(
                [DOVECOT_BIN, "-c", str(self.config_path)],
                env={**os.environ, "WEBMAIL_PUSH_SECRET": self.push_secret},
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
            err.seek(0)
            output = err.read().decode("utf-8", "replace")
        if code != 0:
            error = PortTaken if "Address already in use" in output else RuntimeError
            raise error(f"dovecot failed to start (exit {code}):\n{output}{self._log_tail(size_before)}")
        # The listeners exist (and accept into the backlog) before the master
        # daemonizes and writes master.pid: wait for both, so stop() finds it.
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._master_pid() is not None and self._imap_greets():
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"dovecot did not accept IMAP connections on {self.host}:{self.imap_port} "
            f"within {START_TIMEOUT:.0f} s{self._log_tail(size_before)}"
        )

    def stop(self) -> None:
        """Stop the master of this root, if one is running; wait until it is gone.

        This sends SIGTERM to the master, which is all ``doveadm stop`` does;
        but doveadm then waits until the PID vanishes, and where PID 1 is slow
        to reap zombies that adds seconds. Falls back to doveadm without a pid.
        """
        pid = self._master_pid()
        if pid is None:
            if self.pid_path.exists() and self.config_path.exists():
                _run([DOVEADM_BIN, "-c", str(self.config_path), "stop"])  # tolerate failure
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + START_TIMEOUT
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        if _pid_alive(pid):
            raise RuntimeError(f"dovecot master {pid} did not stop")
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()

    def is_running(self) -> bool:
        return self._master_pid() is not None

    def __enter__(self) -> DovecotInstance:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- users
    def add_user(self, address: str, password: str, *, quota_kb: int | None = None) -> None:
        """Add or replace ``address`` (see :meth:`add_users`); ``quota_kb``: a storage quota of its own."""
        self.add_users([(address, password)], quota_kb=quota_kb)

    def add_users(self, users: Iterable[tuple[str, str]], *, quota_kb: int | None = None) -> None:
        """Add or replace users: one passwd-file per user under ``users_path``.

        Dovecot opens a per-user passwd file afresh when it has not seen it (a
        missing file is not cached), so a new user can log in at once. A file it
        has read is re-read when its mtime or size changes, but checked at most
        once per second per auth process; so when we *replace* a password while
        Dovecot runs, we move the mtime forward and return only once the clock
        has reached the next second.
        """
        self.users_path.mkdir(parents=True, exist_ok=True)
        try:
            dovecot_gid = grp.getgrnam("dovecot").gr_gid
        except KeyError:
            dovecot_gid = -1
        if os.geteuid() == 0 and dovecot_gid >= 0:
            # The auth process runs as "dovecot" and must read these; others need not.
            os.chown(self.users_path, 0, dovecot_gid)
            self.users_path.chmod(0o750)
        replaced_at: float | None = None
        for address, password in users:
            if any(c in address for c in ":/\r\n\0") or address.startswith("."):
                raise ValueError(f"unsupported address for the passwd file: {address!r}")
            if any(c in password for c in ":\r\n\0"):
                raise ValueError("password must not contain ':', CR, LF or NUL")
            address = address.lower()
            path = self.users_path / address
            old_mtime = path.stat().st_mtime if path.exists() else None
            tmp = self.users_path / f".{address}.{os.getpid()}.tmp"
            # The last field holds extra fields: userdb_ ones reach the userdb (the quota rule).
            extra = f"userdb_quota_rule=*:storage={int(quota_kb)}K" if quota_kb is not None else ""
            tmp.write_text(f"{address}:{{PLAIN}}{password}::::::{extra}\n")
            now = time.time()
            if old_mtime is not None:
                mtime = max(now, int(old_mtime) + 1.0)
                os.utime(tmp, (mtime, mtime))
                replaced_at = now
            if os.geteuid() == 0 and dovecot_gid >= 0:
                os.chown(tmp, 0, dovecot_gid)
                tmp.chmod(0o640)
            tmp.replace(path)
        if replaced_at is not None and self.is_running():
            time.sleep(max(0.0, int(replaced_at) + 1.01 - time.time()))

    def remove_user(self, address: str) -> None:
        """Delete a user's passwd file (their mail stays)."""
        with contextlib.suppress(FileNotFoundError):
            (self.users_path / address.lower()).unlink()

    # --------------------------------------------------------------- seeding
    def write_messages(self, address: str, folder: str, messages: Iterable[Message]) -> int:
        """Seed ``folder`` of ``address`` by writing files straight into the Maildir.

        Each item is raw bytes, or (raw bytes, maildir flags like "FS", unix time).
        The file's mtime (Dovecot's INTERNALDATE) and the time in its name come
        from that time, else the Date header, else now; Dovecot assigns UIDs to
        new files in name order, so UIDs follow the dates. Returns the count.
        Much faster than APPEND: a handful of syscalls per message.
        """
        uid, gid = ensure_mail_user()
        as_root = os.geteuid() == 0
        self._prepare_dirs(uid, gid)
        subdir = _check_folder(folder)
        base = self.maildir(address)
        for d in (self.home(address), base):
            self._mkdir_owned(d, uid, gid)
        target = base / subdir if subdir else base
        self._mkdir_owned(target, uid, gid)
        for sub in ("cur", "new", "tmp"):
            self._mkdir_owned(target / sub, uid, gid)
        if subdir:
            marker = target / "maildirfolder"
            if not marker.exists():
                marker.touch()
                if as_root:
                    os.chown(marker, uid, gid)
            self._subscribe(base, folder, uid, gid)
        tmp_dir, cur_dir = str(target / "tmp"), str(target / "cur")
        pid = os.getpid()
        count = 0
        for item in messages:
            if isinstance(item, bytes):
                data, flags, when = item, "", None
            else:
                data, flags, when = item
            # Maildir files use bare LF; Dovecot adds the CRs on the wire.
            data = data.replace(b"\r\n", b"\n")
            if when is None:
                when = _message_time(data)
            if when is None:
                when = time.time()
            letters = "".join(sorted(set(flags.upper()) & MAILDIR_FLAGS))
            vsize = len(data) + data.count(b"\n")  # size with CRLF, saves Dovecot a read
            name = f"{int(when)}.M{next(_SEQ)}P{pid}.{_HOST},S={len(data)},W={vsize}"
            tmp_path = f"{tmp_dir}/{name}"
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if as_root:
                    os.fchown(fd, uid, gid)
                os.utime(fd, (when, when))
            finally:
                os.close(fd)
            os.rename(tmp_path, f"{cur_dir}/{name}:2,{letters}")
            count += 1
        return count

    def message_count(self, address: str, folder: str = "INBOX") -> int:
        """Number of message files in a folder (cur + new), without asking Dovecot."""
        subdir = _check_folder(folder)
        target = self.maildir(address) / subdir if subdir else self.maildir(address)
        total = 0
        for sub in ("cur", "new"):
            with contextlib.suppress(FileNotFoundError), os.scandir(target / sub) as it:
                total += sum(1 for entry in it if not entry.name.startswith("."))
        return total

    # --------------------------------------------------------------- helpers
    def _master_pid(self) -> int | None:
        try:
            pid = int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _imap_greets(self) -> bool:
        """True once an imap-login process answers with its "* OK" greeting."""
        try:
            with socket.create_connection((self.host, self.imap_port), timeout=2) as sock:
                return sock.recv(256).startswith(b"* OK")
        except OSError:
            return False

    def _log_tail(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                text = fh.read()[-4000:].decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return f"\n--- {self.log_path} ---\n{text}" if text else ""

    @staticmethod
    def _mkdir_owned(path: Path, uid: int, gid: int) -> None:
        if not path.is_dir():
            path.mkdir(mode=0o700, exist_ok=True)
            if os.geteuid() == 0:
                os.chown(path, uid, gid)

    def _prepare_dirs(self, uid: int, gid: int) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _make_reachable(self.root)
        self.root.chmod(0o755)
        for d in (self.run_dir, self.root / "state", self.root / "ssl"):
            d.mkdir(exist_ok=True)
        (self.root / "ssl").chmod(0o755)  # the key itself is 0600; the cert is the CA file
        self.mail_root.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.mail_root, uid, gid)
        self.mail_root.chmod(0o755)

    @staticmethod
    def _subscribe(maildir: Path, folder: str, uid: int, gid: int) -> None:
        """Add ``folder`` to the Maildir's ``subscriptions`` file.

        Dovecot 2.3 writes version 2 of that file: a "V<TAB>2" line, an empty
        line, then one mailbox per line with hierarchy levels joined by TAB.
        """
        path = maildir / "subscriptions"
        names: list[str] = []
        if path.exists():
            lines = path.read_text(errors="replace").splitlines()
            if lines and lines[0].startswith("V\t"):
                names = ["/".join(line.split("\t")) for line in lines[1:] if line]
            else:  # the older format, one name per line
                names = [line for line in lines if line]
        if folder in names:
            return
        names.append(folder)
        tmp = path.with_name(f".subscriptions.{os.getpid()}.tmp")
        tmp.write_text("V\t2\n\n" + "".join("\t".join(n.split("/")) + "\n" for n in names))
        if os.geteuid() == 0:
            os.chown(tmp, uid, gid)
        tmp.replace(path)

    def _ensure_cert(self) -> None:
        if self.cert_path.exists() and self.key_path.exists():
            return
        proc = _run(
            [
                "openssl",
                "req",
                "-x509",
                "-nodes",
                "-newkey",
                "rsa:2048",
                "-sha256",
                "-days",
                "3650",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(self.key_path),
                "-out",
                str(self.cert_path),
            ]
        )
        if proc.returncode != 0:
            raise RuntimeError(f"openssl could not make a self-signed certificate:\n{proc.stderr}")
        self.key_path.chmod(0o600)
        self.cert_path.chmod(0o644)

    def _sharing_and_quota_text(self) -> str:
        """Shared folders (acl, a shared namespace) and quota, as Dovecot's documentation sets them up.

        - Others' folders appear under ``shared/<owner>/`` (the webmail reads prefix and
          separator from NAMESPACE); ``list = children`` lists an owner only once they
          share something with the user (the shared-mailboxes dictionary).
        - ``INDEXPVT``: each reader keeps \\Seen in a private index of their own, so
          read/unread stays personal in shared folders; other flags are shared.
        - Quota: the "count" backend with a default of 1 GB; a user's passwd file may
          override it (``add_user(..., quota_kb=...)``) so tests can fill a mailbox.
        """
        root = self.root
        return f"""\
namespace shared {{
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:{root}/mail/%%u/Maildir:INDEXPVT={root}/mail/%u/shared-pvt/%%u
  subscriptions = no
  list = children
}}
plugin {{
  # cache_secs=0: a change of rights (a withdrawal) counts from the next command, not 30 s later.
  acl = vfile::cache_secs=0
  acl_shared_dict = file:{root}/mail/shared-mailboxes.db
  quota = count:User quota
  quota_vsizes = yes
  quota_rule = *:storage=1G
  quota_grace = 0
}}
"""

    def _oauth2_config_text(self) -> str:
        client_id, secret = self.oauth_introspection_client
        return f"""\
# Generated by webmail.devstack.dovecot: the oauth2 passdb asks the test stack's
# authorization server about each token (RFC 7662 introspection, POSTed, client
# authenticated with HTTP Basic from the URL's user part).
introspection_mode = post
introspection_url = http://{client_id}:{secret}@{self.host}:{self.oauth_port}/introspect
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""

    def _push_plugins(self) -> str:
        return " notify push_notification mail_lua push_notification_lua" if self.push_url else ""

    def _push_text(self) -> str:
        """Mailbox events posted to the webmail (webmail/push/dovecot), as deploy/dovecot.conf does."""
        if not self.push_url:
            return ""
        from webmail.push.dovecot import plugin_config

        return "import_environment = $import_environment WEBMAIL_PUSH_SECRET\n" + plugin_config(
            self.push_url, "", secret_from_env=True
        )

    def _config_text(self, uid: int, gid: int) -> str:
        root = self.root
        mailboxes = "\n".join(
            f"  mailbox {name} {{\n    special_use = {flag}\n    auto = subscribe\n  }}"
            for name, flag in SPECIAL_USE.items()
        )
        return f"""\
# Generated by webmail.devstack.dovecot -- rewritten on every start.
base_dir = {root}/run
state_dir = {root}/state
instance_name = {self.instance_name}
listen = {self.host}
protocols = imap pop3 lmtp sieve
log_path = {self.log_path}

default_internal_user = dovecot
default_login_user = dovenull

ssl = yes
ssl_cert = <{self.cert_path}
ssl_key = <{self.key_path}
disable_plaintext_auth = no
# XOAUTH2 and OAUTHBEARER (RFC 7628): access tokens checked by the oauth2 passdb below.
auth_mechanisms = plain login xoauth2 oauthbearer
# Answer a wrong password at once (default: 2 s), so negative tests stay fast.
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu {self.users_path}/%Lu
}}
# Tried after passwd-file (whose "no" goes on to the next passdb: result_failure = continue,
# the default) and only for the token mechanisms: a wrong password with PLAIN or LOGIN never
# reaches the introspection endpoint, so password sign-ins do not depend on it.
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {self.oauth2_config_path}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%Lu
}}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {min(uid, 100)}
mail_location = maildir:{root}/mail/%Lu/Maildir
# Quota (RFC 9208) and access rights (RFC 4314): see "Sharing and quota" below.
mail_plugins = quota acl{self._push_plugins()}
# $HasAttachment / $HasNoAttachment set at delivery (and when a structure is read
# anyway): the message list's paperclip comes with FLAGS, without BODYSTRUCTURE.
mail_attachment_detection_options = add-flags exclude-inlined
# No mailbox list index (as deploy/dovecot.conf, which says why): with it, Dovecot 2.3 makes
# every new IMAP session parse the selected Maildir's whole dovecot-uidlist (5 MB for
# 100,000 messages) once it has listed the folders, just to read the folder's GUID.
mailbox_list_index = {"yes" if self.mailbox_list_index else "no"}

namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}
}}
{self._sharing_and_quota_text()}
{self._push_text()}

pop3_uidl_format = %08Xu%08Xv
# Sieve at delivery (Pigeonhole): each user's scripts in their home, edited over ManageSieve.
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
  # Vacation's "once every N days" is kept per user; one day is the shortest period allowed.
  sieve_vacation_min_period = 1d
}}
# Vacation replies and redirects, sent by SMTP without TLS to a listener on loopback.
submission_host = {self.host}:{self.outbound_port}
protocol imap {{
  mail_max_userip_connections = {self.max_userip_connections}
  mail_plugins = $mail_plugins imap_quota imap_acl
}}
protocol pop3 {{
  mail_max_userip_connections = {self.max_userip_connections}
}}

service imap-login {{
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
service managesieve-login {{
  inet_listener sieve {{
    port = {self.managesieve_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {self.host}
    port = {self.lmtp_port}
  }}
}}
# No auth penalty: one failed login in a test must not slow the next ones.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
# doveadm and lmtp run as other users and must reach these.
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
"""


def remove_instance_dir(root: Path) -> None:
    """Stop whatever Dovecot runs on ``root`` and delete the directory (teardown helper)."""
    pid_path = Path(root) / "run" / "master.pid"
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        pid = int(pid_path.read_text().strip())
        if _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + START_TIMEOUT
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
    shutil.rmtree(root, ignore_errors=True)
