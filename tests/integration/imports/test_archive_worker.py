"""A 5,000-message Takeout archive imported by the real Celery worker, SIGKILLed at random moments
and restarted: every message once, in the right folder (audited by Message-ID on disk)."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MailUser
from tests.integration.imports.conftest import Owner
from tests.integration.imports.support import maildir_ids, wait_for
from tests.integration.imports.test_archive import send_rest, start
from tests.support.celery import CeleryProcess
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.takeout import write_takeout
from webmail.imports.models import ArchiveUpload, ExternalAccount, FetchRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
KILLS = int(os.environ.get("WEBMAIL_TEST_ARCHIVE_KILLS", "3"))


@pytest.mark.timeout(120 + 25 * KILLS)  # each kill costs the lease and a tick (~15 s)
def test_a_5000_message_takeout_survives_sigkills_of_the_worker(
    worker: CeleryProcess,
    beat: CeleryProcess,
    celery_env: dict[str, str],
    login: Callable[[MailUser], Client],
    owner: Owner,
    dovecot: DovecotInstance,
    settings: Any,
    tmp_path: Path,
) -> None:
    # The web side writes where the worker reads (the worker's own settings say the same).
    settings.WEBMAIL_UPLOAD_DIR = celery_env["WEBMAIL_UPLOAD_DIR"]
    path = tmp_path / "takeout.mbox"
    expected = write_takeout(path, 5000, seed=9, broken_every=500, repeat_every=250)
    data = path.read_bytes()
    browser = login(owner.mail)
    opened = start(browser, path)
    assert send_rest(browser, opened["id"], data, settings.WEBMAIL_ARCHIVE_CHUNK_BYTES)["status"] == "ready"
    folders = set(expected.folders.values())
    total = len(expected.folders)
    rng = random.Random(9)

    def audit() -> Counter[str]:
        found: Counter[str] = Counter()
        for folder in folders:
            found.update(maildir_ids(dovecot, owner.mail.email, folder))
        assert max(found.values(), default=1) == 1, "a message was stored twice"
        return found

    account = ExternalAccount.objects.get(user=owner.user, protocol="archive")
    recoveries: list[float] = []
    while len(recoveries) < KILLS:
        current = sum(audit().values())
        target = current + rng.randrange(1, max(2, (total - current) // ((KILLS - len(recoveries)) * 2)))
        wait_for(lambda t=target: sum(audit().values()) >= t, timeout=90, what="progress")
        time.sleep(rng.uniform(0.0, 0.2))
        worker.kill()
        killed_at, killed_clock = time.monotonic(), timezone.now()
        time.sleep(0.3)
        finished = sum(audit().values()) >= total
        worker.start()  # (first: a failure here must not leave the next test without a worker)
        assert not finished, f"the import finished before the kills ({len(recoveries)} done)"
        later = FetchRun.objects.filter(account=account, started_at__gt=killed_clock, imported__gt=0)
        wait_for(later.exists, timeout=90, what="the import going on after the kill", interval=0.05)
        recoveries.append(time.monotonic() - killed_at)

    wait_for(lambda: sum(audit().values()) >= total, timeout=180, what="the import to finish")
    found = audit()
    assert set(found) == set(expected.folders) and set(found.values()) == {1}
    for mid, folder in rng.sample(sorted(expected.folders.items()), 50):
        assert maildir_ids(dovecot, owner.mail.email, folder)[mid] == 1, (mid, folder)
    upload = ArchiveUpload.objects.get(pk=opened["id"])
    wait_for(
        lambda: (upload.refresh_from_db(), upload.status)[1] == "done", timeout=60, what="the upload done"
    )
    assert (upload.messages, upload.repeated, upload.broken) == (
        expected.messages,
        expected.repeated,
        expected.broken,
    )
    print(f"archive recoveries after SIGKILL: {', '.join(f'{r:.1f} s' for r in recoveries)}")
    assert max(recoveries) <= 30, recoveries


@pytest.fixture(autouse=True)
def _quiet_accounts() -> Any:
    yield
    ExternalAccount.objects.update(enabled=False)
    deadline = time.monotonic() + 15
    while FetchRun.objects.filter(status="running").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
