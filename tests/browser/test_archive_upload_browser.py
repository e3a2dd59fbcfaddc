"""A person uploads a Takeout .mbox in Chromium: the page sends it in chunks with a progress bar,
goes on by itself after a chunk's connection is cut, and the real worker imports it; the page
then shows the archive as imported, with its broken messages listed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.steps import sign_in
from tests.conftest import MailUser
from tests.support.celery import CeleryProcess
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.takeout import write_takeout
from webmail.imports.models import ArchiveUpload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_mbox_goes_up_in_chunks_survives_a_cut_and_is_imported(
    page: Any,
    live_server: Any,
    imap_settings: DovecotInstance,
    make_user: Callable[..., MailUser],
    worker: CeleryProcess,
    beat: CeleryProcess,
    celery_env: dict[str, str],
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.WEBMAIL_UPLOAD_DIR = celery_env["WEBMAIL_UPLOAD_DIR"]
    settings.WEBMAIL_ARCHIVE_CHUNK_BYTES = 64 * 1024
    owner = make_user("uploader")
    path = tmp_path / "Takeout.mbox"
    expected = write_takeout(path, 300, seed=12, broken_every=150, repeat_every=0)
    p, base = page, live_server.url
    sign_in(p, base, owner)

    cut: list[str] = []

    def drop_one(route: Any) -> None:
        if not cut and "offset=" in route.request.url and not route.request.url.endswith("offset=0"):
            cut.append(route.request.url)
            route.abort("connectionreset")  # the home connection drops once
        else:
            route.continue_()

    p.route(re.compile(r".*/archives/.*/chunk/.*"), drop_one)
    p.goto(f"{base}/settings/accounts/")
    p.set_input_files("#archive-file", str(path))
    p.click(".archive-form button[type=submit]")
    p.wait_for_selector(".archive-message:has-text('Uploaded')", timeout=60_000)
    assert cut, "the cut chunk was sent"
    upload = ArchiveUpload.objects.get(user__username=owner.email)
    assert upload.size == path.stat().st_size

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        upload.refresh_from_db()
        if upload.status == "done":
            break
        time.sleep(0.25)
    assert upload.status == "done", upload.status
    assert (upload.messages, upload.broken) == (expected.messages, expected.broken)
    p.wait_for_selector(".archive-upload[data-status=done]", timeout=20_000)
    p.click(".archive-broken summary")
    assert p.locator(".archive-broken li").count() == expected.broken
