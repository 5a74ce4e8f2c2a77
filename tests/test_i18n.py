"""Chinese and English output: --lang anywhere on the command line, the locale's language by default, one
catalogue that is complete and compiled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mvptest import i18n

ROOT = Path(__file__).resolve().parent.parent


def _mvptest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    return subprocess.run([sys.executable, "-m", "mvptest", *args], capture_output=True, text=True, encoding="utf-8",
                          env={**base, **(env or {})}, timeout=60)


@pytest.mark.parametrize("args, env, word", [
    (("--lang", "zh-CN", "validate", "missing.csv", "--schema", "x.json"), {}, "错误："),
    (("validate", "missing.csv", "--schema", "x.json", "--lang=zh-CN"), {}, "错误："),  # after the command too
    (("validate", "missing.csv", "--schema", "x.json"), {"LANG": "zh_CN.UTF-8"}, "错误："),  # from the locale
    (("validate", "missing.csv", "--schema", "x.json"), {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "error:"),
    (("--lang", "en", "validate", "missing.csv", "--schema", "x.json"), {"LANG": "zh_CN.UTF-8"}, "error:"),
])
def test_error_messages_in_the_chosen_language(args, env, word):
    proc = _mvptest(*args, env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith(word), proc.stderr


def test_an_unknown_language_is_bad_input():
    proc = _mvptest("--lang", "fr", "spec", "check", str(ROOT / "specs"))
    assert proc.returncode == 2 and "--lang fr" in proc.stderr and "zh-CN" in proc.stderr


def test_locale_names_normalise():
    assert [i18n.normalize(x) for x in ("zh_CN.UTF-8", "zh", "zh-Hans", "en_US.UTF-8", "C", "de_DE")] == \
        ["zh-CN", "zh-CN", "zh-CN", "en", "en", None]
    assert i18n.detect({"LANG": "zh_CN.GB18030"}) == "zh-CN" and i18n.detect({}) == "en"


def test_catalogue_is_complete_and_compiled():
    """Every _() message of the package has a Chinese translation, and the shipped .mo is the .po compiled."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    po_path = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "mvptest.po"
    with po_path.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    translated = {m.id: m.string for m in catalog if m.id}
    used = {message for _f, _l, message, _c, _ctx in extract_from_dir(
        str(ROOT / "mvptest"), method_map=[("**.py", "python")], keywords={"_": None, "ngettext": (1, 2)})}
    used = {m if isinstance(m, str) else m[0] for m in used}
    missing = sorted(m for m in used if not translated.get(m))
    assert not missing, f"untranslated (python -m mvptest.i18n extract, translate, compile): {missing[:10]}"
    assert po_path.with_suffix(".mo").read_bytes() == i18n.compile_catalogue(), "run: python -m mvptest.i18n compile"
