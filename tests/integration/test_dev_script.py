"""``./dev test`` runs against the test servers, never the ports a demo wrote into var/demo.env."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent.parent


def test_dev_test_ignores_the_demo_env_file() -> None:
    var = Path(tempfile.mkdtemp(prefix="webmail-devtest-", dir="/tmp"))
    try:
        # Would break settings at import if it were read.
        (var / "demo.env").write_text("WEBMAIL_IMAP_PORT=not-a-port\n")
        env = {k: v for k, v in os.environ.items() if k != "WEBMAIL_ENV_FILE"}
        env["WEBMAIL_VAR_DIR"] = str(var)
        result = subprocess.run(
            ["bash", str(ROOT / "dev"), "test", "-q", "-p", "no:cacheprovider", "tests/unit/test_crypto.py"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert "passed" in result.stdout
    finally:
        shutil.rmtree(var, ignore_errors=True)
