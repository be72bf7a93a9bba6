"""Add to a POT template the messages Babel's Python extractor cannot see.

On Python 3.11 an f-string is a single token, so ``f"{_('Error')}: {detail}"`` hides the
``_('Error')`` call from ``pybabel extract`` (Python 3.12+ tokenizes f-strings and Babel
finds it there). The message would then be missing from the catalogs, or marked obsolete
by ``pybabel update``, and show in English to a Chinese reader. This walks the syntax tree
of every Python file babel.cfg maps instead, and adds each ``_("...")`` / ``N_("...")``
literal the template lacks.

Usage (from scripts/i18n.sh): python scripts/i18n_fstrings.py TEMPLATE.pot
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from babel.util import pathmatch

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = ("_", "N_", "t")


def _python_files(root: Path) -> list[Path]:
    """The .py files under ``root``, skipping hidden directories (.venv, .git) like Babel."""
    files = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith((".", "__pycache__")))
        files.extend(Path(directory) / name for name in sorted(names) if name.endswith(".py"))
    return files


def marked_messages(root: Path = ROOT) -> list[tuple[str, str, int]]:
    """(msgid, file, line) for every literal ``_()``/``N_()`` call in the mapped Python files."""
    with (root / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, _options = parse_mapping_cfg(handle)
    found = []
    for path in _python_files(root):
        relative = path.relative_to(root).as_posix()
        # Babel uses the first section whose pattern matches (an [ignore: …] section included).
        method = next((method for pattern, method in method_map if pathmatch(pattern, relative)), None)
        if method != "python":
            continue
        tree = ast.parse(path.read_bytes(), filename=relative)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in KEYWORDS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value
            ):
                found.append((node.args[0].value, relative, node.lineno))
    return found


def main(template: str) -> int:
    with open(template, "rb") as handle:
        catalog = read_po(handle)
    added: dict[str, list[tuple[str, int]]] = {}
    for msgid, filename, lineno in marked_messages():
        if msgid in added:
            added[msgid].append((filename, lineno))
        elif catalog.get(msgid) is None:
            added[msgid] = [(filename, lineno)]
    for msgid, locations in added.items():
        flags = ["python-brace-format"] if "{" in msgid else []
        # The template lists files only (--add-location=file): no line numbers to churn.
        files = sorted({filename for filename, _lineno in locations})
        catalog.add(msgid, locations=[(filename, None) for filename in files], flags=flags)
    if added:
        with open(template, "wb") as handle:
            write_po(handle, catalog, sort_by_file=True, include_lineno=False)
        for msgid, locations in added.items():
            where = ", ".join(f"{filename}:{lineno}" for filename, lineno in locations)
            print(f"added {msgid!r} ({where}): pybabel cannot see it inside an f-string")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
