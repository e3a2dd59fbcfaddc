"""The WSGI entry point production serves (gunicorn ``webmail.wsgi:application``).

Loading it loads the whole application, URLconf and views included, then freezes what it
loaded out of the garbage collector's full passes: those walked every long-lived object
and stalled a request now and then (webmail/wsgi.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent.parent

PROBE = """
import gc, sys
import webmail.wsgi
print(gc.get_freeze_count(), "webmail.mailbox.views" in sys.modules, callable(webmail.wsgi.application))
"""


def test_loading_the_application_freezes_what_it_loaded() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webmail.settings", "WEBMAIL_DEMO": "1"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    frozen, views_loaded, callable_app = result.stdout.split()
    assert views_loaded == "True" and callable_app == "True"
    assert int(frozen) > 50_000, "Django, the apps and the views: tens of thousands of objects"
