"""Hold a provider's fields against a consumer's requirements: issues by field, with severity, suggestion and fix."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mvptest.compat.adapter import convert_value, map_key
from mvptest.compat.fields import FieldInfo
from mvptest.i18n import _
from mvptest.spec.meta import DATE_FORMATS

if TYPE_CHECKING:
    from mvptest.compat.view import ConsumerView

# The kinds of CONTRACTS; a unit difference (万元 against 元) is a format-mismatch with aspect "unit".
ISSUE_KINDS = ("missing-field", "optional-field", "type-mismatch", "format-mismatch", "enum-mismatch",
               "length-mismatch", "range-mismatch", "pattern-mismatch")
# value in the first unit = value in the second unit / factor; scale by the factor to go from first to second
UNIT_FACTORS = {("万元", "元"): 10000, ("元", "万元"): 0.0001, ("元", "分"): 100, ("分", "元"): 0.01,
                ("万元", "分"): 1_000_000, ("分", "万元"): 0.000001, ("千元", "元"): 1000, ("元", "千元"): 0.001}
# The order that composes: names first (a pick writes one), then text clean-up, then types, formats, units, codes.
_STEP_ORDER = {"copy": 0, "rename": 0, "pick": 1, "normalize": 2, "convert": 3, "date": 4, "prefix": 4, "scale": 5, "map": 6}


@dataclass
class CompatIssue:
    field: str  # the consumer's JSON Pointer
    provider_field: str  # where the provider serves it ("" when it does not)
    kind: str
    severity: str  # error | warning
    consumer: str  # what the consumer requires, in words
    provider: str  # what the provider sends, in words
    message: str
    suggestion: str = ""
    title: str = ""  # the consumer's name for the field
    step: dict[str, Any] | None = None  # the adapter step that removes it, when there is one
    predicted: bool = True  # found by comparing schemas (False: only the data shows it)
    checked: int = 0
    failing: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)
    has_evidence: bool = False
    aspect: str = ""  # unit | format-options (of a format-mismatch), cardinality (of a type-mismatch)
    provider_defects: int = 0  # failing records whose value breaks the provider's own schema too
    provider_title: str = ""  # the provider's name for its field
    decide: list[str] = dataclasses.field(default_factory=list)  # what the departments must decide before a step can bridge it
    data_shows: str = ""  # the cause the data shows (e.g. "+86 country prefix in 200 of 200 records")
    defect_at: list[str] = dataclasses.field(default_factory=list)  # where values break the provider's own schema ("line 12")
    defect_examples: list[str] = dataclasses.field(default_factory=list)  # those values, masked
    provider_own: str = ""  # the provider's own field as its schema describes it (before any adapter step)
    causes: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # the data's causes, a suggestion each

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field": self.field, "title": self.title, "provider_field": self.provider_field, "kind": self.kind,
            "severity": self.severity, "provider": self.provider, "consumer": self.consumer, "message": self.message,
            "suggestion": self.suggestion, "predicted_by_schemas": self.predicted,
        }
        if self.provider_title:
            out["provider_title"] = self.provider_title
        if self.provider_own:
            out["provider_schema"] = self.provider_own
        if self.decide:
            out["decide"] = self.decide
        if self.data_shows:
            out["data_shows"] = self.data_shows
        if self.aspect:
            out["aspect"] = self.aspect
        if self.has_evidence:
            out["evidence"] = {"checked": self.checked, "failing": self.failing, "examples": self.examples}
            if self.provider_defects:
                out["evidence"]["breaks_provider_schema"] = self.provider_defects
                out["evidence"]["provider_defects_at"] = self.defect_at
                out["evidence"]["provider_defect_examples"] = self.defect_examples
            if self.causes:
                out["evidence"]["causes"] = self.causes
        if self.step:
            out["adapter_step"] = self.step
        return out


def _types(f: FieldInfo) -> set[str]:
    return f.types


def _value_key(v: Any) -> str:
    return str(v).strip().lower().lstrip("0") or "0"


def _code_table(consumer: FieldInfo) -> dict[str, Any]:
    """provider value -> consumer code, from the consumer's x-code-table {code: [provider values]}."""
    table = consumer.get("x-code-table")
    out: dict[str, Any] = {}
    if isinstance(table, dict):
        for code, values in table.items():
            enum = consumer.get("enum") or []
            typed = next((e for e in enum if str(e) == str(code)), code)
            for v in values if isinstance(values, list) else [values]:
                out[str(v)] = typed
    return out


