"""Every message a user can see exists in Chinese, and readers get the language they asked for.

The messages are extracted from the sources here, in-process, with the project's babel.cfg
and the keywords scripts/i18n.sh uses, so an English message added without a Chinese
translation fails this test with the list of what is missing. Fix: run ``scripts/i18n.sh``
and translate the empty or fuzzy entries of src/lotline/i18n/zh_CN/LC_MESSAGES/messages.po.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.util import pathmatch

import lotline
from lotline.domain.errors import LotlineError
from lotline.i18n import CATALOG_DIR, DOMAIN, gettext_for, negotiate, normalize, translations

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "babel.cfg"
TEMPLATES = ROOT / "src" / "lotline" / "web" / "templates"
# The keywords scripts/i18n.sh passes to pybabel (--no-default-keywords -k _ -k N_ -k t).
KEYWORDS: dict[str, None] = {"_": None, "N_": None, "t": None}
# Error codes that several classes share on purpose: {code: {class names}}. None today.
SHARED_CODES: dict[str, set[str]] = {
    # A matrix refusal at pick or ship of stock held since it was allocated is a matrix refusal.
    "matrix.not_allowed": {"TransactionNotAllowed", "HeldSinceAllocation"},
}
# Translations that are rightly the same as the English msgid (brand names, codes). None today.
SAME_IN_CHINESE: set[str] = set()

_BRACE = re.compile(r"\{[^{}]*\}")
# "%%" is a literal percent sign, matched first so that "%% required" is not read as "% r".
_PERCENT = re.compile(r"%%|%\([A-Za-z_]\w*\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]|%[#0 +-]*\d*(?:\.\d+)?[sdifr]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


# --- extraction and catalogs -----------------------------------------------------------------


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with MAPPING.open(encoding="utf-8") as handle:
        return parse_mapping_cfg(handle, filename=str(MAPPING))


def _python_files() -> Iterator[tuple[str, Path]]:
    """(path relative to the root, path) of the Python files babel.cfg gives to the python method."""
    method_map, _options = _mapping()
    for directory, subdirectories, names in os.walk(ROOT):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith((".", "__pycache__")))
        for name in sorted(names):
            path = Path(directory) / name
            relative = path.relative_to(ROOT).as_posix()
            method = next((m for pattern, m in method_map if pathmatch(pattern, relative)), None)
            if name.endswith(".py") and method == "python":
                yield relative, path


@cache
def source_messages() -> dict[str, tuple[str, ...]]:
    """msgid → where it is marked, as ``pybabel extract`` with babel.cfg finds them.

    Plus the ``_("…")``/``N_("…")`` literals only the syntax tree shows: on Python 3.11 Babel
    cannot look inside an f-string (scripts/i18n_fstrings.py adds those to the template too).
    """
    method_map, options_map = _mapping()
    found: dict[str, set[str]] = defaultdict(set)
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found[msgid].add(f"{filename}:{lineno}")
    for relative, path in _python_files():
        for node in ast.walk(ast.parse(path.read_bytes(), filename=relative)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in KEYWORDS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value
            ):
                found[node.args[0].value].add(f"{relative}:{node.lineno}")
    return {msgid: tuple(sorted(where)) for msgid, where in found.items()}


@cache
def catalog(language: str) -> Catalog:
    path = CATALOG_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    assert path.exists(), f"{path} is missing: run scripts/i18n.sh"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def entries(language: str) -> list[Message]:
    """The catalog's messages, header and obsolete ones left out."""
    return [message for message in catalog(language) if message.id]


def _first(value: str | tuple[str, ...] | list[str]) -> str:
    return value if isinstance(value, str) else value[0]


def _strings(message: Message) -> list[str]:
    string = message.string
    return [string] if isinstance(string, str) else list(string)


def translated(message: Message | None) -> bool:
    return message is not None and not message.fuzzy and all(_strings(message))


