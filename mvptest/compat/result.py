"""What ``compat`` found for one provider/consumer pair: the issues, the evidence, the standardisation rates and
the adapter that would remove what a mechanical step can."""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mvptest.compat.adapter import Adapter
from mvptest.compat.compare import CompatIssue, adapter_steps
from mvptest.compat.fields import FieldInfo
from mvptest.compat.view import ConsumerView
from mvptest.spec.model import Interface, Requirement

MAX_EXAMPLES = 3
MAX_DEFECT_PLACES = 20  # records named per issue where the value breaks the provider's own schema


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