def _map_values(provider_values: list[Any], consumer: FieldInfo) -> tuple[dict[str, Any], list[Any]]:
    """A value mapping from the consumer's code table or from equivalence; and the values left unmapped."""
    enum = list(consumer.get("enum") or [])
    table = _code_table(consumer)
    mapping: dict[str, Any] = {}
    unmapped = []
    for v in provider_values:
        if v in enum:
            continue
        if map_key(v) in table:
            mapping[map_key(v)] = table[map_key(v)]
            continue
        same = [e for e in enum if _value_key(e) == _value_key(v)]
        if len(same) == 1:
            mapping[map_key(v)] = same[0]
        else:
            unmapped.append(v)
    return mapping, unmapped


def compare_fields(view: ConsumerView, options: FormatOptions | None = None) -> list[CompatIssue]:
    """Static comparison of the consumer's fields with what the view gives each of them."""
    consumer = view.consumer
    issues: list[CompatIssue] = []
    parents = {p.rsplit("/", 1)[0] for p in consumer}
    skipped: list[str] = []
    for cp, cf in consumer.items():
        if any(cp.startswith(s + "/") for s in skipped):
            continue
        pf = view.field(cp)
        if pf is None:
            if cf.effectively_required:
                issues.append(_missing(view, cp, cf))
            skipped.append(cp)
            continue
        origin = view.origin(cp)
        if cp in parents and not (_types(cf) - {"object", "array"}):
            if cf.effectively_required and not pf.effectively_required:
                issues.append(CompatIssue(cp, origin, "optional-field", "warning", "required", "optional",
                                          f"the consumer requires {cp}; the provider may leave {origin} out",
                                          "ask the provider to always send it, or make it optional for the consumer", cf.title,
                                          provider_title=pf.title))
            continue  # an object that groups fields: its leaves are compared
        move = view.many(cp)
        if move is None:
            found = _compare_one(cp, cf, origin, pf, options)
        else:  # a list where one value is wanted: the pick, then what the chosen item still needs
            item = view.adapted[view.sources[cp]]
            found = _cardinality(cp, cf, origin, pf, move, view) + [
                i for i in _compare_one(cp, cf, origin, item, options) if i.kind not in ("type-mismatch", "optional-field")]
        issues.extend(found)
    issues.sort(key=lambda i: (i.severity != "error", i.field, ISSUE_KINDS.index(i.kind) if i.kind in ISSUE_KINDS else 99))
    return issues


def _missing(view: ConsumerView, cp: str, cf: FieldInfo) -> CompatIssue:
    declared = view.declared.get(cp)
    guess = next((p for p, f in view.adapted.items() if cf.title and f.title == cf.title and "*" not in p), None)
    step = {"copy": {"from": guess, "to": cp}} if guess else None
    if declared:
        suggestion = f"the requirement reads it from {declared}, which the provider does not serve: fix from:"
    elif guess:
        suggestion = f"the provider's {guess} has the same title: copy it (or add from: {guess} to the requirement)"
    else:
        suggestion = "ask the provider to add the field, or map it with from: /providerField"
    return CompatIssue(cp, "", "missing-field", "error", cf.describe(), "not served",
                       f"the consumer requires {cp}; the provider does not serve "
                       + (f"{declared} (its from:)" if declared else "it"), suggestion, cf.title, step)


def _cardinality(cp: str, cf: FieldInfo, origin: str, pf: FieldInfo, move: Any, view: ConsumerView) -> list[CompatIssue]:
    """A list where the consumer wants one value: a pick step chooses the element (the latest, when the items
    carry a date to order them by)."""
    array = move.source.rsplit("/*", 1)[0]
    item_fields = {p[len(array) + 3:]: f for p, f in view.adapted.items() if p.startswith(array + "/*/")}
    by = next((k for k, f in item_fields.items() if "/" not in k and (f.get("format") in DATE_FORMATS
               or "period" in k.lower() or "date" in k.lower() or "time" in k.lower())), None)
    step: dict[str, Any] = {"pick": {"from": move.source, "to": cp, "choose": "latest" if by else "last",
                                     **({"by": by} if by else {})}}
    items = pf.schema.get("items")
    item: dict[str, Any] = items if isinstance(items, dict) else {}
    item_types = FieldInfo(cp, item, False).types
    allowed = _types(cf) | ({"integer"} if "number" in _types(cf) else set())
    fits = not item_types or not _types(cf) or item_types <= allowed
    how = (f"the latest item by {by}" if by else "the last item") + " (change choose: if the consumer means another)"
    return [CompatIssue(
        cp, origin, "type-mismatch", "error", " or ".join(sorted(_types(cf))) or "one value", f"a list ({array})",
        f"the consumer wants one value; the provider serves a list of them ({move.source})",
        f"pick one element: {how}" if fits else "pick one element, then convert it", cf.title, step, aspect="cardinality",
        provider_title=pf.title, decide=[] if by else [f"which element of {array} {cp} takes (the last is suggested)"])]


