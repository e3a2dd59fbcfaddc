"""``python -m bench [name ...]``: run the named benchmarks (all but ``peer`` by default)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "list": "bench.list_pages",
    "read": "bench.read_message",
    "pop": "bench.pop_import",
    "imap": "bench.sources_import:main_imap",
    "archive": "bench.sources_import:main_archive",
    "peer": "bench.peer",
    "scale": "bench.scale",
    "push": "bench.push",
    "newsletter": "bench.newsletter",
}


def main(argv: list[str]) -> int:
    # Leading words name benchmarks; everything from the first option on is theirs.
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    # `peer` installs Roundcube and PHP, `scale` and `push` take minutes: only when asked for by name.
    on_request = ("peer", "scale", "push")
    names, options = argv[:split] or [n for n in BENCHMARKS if n not in on_request], argv[split:]
    for name in names:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        module_name, _sep, function = BENCHMARKS[name].partition(":")
        module = importlib.import_module(module_name)
        getattr(module, function or "main")(options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
