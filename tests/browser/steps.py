"""Steps many browser tests take as a person would: sign in, watch for script errors, and check
that the page fits the window."""

from __future__ import annotations

import re
from typing import Any, Protocol

WIDER_THAN_WINDOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


class Credentials(Protocol):
    email: str
    password: str


def sign_in(page: Any, base: str, user: Credentials) -> None:
    """Sign in on the form and wait for the mailbox."""
    page.goto(f"{base}/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", user.password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/mail/"))


def script_errors(page: Any) -> list[str]:
    """The console errors and uncaught exceptions the page will report, as they come."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def assert_fits(page: Any) -> None:
    """Nothing on the page is wider than the window (no sideways scrolling)."""
    over = page.evaluate(WIDER_THAN_WINDOW)
    assert over <= 1, f"{page.url}: {over}px wider than the window"