@dataclass
class _Pair:
    """One consumer field and the provider field it is read from, and the issues found between them so far."""

    cp: str
    cf: FieldInfo
    src: str
    pf: FieldInfo
    options: FormatOptions | None = None
    out: list[CompatIssue] = dataclasses.field(default_factory=list)

    def add(self, kind: str, severity: str, consumer: str, provider: str, message: str, suggestion: str,
            step: dict[str, Any] | None = None, aspect: str = "", decide: list[str] | None = None) -> None:
        self.out.append(CompatIssue(self.cp, self.src, kind, severity, consumer, provider, message, suggestion, self.cf.title,
                                    step, aspect=aspect, provider_title=self.pf.title, decide=decide or []))


def _compare_one(cp: str, cf: FieldInfo, src: str, pf: FieldInfo, options: FormatOptions | None = None) -> list[CompatIssue]:
    pair = _Pair(cp, cf, src, pf, options)
    provider_enum, converted = _type_issues(pair)
    units_differ = _unit_issues(pair)
    _format_issues(pair)
    _enum_issues(pair, provider_enum, converted)
    _length_issues(pair)
    if not units_differ:
        _range_issues(pair)
    unit = next((i for i in pair.out if i.aspect == "unit" and i.step and i.step["scale"].get("integer")), None)
    if unit is not None and _types(pf) == {"number"}:
        pair.out = [i for i in pair.out if not (i.kind == "type-mismatch" and i.provider == "number")]  # the scaling rounds
    _pattern_issues(pair)
    return pair.out


def _type_issues(pair: _Pair) -> tuple[list[Any], bool]:
    """Optional against required, and the types; the provider's codes as a convert step leaves them, and whether
    one converts them."""
    add, cp, cf, pf = pair.add, pair.cp, pair.cf, pair.pf
    if cf.effectively_required and not pf.effectively_required:
        add("optional-field", "warning", "required", "optional", f"the consumer requires {cp}; the provider may leave it out",
            "ask the provider to always send it, or make it optional for the consumer")
    ct, pt = _types(cf), _types(pf)
    provider_enum = list(pf.get("enum") or [])
    converted = False
    if ct and pt:
        allowed = ct | ({"integer"} if "number" in ct else set())
        if "null" in pt and "null" not in allowed and pt - {"null"} <= allowed:
            add("type-mismatch", "warning", " or ".join(sorted(ct)), " or ".join(sorted(pt)),
                "the provider may send null where the consumer expects a value",
                "ask the provider to leave the field out instead of sending null, or allow null for the consumer")
        elif not pt <= allowed:
            target = next((t for t in ("integer", "number", "string") if t in ct), None)
            scalar = pt <= {"string", "integer", "number"}
            step: dict[str, Any] | None = {"convert": {"field": cp, "to": target}} if target and scalar else None
            add("type-mismatch", "error", " or ".join(sorted(ct)), " or ".join(sorted(pt)),
                f"the consumer expects {' or '.join(sorted(ct))}; the provider sends {' or '.join(sorted(pt))}",
                _("convert the value to {type}").format(type=target) if step else _("the types cannot be converted mechanically"),
                step)
            if step:
                converted = True
                provider_enum = [convert_value(v, target) for v in provider_enum]  # type: ignore[arg-type]
    return provider_enum, converted


