"""One registry of JSON Schema formats, used by validation and by data synthesis alike."""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mvptest.formats import cn
from mvptest.formats.cn import Failure

__all__ = ["REGISTRY", "SEVERITIES", "STANDARD_FORMATS", "Failure", "Format", "get", "known_names", "looks_like"]

SEVERITIES = ("error", "warning", "ignore")

# Formats of JSON Schema 2020-12 that the validator asserts natively.
STANDARD_FORMATS = frozenset(
    [
        "date", "date-time", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6",
        "uri", "uri-reference", "iri", "iri-reference", "uri-template", "uuid", "json-pointer", "relative-json-pointer",
        "regex",
    ]
)


@dataclass(frozen=True)
class Format:
    """A named string format: a strict check, an explanation of failures, and a generator of valid values."""

    name: str
    title: str
    check: Callable[[str], bool]
    explain: Callable[[str], Failure | None]
    generate: Callable[[random.Random], str] | None = None
    # failure code -> severity when the spec says nothing
    default_severity: dict[str, str] = field(default_factory=dict)
    standard: bool = False

    def severity(self, code: str, overrides: dict[str, str] | None = None) -> str:
        if overrides and code in overrides:
            return overrides[code]
        return self.default_severity.get(code, "error")


# --------------------------------------------------------------------------- standard formats, Python side
# The validator (jsonschema-rs) checks these natively; these functions serve explanations and suggestions.

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_email(s: str) -> bool:
    return _EMAIL_RE.fullmatch(s) is not None


def _check_date(s: str) -> bool:
    if len(s) != 10 or _DATE_RE.fullmatch(s) is None:
        return False
    try:
        datetime.date.fromisoformat(s)
    except ValueError:
        return False
    return True


def _explain_date(s: str) -> Failure | None:
    if _check_date(s):
        return None
    if _DATE_RE.fullmatch(s):
        return Failure("not-a-date", "YYYY-MM-DD but not a real calendar date")
    return Failure("syntax", "expected YYYY-MM-DD (RFC 3339 full-date)")


def _check_datetime(s: str) -> bool:
    if _DATETIME_RE.fullmatch(s) is None:
        return False
    try:
        datetime.datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _explain_datetime(s: str) -> Failure | None:
    if _check_datetime(s):
        return None
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}", s):
        return Failure("no-offset", "date and time without a time-zone offset", "append +08:00 (or Z for UTC)")
    return Failure("syntax", "expected an RFC 3339 date-time such as 2024-03-12T09:30:00+08:00")


def _generic_explain(name: str, check: Callable[[str], bool]) -> Callable[[str], Failure | None]:
    def explain(s: str) -> Failure | None:
        return None if check(s) else Failure("syntax", f"not a valid {name}")

    return explain


# --------------------------------------------------------------------------- generators (valid by construction)


def _gen_date_obj(rng: random.Random, start: int = 1950, end: int = 2023) -> datetime.date:
    first = datetime.date(start, 1, 1).toordinal()
    last = datetime.date(end, 12, 31).toordinal()
    return datetime.date.fromordinal(rng.randint(first, last))


def _gen_division(rng: random.Random) -> str:
    """A county-level code with a current name (sorted once, so that a seed always picks the same one)."""
    from mvptest.formats import places

    return places.draw(rng).code


def gen_uscc(rng: random.Random, division: str | None = None) -> str:
    """A credit code issued in ``division`` (a drawn one when None)."""
    division = division or _gen_division(rng)
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    org = body + cn.org_check_char(body)
    first17 = "91" + division + org
    return first17 + cn.uscc_check_char(first17)


def gen_resident_id(rng: random.Random, division: str | None = None) -> str:
    """A resident ID registered in ``division`` (a drawn one when None)."""
    division = division or _gen_division(rng)
    first17 = division + _gen_date_obj(rng).strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return first17 + cn.ric_check_char(first17)