def placeholders(text: str) -> set[str]:
    return set(_BRACE.findall(text)) | (set(_PERCENT.findall(text)) - {"%%"})


def _sample_values(text: str) -> dict[str, str]:
    names = [field.strip("{}").split("!")[0].split(":")[0] for field in _BRACE.findall(text)]
    names += re.findall(r"%\(([A-Za-z_]\w*)\)", text)
    return {name: f"<{name}>" for name in names if name.isidentifier()}


def _fill(text: str, values: dict[str, str]) -> str:
    """``text`` formatted the way lotline does it: ``str.format`` or Jinja's ``format`` (``%``)."""
    if "%(" in text:
        return text % values
    return text.format(**values)


def test_babel_cfg_extracts_python_and_template_messages() -> None:
    found = source_messages()
    # One of each way of marking: N_() in a Python module, _() in Python, _() in a template.
    assert "Wrong user name or password." in found
    assert "Internal error" in found
    assert "Sign in" in found
    assert any(".html:" in where for where in found["Sign in"])
    assert len(found) >= 50, "babel.cfg no longer finds most messages: check its patterns"


def test_every_source_message_has_a_chinese_translation() -> None:
    zh = catalog("zh_CN")
    missing = [
        f"  {msgid!r}  ({', '.join(where)}){'  [fuzzy]' if (m := zh.get(msgid)) and m.fuzzy else ''}"
        for msgid, where in sorted(source_messages().items())
        if not translated(zh.get(msgid))
    ]
    assert not missing, (
        f"{len(missing)} message(s) without a reviewed Chinese translation: run scripts/i18n.sh, then "
        "translate them in src/lotline/i18n/zh_CN/LC_MESSAGES/messages.po (and drop '#, fuzzy'):\n"
        + "\n".join(missing)
    )


def test_english_catalog_lists_every_source_message() -> None:
    """en keeps msgstr empty (the msgid is the English text), but stays in step with the sources."""
    en = catalog("en")
    missing = sorted(msgid for msgid in source_messages() if en.get(msgid) is None)
    assert not missing, "run scripts/i18n.sh to update the en catalog; missing:\n" + "\n".join(missing)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_no_fuzzy_entries(language: str) -> None:
    """A fuzzy entry is a guess: gettext ignores it and the reader gets English."""
    fuzzy = [_first(message.id) for message in entries(language) if message.fuzzy]
    assert not fuzzy, f"review and un-fuzzy these {language} entries:\n" + "\n".join(fuzzy)


def _has_words(msgid: str) -> bool:
    return any(character.isalpha() for character in _PERCENT.sub("", _BRACE.sub("", msgid)))


def test_chinese_translations_are_chinese() -> None:
    """A msgstr copied from the msgid (or left in English) would pass as 'translated'."""
    english = [
        _first(message.id)
        for message in entries("zh_CN")
        if translated(message)
        and _first(message.id) not in SAME_IN_CHINESE
        and _has_words(_first(message.id))  # "{field}: {problem}" is punctuation around placeholders
        and not all(_CJK.search(string) for string in _strings(message))
    ]
    assert not english, "these zh_CN translations contain no Chinese:\n" + "\n".join(english)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_translations_keep_every_placeholder(language: str) -> None:
    broken = []
    for message in entries(language):
        msgid = _first(message.id)
        for string in _strings(message):
            if not string:
                continue
            if placeholders(string) != placeholders(msgid):
                broken.append(f"  {msgid!r} -> {string!r}: {placeholders(msgid)} vs {placeholders(string)}")
                continue
            values = _sample_values(msgid)
            try:
                _fill(msgid, values)
            except (KeyError, IndexError, ValueError, TypeError):
                continue  # not a format string: nothing to keep
            try:
                _fill(string, values)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                broken.append(f"  {msgid!r} -> {string!r}: does not format ({exc!r})")
    assert not broken, f"{language} translations that lose or break placeholders:\n" + "\n".join(broken)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_catalog_passes_babel_checks_and_compiles(language: str) -> None:
    problems = [
        f"{_first(message.id)!r}: {error}"
        for message, errors in catalog(language).check()
        for error in errors
    ]
    assert not problems, "\n".join(problems)
    assert translations(language).gettext("Wrong user name or password.")