def _unit_issues(pair: _Pair) -> bool:
    """A unit the consumer counts in (x-unit) against the provider's; whether the two declare different units."""
    add, cp, cf, pf = pair.add, pair.cp, pair.cf, pair.pf
    ct = _types(cf)
    cu, pu = cf.get("x-unit"), pf.get("x-unit")
    if cu and pu and cu != pu:
        factor = UNIT_FACTORS.get((str(pu), str(cu)))
        integer = "integer" in ct and "number" not in ct
        step = {"scale": {"field": cp, "factor": factor, "unit": cu,
                          **({"integer": True} if integer else {})}} if factor else None
        add("format-mismatch", "error", f"in {cu}", f"in {pu}",
            f"the consumer counts {cu}; the provider sends {pu}: a factor of {factor:g} hides here" if factor
            else f"the consumer counts {cu}; the provider sends {pu}",
            (_("multiply by {factor} and round to an integer") if integer else _("multiply by {factor}")).format(
                factor=f"{factor:g}") if factor else _("convert the unit"), step,
            aspect="unit")
    elif cu and not pu and (ct & {"number", "integer"}):
        add("format-mismatch", "warning", f"in {cu}", "no unit declared",
            f"the consumer counts {cu}; the provider does not say which unit it sends",
            "ask the provider which unit it sends, and add x-unit to its schema", aspect="unit")
    return bool(cu and pu and cu != pu)


def _format_issues(pair: _Pair) -> None:
    """Formats that differ, or the same format with options the provider allows and the consumer rejects."""
    add, cp, cf, pf = pair.add, pair.cp, pair.cf, pair.pf
    options = pair.options
    cfmt, pfmt = cf.get("format"), pf.get("format")
    tz = str(cf.get("x-timezone") or DEFAULT_TZ)
    if cfmt and cfmt != pfmt:
        if pfmt in DATE_FORMATS and cfmt in DATE_FORMATS:
            add("format-mismatch", "error", cfmt, pfmt, f"the consumer expects {cfmt}; the provider sends {pfmt}",
                _("reformat {source} to {target}").format(source=pfmt, target=cfmt) + (
                    _(" in the consumer's time zone ({tz})").format(tz=tz) if "date-time" in (pfmt, cfmt) else ""),
                {"date": {"field": cp, "from": pfmt, "to": cfmt, **({"tz": tz} if "date-time" in (pfmt, cfmt) else {})}})
        elif (pfmt, cfmt) in PREFIX_FORMATS:
            n = PREFIX_FORMATS[(pfmt, cfmt)]
            add("format-mismatch", "error", cfmt, pfmt, f"the consumer expects {cfmt}; the provider sends {pfmt}, "
                f"whose first {n} characters are the {cfmt} code", _("keep the first {n} characters").format(n=n),
                {"prefix": {"field": cp, "length": n}})
        elif pfmt:
            add("format-mismatch", "error", cfmt, pfmt, f"the consumer expects {cfmt}; the provider sends {pfmt}",
                "agree on one format; no mechanical conversion is known")
        else:
            decided = _decide_by_examples(pf, lambda v: _format_failure(cfmt, v, options, "consumer"))
            if decided is not None and decided.failing == 0:
                pass  # every value the provider's pattern allows meets the format: the schemas agree by example
            elif decided is not None and decided.failing == decided.tried:
                add("format-mismatch", "error", cfmt, f"pattern {pf.get('pattern')}",
                    f"every value the provider's pattern allows fails {cfmt} ({decided.cause}; {decided.failing} of "
                    f"{decided.tried} generated from it)", decided.suggestion(cfmt), decided.step(cp))
            else:
                add("format-mismatch", "warning", cfmt, "no format",
                    f"the consumer expects {cfmt}; the provider does not promise it"
                    + (f" ({decided.failing} of {decided.tried} values its pattern allows fail: {decided.cause})"
                       if decided is not None and decided.failing else ""),
                    "ask the provider to declare the format, or check its real data")
    elif cfmt and cfmt == pfmt and options is not None:
        for code, provider_severity in sorted((options.provider.get(cfmt) or {}).items()):
            if provider_severity in ("warning", "ignore") and _severity(cfmt, code, options.consumer) == "error":
                op = NORMALIZE_BY_CODE.get(code)
                if op and op in (pf.get("x-normalized") or []):
                    continue  # the adapter normalises the values already
                add("format-mismatch", "warning", f"{cfmt}, {code} rejected", f"{cfmt}, {code} allowed ({provider_severity})",
                    f"the provider accepts {cfmt} values with {code} ({provider_severity} in its formats:); "
                    "the consumer rejects them",
                    _("normalise with {op}").format(op=op) if op else _("agree on the format option"),
                    {"normalize": {"field": cp, "ops": [op]}} if op else None,
                    aspect="format-options")


