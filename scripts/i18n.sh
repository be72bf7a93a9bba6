#!/usr/bin/env bash
# Keep the translation catalogs in step with the sources.
#
#   scripts/i18n.sh            extract every marked message, then update zh_CN and en
#                              (existing translations are kept; nothing is ever deleted:
#                              messages gone from the sources stay as obsolete "#~" entries)
#   scripts/i18n.sh extract F  only write the POT template to F (for translation tools)
#   scripts/i18n.sh check      exit 1 when the catalogs are out of date with the sources
#                              or a zh_CN entry is empty or fuzzy (changes nothing)
#
# Marked messages: N_("...") and _("...") in src/lotline/**.py, _("...") in the Jinja
# templates (mapping in babel.cfg, paths relative to the project root). After updating,
# translate every empty or "#, fuzzy" zh_CN entry in
# src/lotline/i18n/zh_CN/LC_MESSAGES/messages.po (remove the fuzzy flag once
# checked) and run: .venv/bin/python -m pytest tests/unit/test_i18n.py
# The en catalog keeps empty msgstr: English is the msgid itself.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYBABEL="${PYBABEL:-$ROOT/.venv/bin/pybabel}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
CATALOGS="src/lotline/i18n"
DOMAIN="messages"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' src/lotline/__init__.py)"

extract() {
    "$PYBABEL" -q extract \
        --mapping-file=babel.cfg \
        --no-default-keywords --keyword=_ --keyword=N_ --keyword=t \
        --add-comments=TRANSLATORS: \
        --add-location=file --sort-by-file \
        --project=lotline --version="$VERSION" --copyright-holder="lotline contributors" \
        --output-file="$1" \
        .
    "$PYTHON" scripts/i18n_fstrings.py "$1"
}

# update TEMPLATE LOCALE [extra pybabel options...]
update() {
    local template="$1" locale="$2"
    shift 2
    local extra=()
    # English msgstr stay empty, so a fuzzy guess there is never useful.
    [[ "$locale" == en ]] && extra+=(--no-fuzzy-matching)
    # --ignore-pot-creation-date: a run that changes no message leaves the files untouched.
    "$PYBABEL" -q update --init-missing --previous --ignore-pot-creation-date \
        --input-file="$template" --output-dir="$CATALOGS" --domain="$DOMAIN" --locale="$locale" \
        "${extra[@]}" "$@"
}

report() {
    "$PYTHON" - "$CATALOGS/zh_CN/LC_MESSAGES/$DOMAIN.po" <<'PY'
import sys
from babel.messages.pofile import read_po

with open(sys.argv[1], "rb") as handle:
    catalog = read_po(handle)
entries = [m for m in catalog if m.id]
todo = [m for m in entries if m.fuzzy or not (m.string if isinstance(m.string, str) else all(m.string))]
print(f"zh_CN: {len(entries)} messages, {len(todo)} to translate or review")
for message in todo:
    flag = "fuzzy" if message.fuzzy else "empty"
    print(f"  [{flag}] {message.id if isinstance(message.id, str) else message.id[0]!r}")
sys.exit(1 if todo else 0)
PY
}

command="${1:-all}"
case "$command" in
    extract)
        extract "${2:?usage: scripts/i18n.sh extract OUTPUT.pot}"
        ;;
    all | update)
        template="$(mktemp "${TMPDIR:-/tmp}/lotline-messages.XXXXXX.pot")"
        trap 'rm -f "$template"' EXIT
        extract "$template"
        for locale in zh_CN en; do
            update "$template" "$locale"
        done
        report || true
        ;;
    check)
        template="$(mktemp "${TMPDIR:-/tmp}/lotline-messages.XXXXXX.pot")"
        trap 'rm -f "$template"' EXIT
        extract "$template"
        status=0
        for locale in zh_CN en; do
            if ! output="$(update "$template" "$locale" --check 2>&1)"; then
                # pybabel reports "out of date" with a traceback; show anything else as is.
                grep -q "out of date" <<<"$output" || echo "$output" >&2
                echo "$locale catalog is out of date: run scripts/i18n.sh" >&2
                status=1
            fi
        done
        report || status=1
        exit "$status"
        ;;
    *)
        echo "usage: scripts/i18n.sh [all|extract OUTPUT.pot|check]" >&2
        exit 2
        ;;
esac