def test_chinese_catalog_is_plural_free_chinese() -> None:
    zh = catalog("zh_CN")
    assert zh.locale is not None
    assert zh.locale.language == "zh"
    assert zh.num_plurals == 1


# --- errors ----------------------------------------------------------------------------------


def _import_all_lotline_modules() -> None:
    """Error classes may live anywhere in the package; migrations need Alembic's context."""
    for module in pkgutil.walk_packages(lotline.__path__, "lotline."):
        if not module.name.startswith("lotline.migrations"):
            importlib.import_module(module.name)


def _subclasses(cls: type[LotlineError]) -> Iterator[type[LotlineError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@cache
def error_classes() -> tuple[type[LotlineError], ...]:
    _import_all_lotline_modules()
    return (LotlineError, *dict.fromkeys(_subclasses(LotlineError)))


def test_every_error_class_has_a_chinese_message() -> None:
    from lotline.api.problems import TITLES

    zh = catalog("zh_CN")
    missing = [
        f"{cls.__module__}.{cls.__qualname__}: {cls.message!r}"
        for cls in error_classes()
        if not translated(zh.get(cls.message))
    ]
    assert not missing, "error messages without Chinese (mark them with N_ and translate):\n" + "\n".join(
        missing
    )
    untitled = [
        cls.__qualname__ for cls in error_classes() if not translated(zh.get(TITLES.get(cls.kind, "")))
    ]
    assert not untitled, f"error kinds without a translated problem title: {untitled}"


# Known bugs in the error classes: strict xfail, so the fix shows up as XPASS and this goes.
KNOWN_RENDER_BUGS: dict[str, str] = {}


@pytest.mark.parametrize(
    "cls",
    [
        pytest.param(
            cls,
            id=cls.__qualname__,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_RENDER_BUGS[cls.__qualname__])]
            if cls.__qualname__ in KNOWN_RENDER_BUGS
            else [],
        )
        for cls in error_classes()
    ],
)
def test_error_renders_in_chinese_with_its_params_filled(cls: type[LotlineError]) -> None:
    """Raised the way callers raise it (``field=`` names the field), read by a Chinese user."""
    values = _sample_values(cls.message)
    field = values.pop("field", None)
    rendered = cls(field=field, **values).render(gettext_for("zh_CN"))
    assert _CJK.search(rendered), rendered
    assert not _BRACE.search(rendered), f"unfilled placeholder: {rendered}"
    assert all(value in rendered for value in values.values()), rendered
    if field is not None:
        assert field in rendered


def test_error_codes_are_unique() -> None:
    by_code: dict[str, set[str]] = defaultdict(set)
    for cls in error_classes():
        by_code[cls.code].add(cls.__qualname__)
    shared = {code: names for code, names in by_code.items() if len(names) > 1}
    assert shared == SHARED_CODES, (
        "several error classes share a code; give each its own, or list the sharing in SHARED_CODES "
        f"if clients are meant to treat them alike: {shared}"
    )


def test_wrong_password_message_is_chinese() -> None:
    message = gettext_for("zh_CN")("Wrong user name or password.")
    assert message != "Wrong user name or password."
    assert _CJK.search(message)
    assert gettext_for("zh-CN")("Wrong user name or password.") == message
    assert gettext_for("en")("Wrong user name or password.") == "Wrong user name or password."
    # A language we do not ship reads English, never an error.
    assert gettext_for("fr")("Wrong user name or password.") == "Wrong user name or password."