def _enum_issues(pair: _Pair, provider_enum: list[Any], converted: bool) -> None:
    """Codes the provider sends that the consumer does not accept, or an open list against a closed one."""
    add, cp, cf = pair.add, pair.cp, pair.cf
    consumer_enum = cf.get("enum")
    if isinstance(consumer_enum, list):
        if provider_enum:
            extra = [v for v in provider_enum if v not in consumer_enum]
            if extra:
                mapping, unmapped = _map_values(extra, cf)
                step = {"map": {"field": cp, "values": {**mapping, **{map_key(v): None for v in unmapped}}}}
                add("enum-mismatch", "error", "one of " + ", ".join(map(map_key, consumer_enum)),
                    "one of " + ", ".join(map(map_key, provider_enum)),
                    f"the provider sends values the consumer does not accept: {', '.join(map(map_key, extra[:8]))}",
                    _("map the codes; the codes of the values under DECIDE are null in the adapter until decided")
                    if unmapped else _("map the codes"),
                    step, decide=[f"{map_key(v)}" for v in unmapped])
                if not unmapped and extra == provider_enum:
                    # every value is mapped to a consumer code: the map gives the consumer's type too
                    for i in pair.out:
                        if i.kind == "type-mismatch" and i.step and "convert" in i.step:
                            i.step = step
                            i.suggestion = _("map the codes (the consumer's codes have its type)")
        elif not converted:
            add("enum-mismatch", "warning", "one of " + ", ".join(map(map_key, consumer_enum)), "any value",
                "the consumer accepts a closed list; the provider does not promise one",
                "check real data or agree on the code table")


def _length_issues(pair: _Pair) -> None:
    """The consumer's length limits against the provider's."""
    add, cf, pf = pair.add, pair.cf, pair.pf
    cmax, pmax = cf.get("maxLength"), pf.get("maxLength")
    if isinstance(cmax, int) and (not isinstance(pmax, int) or pmax > cmax):
        severe = isinstance(pf.get("minLength"), int) and pf.get("minLength") > cmax
        add("length-mismatch", "error" if severe else "warning", f"at most {cmax} characters",
            f"up to {pmax}" if isinstance(pmax, int) else "no limit",
            f"the provider may send longer values than the consumer's {cmax} characters", "agree on the length or truncate")
    cmin, pmin = cf.get("minLength"), pf.get("minLength")
    if isinstance(cmin, int) and cmin > (pmin if isinstance(pmin, int) else 0):
        add("length-mismatch", "warning", f"at least {cmin} characters", f"from {pmin or 0}",
            f"the provider may send shorter values than the consumer's {cmin} characters", "agree on the length")


def _range_issues(pair: _Pair) -> None:
    """The consumer's minimum and maximum against the provider's (not when the units differ: scaling moves them)."""
    add, cf, pf = pair.add, pair.cf, pair.pf
    for key, worse in (("minimum", lambda c, p: p is None or p < c), ("maximum", lambda c, p: p is None or p > c)):
        c, p = cf.get(key), pf.get(key)
        if isinstance(c, (int, float)) and worse(c, p if isinstance(p, (int, float)) else None):
            add("range-mismatch", "warning", f"{key} {c}", f"{key} {p}" if p is not None else f"no {key}",
                f"the provider may send values beyond the consumer's {key} of {c}", "agree on the range")


def _pattern_issues(pair: _Pair) -> None:
    """The consumer's pattern against the provider's, decided by values generated from the provider's pattern."""
    add, cp, cf, pf = pair.add, pair.cp, pair.cf, pair.pf
    cpat, ppat = cf.get("pattern"), pf.get("pattern")
    if cpat and cpat != ppat:
        decided = _decide_by_examples(pf, lambda v: _pattern_failure(str(cpat), v)) if ppat else None
        if decided is not None and decided.failing == 0:
            pass  # every value the provider's pattern allows meets the consumer's: they agree by example
        elif decided is not None and decided.failing == decided.tried:
            add("pattern-mismatch", "error", f"pattern {cpat}", f"pattern {ppat}",
                f"every value the provider's pattern allows fails the consumer's ({decided.failing} of {decided.tried} "
                "generated from it)", decided.suggestion(f"pattern {cpat}"), decided.step(cp))
        else:
            add("pattern-mismatch", "warning", f"pattern {cpat}", f"pattern {ppat}" if ppat else "no pattern",
                "the consumer's pattern is not the provider's", "agree on the pattern, or check the provider's real data")


@dataclass
class FormatOptions:
    """The format options (failure code -> severity) of each side: the provider's interface, the consumer's requirement."""

    provider: dict[str, dict[str, str]]
    consumer: dict[str, dict[str, str]]


