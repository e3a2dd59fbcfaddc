"""Firing the mail list's periodic refresh at once in browser tests."""

from __future__ import annotations


def refresh_now(page: object) -> None:
    """Send the event the list's poller (#sync) listens for, as its 45 s timer would.

    Every refresh redraws the poller, and htmx only wires the new one once the swap
    has settled (20 ms after it): an event sent before then reaches no one, and the
    test waits forever for a list that never comes (seen as a flaky timeout). So wait
    until no request is in flight and nothing is settling, then send it.
    """
    page.wait_for_selector(".htmx-request, .htmx-settling", state="detached")  # type: ignore[attr-defined]
    page.evaluate("document.body.dispatchEvent(new Event('mail-refresh'))")  # type: ignore[attr-defined]
