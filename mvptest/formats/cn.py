"""Chinese government identifier formats: credit code, resident ID, organisation and division codes."""

from __future__ import annotations

import datetime
import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple


class Failure(NamedTuple):
    """Why a value fails a format: a stable code (for severity rules), a message and an optional hint."""

    code: str
    message: str
    hint: str = ""


# --------------------------------------------------------------------------- dates

_DATE_CACHE: dict[str, bool] = {}


_TODAY: list[str] = []  # [date, computed-at ordinal]; refreshed when the day changes


def _today_compact() -> str:
    if not _TODAY or _TODAY[1] != str(datetime.date.today().toordinal()):
        today = datetime.date.today()
        _TODAY[:] = [today.strftime("%Y%m%d"), str(today.toordinal())]
    return _TODAY[0]


def is_real_date_compact(s: str) -> bool:
    """True when ``s`` is eight digits naming a real calendar date (YYYYMMDD)."""
    known = _DATE_CACHE.get(s)
    if known is not None:
        return known
    ok = len(s) == 8 and s.isascii() and s.isdigit()
    if ok:
        try:
            datetime.date(int(s[:4]), int(s[4:6]), int(s[6:]))
        except ValueError:
            ok = False
    if len(_DATE_CACHE) < 200_000:
        _DATE_CACHE[s] = ok
    return ok


def check_date_compact(s: str) -> bool:
    return is_real_date_compact(s)


def explain_date_compact(s: str) -> Failure | None:
    if is_real_date_compact(s):
        return None
    if len(s) == 8 and s.isascii() and s.isdigit():
        return Failure("not-a-date", "eight digits but not a real calendar date")
    return Failure("syntax", "expected eight digits YYYYMMDD")


# --------------------------------------------------------------------------- division codes (GB/T 2260)


@lru_cache(maxsize=1)
def division_lines() -> tuple[str, ...]:
    """The lines of python-stdnum's ``cn/loc.dat`` (a province line, then its divisions indented), comments dropped."""
    import stdnum

    path = Path(stdnum.__file__).parent / "cn" / "loc.dat"
    return tuple(line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def division_table() -> tuple[frozenset[str], frozenset[str]]:
    """(every 6-digit code ever listed, including retired ones; the known 2-digit province prefixes).

    Read from python-stdnum's ``cn/loc.dat``, which keeps the history of renumbered codes, because an
    ID number keeps the division code it was issued with for life.
    """
    codes: set[str] = set()
    provinces: set[str] = set()
    province = ""
    for line in division_lines():
        if not line.startswith(" "):
            province = line.split()[0]
            provinces.add(province)
            codes.add(province + "0000")
        else:
            suffix = line.split()[0]
            codes.add(province + suffix)
            codes.add(province + suffix[:2] + "00")
    return frozenset(codes), frozenset(provinces)


_PROVINCES_FALLBACK = frozenset(
    [
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
        "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83",
    ]
)


_PROVINCES: set[str] = set()


def known_provinces() -> set[str]:
    """Two-digit province prefixes (83: residence permits of Taiwan residents, absent from the table)."""
    if not _PROVINCES:
        _PROVINCES.update(division_table()[1] | _PROVINCES_FALLBACK)
    return _PROVINCES


_DIVISIONS: set[str] = set()


def check_admin_division(s: str) -> bool:
    return s in (_DIVISIONS or _load_divisions())


def _load_divisions() -> set[str]:
    _DIVISIONS.update(division_table()[0])
    return _DIVISIONS


def explain_admin_division(s: str) -> Failure | None:
    if len(s) != 6 or not (s.isascii() and s.isdigit()):
        return Failure("syntax", "expected six digits (GB/T 2260)")
    if s[:2] not in known_provinces():
        return Failure("unknown-province", f"no province has the code {s[:2]}")
    if s not in division_table()[0]:
        return Failure(
            "unlisted",
            "not in the GB/T 2260 table (retired codes included)",
            "check the code; a newly created division may be missing from the table",
        )
    return None


def check_stats_division(s: str) -> bool:
    """12-digit statistical division code (统计用区划代码): a GB/T 2260 county code, then township and village."""
    return len(s) == 12 and s.isascii() and s.isdigit() and check_admin_division(s[:6])


def explain_stats_division(s: str) -> Failure | None:
    if check_stats_division(s):
        return None
    if not (s.isascii() and s.isdigit()):
        return Failure("syntax", "expected 12 digits (statistical division code: county, township, village)")
    if len(s) != 12:
        if len(s) == 6 and check_admin_division(s):
            return Failure("length", "six digits: a GB/T 2260 county code, not a 12-digit statistical code",
                           "send the 12-digit code, or require format cn-admin-division")
        return Failure("length", f"expected 12 digits, got {len(s)}")
    if s[:2] not in known_provinces():
        return Failure("division", f"the first six digits ({s[:6]}) name no province")
    return Failure("division", f"the first six digits ({s[:6]}) are not in the GB/T 2260 table (retired codes included)",
                   "a development zone's statistical-only county code is not a GB/T 2260 code; check with the statistics bureau")


# --------------------------------------------------------------------------- organisation code (GB 11714)

_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_RE = re.compile(r"[0-9A-Z]{8}[0-9X]")


def org_check_char(body: str) -> str:
    """Check character of an 8-character organisation-code body (36-symbol values)."""
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(body, _ORG_WEIGHTS))
    return "0123456789X"[(-total) % 11]


