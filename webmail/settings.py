"""Django settings, read from the environment with embedded defaults.

Every variable is documented in the README's "Configuration" table. With no
environment at all the project runs the demo: SQLite, a local Dovecot on the
ports the demo writes into ``var/demo.env``, and a broker that needs no server.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("WEBMAIL_VAR_DIR") or BASE_DIR / "var")

env = environ.Env()
# The demo writes its ports here; real deployments use the process environment.
_demo_env = Path(env.str("WEBMAIL_ENV_FILE", default=str(VAR_DIR / "demo.env")))
if _demo_env.is_file():
    env.read_env(str(_demo_env), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
_INSECURE_KEY = "insecure-demo-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_KEY)

# The Fernet key(s) that encrypt stored and session credentials. Comma-separated;
# the first encrypts, all decrypt, so a key can be rotated without data loss.
_INSECURE_CREDENTIALS_KEY = "ZGVtby1jcmVkZW50aWFscy1rZXktbm90LXByb2QhISE="
WEBMAIL_CREDENTIALS_KEYS = env.list("WEBMAIL_CREDENTIALS_KEY", default=[_INSECURE_CREDENTIALS_KEY])

# The insecure built-in keys are tolerated only for the demo, DEBUG and the test
# suite; a production process (gunicorn, celery) refuses to start with them.
_INSECURE_OK = DEBUG or env.bool("WEBMAIL_DEMO", default=False) or "pytest" in sys.modules
if not _INSECURE_OK:
    if SECRET_KEY == _INSECURE_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    if _INSECURE_CREDENTIALS_KEY in WEBMAIL_CREDENTIALS_KEYS:
        raise ImproperlyConfigured("WEBMAIL_CREDENTIALS_KEY must be set when DEBUG is off.")

# Where the site is reached (scheme, host, port; no path): the links we mail point there,
# never at the request's Host header. Required in production.
WEBMAIL_SITE_URL = env.str("WEBMAIL_SITE_URL", default="").rstrip("/")
if not WEBMAIL_SITE_URL:
    if not _INSECURE_OK:
        raise ImproperlyConfigured(
            "WEBMAIL_SITE_URL must be set when DEBUG is off, e.g. https://mail.example.org"
        )
    # The test client's host under pytest; runserver's default address otherwise (DEBUG, demo).
    WEBMAIL_SITE_URL = "http://testserver" if "pytest" in sys.modules else "http://127.0.0.1:8000"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "accounts",
    "webmail",
    # Features: each a Django app with its views, forms, URLs and (where it has any) models.
    "webmail.mailbox",
    "webmail.reading",
    "webmail.compose",
    "webmail.sendas",
    "webmail.imports",
    "webmail.filters",
    "webmail.sharing",
    "webmail.preferences",
    "webmail.push",
    "webmail.webpush",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The idle timeout renewed once a minute, not with a database write per request.
    "webmail.http.sessions.SlidingSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Right after the user is known, so it sees every response made below it.
    "webmail.http.cachecontrol.PrivateNoStoreMiddleware",
    # The balancer's routing cookie (deploy/haproxy.cfg): one user, one web instance.
    "webmail.http.affinity.AffinityCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Dates in the reader's time zone (a cookie the page sets from the browser).
    "webmail.preferences.device.DeviceTimeZoneMiddleware",
    "webmail.http.middleware.MailErrorMiddleware",
    # Last, so it can turn a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webmail.urls"
WSGI_APPLICATION = "webmail.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # Theme, density and reading pane of this browser (cookies).
                "webmail.preferences.device.device",
            ],
            # Faster {% url %} and {% querystring %}, same output (webmail/templatetags/fastbuiltins.py).
            "builtins": ["webmail.templatetags.fastbuiltins"],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'webmail.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# IMAP sign-in for everyone; local passwords only for admin-only accounts
# made with createsuperuser (IMAP-created users get an unusable one, and are marked).
AUTHENTICATION_BACKENDS = [
    # First: refuses locked-out clients before the IMAP server is even asked.
    "axes.backends.AxesStandaloneBackend",
    # Mailbox users and local accounts are kept apart: each backend signs in only its own.
    "accounts.backends.ImapBackend",
    "accounts.backends.LocalAccountBackend",
]
# Sign-in throttling (django-axes, accounts/signin_throttle.py): one account from one
# client address is locked after AXES_FAILURE_LIMIT failures, so one person's typos
# never lock the others behind the same address (an office behind NAT); higher
# ceilings per client address (password spraying) and per account (guessing from
# many addresses). The order of AXES_LOCKOUT_PARAMETERS is the order of the ceilings.
# The message never says whether the account exists.
AXES_FAILURE_LIMIT = env.int("WEBMAIL_LOGIN_FAILURE_LIMIT", default=5)
WEBMAIL_LOGIN_IP_FAILURE_LIMIT = env.int("WEBMAIL_LOGIN_IP_FAILURE_LIMIT", default=30)
WEBMAIL_LOGIN_ACCOUNT_FAILURE_LIMIT = env.int("WEBMAIL_LOGIN_ACCOUNT_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("WEBMAIL_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address", "username"]
AXES_HANDLER = "accounts.signin_throttle.SignInThrottleHandler"
# Tries refused during a lockout are not counted: a locked-out person retrying must
# not push their address over its ceiling (and lock everyone else behind it).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Credentials tried on a user's behalf (connection tests of POP3 accounts and send-as
# SMTP servers; accounts/throttle.py): refusals per target (host + username, whoever
# tries) and per user, over the same cool-off.
WEBMAIL_CREDENTIAL_FAILURE_LIMIT = env.int("WEBMAIL_CREDENTIAL_FAILURE_LIMIT", default=5)
WEBMAIL_CREDENTIAL_USER_FAILURE_LIMIT = env.int("WEBMAIL_CREDENTIAL_USER_FAILURE_LIMIT", default=10)
AXES_USERNAME_FORM_FIELD = "email"
# authenticate() reports failures as {"username": ...}: count them per address.
AXES_USERNAME_CALLABLE = "accounts.backends.throttle_username"
# A success must not wipe the failures recorded against other accounts from that IP.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
# Behind a reverse proxy every request comes from the proxy: take the client from
# X-Forwarded-For, but only when the direct peer is one of these addresses/networks.
WEBMAIL_TRUSTED_PROXIES = env.list("WEBMAIL_TRUSTED_PROXIES", default=[])
AXES_CLIENT_IP_CALLABLE = "webmail.http.clientip.client_ip"
AXES_VERBOSE = False
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "mailbox:list"

# Sessions: server-side, HttpOnly, SameSite=Lax, idle and absolute expiry.
# Django's database sessions, read with a query compiled once (accounts/sessionstore.py).
SESSION_ENGINE = "accounts.sessionstore"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("WEBMAIL_SESSION_IDLE_SECONDS", default=2 * 3600)
# Sliding idle timeout: renewed at most once a minute (webmail/http/sessions.py).
SESSION_SAVE_EVERY_REQUEST = False
WEBMAIL_SESSION_MAX_AGE = env.int("WEBMAIL_SESSION_MAX_AGE_SECONDS", default=24 * 3600)
WEBMAIL_HTTPS = env.bool("WEBMAIL_HTTPS", default=False)
SESSION_COOKIE_SECURE = WEBMAIL_HTTPS
CSRF_COOKIE_SECURE = WEBMAIL_HTTPS
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = WEBMAIL_HTTPS
SECURE_HSTS_SECONDS = 31536000 if WEBMAIL_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = WEBMAIL_HTTPS
SECURE_HSTS_PRELOAD = env.bool("WEBMAIL_HSTS_PRELOAD", default=WEBMAIL_HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if WEBMAIL_HTTPS else None
# App pages: "same-origin", so no URL of ours ever reaches another site. Plain
# "no-referrer" would make browsers send "Origin: null" on our own POSTs, which
# Django's CSRF check must refuse. The mail documents themselves (body, parts)
# are served with "no-referrer".
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# The app's own pages: our static files only, no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: only for inline image parts we embed ourselves (no remote loads).
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        # The installable app: its service worker (/sw.js) and manifest, from here only.
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    },
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "webmail" / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
# Without collectstatic (tests, development) WhiteNoise serves from the finders.
WHITENOISE_USE_FINDERS = DEBUG or "pytest" in sys.modules
if WHITENOISE_USE_FINDERS:
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Shared by every web process (sanitized bodies, throttles): Redis when there is one, else
# files under var/ for the demo. A per-process cache would miss whenever gunicorn sends the
# next request to another worker. Tests keep theirs in memory.
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache("CACHE_URL")}
elif "pytest" in sys.modules:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "webmail"}}
elif env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("REDIS_URL"),
            "KEY_PREFIX": "webmail",
        }
    }
else:
    CACHES = {
        "default": {
            # Django's file cache, minus the compression (webmail/filecache.py).
            "BACKEND": "webmail.filecache.StoredFileCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Mail servers -----------------------------------------------------------
# The default server, used for any domain no MailServer row in the admin claims.
WEBMAIL_IMAP_HOST = env.str("WEBMAIL_IMAP_HOST", default="127.0.0.1")
WEBMAIL_IMAP_PORT = env.int("WEBMAIL_IMAP_PORT", default=143)
WEBMAIL_IMAP_SECURITY = env.str("WEBMAIL_IMAP_SECURITY", default="starttls")
WEBMAIL_SMTP_HOST = env.str("WEBMAIL_SMTP_HOST", default="127.0.0.1")
WEBMAIL_SMTP_PORT = env.int("WEBMAIL_SMTP_PORT", default=587)
WEBMAIL_SMTP_SECURITY = env.str("WEBMAIL_SMTP_SECURITY", default="starttls")
# "Send mail as": other domains the default SMTP server may send as (MailServer.send_as_domains).
WEBMAIL_SEND_AS_DOMAINS = env.list("WEBMAIL_SEND_AS_DOMAINS", default=[])
# Filters and the vacation reply live on the mail server as Sieve, edited over ManageSieve
# (RFC 5804) with the user's own mail password. Port 0: the server has none (features hidden).
WEBMAIL_MANAGESIEVE_HOST = env.str("WEBMAIL_MANAGESIEVE_HOST", default="")  # "": the IMAP host
WEBMAIL_MANAGESIEVE_PORT = env.int("WEBMAIL_MANAGESIEVE_PORT", default=4190)
WEBMAIL_MANAGESIEVE_SECURITY = env.str("WEBMAIL_MANAGESIEVE_SECURITY", default="starttls")
WEBMAIL_TLS_VERIFY = env.bool("WEBMAIL_TLS_VERIFY", default=True)
WEBMAIL_TLS_CA_FILE = env.str("WEBMAIL_TLS_CA_FILE", default="") or None
WEBMAIL_IMAP_TIMEOUT = env.float("WEBMAIL_IMAP_TIMEOUT", default=15.0)
WEBMAIL_PAGE_SIZE = env.int("WEBMAIL_PAGE_SIZE", default=50)
WEBMAIL_MAX_ATTACHMENT_MB = env.int("WEBMAIL_MAX_ATTACHMENT_MB", default=25)
# Attachments waiting while a message is written (webmail/compose/staging.py).
WEBMAIL_UPLOAD_DIR = env.str("WEBMAIL_UPLOAD_DIR", default=str(VAR_DIR / "uploads"))
# Uploads above this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The pool, one per web process and shared by its threads (README, "Scaling"): at most this many
# connections per mailbox in one process; a mailbox's last idle connection closes after
# IDLE_SECONDS, the spares a burst of parallel requests opened after SPARE_SECONDS.
WEBMAIL_POOL_MAX_PER_USER = env.int("WEBMAIL_POOL_MAX_PER_USER", default=3)
WEBMAIL_POOL_IDLE_SECONDS = env.int("WEBMAIL_POOL_IDLE_SECONDS", default=120)
WEBMAIL_POOL_SPARE_SECONDS = env.int("WEBMAIL_POOL_SPARE_SECONDS", default=20)
# Across every web process and Celery worker sharing REDIS_URL: at most this many IMAP connections
# per mailbox (leases in Redis). Keep it under Dovecot's mail_max_userip_connections (10 by
# default) with room to spare; 0 turns the shared budget off (the per-process cap still holds).
WEBMAIL_IMAP_CONNECTIONS_PER_USER = env.int("WEBMAIL_IMAP_CONNECTIONS_PER_USER", default=6)
WEBMAIL_POP_ALLOWED_HOSTS = env.list("WEBMAIL_POP_ALLOWED_HOSTS", default=[])

# --- Push: changes sent to every open page (webmail/push, README "Push") ------
REDIS_URL = env.str("REDIS_URL", default="")
# "dovecot": Dovecot's push_notification plugin posts events to /push/dovecot/ (no connection
# held per user); "idle": a watcher process keeps one IMAP IDLE per user with an open page;
# "off": pages poll every 45 s. Push needs REDIS_URL (events fan out through pub/sub).
WEBMAIL_PUSH_MODE = env.str("WEBMAIL_PUSH_MODE", default="dovecot")
# The secret Dovecot sends (Authorization: Bearer ...); empty refuses every post.
WEBMAIL_PUSH_SECRET = env.str("WEBMAIL_PUSH_SECRET", default="")
# Where pages open their event stream: the path the balancer sends to the ASGI service, or an
# absolute URL (the demo and tests run that service on a port of its own).
WEBMAIL_PUSH_STREAM_URL = env.str("WEBMAIL_PUSH_STREAM_URL", default="/push/stream/")
# Origins (the site's pages) allowed to open the stream cross-origin; empty: same origin only.
WEBMAIL_PUSH_ALLOWED_ORIGINS = env.list("WEBMAIL_PUSH_ALLOWED_ORIGINS", default=[])
WEBMAIL_PUSH_HEARTBEAT_SECONDS = env.float("WEBMAIL_PUSH_HEARTBEAT_SECONDS", default=20.0)
# A stream ends after this long and the page reconnects (its sign-in is checked anew).
WEBMAIL_PUSH_STREAM_MAX_SECONDS = env.int("WEBMAIL_PUSH_STREAM_MAX_SECONDS", default=900)
# Events accepted per mailbox per second from Dovecot, beyond which they are dropped.
WEBMAIL_PUSH_RATE_PER_SECOND = env.int("WEBMAIL_PUSH_RATE_PER_SECOND", default=50)
# IDLE mode: a user's IDLE connection outlives their last stream by this much (a reload, a reconnect).
WEBMAIL_PUSH_WATCH_GRACE_SECONDS = env.float("WEBMAIL_PUSH_WATCH_GRACE_SECONDS", default=30.0)
if WEBMAIL_PUSH_STREAM_URL.startswith(("http://", "https://")):
    # A stream on another origin (the demo's own port): the page may connect there.
    _push_origin = "/".join(WEBMAIL_PUSH_STREAM_URL.split("/", 3)[:3])
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["connect-src"].append(_push_origin)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # No broker server needed for the demo: kombu's filesystem transport.
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # urllib3 at DEBUG would log each request's URL: a Web Push endpoint is a capability URL.
    "loggers": {"imapclient": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}

# --- Import from other accounts (webmail/imports; POP3 is its first source) ---
# Documented in the README's "POP3 import" section.
WEBMAIL_POP_TIMEOUT = env.float("WEBMAIL_POP_TIMEOUT", default=30.0)
WEBMAIL_POP_MAX_MESSAGE_BYTES = env.int("WEBMAIL_POP_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024)
# Mailbox archives (.mbox) uploaded to import: the largest accepted, and the largest chunk of one request.
WEBMAIL_ARCHIVE_MAX_BYTES = env.int("WEBMAIL_ARCHIVE_MAX_BYTES", default=50 * 1024**3)
WEBMAIL_ARCHIVE_CHUNK_BYTES = env.int("WEBMAIL_ARCHIVE_CHUNK_BYTES", default=8 * 1024 * 1024)
# Every this many messages a run lets an account waiting for a worker go first.
WEBMAIL_POP_MAX_MESSAGES_PER_RUN = env.int("WEBMAIL_POP_MAX_MESSAGES_PER_RUN", default=500)
# Messages stored per MULTIAPPEND and ledger commit (and held in memory at once).
WEBMAIL_POP_BATCH_MESSAGES = env.int("WEBMAIL_POP_BATCH_MESSAGES", default=100)
WEBMAIL_POP_BATCH_BYTES = env.int("WEBMAIL_POP_BATCH_BYTES", default=16 * 1024 * 1024)
# A run's lock is a lease its heartbeat renews every quarter of this; a killed worker's lapses
# after this, and the dispatcher (every WEBMAIL_POP_DISPATCH_SECONDS) queues the takeover.
WEBMAIL_POP_LEASE_SECONDS = env.int("WEBMAIL_POP_LEASE_SECONDS", default=10)
WEBMAIL_POP_DISPATCH_SECONDS = env.float("WEBMAIL_POP_DISPATCH_SECONDS", default=5.0)
WEBMAIL_POP_MAX_BACKOFF_SECONDS = env.int("WEBMAIL_POP_MAX_BACKOFF_SECONDS", default=12 * 3600)
WEBMAIL_POP_AUTH_FAILURES_BEFORE_PAUSE = env.int("WEBMAIL_POP_AUTH_FAILURES_BEFORE_PAUSE", default=3)
CELERY_IMPORTS = ["webmail.imports.tasks"]
# Tests run their worker on a queue of their own, so parallel sessions never share tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("WEBMAIL_CELERY_QUEUE", default="celery")
CELERY_BEAT_SCHEDULE = {
    "imports-dispatch": {"task": "imports.dispatch", "schedule": WEBMAIL_POP_DISPATCH_SECONDS},
}
# Database sessions are only deleted by clearsessions: purge the expired ones daily.
CELERY_IMPORTS.append("accounts.tasks")
# A crontab, not a 24 h interval: an interval first fires a full day after beat
# starts, so a beat restarted more often than daily (deploys) would never purge.
CELERY_BEAT_SCHEDULE["sessions-purge"] = {
    "task": "accounts.sessions_purge",
    "schedule": crontab(hour=4, minute=7),
}
CELERY_BEAT_SCHEDULE["credential-attempts-purge"] = {
    "task": "accounts.credential_attempts_purge",
    "schedule": crontab(hour=4, minute=17),
}
# --- Filters (webmail/filters): "apply to the messages already there" in a worker ---
# Messages flagged/moved per batch; each batch renews the job's lease and records its progress.
WEBMAIL_FILTERS_APPLY_BATCH = env.int("WEBMAIL_FILTERS_APPLY_BATCH", default=500)
# A killed worker's job is taken up again once its lease lapses (beat checks this often).
WEBMAIL_FILTERS_LEASE_SECONDS = env.int("WEBMAIL_FILTERS_LEASE_SECONDS", default=120)
WEBMAIL_FILTERS_DISPATCH_SECONDS = env.float("WEBMAIL_FILTERS_DISPATCH_SECONDS", default=30.0)
CELERY_IMPORTS.append("webmail.filters.tasks")
CELERY_BEAT_SCHEDULE["filters-resume"] = {
    "task": "filters.resume_jobs",
    "schedule": WEBMAIL_FILTERS_DISPATCH_SECONDS,
}
# Attachments uploaded for messages never sent: removed a day after their last use.
CELERY_IMPORTS.append("webmail.compose.tasks")
CELERY_BEAT_SCHEDULE["compose-uploads-purge"] = {"task": "compose.uploads_purge", "schedule": 3600.0}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A Celery worker in another process must see the test database: a file, not
    # memory; one per pytest process, so parallel sessions never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    # Web and worker processes write concurrently: WAL, a patient busy timeout,
    # and write transactions that take the lock up front instead of failing midway.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

# --- Installable app and Web Push (webmail/webpush) ---
# The VAPID private key (RFC 8292): the 32-byte P-256 key, base64url (`./dev demo` makes one in
# var/; `python -m webmail.webpush.keygen` prints a new one). Empty: Web Push is off.
WEBMAIL_VAPID_PRIVATE_KEY = env.str("WEBMAIL_VAPID_PRIVATE_KEY", default="")
# Who push services may contact about our messages: a mailto: or https: URL
# (default: WEBMAIL_SITE_URL when it is https).
WEBMAIL_VAPID_SUBJECT = env.str("WEBMAIL_VAPID_SUBJECT", default="")
# Push endpoints must be https on public addresses, except these hosts or networks.
WEBMAIL_WEBPUSH_ALLOWED_HOSTS = env.list("WEBMAIL_WEBPUSH_ALLOWED_HOSTS", default=[])
WEBMAIL_WEBPUSH_TIMEOUT = env.float("WEBMAIL_WEBPUSH_TIMEOUT", default=10.0)
CELERY_IMPORTS.append("webmail.webpush.tasks")
