"""Check one provider interface against one consumer requirement: statically, then with evidence from records.

The core of ``mvptest compat``; it never prints. Records come from a provider's data export, from the built-in
sandbox or from the live provider (see ``sources``); each is turned into the consumer's view (its field names,
through ``from:`` and the adapter) and checked with the consumer's own compiled schema, so that the evidence uses
exactly the rules ``mvptest validate`` applies.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import json

from mvptest.compat.adapter import Adapter, get_value
from mvptest.compat.compare import (EVIDENCE_KIND, ISSUE_KINDS, NORMALIZE_BY_CODE, CompatIssue, FormatOptions, adapter_steps,
                                    compare_fields)
from mvptest.compat.fields import FieldInfo, field_table, leaf_fields
from mvptest.compat.view import ConsumerView
from mvptest.masking import Masker
from mvptest.spec.meta import DATE_FORMATS
from mvptest.spec.model import Interface, Requirement
from mvptest.validation.compiled import CompiledSchema, FieldError

MAX_EXAMPLES = 3
MAX_DEFECT_PLACES = 20  # records named per issue where the value breaks the provider's own schema
_INDEX_RE = re.compile(r"/\d+(?=/|$)")


@dataclass
class Evidence:
    """What was sampled for a pair and how it went."""

    source: str  # e.g. "sandbox (seed 0)", "data: export.ndjson", "live: https://..."
    records: int = 0  # records checked against the consumer's requirement
    failing_records: int = 0  # records with at least one error under the consumer's requirement
    requests: int = 0  # HTTP requests made (live and sandbox)
    unusable: Counter = field(default_factory=Counter)  # responses or lines that gave no record, by reason
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "records": self.records, "failing_records": self.failing_records}
        if self.requests:
            out["requests"] = self.requests
        if self.unusable:
            out["unusable"] = dict(sorted(self.unusable.items()))
        if self.interrupted:
            out["interrupted"] = True
        return out


@dataclass
class PairResult:
    provider: Interface
    consumer: Requirement
    issues: list[CompatIssue]
    sources: dict[str, str]  # consumer field -> provider field it is read from (after the adapter)
    required_fields: list[str]  # the consumer's effectively required value fields
    adapter: Adapter | None = None
    evidence: Evidence | None = None
    notes: list[str] = field(default_factory=list)  # e.g. adapter steps that name fields the provider does not serve
    provider_fields: dict[str, FieldInfo] = field(default_factory=dict)  # after the adapter
    consumer_fields: dict[str, FieldInfo] = field(default_factory=dict)
    view: ConsumerView | None = None  # the consumer's view of the provider: the one model every part reads

    @property
    def errors(self) -> list[CompatIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def no_evidence(self) -> bool:
        """Evidence was asked for and no record came: nothing supports a verdict."""
        return self.evidence is not None and self.evidence.records == 0

    @property
    def compatible(self) -> bool:
        return not self.errors and not self.no_evidence

    def _standard(self, bad: set[str]) -> list[str]:
        return [f for f in self.required_fields if not any(f == b or f.startswith(b + "/") for b in bad)]

    @property
    def compatible_fields(self) -> list[str]:
        """Required fields on which the schemas agree, after the adapter: no issue of either severity (docs/compat.md)."""
        return self._standard({i.field for i in self.issues if i.predicted})

    @property
    def data_standard_fields(self) -> list[str] | None:
        """Required fields whose every sampled value the consumer accepts, leaving out the provider's own data
        defects (values that break its own schema); None without evidence."""
        if self.evidence is None:
            return None
        return self._standard({i.field for i in self.issues if i.failing - i.provider_defects > 0
                               or (i.predicted and i.severity == "error" and not i.has_evidence)})

    @property
    def standardization_rate(self) -> float:
        if not self.required_fields:
            return 1.0
        return len(self.compatible_fields) / len(self.required_fields)

    @property
    def data_standardization_rate(self) -> float | None:
        fields = self.data_standard_fields
        if fields is None:
            return None
        return len(fields) / len(self.required_fields) if self.required_fields else 1.0

    def suggested_steps(self) -> list[dict[str, Any]]:
        """The adapter that removes what a mechanical adjustment can remove, on top of the one applied. It also copies
        the fields the requirement reads under other names (from:), so that the adapted view has the consumer's names
        and the consumer reads them there whatever from: says."""
        base = [copy.deepcopy(s) for s in self.adapter.steps] if self.adapter else []
        have = {step_key(s) for s in base}
        new = [s for s in adapter_steps(self.issues) if step_key(s) not in have]
        new = [s for s in new if not _merge_map(base, s)]
        if not new and not base:
            return []  # nothing to adjust: no adapter needed just for names the consumer maps itself
        copies = []
        if self.view is not None:
            copies = [{"copy": {"from": m.source, "to": m.target}} for m in self.view.moves
                      if not m.many and "*" not in m.target + m.source]
        copies = [c for c in copies if step_key(c) not in have]
        have |= {step_key(c) for c in copies}
        return base + copies + [s for s in new if step_key(s) not in have]

    def decisions(self) -> list[str]:
        """What the departments must decide before the adapter is complete (a code with no consumer value, ...)."""
        out = []
        for i in self.issues:
            out += [f"{i.field}: {d}" for d in i.decide]
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider.key,
            "provider_department": self.provider.department.name or self.provider.department.id,
            "provider_title": self.provider.title,
            "consumer": self.consumer.key,
            "consumer_department": self.consumer.department.name or self.consumer.department.id,
            "consumer_title": self.consumer.title,
            "compatible": self.compatible,
            "standardization_rate": round(self.standardization_rate, 4),
            "required_fields": len(self.required_fields),
            "compatible_fields": len(self.compatible_fields),
            "standardization": self.standardization(),
            "errors": len(self.errors),
            "warnings": len(self.issues) - len(self.errors),
            "adapter": self.adapter.source if self.adapter else None,
            "notes": self.notes,
            "issues": [i.to_dict() for i in self.issues],
        }
        if self.evidence is not None:
            out["evidence"] = self.evidence.to_dict()
        if self.decisions():
            out["decide"] = self.decisions()
        return out

    def standardization(self) -> dict[str, Any]:
        """The rate by the schemas and, with evidence, by the data, side by side (docs/compat.md defines both)."""
        out: dict[str, Any] = {"required_fields": len(self.required_fields),
                               "schemas": {"rate": round(self.standardization_rate, 4), "fields": len(self.compatible_fields)}}
        data = self.data_standard_fields
        if data is not None:
            out["data"] = {"rate": round(self.data_standardization_rate or 0.0, 4), "fields": len(data),
                           "records": self.evidence.records if self.evidence else 0}
        return out


def _merge_map(base: list[dict[str, Any]], step: dict[str, Any]) -> bool:
    """A map on a field the applied adapter maps already goes into that map (a value still undecided, null, takes the
    new code when there is one): one map per field, never two that fight."""
    if "map" not in step:
        return False
    for s in base:
        if "map" in s and s["map"].get("field") == step["map"]["field"]:
            values = s["map"]["values"]
            for k, v in step["map"]["values"].items():
                if values.get(k) is None:
                    values[k] = v
            return True
    return False


def step_key(step: dict[str, Any]) -> str:
    """A step as text, to tell two steps apart (a map's values are a dict: not hashable)."""
    return json.dumps(step, sort_keys=True, ensure_ascii=False, default=str)


# --------------------------------------------------------------------------- static


def static_check(provider: Interface, consumer: Requirement, adapter: Adapter | None = None) -> PairResult:
    """Compare the schemas: the consumer's requirement against its view of the provider (after the adapter)."""
    ptable = field_table(provider.response_schema)
    notes = adapter.unknown_fields(ptable) if adapter is not None else []
    ctable = field_table(consumer.schema)
    view = ConsumerView.build(ptable, ctable, adapter)
    issues = compare_fields(view, FormatOptions(provider.format_options, consumer.format_options))
    for issue in issues:
        issue.provider_own = view.own_description(issue.field)
    required = [f.pointer for f in leaf_fields(ctable) if f.effectively_required]
    return PairResult(provider, consumer, issues, view.sources, required, adapter, notes=notes, provider_fields=view.adapted,
                      consumer_fields=ctable, view=view)


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


def consumer_view(record: Any, sources: dict[str, str]) -> Any:
    """A provider record as a consumer reads it through from: alone (no adapter); see ConsumerView.record."""
    consumer = {cp: FieldInfo(cp, {"from": sp}, False) for cp, sp in sources.items()}
    provider = {sp: FieldInfo(sp, {}, False) for sp in sources.values()}
    return ConsumerView.build(provider, consumer).record(record)


def _generic(pointer: str) -> str:
    return _INDEX_RE.sub("/*", pointer)


_CAUSES = {"country-prefix": "a +86 country prefix", "whitespace": "leading or trailing spaces",
           "separator": "spaces or dashes inside", "lowercase": "lower-case letters", "lowercase-x": "a lower-case x",
           "fullwidth": "full-width characters", "check-char": "a wrong check character", "birth-date": "a birth date that does not exist",
           "not-a-date": "a date that does not exist", "division": "an unknown division code", "length": "the wrong length"}
_FULLWIDTH = re.compile(r"[\uff01-\uff5e\u3000]")


def _cause(err: FieldError) -> str:
    """Why a value fails, in words a department reads ("a +86 country prefix"), when the value shows it."""
    if err.code in _CAUSES:
        return _CAUSES[err.code]
    if isinstance(err.value, str) and _FULLWIDTH.search(err.value):
        return "full-width characters"
    if isinstance(err.value, str) and err.value != err.value.strip():
        return "leading or trailing spaces"
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

    def __init__(self, result: PairResult, *, mask: bool = True, max_examples: int = MAX_EXAMPLES, source: str = "records") -> None:
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
                        err.suggestion, err.expected, cause=_cause(err), defect=defect(name), at=at)
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
               suggestion: str, expected: str = "", *, cause: str = "", defect: bool = False, at: str = "") -> None:
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = _Tally()
        tally.failing += 1
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
        for issue in result.issues:
            tally = self.tallies.pop((issue.field, issue.kind), None)
            issue.has_evidence = True
            issue.checked = n
            if tally is None:
                if issue.severity == "warning":
                    issue.suggestion = (f"no value failed in {n:,} records; " + issue.suggestion) if n else issue.suggestion
                continue
            issue.failing = tally.failing
            issue.examples = tally.examples
            issue.provider_defects = tally.provider_defects
            issue.defect_at = tally.defect_at
            issue.defect_examples = tally.defect_examples
            if tally.severities.get("error") and issue.severity != "error" and issue.kind != "optional-field" or (
                    issue.kind == "optional-field" and tally.failing):
                issue.severity = "error"
                issue.message += f"; the data shows it in {tally.failing} of {n} records"
            self._data_shows(issue, tally, n)
        for (name, kind), tally in self.tallies.items():
            cf = self.ctable.get(name)
            origin = self.view.origin(name)
            pf = self.view.field(name)
            step = _best_step(tally)
            severity = "error" if tally.severities.get("error") else "warning"
            suggestion = tally.suggestions.most_common(1)[0][0] if tally.suggestions else ""
            message = f"the data breaks the consumer's requirement in {tally.failing} of {n} records; the schemas did not predict it"
            if tally.provider_defects:
                message += (f"; in {tally.provider_defects} of them the value breaks the provider's own schema too: "
                            "a data defect at the provider, not a format difference")
            if tally.provider_defects == tally.failing:
                suggestion = "ask the provider to correct the data: the values break its own schema"
            issue = CompatIssue(
                name, origin, kind, severity, cf.describe() if cf else tally.expected, pf.describe() if pf else "not served",
                message, suggestion or ("apply the adapter step shown" if step else "ask the provider to correct the data"),
                cf.title if cf else "", step, predicted=False, checked=n, failing=tally.failing, examples=tally.examples,
                has_evidence=True, provider_defects=tally.provider_defects, provider_title=pf.title if pf else "",
                defect_at=tally.defect_at, defect_examples=tally.defect_examples,
                provider_own=self.view.own_description(name))
            self._data_shows(issue, tally, n)
            result.issues.append(issue)
        for issue in result.issues:
            issue.suggestion = without_data_advice(issue.suggestion)  # the report is built from data already
        result.issues.sort(key=lambda i: (i.severity != "error", i.field,
                                          ISSUE_KINDS.index(i.kind) if i.kind in ISSUE_KINDS else 99))
        result.evidence = self.evidence
        return result

    @staticmethod
    def _data_shows(issue: CompatIssue, tally: _Tally, n: int) -> None:
        """Keep the cause the data shows and, where the schemas gave no step, the step that removes it."""
        if tally.causes:
            cause, count = tally.causes.most_common(1)[0]
            issue.data_shows = f"{cause} in {count:,} of {n:,} records"
        step = _best_step(tally)
        if step is not None and issue.step is None and tally.provider_defects < tally.failing:
            issue.step = step
            issue.suggestion = "the data shows the cause: apply the adapter step shown"


