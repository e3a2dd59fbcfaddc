"""Write static/vendor/lucide/sprite.svg: the Lucide icons the interface uses, as one SVG sprite.

    cd some/scratch && npm install lucide-static
    python tools/lucide_sprite.py some/scratch/node_modules/lucide-static

Lucide's own sprite holds every icon (600 KB); the page needs about seventy. The
symbols are copied unchanged from lucide-static's sprite.svg (ISC licence, in
static/vendor/lucide/LICENSE); templates draw them with ``{% icon "name" %}``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "static" / "vendor" / "lucide"

ICONS = sorted(
    """
    inbox send file-pen archive octagon-alert trash-2 folder folder-open folder-input folder-plus
    folder-pen tag star paperclip search settings log-out menu x pencil reply reply-all forward mail
    mail-open ellipsis-vertical ellipsis chevron-left chevron-right chevron-down chevron-up arrow-left
    refresh-cw sun moon monitor panel-right panel-bottom panel-right-close list messages-square check
    undo-2 copy download external-link code eye user users at-sign filter bell share-2 keyboard
    sliders-horizontal plus maximize-2 minimize-2 image file loader-circle triangle-alert info
    circle-help rows-3 rows-2 ban shield-check arrow-up-down languages upload square mail-plus printer
    minus circle-check-big folder-tree user-round type
    """.split()
)


def main(package: str) -> None:
    root = Path(package)
    sprite = (root / "sprite.svg").read_text(encoding="utf-8")
    version = json.loads((root / "package.json").read_text(encoding="utf-8"))["version"]
    symbols = []
    for name in ICONS:
        body = _body(sprite, name, version)
        # Some names are aliases (<use href="#other"/>): copy the drawing they point at.
        alias = re.fullmatch(r'\s*<use href="#([\w-]+)"\s*/>\s*', body)
        if alias:
            body = _body(sprite, alias.group(1), version)
        body = re.sub(r"\s*\n\s*", "", body)
        symbols.append(f'  <symbol id="{name}" viewBox="0 0 24 24">{body}</symbol>')
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sprite.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg">'
        f"<!-- lucide-static {version}, ISC licence: see LICENSE -->\n" + "\n".join(symbols) + "\n</svg>\n",
        encoding="utf-8",
    )
    (OUT / "LICENSE").write_text((root / "LICENSE").read_text(encoding="utf-8"), encoding="utf-8")
    print(f"{len(symbols)} icons from lucide-static {version} written to {OUT}")


def _body(sprite: str, name: str, version: str) -> str:
    found = re.search(rf'<symbol id="{re.escape(name)}" viewBox="0 0 24 24">(.*?)</symbol>', sprite, re.S)
    if found is None:
        raise SystemExit(f"no icon named {name!r} in lucide-static {version}")
    return found.group(1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "node_modules/lucide-static")
