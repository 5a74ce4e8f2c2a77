"""Evidence for a pair: every record checked against the consumer's requirement, counted per issue, with masked
examples, the cause the data shows, the step that removes it, and where the provider's own data is at fault."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from mvptest.compat.adapter import Adapter, get_value
from mvptest.compat.compare import EVIDENCE_KIND, ISSUE_KINDS, NORMALIZE_BY_CODE, CompatIssue
from mvptest.compat.fields import FieldInfo
from mvptest.compat.result import MAX_DEFECT_PLACES, MAX_EXAMPLES, Evidence, PairResult
from mvptest.compat.view import ConsumerView
from mvptest.i18n import _
from mvptest.masking import Masker
from mvptest.spec.meta import DATE_FORMATS
from mvptest.validation.compiled import CompiledSchema, FieldError

_INDEX_RE = re.compile(r"/\d+(?=/|$)")


def sensitive_in_consumer_terms(provider_sensitive: Iterable[str], adapter: Adapter | None,
                                sources: dict[str, str]) -> list[str]:
    """The provider's sensitive pointers, followed through the adapter's copies and renames and through from:."""
    patterns = list(provider_sensitive)
    matcher = Masker(patterns)

    def follow(src: str, dst: str) -> None:
        added = [dst] if matcher.is_sensitive(src) else []
        added += [dst + p[len(src):] for p in patterns if p.startswith(src + "/")]
        patterns.extend(added)
        matcher.add(added)

    for step in adapter.steps if adapter is not None else []:
        (kind, args), = step.items()
        if kind in ("copy", "rename"):
            follow(args["from"], args["to"])
    for cp, sp in sources.items():
        if cp != sp:
            follow(sp, cp)
    return patterns


def _masked_structure(masker: Masker, where: str, value: Any) -> Any:
    from mvptest.masking import mask_text

    if isinstance(value, dict):
        return {k: _masked_structure(masker, f"{where}/{k}", v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_structure(masker, f"{where}/{i}", v) for i, v in enumerate(value)]
    if masker.enabled and value is not None and masker.is_sensitive(where):
        return mask_text(value if isinstance(value, str) else str(value))
    return value


# --------------------------------------------------------------------------- evidence


class _Tally:
    def __init__(self) -> None:
        self.failing = 0
        self.examples: list[str] = []
        self.severities: Counter = Counter()
        self.steps: Counter = Counter()
        self.step_by_repr: dict[str, dict[str, Any]] = {}
        self.suggestions: Counter = Counter()
        self.expected = ""
        self.provider_defects = 0  # records in which the provider's own schema is broken at this field too
        self.causes: Counter = Counter()  # why the values fail, as the format explains it (country-prefix, ...)
        self.defect_at: list[str] = []  # where the provider's own defects are ("line 12"), for the provider to correct
        self.defect_examples: list[str] = []
        self.by_cause: dict[tuple[str, str, bool], _Cause] = {}  # one suggestion per cause: (code or cause, step) -> values


class _Cause:
    """The failing values of one issue that fail the same way (one format code, one adapter step): the suggestion
    shown for them explains each of them, and their examples are theirs only."""

    def __init__(self, cause: str, code: str, step: dict[str, Any] | None, suggestion: str) -> None:
        self.cause, self.code, self.step, self.suggestion = cause, code, step, suggestion
        self.count = 0
        self.defects = 0
        self.examples: list[str] = []

    def to_dict(self, fallback: str, issue_step: dict[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"cause": self.cause, "count": self.count, "examples": self.examples,
                               "suggestion": self.advice(fallback, issue_step)}
        if self.code:
            out["code"] = self.code
        if self.defects:
            out["breaks_provider_schema"] = self.defects
        if self.step:
            out["adapter_step"] = self.step
        return out

    def advice(self, fallback: str, issue_step: dict[str, Any] | None) -> str:
        """What removes these values: the issue's own suggestion when its step is theirs, the format's hint, or the
        provider's correction when they break its own schema; else the issue's suggestion."""
        if self.step is not None and self.step == issue_step:
            return fallback
        if self.step is None and self.defects == self.count:
            return _("ask the provider to correct the data: the values break its own schema")
        return self.suggestion or (_("apply the adapter step shown") if self.step else fallback)


def _generic(pointer: str) -> str:
    return _INDEX_RE.sub("/*", pointer)


def _causes() -> dict[str, str]:
    return {"country-prefix": _("a +86 country prefix"), "whitespace": _("leading or trailing spaces"),
            "separator": _("spaces or dashes inside"), "lowercase": _("lower-case letters"),
            "lowercase-x": _("a lower-case x"), "fullwidth": _("full-width characters"),
            "check-char": _("a wrong check character"), "birth-date": _("a birth date that does not exist"),
            "not-a-date": _("a date that does not exist"), "division": _("an unknown division code"),
            "length": _("the wrong length"), "org-code-check": _("a wrong organisation-code check character"),
            "legacy-check-char": _("a wrong 18th check character"), "excel-number": _("a code turned into a number"),
            "legacy-15": _("a 15-digit legacy number"), "leading-zero": _("a lost leading zero")}


_FULLWIDTH = re.compile(r"[\uff01-\uff5e\u3000]")


def _cause(err: FieldError) -> str:
    """Why a value fails, in words a department reads ("a +86 country prefix"), when the value shows it."""
    causes = _causes()
    if err.code in causes:
        return causes[err.code]
    if isinstance(err.value, str) and _FULLWIDTH.search(err.value):
        return causes["fullwidth"]
    if isinstance(err.value, str) and err.value != err.value.strip():
        return causes["whitespace"]
    return ""


def _inferred_step(field_name: str, err: FieldError, cf: FieldInfo | None = None) -> dict[str, Any] | None:
    """An adjustment the data suggests for a failing value: one a mechanical step can make pass."""
    from mvptest import formats
    from mvptest.compat.adapter import _normalize

    value = err.value
    if err.kind == "format" and isinstance(value, str):
        if err.expected in DATE_FORMATS:
            other = formats.looks_like(value, exclude=err.expected)
            if other in DATE_FORMATS:
                return {"date": {"field": field_name, "from": other, "to": err.expected,
                                 **({"tz": "+08:00"} if "date-time" in (other, err.expected) else {})}}
        op = NORMALIZE_BY_CODE.get(err.code)
        if op:
            return {"normalize": {"field": field_name, "ops": [op]}}
        if _FULLWIDTH.search(value):
            known = formats.get(err.expected)
            if known is not None and known.check(_normalize(value, ["halfwidth"])):
                return {"normalize": {"field": field_name, "ops": ["halfwidth"]}}
        if value != value.strip():
            return {"normalize": {"field": field_name, "ops": ["trim"]}}
    if err.kind == "pattern" and isinstance(value, str) and cf is not None and isinstance(cf.get("pattern"), str):
        from mvptest.synth.regex import python_search

        search = python_search(cf.get("pattern"))
        for op in ("trim", "halfwidth", "remove-spaces", "strip-country-code", "upper"):
            if search is not None and _normalize(value, [op]) != value and search(_normalize(value, [op])):
                return {"normalize": {"field": field_name, "ops": [op]}}
    if err.kind == "type" and isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
        to = "integer" if "integer" in err.expected and "number" not in err.expected else "number"
        return {"convert": {"field": field_name, "to": to}}
    if err.kind == "type" and isinstance(value, (int, float)) and not isinstance(value, bool) and "string" in err.expected:
        return {"convert": {"field": field_name, "to": "string"}}
    return None


class EvidenceCollector:
    """Checks records against the consumer's requirement and counts, per issue, the records that show it."""

    def __init__(self, result: PairResult, *, mask: bool = True, max_examples: int = MAX_EXAMPLES,
                 source: str = "records") -> None:
        self.result = result
        req = result.consumer
        self.view = result.view or ConsumerView.build(result.provider_fields, result.consumer_fields, result.adapter)
        self.compiled = CompiledSchema(req.schema, format_options=req.format_options, sensitive=req.sensitive, mask=mask)
        self.masker: Masker = self.compiled.masker
        # What the provider marks sensitive is sensitive in the consumer's terms too: through the adapter's
        # copies and renames, and through from:.
        self.masker.add(sensitive_in_consumer_terms(result.provider.sensitive, result.adapter, result.sources))
        provider_masker = Masker(result.provider.sensitive)
        self.masker.add(cp for cp in self.view.sources if provider_masker.is_sensitive(self.view.origin(cp)))
        self.max_examples = max_examples
        self.adapter = result.adapter
        self.ctable = result.consumer_fields
        self.ptable = result.provider_fields
        self.evidence = Evidence(source)
        self.tallies: dict[tuple[str, str], _Tally] = {}
        self.predicted = {(i.field, i.kind) for i in result.issues}
        # fields with a predicted type mismatch: what else fails there (the enum of the other type) is its consequence
        self.error_fields = {i.field: i.kind for i in result.issues if i.kind == "type-mismatch"}
        # and a unit scaled to an integer (元 to 分) answers for the integer type too
        self.error_fields.update({i.field: i.kind for i in result.issues
                                  if i.aspect == "unit" and i.step and i.step["scale"].get("integer")})
        self.unit_fields = [i.field for i in result.issues if i.aspect == "unit"]
        itf = result.provider
        self.provider_compiled = CompiledSchema(itf.response_schema, format_options=itf.format_options, mask=mask)

    def add(self, record: Any, *, at: str = "") -> None:
        original = record
        view = self.view.record(record)
        self.evidence.records += 1
        seen: set[tuple[str, str]] = set()
        own: set[str] | None = None  # fields where the record breaks the provider's own schema

        def defect(name: str) -> bool:
            nonlocal own
            origin = self.view.origin(name)
            if not origin:
                return False
            if own is None:
                own = {_generic(e.field) for e in self.provider_compiled.errors(original) if e.severity == "error"}
            return any(o == origin or origin.startswith(o + "/") or o.startswith(origin + "/") for o in own)

        for name in self.unit_fields:
            found, value = get_value(view, name)
            if found and isinstance(value, (int, float)) and not isinstance(value, bool):
                self._count((name, "format-mismatch"), value, name, "error", None, "", defect=defect(name), at=at)
                seen.add((name, "format-mismatch"))
        if self.compiled.is_valid(view):
            return
        failing = False
        for err in self.compiled.errors(view):
            if err.severity == "ignore":
                continue
            name = _generic(err.field)
            kind = self._kind(name, err)
            key = (name, kind)
            if key not in self.predicted and name in self.error_fields:
                key = (name, self.error_fields[name])  # e.g. the enum of an integer field fails for the string "1"
            if key in seen:
                continue
            seen.add(key)
            failing = failing or err.severity == "error"
            self._count(key, err.value, err.field, err.severity, _inferred_step(name, err, self.ctable.get(name)),
                        err.suggestion, err.expected, cause=_cause(err), defect=defect(name), at=at, code=err.code)
        if failing:
            self.evidence.failing_records += 1

    def _kind(self, name: str, err: FieldError) -> str:
        if err.kind == "required":
            src = self.result.sources.get(name)
            if src and src in self.ptable and not self.ptable[src].effectively_required:
                return "optional-field"
            return "missing-field"
        return EVIDENCE_KIND.get(err.kind, "type-mismatch")

    def _count(self, key: tuple[str, str], value: Any, where: str, severity: str, step: dict[str, Any] | None,
               suggestion: str, expected: str = "", *, cause: str = "", defect: bool = False, at: str = "",
               code: str = "") -> None:
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = _Tally()
        tally.failing += 1
        self._by_cause(tally, code or cause, cause, step, suggestion, defect, where, value)
        if defect:
            tally.provider_defects += 1
            if len(tally.defect_at) < MAX_DEFECT_PLACES and at:
                tally.defect_at.append(at)
            if value is not None and len(tally.defect_examples) < self.max_examples:
                shown = self._show(where, value)
                if shown not in tally.defect_examples:
                    tally.defect_examples.append(shown)
        if cause:
            tally.causes[cause] += 1
        tally.severities[severity] += 1
        tally.expected = tally.expected or expected
        if step:
            tally.steps[repr(step)] += 1
            tally.step_by_repr[repr(step)] = step
        if suggestion:
            tally.suggestions[suggestion] += 1
        if value is not None and len(tally.examples) < self.max_examples:
            shown = self._show(where, value)
            if shown not in tally.examples:
                tally.examples.append(shown)

    def _by_cause(self, tally: _Tally, code: str, cause: str, step: dict[str, Any] | None, suggestion: str,
                  defect: bool, where: str, value: Any) -> None:
        key = (code, repr(step), defect and step is None)
        group = tally.by_cause.get(key)
        if group is None:
            group = tally.by_cause[key] = _Cause(cause, code if code != cause else "", step, suggestion)
        group.count += 1
        group.defects += defect
        if value is not None and len(group.examples) < self.max_examples:
            shown = self._show(where, value)
            if shown not in group.examples:
                group.examples.append(shown)

    def _show(self, where: str, value: Any) -> str:
        """An example as a report may print it: every value under a sensitive field masked, in objects too."""
        if isinstance(value, (dict, list)) or (self.masker.enabled and not isinstance(value, str)
                                                 and self.masker.is_sensitive(where)):
            return self.masker.show("", _masked_structure(self.masker, where, value))
        return self.masker.show(where, value)

    def finish(self) -> PairResult:
        """The result with every issue carrying its evidence, and the issues only the data showed."""
        result = self.result
        n = self.evidence.records
        shown: list[tuple[CompatIssue, _Tally]] = []
        for issue in result.issues:
            tally = self.tallies.pop((issue.field, issue.kind), None)
            issue.has_evidence = True
            issue.checked = n
            if tally is None:
                if issue.severity == "warning":
                    issue.suggestion = _("no value failed in {n} records; {suggestion}").format(
                        n=f"{n:,}", suggestion=without_data_advice(issue.suggestion)) if n else issue.suggestion
                continue
            issue.failing = tally.failing
            issue.examples = tally.examples
            issue.provider_defects = tally.provider_defects
            issue.defect_at = tally.defect_at
            issue.defect_examples = tally.defect_examples
            if (tally.severities.get("error") and issue.severity != "error" and issue.kind != "optional-field") or (
                    issue.kind == "optional-field" and tally.failing):
                issue.severity = "error"
                issue.message += f"; the data shows it in {tally.failing} of {n} records"
            self._data_shows(issue, tally, n)
            shown.append((issue, tally))
        for (name, kind), tally in self.tallies.items():
            cf = self.ctable.get(name)
            origin = self.view.origin(name)
            pf = self.view.field(name)
            step = _best_step(tally)
            severity = "error" if tally.severities.get("error") else "warning"
            suggestion = tally.suggestions.most_common(1)[0][0] if tally.suggestions else ""
            message = (f"the data breaks the consumer's requirement in {tally.failing} of {n} records; "
                       "the schemas did not predict it")
            if tally.provider_defects:
                message += (f"; in {tally.provider_defects} of them the value breaks the provider's own schema too: "
                            "a data defect at the provider, not a format difference")
            if tally.provider_defects == tally.failing:
                suggestion = _("ask the provider to correct the data: the values break its own schema")
            issue = CompatIssue(
                name, origin, kind, severity, cf.describe() if cf else tally.expected, pf.describe() if pf else "not served",
                message, suggestion or (_("apply the adapter step shown") if step else _("ask the provider to correct the data")),
                cf.title if cf else "", step, predicted=False, checked=n, failing=tally.failing, examples=tally.examples,
                has_evidence=True, provider_defects=tally.provider_defects, provider_title=pf.title if pf else "",
                defect_at=tally.defect_at, defect_examples=tally.defect_examples,
                provider_own=self.view.own_description(name))
            self._data_shows(issue, tally, n)
            shown.append((issue, tally))
            result.issues.append(issue)
        for issue in result.issues:
            issue.suggestion = without_data_advice(issue.suggestion)  # the report is built from data already
        for issue, tally in shown:
            _one_suggestion_per_cause(issue, tally, n)
        result.issues.sort(key=lambda i: (i.severity != "error", i.field,
                                          ISSUE_KINDS.index(i.kind) if i.kind in ISSUE_KINDS else 99))
        result.evidence = self.evidence
        return result

    @staticmethod
    def _data_shows(issue: CompatIssue, tally: _Tally, n: int) -> None:
        """Keep the cause the data shows and, where the schemas gave no step, the step that removes it."""
        if tally.causes:
            cause, count = tally.causes.most_common(1)[0]
            issue.data_shows = _("{cause} in {count} of {n} records").format(cause=cause, count=f"{count:,}", n=f"{n:,}")
        step = _best_step(tally)
        if step is not None and issue.step is None and tally.provider_defects < tally.failing:
            issue.step = step
            issue.suggestion = _("the data shows the cause: apply the adapter step shown")