def check_org_code(s: str) -> bool:
    return len(s) == 9 and _ORG_RE.fullmatch(s) is not None and org_check_char(s[:8]) == s[8]


def explain_org_code(s: str) -> Failure | None:
    if check_org_code(s):
        return None
    compact = s.replace("-", "").strip()
    if compact != s and check_org_code(compact):
        return Failure("separator", "contains a separator or spaces", "send the 9 characters without '-'")
    if check_org_code(s.upper()):
        return Failure("lowercase", "contains lower-case letters", "upper-case the code")
    if len(s) != 9:
        return Failure("length", f"expected 9 characters, got {len(s)}")
    if _ORG_RE.fullmatch(s) is None:
        return Failure("charset", "expected 8 digits or upper-case letters and a check digit or X")
    return Failure("check-char", "check character does not match (GB 11714)")


# --------------------------------------------------------------------------- unified social credit code (GB 32100)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 symbols: no I, O, Z, S, V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SCIENTIFIC_RE = re.compile(r"[0-9](\.[0-9]+)?[eE]\+?[0-9]+")
_USCC_RE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")
# Map each symbol to the base-36 digit of its 31-symbol value, so that int(..., 34) can weigh them:
# 34 = 3 (mod 31), hence int(reversed 17 symbols, 34) = sum(value_i * 3**(i-1)) (mod 31).
_USCC_TO_B36 = bytes.maketrans(USCC_ALPHABET.encode(), _ORG_ALPHABET[:31].encode())


def uscc_check_char(first17: str) -> str:
    """The 18th character for the first 17 characters of a credit code."""
    total = int(first17[::-1].encode("ascii").translate(_USCC_TO_B36), 34)
    return USCC_ALPHABET[(-total) % 31]


def _uscc_org_ok(s: str) -> bool:
    # 35 = 2 (mod 11) and the organisation-code weights are 2**(9-i) (mod 11); no Z occurs in a USCC.
    return "0123456789X"[(-2 * int(s[8:16], 35)) % 11] == s[16]


def check_uscc(s: str) -> bool:
    """Strict check: syntax, known division prefix, organisation-code check, 18th check character.

    Written as one expression on purpose: it runs once per record on the validator's hot path.
    """
    return (
        len(s) == 18
        and _USCC_RE.fullmatch(s) is not None
        and (s[2:4] in (_PROVINCES or known_provinces()) or s[2:4] == "10")
        and "0123456789X"[(-2 * int(s[8:16], 35)) % 11] == s[16]
        and USCC_ALPHABET[-int(s[16::-1].encode().translate(_USCC_TO_B36), 34) % 31] == s[17]
    )


def explain_uscc(s: str) -> Failure | None:
    if check_uscc(s):
        return None
    stripped = s.strip().replace(" ", "").replace("-", "")
    if stripped != s and check_uscc(stripped):
        return Failure("whitespace", "contains spaces or separators", "send the 18 characters without spaces")
    if s.upper() != s and check_uscc(s.upper()):
        return Failure("lowercase", "contains lower-case letters", "upper-case the code")
    if len(s) != 18 and _SCIENTIFIC_RE.fullmatch(s):
        return Failure(
            "excel-number",
            "a spreadsheet turned the code into a number in scientific notation; the digits are lost",
            "format the column as text in Excel before exporting",
        )
    if len(s) != 18:
        if len(s) == 15:
            return Failure(
                "length",
                "15 characters: a legacy registration or taxpayer number, not a credit code",
                "send the 18-character unified social credit code",
            )
        return Failure("length", f"expected 18 characters, got {len(s)}")
    bad = sorted({c for c in s.upper() if c not in USCC_ALPHABET})
    if bad:
        return Failure(
            "charset",
            f"contains {', '.join(repr(c) for c in bad)}, outside the 31-symbol alphabet (no I, O, Z, S, V)",
        )
    if _USCC_RE.fullmatch(s) is None:
        return Failure("syntax", "positions 3-8 must be the 6-digit division code")
    if not (s[2:4] in known_provinces() or s[2:4] == "10"):
        return Failure("division", f"positions 3-8 ({s[2:8]}) name no known division")
    if not _uscc_org_ok(s):
        return Failure("org-code-check", "the organisation code (positions 9-17) fails its check character")
    return Failure(
        "legacy-check-char",
        f"the 18th character fails its check (expected {uscc_check_char(s[:17])}) while the organisation "
        "code passes: a legacy pilot code or a mistyped last character",
        "confirm the code with the registration authority",
    )


