"""Fill empty or fuzzy zh_CN translations from a JSON map {msgid: translation}.

    .venv/bin/python scripts/i18n_fill.py map.json      # then: scripts/i18n.sh check

Placeholders ({name}, %(name)s) must survive translation; an entry whose placeholders differ
from its msgid's is refused and reported. Prints the msgids still untranslated.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "src/lotline/i18n/zh_CN/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"\{[a-z_]+[^}]*\}|%\([a-z_]+\)s")


def main(map_path: str) -> int:
    mapping: dict[str, str] = json.loads(Path(map_path).read_text(encoding="utf-8"))
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    bad: list[str] = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        if message.string and not message.fuzzy:
            continue
        text = mapping.get(message.id)
        if text is None:
            continue
        if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(message.id)):
            bad.append(message.id)
            continue
        message.string = text
        message.flags.discard("fuzzy")
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False)
    left = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    for msgid in bad:
        print(f"placeholders differ, not filled: {msgid!r}", file=sys.stderr)
    for msgid in left:
        print(f"untranslated: {msgid!r}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