def gen_stats_division(rng: random.Random, division: str | None = None) -> str:
    """A 12-digit statistical code inside the county ``division`` (a drawn one when None)."""
    return f"{division or _gen_division(rng)}{rng.randint(1, 30):03d}{rng.randint(1, 399):03d}"


# Formats whose values carry a division, with where its six digits sit: the synthesizer draws one place per
# record and issues every such code in it (formats/places.py).
DIVISION_FORMATS: dict[str, tuple[Callable[[random.Random, str | None], str], int]] = {
    "cn-uscc": (gen_uscc, 2),
    "cn-resident-id": (gen_resident_id, 0),
    "cn-admin-division": (lambda rng, division: division or _gen_division(rng), 0),
    "cn-stats-division": (gen_stats_division, 0),
}


def _gen_org_code(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    return body + cn.org_check_char(body)


def _gen_mobile(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def _gen_datetime(rng: random.Random) -> str:
    d = _gen_date_obj(rng, 2015, 2024)
    return f"{d.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}+08:00"


REGISTRY: dict[str, Format] = {
    f.name: f
    for f in [
        Format(
            "cn-uscc",
            "unified social credit code (GB 32100)",
            cn.check_uscc,
            cn.explain_uscc,
            gen_uscc,
        ),
        Format(
            "cn-resident-id",
            "resident identity number (GB 11643)",
            cn.check_resident_id,
            cn.explain_resident_id,
            gen_resident_id,
        ),
        Format("cn-org-code", "organisation code (GB 11714)", cn.check_org_code, cn.explain_org_code, _gen_org_code),
        Format(
            "cn-admin-division",
            "administrative division code (GB/T 2260)",
            cn.check_admin_division,
            cn.explain_admin_division,
            _gen_division,
        ),
        Format(
            "cn-stats-division",
            "statistical division code (12 digits: GB/T 2260 county, township, village)",
            cn.check_stats_division,
            cn.explain_stats_division,
            gen_stats_division,
        ),
        Format("cn-mobile", "mainland mobile number", cn.check_mobile, cn.explain_mobile, _gen_mobile),
        Format(
            "cn-postcode",
            "postal code",
            cn.check_postcode,
            cn.explain_postcode,
            lambda rng: f"{rng.randrange(10, 860000):06d}",
        ),
        Format(
            "date-compact",
            "date as YYYYMMDD",
            cn.check_date_compact,
            cn.explain_date_compact,
            lambda rng: _gen_date_obj(rng).strftime("%Y%m%d"),
        ),
        Format(
            "date",
            "date as YYYY-MM-DD",
            _check_date,
            _explain_date,
            lambda rng: _gen_date_obj(rng).isoformat(),
            standard=True,
        ),
        Format("date-time", "RFC 3339 date-time", _check_datetime, _explain_datetime, _gen_datetime, standard=True),
        Format(
            "email",
            "e-mail address",
            _check_email,
            _generic_explain("e-mail address", _check_email),
            lambda rng: f"user{rng.randrange(10**6)}@example.gov.cn",
            standard=True,
        ),
    ]
}

# Formats that are personal data: their values are masked in every report even when no spec says so.
PERSONAL_FORMATS = frozenset({"cn-resident-id", "cn-mobile", "email"})

# Formats worth trying when guessing what a failing value "looks like".
_LOOKALIKE_ORDER = ("date-compact", "date", "date-time", "cn-uscc", "cn-resident-id", "cn-org-code", "cn-mobile")


def get(name: str) -> Format | None:
    return REGISTRY.get(name)


def known_names() -> frozenset[str]:
    return frozenset(REGISTRY) | STANDARD_FORMATS


def custom_checkers() -> dict[str, Callable[[str], bool]]:
    """The non-standard formats, as callables for the validator's ``formats=`` option."""
    return {name: f.check for name, f in REGISTRY.items() if not f.standard}


def looks_like(value: str, *, exclude: str = "") -> str | None:
    """The name of another known format that ``value`` satisfies, if any."""
    for name in _LOOKALIKE_ORDER:
        if name != exclude and REGISTRY[name].check(value):
            return name
    return None