# --------------------------------------------------------------------------- resident identity number (GB 11643)

_RIC_RE = re.compile(r"[0-9]{17}[0-9X]")


def ric_check_char(first17: str) -> str:
    # 13 = 2 (mod 11) and the weights are 2**(18-i) (mod 11).
    return "10X98765432"[(2 * int(first17, 13)) % 11]


def upgrade_ric15(s: str) -> str:
    """Upgrade a 15-digit (1989) number to 18 digits: insert '19' before the year, add the check."""
    first17 = s[:6] + "19" + s[6:]
    return first17 + ric_check_char(first17)


def _ric_date_ok(s: str) -> bool:
    birth = s[6:14]
    return "18000101" <= birth <= _today_compact() and is_real_date_compact(birth)


def check_resident_id(s: str) -> bool:
    return (
        len(s) == 18
        and _RIC_RE.fullmatch(s) is not None
        and "10X98765432"[(2 * int(s[:17], 13)) % 11] == s[17]
        and (_PROVINCES or known_provinces()).__contains__(s[:2])
        and _ric_date_ok(s)
    )


def explain_resident_id(s: str) -> Failure | None:
    if check_resident_id(s):
        return None
    if s.endswith("x") and check_resident_id(s[:-1] + "X"):
        return Failure("lowercase-x", "the check character is a lower-case x", "upper-case the final X")
    if s.strip() != s and check_resident_id(s.strip()):
        return Failure("whitespace", "has leading or trailing spaces", "strip the spaces")
    if len(s) == 15 and s.isascii() and s.isdigit():
        return Failure(
            "legacy-15",
            "a 15-digit number from before 1999 (GB 11643-1989)",
            "upgrade it: insert 19 before the year and append the check character",
        )
    if len(s) != 18:
        return Failure("length", f"expected 18 characters, got {len(s)}")
    if _RIC_RE.fullmatch(s.upper()) is None:
        return Failure("charset", "expected 17 digits and a check digit or X")
    if s[:2] not in known_provinces():
        return Failure("division", f"the address code {s[:2]}xxxx names no province")
    if not is_real_date_compact(s[6:14]):
        return Failure("birth-date", "positions 7-14 are not a real calendar date")
    if not _ric_date_ok(s):
        return Failure("birth-date", "the birth date lies in the future or before 1800")
    return Failure("check-char", "the check character does not match (ISO 7064 MOD 11-2)")


# --------------------------------------------------------------------------- mobile and postal codes

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
_POSTCODE_RE = re.compile(r"[0-9]{6}")


def check_mobile(s: str) -> bool:
    return len(s) == 11 and _MOBILE_RE.fullmatch(s) is not None


def explain_mobile(s: str) -> Failure | None:
    if check_mobile(s):
        return None
    compact = s.replace(" ", "").replace("-", "")
    for prefix in ("+86", "0086", "86"):
        if compact.startswith(prefix) and check_mobile(compact[len(prefix):]):
            return Failure("country-prefix", "carries a country prefix", f"drop the leading {prefix}")
    if compact != s and check_mobile(compact):
        return Failure("separator", "contains spaces or dashes", "send the 11 digits only")
    return Failure("syntax", "expected 11 digits starting 13-19")


def check_postcode(s: str) -> bool:
    return len(s) == 6 and _POSTCODE_RE.fullmatch(s) is not None


def explain_postcode(s: str) -> Failure | None:
    if check_postcode(s):
        return None
    if s.isdigit() and len(s) == 5:
        return Failure("leading-zero", "five digits: a leading 0 was probably lost", "keep postal codes as text")
    return Failure("syntax", "expected six digits (postal codes may start with 0)")