_DATA_ADVICE = re.compile(r",? or check (?:the provider's |its )?real data|check real data or ")


def without_data_advice(text: str) -> str:
    """A suggestion without "check real data", for a report that has checked it."""
    return _DATA_ADVICE.sub("", text)


def _best_step(tally: _Tally) -> dict[str, Any] | None:
    if not tally.steps:
        return None
    best, _ = tally.steps.most_common(1)[0]
    return tally.step_by_repr[best]


class Sample:
    """Where evidence comes from: an iterable of provider records that also counts what gave no record."""

    label = ""

    def __init__(self) -> None:
        self.requests = 0
        self.unusable: Counter = Counter()
        self.position = ""  # where the record just yielded sits: "line 12" of a file, "request 7" of a sampling

    def __iter__(self) -> Iterator[Any]:  # pragma: no cover - interface
        raise NotImplementedError


class RecordList(Sample):
    def __init__(self, records: Iterable[Any], label: str = "records") -> None:
        super().__init__()
        self.records = records
        self.label = label

    def __iter__(self) -> Iterator[Any]:
        return iter(self.records)


def check_pair(provider: Interface, consumer: Requirement, *, adapter: Adapter | None = None,
               sample: Sample | None = None, mask: bool = True, max_examples: int = MAX_EXAMPLES,
               on_record: Callable[[int], None] | None = None) -> PairResult:
    """The static comparison, then (when a sample is given) the evidence of every record it yields.

    Ctrl-C while sampling keeps what was checked so far (the evidence says interrupted)."""
    result = static_check(provider, consumer, adapter)
    if sample is None:
        return result
    collector = EvidenceCollector(result, mask=mask, max_examples=max_examples)
    try:
        for record in sample:
            collector.add(record, at=sample.position)
            if on_record is not None:
                on_record(collector.evidence.records)
    except KeyboardInterrupt:
        collector.evidence.interrupted = True
    collector.evidence.source = sample.label  # after sampling: the label counts what was done
    collector.evidence.requests = sample.requests
    collector.evidence.unusable = sample.unusable
    return collector.finish()

