"""Shared benchmark plumbing: a private Dovecot under var/bench and a Django set-up."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_VAR = ROOT / "var" / "bench"


def configure_django(imap_port: int, ca_file: Path) -> None:
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "webmail.settings",
            "WEBMAIL_DEMO": "1",
            "WEBMAIL_ENV_FILE": str(BENCH_VAR / "none.env"),
            "DATABASE_URL": f"sqlite:///{BENCH_VAR / 'bench.sqlite3'}",
            "WEBMAIL_IMAP_HOST": "127.0.0.1",
            "WEBMAIL_IMAP_PORT": str(imap_port),
            "WEBMAIL_IMAP_SECURITY": "starttls",
            "WEBMAIL_TLS_CA_FILE": str(ca_file),
            "LOG_LEVEL": "WARNING",
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def median(values: list[float]) -> float:
    return statistics.median(values)
