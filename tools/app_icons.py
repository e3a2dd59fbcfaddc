"""Write the installable app's PNG icons (static/icons/app-*.png) from the logo, static/icons/favicon.svg.

    .venv/bin/python tools/app_icons.py

Drawn by headless Chromium (Playwright, /usr/bin/chromium), which renders SVG as the
browser shows the favicon. "any" icons are the logo as it is (rounded square, transparent
corners); "maskable" ones fill the whole square with the logo's blue and keep the envelope
inside the central 80% circle a launcher's mask may cut to (the W3C "safe zone"); so is
the 180 px apple-touch-icon.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
CHROMIUM = "/usr/bin/chromium"
ANY_SIZES = (192, 512)
MASKABLE_SIZES = (192, 512)


def maskable(svg: str) -> str:
    """The logo's background without its rounded corners, the envelope shrunk to 75% around the centre."""
    fill = re.search(r'<rect[^>]*fill="([^"]+)"', svg)
    colour = fill.group(1) if fill else "#2457c5"
    paths = "".join(re.findall(r"<path[^>]*/>", svg))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
        f'<rect width="32" height="32" fill="{colour}"/>'
        f'<g transform="translate(16 16) scale(0.75) translate(-16 -16)">{paths}</g></svg>'
    )


def main() -> None:
    logo = (ICONS / "favicon.svg").read_text()
    jobs = [(f"app-{s}.png", logo, s) for s in ANY_SIZES]
    jobs += [(f"app-maskable-{s}.png", maskable(logo), s) for s in MASKABLE_SIZES]
    # iOS's home-screen icon: a full square (iOS rounds it itself and shows transparency as black).
    jobs.append(("app-180.png", maskable(logo), 180))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        for name, svg, size in jobs:
            page = browser.new_page(viewport={"width": size, "height": size})
            sized = svg.replace("<svg ", '<svg width="100%" height="100%" ', 1)
            page.set_content(
                "<!DOCTYPE html><html><body style='margin:0;background:transparent'>"
                f"<div style='width:{size}px;height:{size}px'>{sized}</div></body></html>"
            )
            page.screenshot(path=str(ICONS / name), omit_background=True)
            page.close()
            print(f"wrote static/icons/{name}")
        browser.close()


if __name__ == "__main__":
    main()
