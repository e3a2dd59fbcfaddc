"""Pictures of the demo for the README: ``./dev screenshots`` (or ``python tools/screenshots.py``).

Starts a demo of its own (its own var directory and ports, so a running ``./dev demo`` is not
disturbed), signs in as alice in headless Chromium, and writes docs/screenshots/*.png: the
laptop at 1366x768 and the phone at 390x844, in the light and the dark theme. Stops the demo.

    python tools/screenshots.py [--out docs/screenshots] [--base http://127.0.0.1:8000]

With --base, an already running demo is photographed instead of starting one.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("WEBMAIL_CHROMIUM", "/usr/bin/chromium")
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PORT_OFFSET = 700  # mail ports of this demo: 10143 + 700 and so on
ADDRESS = "127.0.0.1:8070"


def _start_demo(var: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WEBMAIL_DEMO": "1", "WEBMAIL_VAR_DIR": str(var)}
    env.pop("WEBMAIL_ENV_FILE", None)
    command = [sys.executable, str(ROOT / "manage.py"), "demo", "--addr", ADDRESS]
    command += ["--port-offset", str(PORT_OFFSET)]
    log = (var / "demo.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for(url: str, process: subprocess.Popen[bytes] | None, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit("the demo stopped before it answered; see its log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def _shots(base: str, out: Path) -> list[Path]:
    from playwright.sync_api import Page, sync_playwright

    written: list[Path] = []

    def inbox_with_message(page: Page) -> None:
        page.locator("tr.msg a.open").nth(1).click()
        page.wait_for_selector("#reading-pane article.message")
        page.wait_for_timeout(600)

    def conversation(page: Page) -> None:
        page.goto(f"{base}/mail/?view=threads")
        page.locator("tr.msg.conv:has([data-thread-toggle]) a.open").first.click()
        page.wait_for_selector("#reading-pane .conversation")
        page.wait_for_timeout(600)

    def compose(page: Page) -> None:
        page.locator("tr.msg a.open").nth(2).click()
        page.wait_for_selector("#reading-pane article.message")
        page.click("#reading-pane a.reply")
        page.wait_for_selector("#compose-panel form.compose-form .chip")
        page.wait_for_timeout(400)

    def selection(page: Page) -> None:
        for n in (0, 2):
            page.locator("tr.msg").nth(n).locator("td.check label").click()
        page.wait_for_timeout(200)

    def phone_message(page: Page) -> None:
        page.locator("tr.msg a.open").nth(2).click()
        page.wait_for_selector("#reading-pane article.message")
        page.wait_for_timeout(600)

    def drawer(page: Page) -> None:
        page.click("[data-toggle-folders]")
        page.wait_for_timeout(400)

    def settings(page: Page) -> None:
        page.goto(f"{base}/settings/")

    plan: list[tuple[str, dict[str, int], str, Callable[[Page], None]]] = [
        ("laptop-light", LAPTOP, "light", inbox_with_message),
        ("laptop-dark", LAPTOP, "dark", conversation),
        ("laptop-compose", LAPTOP, "light", compose),
        ("laptop-selection-dark", LAPTOP, "dark", selection),
        ("laptop-settings", LAPTOP, "light", settings),
        ("phone-light", PHONE, "light", lambda page: None),
        ("phone-dark", PHONE, "dark", phone_message),
        ("phone-drawer", PHONE, "light", drawer),
    ]
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
        for name, viewport, theme, action in plan:
            phone = viewport is PHONE
            context = browser.new_context(
                viewport=viewport, color_scheme=theme, is_mobile=phone, has_touch=phone
            )
            page = context.new_page()
            page.goto(f"{base}/login/")
            page.fill("input[name=email]", "alice@example.test")
            page.fill("input[name=password]", "alice-demo-pw")
            page.click("button[type=submit]")
            page.wait_for_selector("tr.msg")
            action(page)
            page.mouse.move(viewport["width"] - 2, viewport["height"] - 2)  # no hover effect in the picture
            page.wait_for_timeout(150)
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            written.append(path)
            context.close()
        browser.close()
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--base", help="photograph this running demo instead of starting one")
    args = parser.parse_args(argv)
    if args.base:
        _wait_for(f"{args.base}/login/", None, 10)
        written = _shots(args.base.rstrip("/"), Path(args.out))
    else:
        with tempfile.TemporaryDirectory(prefix="webmail-shots-") as var:
            demo = _start_demo(Path(var))
            try:
                base = f"http://{ADDRESS}"
                _wait_for(f"{base}/login/", demo)
                written = _shots(base, Path(args.out))
            finally:
                demo.send_signal(signal.SIGTERM)  # the demo stops its whole stack on SIGTERM
                try:
                    demo.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    demo.kill()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