def _one_suggestion_per_cause(issue: CompatIssue, tally: _Tally, n: int) -> None:
    """Values of one issue that fail in different ways get a suggestion each, with their own count and examples
    (an upper-case step is not offered for a wrong check character, nor "convert to integer" for 女)."""
    groups = sorted(tally.by_cause.values(), key=lambda g: -g.count)
    if len(groups) < 2:
        return
    fallback = issue.suggestion
    issue.causes = [g.to_dict(fallback, issue.step) for g in groups]
    by_advice: dict[str, list[dict[str, Any]]] = {}
    for c in issue.causes:
        by_advice.setdefault(c["suggestion"], []).append(c)
    issue.suggestion = "; ".join(_("{suggestion} ({count} of {failing}: {cause})").format(
        suggestion=advice, count=f"{sum(c['count'] for c in same):,}", failing=f"{tally.failing:,}",
        cause=", ".join(cause_label(c) for c in same)) for advice, same in by_advice.items())
    issue.data_shows = "; ".join(_("{cause} in {count} of {n} records").format(
        cause=c["cause"], count=f"{c['count']:,}", n=f"{n:,}") for c in issue.causes if c["cause"])


def cause_label(cause: dict[str, Any]) -> str:
    """How a report names one cause: in words where the format explains it, else by its examples."""
    if cause["cause"]:
        return str(cause["cause"])
    return _("e.g. {examples}").format(examples=", ".join(cause["examples"])) if cause["examples"] else _("no value")


def without_data_advice(text: str) -> str:
    """A suggestion without "check real data", for a report that has checked it."""
    advice_free = {
        _("ask the provider to declare the format, or check its real data"): _("ask the provider to declare the format"),
        _("check real data or agree on the code table"): _("agree on the code table"),
        _("agree on the pattern, or check the provider's real data"): _("agree on the pattern"),
    }
    return advice_free.get(text, text)


def _best_step(tally: _Tally) -> dict[str, Any] | None:
    if not tally.steps:
        return None
    best, _ = tally.steps.most_common(1)[0]
    return tally.step_by_repr[best]
