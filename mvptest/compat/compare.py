"""Hold a provider's fields against a consumer's requirements: issues by field, with severity, suggestion and fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mvptest.compat.adapter import convert_value, map_key
from mvptest.compat.fields import FieldInfo
from mvptest.spec.meta import DATE_FORMATS

# The kinds of CONTRACTS; a unit difference (万元 against 元) is a format-mismatch with aspect "unit".
ISSUE_KINDS = ("missing-field", "optional-field", "type-mismatch", "format-mismatch", "enum-mismatch",
               "length-mismatch", "range-mismatch", "pattern-mismatch")
# value in the first unit = value in the second unit / factor; scale by the factor to go from first to second
UNIT_FACTORS = {("万元", "元"): 10000, ("元", "万元"): 0.0001, ("元", "分"): 100, ("分", "元"): 0.01,
                ("万元", "分"): 1_000_000, ("分", "万元"): 0.000001, ("千元", "元"): 1000, ("元", "千元"): 0.001}
_STEP_ORDER = {"copy": 0, "rename": 0, "convert": 1, "date": 2, "scale": 3, "map": 4, "normalize": 5}


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
    examples: list[str] = field(default_factory=list)
    has_evidence: bool = False
    aspect: str = ""  # "unit" for a format-mismatch of units
    provider_defects: int = 0  # failing records whose value breaks the provider's own schema too

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field": self.field, "title": self.title, "provider_field": self.provider_field, "kind": self.kind,
            "severity": self.severity, "provider": self.provider, "consumer": self.consumer, "message": self.message,
            "suggestion": self.suggestion, "predicted_by_schemas": self.predicted,
        }
        if self.aspect:
            out["aspect"] = self.aspect
        if self.has_evidence:
            out["evidence"] = {"checked": self.checked, "failing": self.failing, "examples": self.examples}
            if self.provider_defects:
                out["evidence"]["breaks_provider_schema"] = self.provider_defects
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


def compare_fields(provider: dict[str, FieldInfo], consumer: dict[str, FieldInfo]) -> tuple[list[CompatIssue], dict[str, str]]:
    """Static comparison; returns the issues and where each consumer field is read from at the provider."""
    issues: list[CompatIssue] = []
    sources: dict[str, str] = {}
    parents = {p.rsplit("/", 1)[0] for p in consumer}
    skipped: list[str] = []
    for cp, cf in consumer.items():
        if any(cp.startswith(s + "/") for s in skipped):
            continue
        declared = _declared_source(cp, consumer)
        src = declared if declared in provider else (cp if cp in provider else None)
        if src is None:
            if cf.effectively_required:
                guess = next((p for p, f in provider.items() if cf.title and f.title == cf.title), None)
                step = {"copy": {"from": guess, "to": cp}} if guess else None
                if declared and declared != cp:
                    suggestion = f"the requirement reads it from {declared}, which the provider does not serve: fix from:"
                elif guess:
                    suggestion = f"the provider's {guess} has the same title: copy it (or add from: {guess} to the requirement)"
                else:
                    suggestion = "ask the provider to add the field, or map it with from: /providerField"
                issues.append(CompatIssue(
                    cp, "", "missing-field", "error", cf.describe(), "not served",
                    f"the consumer requires {cp}; the provider does not serve "
                    + (f"{declared} (its from:)" if declared and declared != cp else "it"),
                    suggestion, cf.title, step))
            skipped.append(cp)
            continue
        sources[cp] = src
        pf = provider[src]
        if cp in parents and not (_types(cf) - {"object", "array"}):
            if cf.effectively_required and not pf.effectively_required:
                issues.append(CompatIssue(cp, src, "optional-field", "warning", "required", "optional",
                                          f"the consumer requires {cp}; the provider may leave it out",
                                          "ask the provider to always send it, or make it optional for the consumer", cf.title))
            continue  # an object that groups fields: its leaves are compared
        issues.extend(_compare_one(cp, cf, src, pf))
    issues.sort(key=lambda i: (i.severity != "error", i.field, ISSUE_KINDS.index(i.kind) if i.kind in ISSUE_KINDS else 99))
    return issues, sources


def _declared_source(cp: str, consumer: dict[str, FieldInfo]) -> str | None:
    """Where the requirement says the field comes from: its own from:, or its nearest ancestor's from: plus the rest."""
    node = cp
    while node:
        f = consumer.get(node)
        via = f.get("from") if f is not None else None
        if isinstance(via, str) and via.startswith("/"):
            return via.rstrip("/") + cp[len(node):]
        node = node.rsplit("/", 1)[0]
    return None


