"""Regenerate docs/gallery/: the trace view (``llmobs_mapping.view``) of a handful of fixture cases.

    python tools/gallery.py                      # the default selection, into docs/gallery/
    python tools/gallery.py fixtures/seed/public fixtures/messages/reasoning --out /tmp/gallery
    python tools/gallery.py --exchange E.json --settings S.json --name my-call [--format evp]
    python tools/gallery.py --check              # exit 1 when docs/gallery/ is out of date

A case folder with ``expected.json`` is shown as that reviewed payload; one without it (but with
``exchange.json`` and ``settings.json``) is mapped first. Each page is one self-contained HTML file;
``index.html`` links them. Output is deterministic, so ``--check`` can run in CI.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmobs_mapping.encode import FORMATS, build_payload  # noqa: E402
from llmobs_mapping.settings import Settings  # noqa: E402
from llmobs_mapping.view import render_html  # noqa: E402

FIXTURES = ROOT / "fixtures"
EXAMPLES = ROOT / "examples"
DEFAULT_OUT = ROOT / "docs" / "gallery"

# (page name, title, candidate case folders relative to fixtures/, first one present wins).
DEFAULT_SELECTION: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("seed-example", "The seed example", ("seed/public",)),
    ("seed-example-evp", "The seed example, EVP format", ("seed/evp",)),
    ("streamed-tool-calls", "Streamed tool calls", ("stream*/*tool*", "*/stream*tool*")),
    ("tool-calls", "Tool calls in the response", ("messages/response-tool-call",)),
    ("tool-results", "Tool results in the conversation", ("messages/tool-results",)),
    ("reasoning", "Reasoning output", ("messages/reasoning",)),
    (
        "error",
        "An error",
        ("error*/*", "*/error*", "*/*-error*"),
    ),
    ("privacy-mode", "Privacy mode", ("seed/privacy",)),
)


@dataclass(frozen=True)
class Entry:
    """One gallery page: its file name, title, description and the payload it shows."""

    name: str
    title: str
    description: str
    source: str
    payload: Any


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _case_entry(folder: Path, name: str | None = None, title: str | None = None) -> Entry | None:
    """The entry for a fixture case folder, or None for an error/decision case (nothing to show)."""
    meta = _load(folder / "case.json") if (folder / "case.json").is_file() else {}
    if (folder / "expected.json").is_file():
        payload = _load(folder / "expected.json")
    elif (folder / "exchange.json").is_file() and (folder / "settings.json").is_file():
        settings = Settings.from_destination(_load(folder / "settings.json"))
        payload = build_payload(_load(folder / "exchange.json"), settings, meta.get("format", "public"))
    else:
        return None
    try:
        source = folder.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        source = folder.as_posix()
    return Entry(
        name=name or f"{folder.parent.name}-{folder.name}",
        title=title or str(meta.get("description", folder.name)),
        description=str(meta.get("description", "")),
        source=source,
        payload=payload,
    )


def _first_case(candidates: Sequence[str]) -> Path | None:
    for pattern in candidates:
        for folder in sorted(FIXTURES.glob(pattern)):
            if (folder / "expected.json").is_file():
                return folder
    return None


def default_entries() -> list[Entry]:
    """The default selection: the first present fixture case of each kind; the examples/ seed files
    stand in for the seed and privacy cases when fixtures/ does not have them."""
    entries: list[Entry] = []
    for name, title, candidates in DEFAULT_SELECTION:
        folder = _first_case(candidates)
        entry = _case_entry(folder, name, title) if folder is not None else _example_entry(name, title)
        if entry is not None:
            entries.append(entry)
    return entries


def _example_entry(name: str, title: str) -> Entry | None:
    settings_file = {"seed-example": "seed-settings.json", "privacy-mode": "seed-settings-privacy.json"}.get(
        name
    )
    if settings_file is None or not (EXAMPLES / settings_file).is_file():
        return None
    settings = Settings.from_destination(_load(EXAMPLES / settings_file))
    payload = build_payload(_load(EXAMPLES / "seed-exchange.json"), settings)
    return Entry(name, title, "the seed page's example", f"examples/{settings_file}", payload)


def _index(entries: Sequence[Entry]) -> str:
    items = "\n".join(
        f'<li><a href="{html.escape(e.name)}.html">{html.escape(e.title)}</a>'
        f'<div class="what">{html.escape(e.description)}</div>'
        f"<code>{html.escape(e.source)}</code></li>"
        for e in entries
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>llmobs-mapping trace gallery</title>\n<style>\n"
        "body { font: 14px/1.5 -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; margin: 24px auto;"
        " max-width: 760px; color: #1c1b22; }\n"
        "li { margin: 10px 0; } a { font-weight: 600; color: #632ca6; } .what { color: #6b6778; }\n"
        "code { font-size: 12px; color: #6b6778; }\n</style>\n</head>\n<body>\n"
        "<h1>Trace gallery</h1>\n"
        "<p>What llmobs-mapping sends to Datadog LLM Observability for a few fixture cases, shown the way"
        " Datadog's trace view shows it. Each page is one self-contained file (no network). Regenerate with"
        " <code>python tools/gallery.py</code>; view any payload with"
        " <code>llmobs-mapping view PAYLOAD.json</code>.</p>\n"
        f"<ul>\n{items}\n</ul>\n</body>\n</html>\n"
    )


def render_gallery(entries: Sequence[Entry]) -> dict[str, str]:
    """File name → content for every page plus ``index.html``."""
    files = {f"{e.name}.html": render_html(e.payload, title=e.title) for e in entries}
    files["index.html"] = _index(entries)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("cases", nargs="*", type=Path, help="fixture case folders (default: a chosen few)")
    parser.add_argument("--exchange", type=Path, help="an exchange JSON file to map and show")
    parser.add_argument("--settings", type=Path, help="destination settings for --exchange")
    parser.add_argument("--format", choices=FORMATS, default="public")
    parser.add_argument("--name", default="exchange", help="page name for --exchange")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when --out differs from what would be written"
    )
    args = parser.parse_args(argv)

    entries: list[Entry] = []
    for folder in args.cases:
        entry = _case_entry(folder)
        if entry is None:
            parser.error(f"{folder}: no expected.json (nor exchange.json + settings.json) to show")
        entries.append(entry)
    if args.exchange is not None:
        if args.settings is None:
            parser.error("--exchange needs --settings")
        settings = Settings.from_destination(_load(args.settings))
        payload = build_payload(_load(args.exchange), settings, args.format)
        entries.append(Entry(args.name, args.name, "", args.exchange.as_posix(), payload))
    if not entries:
        entries = default_entries()
    if not entries:
        parser.error("no cases found (no fixtures/ or examples/); name case folders")

    files = render_gallery(entries)
    if args.check:
        stale = sorted(
            name
            for name, text in files.items()
            if not (args.out / name).is_file() or (args.out / name).read_text(encoding="utf-8") != text
        )
        extra = (
            sorted(p.name for p in args.out.glob("*.html") if p.name not in files)
            if args.out.is_dir()
            else []
        )
        for name in stale + extra:
            print(f"out of date: {args.out / name}", file=sys.stderr)
        if stale or extra:
            print("run: python tools/gallery.py", file=sys.stderr)
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.html"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
        print(args.out / name, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
