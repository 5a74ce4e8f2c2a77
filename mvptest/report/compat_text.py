"""The words of compat's reports, shared by the console and the files: titles, cells, causes, in the chosen language."""

from __future__ import annotations

from typing import Any

from mvptest.compat.engine import PairResult
from mvptest.compat.evidence import cause_label
from mvptest.i18n import _


def dept(name: str, key: str) -> str:
    return f"{name} ({key})" if name else key


def pair_title(p: PairResult) -> str:
    prov = p.provider.department.name or p.provider.department.id
    cons = p.consumer.department.name or p.consumer.department.id
    return f"{cons} ← {prov}: {p.consumer.title or p.consumer.id} ({p.consumer.key} ← {p.provider.key})"


def pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def kind_name(kind: str) -> str:
    """An issue kind in the report's language (English, JSON and CSV keep the machine name)."""
    return {"missing-field": _("missing-field"), "optional-field": _("optional-field"),
            "type-mismatch": _("type-mismatch"), "format-mismatch": _("format-mismatch"),
            "enum-mismatch": _("enum-mismatch"), "length-mismatch": _("length-mismatch"),
            "range-mismatch": _("range-mismatch"), "pattern-mismatch": _("pattern-mismatch")}.get(kind, kind)


def aspect_name(aspect: str) -> str:
    return {"unit": _("unit"), "format-options": _("format-options"), "cardinality": _("cardinality")}.get(aspect, aspect)


def severity_name(severity: str) -> str:
    return {"error": _("error"), "warning": _("warning")}.get(severity, severity)


def kind_cell(issue: Any) -> str:
    return kind_name(issue.kind) + (f" ({aspect_name(issue.aspect)})" if issue.aspect else "")


def described(text: str) -> str:
    """What a side requires or sends, as the field table describes it; "not served" in the report's language."""
    return _("not served") if text == "not served" else text


def evidence_cell(issue: Any) -> str:
    if not issue.has_evidence:
        return _("by the schemas")
    note = "" if issue.predicted else (_(" (data only, provider defect)") if issue.provider_defects else _(" (data only)"))
    return f"{issue.failing:,}/{issue.checked:,}{note}"


def field_cell(issue: Any) -> str:
    """Both sides' names: the consumer's field and title, and the provider's own field it comes from."""
    consumer = f"{issue.field} {issue.title}".strip()
    if not issue.provider_field or (issue.provider_field == issue.field and issue.provider_title in ("", issue.title)):
        return consumer
    return f"{consumer} ← {issue.provider_field} {issue.provider_title}".strip()


def suggestion(issue: Any) -> str:
    """The issue's suggestion in the report's language (the core's static texts are looked up here)."""
    return _(issue.suggestion) if issue.suggestion else ""


def fix_cell(issue: Any) -> str:
    """The step that fixes it, or the decision it needs, or what the departments must agree on."""
    text = suggestion(issue)
    if issue.decide:
        text += _("; DECIDE {what}").format(what=", ".join(issue.decide))
    if issue.data_shows and not issue.causes and issue.data_shows not in text:
        text += _(" (the data shows {cause})").format(cause=issue.data_shows)
    return text


def cause_lines(issue: Any) -> list[str]:
    """One line per cause the data shows (its count, its own examples, the suggestion that explains them)."""
    return [_("{count} of {failing} ({cause}): {suggestion}").format(
        count=f"{c['count']:,}", failing=f"{issue.failing:,}", cause=cause_label(c), suggestion=_(c["suggestion"]))
        + (_("; e.g. {examples}").format(examples=", ".join(c["examples"])) if c["examples"] and c["cause"] else "")
        for c in issue.causes]


def rate_text(p: PairResult) -> str:
    text = _("standardization rate {rate} by the schemas ({good} of {total} required fields)").format(
        rate=pct(p.standardization_rate), good=len(p.compatible_fields), total=len(p.required_fields))
    data = p.data_standard_fields
    if data is not None:
        text += _(", {rate} by the data ({good} of {total})").format(
            rate=pct(p.data_standardization_rate or 0.0), good=len(data), total=len(p.required_fields))
    return text


def names(i: Any) -> str:
    """The consumer's field, and the provider's where it is another."""
    return i.field + (f" ← {i.provider_field}" if i.provider_field and i.provider_field != i.field else "")


def places(i: Any) -> str:
    more = i.provider_defects - len(i.defect_at)
    return ", ".join(i.defect_at) + (_(" and {n} more").format(n=more) if more > 0 else "")


def excel_safe(text: Any) -> Any:
    """A cell Excel will not run as a formula (values from a provider are untrusted text)."""
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
