"""Choices that belong to a device, not to the account: theme, density, where the reading
pane sits, and the time zone dates are shown in.

A phone and a laptop of the same person want different things, so these live in
cookies of that browser (written by static/shared/app.js, or by the settings form),
and the server reads them to draw the page right the first time: no flash of the
wrong theme, no reading pane that jumps after load.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

THEMES = ("auto", "light", "dark")
DENSITIES = ("comfortable", "compact")
PANES = ("right", "below", "off")
COOKIES = {"theme": "wm_theme", "density": "wm_density", "pane": "wm_pane"}
TZ_COOKIE = "wm_tz"
COOKIE_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Device:
    theme: str = "auto"
    density: str = "comfortable"
    pane: str = "right"


def _pick(value: str | None, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else allowed[0]


def device_of(request: HttpRequest) -> Device:
    cookies = request.COOKIES
    return Device(
        theme=_pick(cookies.get(COOKIES["theme"]), THEMES),
        density=_pick(cookies.get(COOKIES["density"]), DENSITIES),
        pane=_pick(cookies.get(COOKIES["pane"]), PANES),
    )


def remember(response: HttpResponse, **choices: str) -> None:
    """Set the given device choices (already checked) on the response."""
    for key, value in choices.items():
        response.set_cookie(COOKIES[key], value, max_age=COOKIE_AGE, samesite="Lax", httponly=False)


def device(request: HttpRequest) -> dict[str, Device]:
    """Context processor: ``device`` in every template."""
    return {"device": device_of(request)}


def _zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class DeviceTimeZoneMiddleware:
    """Dates in the browser's own time zone ("14:03" is the reader's 14:03, not the server's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = _zone(request.COOKIES.get(TZ_COOKIE))
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