# (provider format, consumer format) -> how many leading characters of the first are the second
DEFAULT_TZ = "+08:00"  # a consumer's dates are Beijing dates unless its field says x-timezone
PREFIX_FORMATS = {("cn-stats-division", "cn-admin-division"): 6}
_EXAMPLES = 24
_TRY_OPS = ("trim", "strip-country-code", "halfwidth", "remove-spaces", "upper")


def _severity(fmt: str, code: str, options: dict[str, dict[str, str]]) -> str:
    from mvptest import formats

    known = formats.get(fmt)
    overrides = options.get(fmt) or {}
    return known.severity(code, overrides) if known is not None else overrides.get(code, "error")


def _format_failure(fmt: str, value: str, options: FormatOptions | None, side: str) -> str | None:
    """The failure code of a value under a format ("" for a failure without a code), None when it passes."""
    from mvptest import formats

    known = formats.get(fmt)
    if known is None or known.check(value):
        return None
    failure = known.explain(value)
    code = failure.code if failure else ""
    if options is not None and code and _severity(fmt, code, getattr(options, side)) != "error":
        return None
    return code or "syntax"


def _pattern_failure(pattern: str, value: str) -> str | None:
    from mvptest.synth.regex import python_search

    search = python_search(pattern)
    if search is None or search(value):
        return None
    return "pattern"


@dataclass
class _Decided:
    """What values generated from the provider's own pattern show about a difference the schemas leave open."""

    tried: int
    failing: int
    cause: str
    op: str | None

    def step(self, cp: str) -> dict[str, Any] | None:
        return {"normalize": {"field": cp, "ops": [self.op]}} if self.op else None

    def suggestion(self, target: str) -> str:
        return f"normalise with {self.op}: every generated value then meets {target}" if self.op else (
            "agree on the format: no mechanical step makes these values pass")


def _decide_by_examples(pf: FieldInfo, failure: Any) -> _Decided | None:
    """Generate values from the provider's pattern and check them: a difference its own pattern makes certain is
    an error, not a warning; and the one normalisation that makes every value pass is its step."""
    import random

    from mvptest.compat.adapter import _normalize
    from mvptest.synth.regex import compile_pattern, python_search

    pattern = pf.get("pattern")
    if not isinstance(pattern, str):
        return None
    generate, matches = compile_pattern(pattern), python_search(pattern)
    if generate is None or matches is None:
        return None
    rng = random.Random(0)
    values = [v for v in (generate(rng) for _ in range(_EXAMPLES * 2)) if v and matches(v)][:_EXAMPLES]
    if not values:
        return None
    done = [str(o) for o in pf.get("x-normalized") or []]
    if done:  # the adapter normalises the values: judge what it makes of them
        values = [_normalize(v, done) for v in values]
    causes = [failure(v) for v in values]
    failing = [c for c in causes if c is not None]
    op = None
    if failing and len(failing) == len(values):
        op = next((o for o in _TRY_OPS if all(failure(_normalize(v, [o])) is None for v in values)), None)
    cause = max(set(failing), key=failing.count) if failing else ""
    return _Decided(len(values), len(failing), cause, op)


def adapter_steps(issues: list[CompatIssue]) -> list[dict[str, Any]]:
    """The steps that remove the issues a mechanical adjustment can remove, in an order that composes."""
    steps: list[dict[str, Any]] = []
    seen: set[str] = set()
    for issue in sorted(issues, key=lambda i: _STEP_ORDER.get(next(iter(i.step)) if i.step else "", 9)):
        if not issue.step:
            continue
        key = repr(sorted(issue.step.items(), key=str))
        if key not in seen:
            seen.add(key)
            steps.append(issue.step)
    return steps


EVIDENCE_KIND = {"format": "format-mismatch", "type": "type-mismatch", "enum": "enum-mismatch", "const": "enum-mismatch",
                 "minLength": "length-mismatch", "maxLength": "length-mismatch", "minimum": "range-mismatch",
                 "maximum": "range-mismatch", "exclusiveMinimum": "range-mismatch", "exclusiveMaximum": "range-mismatch",
                 "multipleOf": "range-mismatch", "pattern": "pattern-mismatch", "required": "missing-field"}
NORMALIZE_BY_CODE = {"whitespace": "trim", "separator": "remove-spaces", "country-prefix": "strip-country-code",
                     "lowercase": "upper", "lowercase-x": "upper", "fullwidth": "halfwidth"}
