"""Typing recipients into the compose form's chip fields, as a person does."""

from __future__ import annotations


def add_recipient(page: object, field: str, address: str, *, scope: str = "") -> None:
    """Type an address into To, Cc or Bcc and end it with a comma: it becomes a chip."""
    box = page.locator(f"{scope} [data-chips-for=id_{field}] input.chip-input".strip())  # type: ignore[attr-defined]
    box.fill(f"{address},")


def clear_recipients(page: object, field: str) -> None:
    chips = page.locator(f"[data-chips-for=id_{field}] .chip-remove")  # type: ignore[attr-defined]
    while chips.count():
        chips.first.click()