def _compare_one(cp: str, cf: FieldInfo, src: str, pf: FieldInfo) -> list[CompatIssue]:
    out: list[CompatIssue] = []
    title = cf.title

    def add(kind: str, severity: str, consumer: str, provider: str, message: str, suggestion: str,
            step: dict[str, Any] | None = None, aspect: str = "") -> None:
        out.append(CompatIssue(cp, src, kind, severity, consumer, provider, message, suggestion, title, step, aspect=aspect))

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
            step = {"convert": {"field": cp, "to": target}} if target and scalar else None
            add("type-mismatch", "error", " or ".join(sorted(ct)), " or ".join(sorted(pt)),
                f"the consumer expects {' or '.join(sorted(ct))}; the provider sends {' or '.join(sorted(pt))}",
                f"convert the value to {target}" if step else "the types cannot be converted mechanically", step)
            if step:
                converted = True
                provider_enum = [convert_value(v, target) for v in provider_enum]  # type: ignore[arg-type]
    cu, pu = cf.get("x-unit"), pf.get("x-unit")
    if cu and pu and cu != pu:
        factor = UNIT_FACTORS.get((str(pu), str(cu)))
        integer = "integer" in ct and "number" not in ct
        step = {"scale": {"field": cp, "factor": factor, "unit": cu, **({"integer": True} if integer else {})}} if factor else None
        add("format-mismatch", "error", f"in {cu}", f"in {pu}",
            f"the consumer counts {cu}; the provider sends {pu}: a factor of {factor:g} hides here" if factor
            else f"the consumer counts {cu}; the provider sends {pu}",
            f"multiply by {factor:g}{' and round to an integer' if integer else ''}" if factor else "convert the unit", step,
            aspect="unit")
    elif cu and not pu and (ct & {"number", "integer"}):
        add("format-mismatch", "warning", f"in {cu}", "no unit declared",
            f"the consumer counts {cu}; the provider does not say which unit it sends",
            "ask the provider which unit it sends, and add x-unit to its schema", aspect="unit")
    cfmt, pfmt = cf.get("format"), pf.get("format")
    if cfmt and cfmt != pfmt:
        if pfmt in DATE_FORMATS and cfmt in DATE_FORMATS:
            add("format-mismatch", "error", cfmt, pfmt, f"the consumer expects {cfmt}; the provider sends {pfmt}",
                f"reformat {pfmt} to {cfmt}", {"date": {"field": cp, "from": pfmt, "to": cfmt}})
        elif pfmt:
            add("format-mismatch", "error", cfmt, pfmt, f"the consumer expects {cfmt}; the provider sends {pfmt}",
                "agree on one format; no mechanical conversion is known")
        else:
            add("format-mismatch", "warning", cfmt, "no format", f"the consumer expects {cfmt}; the provider does not promise it",
                "check real data (--sandbox, --live or --data) or ask the provider to declare the format")
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
                    "map the codes" + (f"; {len(unmapped)} value(s) need a decision (null in the adapter)" if unmapped else ""),
                    step)
        elif not converted:
            add("enum-mismatch", "warning", "one of " + ", ".join(map(map_key, consumer_enum)), "any value",
                "the consumer accepts a closed list; the provider does not promise one",
                "check real data or agree on the code table")
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
    if not (cu and pu and cu != pu):
        for key, worse in (("minimum", lambda c, p: p is None or p < c), ("maximum", lambda c, p: p is None or p > c)):
            c, p = cf.get(key), pf.get(key)
            if isinstance(c, (int, float)) and worse(c, p if isinstance(p, (int, float)) else None):
                add("range-mismatch", "warning", f"{key} {c}", f"{key} {p}" if p is not None else f"no {key}",
                    f"the provider may send values beyond the consumer's {key} of {c}", "agree on the range")
    unit = next((i for i in out if i.aspect == "unit" and i.step and i.step["scale"].get("integer")), None)
    if unit is not None and pt == {"number"}:
        out = [i for i in out if not (i.kind == "type-mismatch" and i.provider == "number")]  # the scaling rounds
    cpat, ppat = cf.get("pattern"), pf.get("pattern")
    if cpat and cpat != ppat:
        add("pattern-mismatch", "warning", f"pattern {cpat}", f"pattern {ppat}" if ppat else "no pattern",
            "the consumer's pattern is not the provider's", "check real data or agree on the pattern")
    return out


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
                     "lowercase": "upper", "lowercase-x": "upper"}
