"""Chinese and English output from one message catalogue (GNU gettext, read by the standard library).

Messages are written in English where they are used and marked ``_("...")``; their Chinese lives in
``mvptest/locale/zh_CN/LC_MESSAGES/mvptest.po``, compiled to ``mvptest.mo`` (shipped in the wheel). Department,
interface and field names are never translated: they are shown as the specs give them.

The language is ``--lang zh-CN|en`` on any command, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: a
``zh`` locale gives Chinese), else English. Maintainers:

    python -m mvptest.i18n extract [FRAGMENT.po...]  # every _() message into the .po (new ones untranslated)
    python -m mvptest.i18n compile   # .po -> .mo (Babel, a test extra); tests fail when the .mo is stale
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "mvptest"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": "en", "zh-CN": "zh_CN"}  # what --lang accepts -> the catalogue's folder
_ALIASES = {"zh": "zh-CN", "zh_cn": "zh-CN", "zh-cn": "zh-CN", "zh_hans": "zh-CN", "zh-hans": "zh-CN", "cn": "zh-CN",
            "en": "en", "en_us": "en", "en-us": "en", "en_gb": "en", "c": "en", "posix": "en"}

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def normalize(lang: str) -> str | None:
    """``zh_CN.UTF-8``, ``zh``, ``zh-cn`` -> ``zh-CN``; ``en_US`` -> ``en``; None for a language we do not have."""
    key = lang.split(".", maxsplit=1)[0].split("@", maxsplit=1)[0].strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key.startswith("zh"):
        return "zh-CN"
    if key.startswith("en"):
        return "en"
    return None


def detect(environ: Mapping[str, str] | None = None) -> str:
    """The language of the locale: the first of LC_ALL, LC_MESSAGES, LANG that is set (as gettext reads them)."""
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            return normalize(value) or "en"
    return "en"


def set_language(lang: str) -> None:
    """Switch every later message to ``lang`` (a key of LANGUAGES)."""
    global _translation, _language
    _language = lang
    if lang == "en":
        _translation = gettext.NullTranslations()
        return
    _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[LANGUAGES[lang]], fallback=True)


def language() -> str:
    return _language


def _(message: str) -> str:
    """The message in the current language (the English text itself when it has no translation)."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


# --------------------------------------------------------------------------- maintainers' commands (need Babel)


def _po_path(lang: str = "zh-CN") -> Path:
    return LOCALE_DIR / LANGUAGES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(*fragments: Path) -> int:
    """Add every ``_()`` message of the package (and the translations of PO fragments) to the Chinese .po; returns
    how many messages are new. Messages no longer found are kept: some are looked up by value at display time
    (a format's hint, a suggestion chosen by cause), which extraction cannot see."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po, write_po

    po = _po_path()
    with po.open("rb") as f:
        catalog = read_po(f, locale="zh_CN", domain=DOMAIN)
    before = {m.id for m in catalog if m.id}
    for fragment in fragments:
        with fragment.open("rb") as f:
            for m in read_po(f, locale="zh_CN"):
                have = catalog.get(m.id) if m.id else None
                if not (m.id and m.string) or (have is not None and have.string):
                    continue
                if have is None:
                    catalog.add(m.id, m.string, locations=m.locations)
                else:
                    have.string = m.string  # Catalog.add keeps an existing message's (empty) translation
    package = Path(__file__).resolve().parent
    for filename, lineno, message, comments, context in extract_from_dir(
            str(package), method_map=[("**.py", "python")], keywords={"_": None, "ngettext": (1, 2)}):
        key = message if isinstance(message, str) else message[0]
        if catalog.get(key) is None:
            catalog.add(message, locations=[(f"mvptest/{filename}", lineno)], auto_comments=comments, context=context)
    with po.open("wb") as f:
        write_po(f, catalog, width=120, sort_output=True, omit_header=False, include_lineno=False)
    return len({m.id for m in catalog if m.id} - before)


def compile_catalogue() -> bytes:
    """The .mo of the Chinese .po, as bytes (``compile`` writes it beside the .po)."""
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with _po_path().open("rb") as f:
        catalog = read_po(f, locale="zh_CN", domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["extract"]:
        print(f"{extract(*map(Path, args[1:]))} new message(s) in {_po_path()}")
        return 0
    if args == ["compile"]:
        mo = _po_path().with_suffix(".mo")
        mo.write_bytes(compile_catalogue())
        print(f"wrote {mo}")
        return 0
    print("usage: python -m mvptest.i18n extract|compile", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