# --- language negotiation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    # We ship Simplified Chinese only: a Traditional Chinese reader (zh-TW, zh-HK, zh-Hant)
    # still reads it far better than English, so every zh tag maps to zh_CN.
    [
        *("zh", "zh-CN", "zh_CN", "zh-Hans", "zh-Hans-CN", "zh_Hans_CN", "ZH-cn", "zh-SG"),
        *("zh-TW", "zh-HK", "zh-Hant", "zh-Hant-TW"),
    ],
)
def test_every_chinese_tag_means_simplified_chinese(tag: str) -> None:
    assert normalize(tag) == "zh_CN"
    assert negotiate(tag, preferred=None, default="en") == "zh_CN"


@pytest.mark.parametrize("tag", ["en", "en-US", "en_GB", "EN-us"])
def test_english_tags_mean_english(tag: str) -> None:
    assert normalize(tag) == "en"
    assert negotiate(tag, preferred=None, default="zh_CN") == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en;q=0.4, zh-CN;q=0.8", "zh_CN"),
        ("zh-CN;q=0.4, en;q=0.8", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),  # Chrome in China
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("zh-Hans-CN,zh-Hans;q=0.9", "zh_CN"),  # Safari
        ("fr-FR, de;q=0.9, en;q=0.5, zh;q=0.3", "en"),  # first language we ship, by weight
        ("en, zh", "en"),  # equal weight: the header's order decides
        ("zh, en", "zh_CN"),
        (" zh-CN ; q=0.7 , en ; q=0.6 ", "zh_CN"),
        ("zh-CN;q=0, en;q=0.1", "en"),  # q=0 means "not this one"
    ],
)
def test_accept_language_honours_weights(header: str, expected: str) -> None:
    assert negotiate(header, preferred=None, default="en") == expected
    assert negotiate(header, preferred=None, default="zh_CN") == expected


@pytest.mark.parametrize("header", [None, "", "fr-FR, de;q=0.8", "*", "zh;q=0", "en;q=0"])
@pytest.mark.parametrize(("default", "expected"), [("zh_CN", "zh_CN"), ("en", "en"), ("fr", "en")])
def test_falls_back_to_the_default(header: str | None, default: str, expected: str) -> None:
    assert negotiate(header, preferred=None, default=default) == expected


@pytest.mark.parametrize(
    ("header", "preferred", "expected"),
    [
        ("en-US,en;q=0.9", "zh_CN", "zh_CN"),
        ("zh-CN,zh;q=0.9", "en", "en"),
        ("zh-CN", "zh-Hans", "zh_CN"),
        ("zh-CN", "fr", "zh_CN"),  # a setting we cannot honour: the header decides
        ("en", "", "en"),
    ],
)
def test_the_users_own_setting_wins_over_the_header(header: str, preferred: str, expected: str) -> None:
    assert negotiate(header, preferred=preferred, default="en") == expected
    assert negotiate(header, preferred=preferred, default="zh_CN") == expected


# --- pages -----------------------------------------------------------------------------------


def _render(template: str, language: str, **context: object) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return environment.get_template(template).render(
        _=gettext_for(language), language=language, csrf_token="token", version="0", **context
    )


def test_pages_render_in_chinese() -> None:
    login = _render("login.html", "zh_CN", error=None, username="")
    assert 'lang="zh-CN"' in login
    assert gettext_for("zh_CN")("Sign in") in login
    assert "Sign in" not in login
    assert "Password" not in login
    user = SimpleNamespace(display_name="张三", username="zhangsan", grants=[])
    home = _render("home.html", "zh_CN", user=user)
    assert gettext_for("zh_CN")("Welcome, %(name)s") % {"name": "张三"} in home
    assert gettext_for("zh_CN")("No roles yet: ask an administrator.") in home
    assert "%(" not in home


def test_pages_render_in_english() -> None:
    user = SimpleNamespace(display_name="Zhang San", username="zhangsan", grants=[])
    home = _render("home.html", "en", user=user)
    assert "Welcome, Zhang San" in home
    assert 'lang="en"' in home
