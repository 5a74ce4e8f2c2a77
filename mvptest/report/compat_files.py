"""compat's files a department sends as is (JSON, Markdown, CSV, in the consumer's terms and the chosen language,
with the date, versions and hashes they rest on), and the suggested adapter as YAML."""

from __future__ import annotations

import csv
import functools
import io
import json
from pathlib import Path
from typing import Any

from mvptest import atomic, i18n
from mvptest.compat.engine import PairResult
from mvptest.compat.session import CompatReport
from mvptest.events import BaseHandler, Handler, Written
from mvptest.i18n import _
from mvptest.report.compat_text import (
    aspect_name,
    cause_lines,
    dept,
    described,
    excel_safe,
    fix_cell,
    kind_cell,
    names,
    pair_title,
    pct,
    places,
    rate_text,
    severity_name,
    suggestion,
)
from mvptest.report.files import file_reports, md_cell
from mvptest.report.provenance import csv_headers, csv_values, markdown_lines, provenance, spec_entry


def report_provenance(report: CompatReport, data: Path | None = None) -> dict[str, Any]:
    """Every spec of the report (provider and consumer of each pair, once), the data file, the adapters applied."""
    specs: dict[str, dict[str, Any]] = {}
    for p in report.pairs:
        for spec in (p.provider, p.consumer):
            specs.setdefault(spec.key, spec_entry(spec))
    adapters = sorted({p.adapter.source for p in report.pairs if p.adapter is not None and p.adapter.source})
    return provenance(specs=list(specs.values()), data=[str(data)] if data is not None else [], adapters=adapters)


def to_dict(report: CompatReport, data: Path | None = None) -> dict[str, Any]:
    out = report.to_dict()
    out["provenance"] = report_provenance(report, data)
    return out


def write_json(report: CompatReport, path: Path, data: Path | None = None) -> None:
    atomic.write_text(path, json.dumps(to_dict(report, data), ensure_ascii=False, indent=2) + "\n")


_md = md_cell


def render_markdown(report: CompatReport, data: Path | None = None) -> str:
    lines = [_("# Format-issue report"), "", *markdown_lines(report_provenance(report, data)), ""]
    verdict = _("compatible") if report.compatible else "**" + _("incompatible") + "**"
    rate = report.data_standardization_rate
    lines += [_("{n} provider/consumer pair(s): {verdict}; standardization rate {rate} by the schemas").format(
        n=len(report.pairs), verdict=verdict, rate=pct(report.standardization_rate))
        + (_(", {rate} by the data").format(rate=pct(rate)) if rate is not None else "")
        + _(" (the share of the consumer's required fields served in its format; docs/compat.md).")
        + (_(" Examples are masked.") if report.masked else ""), ""]
    if len(report.pairs) > 1:
        lines += ["| " + " | ".join((_("consumer"), _("provider"), _("compatible"), _("errors"), _("warnings"),
                                     _("standardization rate"))) + " |", "|---|---|---|---:|---:|---:|"]
        for p in report.pairs:
            lines.append(f"| {_md(dept(p.consumer.department.name, p.consumer.key))} | "
                         f"{_md(dept(p.provider.department.name, p.provider.key))} | "
                         f"{_('yes') if p.compatible else _('no')} | "
                         f"{len(p.errors)} | {len(p.issues) - len(p.errors)} | {pct(p.standardization_rate)} |")
        lines.append("")
    for p in report.pairs:
        lines += _pair_markdown(p)
    return "\n".join(lines) + "\n"


def _pair_markdown(p: PairResult) -> list[str]:
    lines = [f"## {_md(pair_title(p))}", ""]
    lines.append(_("- Consumer: {department}, requirement `{key}` {title}").format(
        department=_md(dept(p.consumer.department.name, p.consumer.department.id)), key=p.consumer.key,
        title=_md(p.consumer.title)))
    lines.append(_("- Provider: {department}, interface `{key}` {title}").format(
        department=_md(dept(p.provider.department.name, p.provider.department.id)), key=p.provider.key,
        title=_md(p.provider.title)))
    if p.adapter is not None:
        lines.append(_("- Adapter applied: `{source}` ({n} steps)").format(source=_md(p.adapter.source),
                                                                           n=len(p.adapter.steps)))
    if p.evidence is not None:
        ev = p.evidence
        lines.append(_("- Evidence: {source}; {records} records checked, {failing} fail the consumer's requirement").format(
            source=_md(ev.source), records=f"{ev.records:,}", failing=f"{ev.failing_records:,}")
            + (_("; interrupted") if ev.interrupted else ""))
    lines += [_("- Warning: {note}").format(note=_md(note)) for note in p.notes]
    if p.no_evidence:
        lines.append(_("- **No usable record**: the evidence cannot support a verdict"))
    verdict = _("compatible") if p.compatible else "**" + _("incompatible") + "**"
    lines.append(_("- Verdict: {verdict}, {errors} errors, {warnings} warnings; {rate}").format(
        verdict=verdict, errors=len(p.errors), warnings=len(p.issues) - len(p.errors), rate=rate_text(p)))
    lines += [_("- **DECIDE**: {what}").format(what=_md(d)) for d in p.decisions()]
    lines.append("")
    if not p.issues:
        return [*lines, _("No format issues."), ""]
    by_field: dict[str, list[Any]] = {}
    for i in p.issues:
        by_field.setdefault(i.field, []).append(i)
    for name, issues in by_field.items():
        lines += [_field_heading(name, issues[0]), ""]
        sends = _("provider sends") + (_(" (after the adapter)") if p.adapter is not None else "")
        lines += ["| " + " | ".join((_("kind"), _("severity"), _("consumer requires"), sends, _("how often"),
                                     _("examples (masked)"), _("step or decision"))) + " |", "|---|---|---|---|---|---|---|"]
        lines += [_issue_row(i) for i in issues]
        lines.append("")
    if p.suggested_steps() and not p.compatible:
        lines += [_("Suggested adapter (`mvptest compat ... --suggest-adapter FILE` writes it):"), "", "```yaml",
                  render_adapter(p).rstrip(), "```", ""]
    return lines


def _field_heading(name: str, first: Any) -> str:
    head = _("### Consumer `{field}` {title}").format(field=name, title=_md(first.title)).rstrip()
    if first.provider_field:
        head += " ← " + _("provider `{field}` {title}").format(field=first.provider_field,
                                                               title=_md(first.provider_title)).rstrip()
        if first.provider_own:
            head += f" ({_md(first.provider_own)})"
    else:
        head += " ← " + _("not served by the provider")
    return head


def _issue_row(i: Any) -> str:
    often = (_("{failing} of {checked} records").format(failing=f"{i.failing:,}", checked=f"{i.checked:,}")
             if i.has_evidence else _("by the schemas")) + ("" if i.predicted else _(" (only the data shows it)"))
    if i.provider_defects:
        where = f": {places(i)}" if i.defect_at else ""
        often += _("; {n} break the provider's own schema (a data defect at the provider{where})").format(
            n=f"{i.provider_defects:,}", where=where)
        if i.defect_examples:
            often += _(", e.g. {examples}").format(examples=", ".join(f"`{e}`" for e in i.defect_examples))
    if i.causes:  # one suggestion per cause, each with the examples it explains
        fix = "<br>".join(_md(line) for line in cause_lines(i))
        examples = ""
    else:
        fix = _md(fix_cell(i))
        examples = _md(", ".join(f"`{e}`" for e in i.examples))
    if i.step:
        fix += _(" — step: `{step}`").format(step=_md(_step_text(i.step)))
    cells = [_md(kind_cell(i)), _md(severity_name(i.severity)), _md(described(i.consumer)), _md(described(i.provider)),
             _md(often), examples, fix]
    return "| " + " | ".join(cells) + " |"


def _step_text(step: dict[str, Any]) -> str:
    return json.dumps(step, ensure_ascii=False)


def write_markdown(report: CompatReport, path: Path, data: Path | None = None) -> None:
    atomic.write_text(path, render_markdown(report, data))


CSV_COLUMNS = ["consumer_department", "consumer", "provider_department", "provider", "field", "title", "provider_field",
               "provider_title", "kind", "aspect", "severity", "consumer_requires", "provider_sends", "checked", "failing",
               "breaks_provider_schema", "examples", "suggestion", "adapter_step", "decide", "data_shows", "predicted_by_schemas"]


def csv_header() -> list[str]:
    """The header row: the machine names of CSV_COLUMNS in English, the same columns named in Chinese with --lang."""
    if i18n.language() == "en":
        return [*CSV_COLUMNS, *csv_headers()]
    return [_("consumer department"), _("consumer"), _("provider department"), _("provider"), _("field"), _("title"),
            _("provider field"), _("provider title"), _("kind"), _("aspect"), _("severity"), _("consumer requires"),
            _("provider sends"), _("checked"), _("failing"), _("break the provider's own schema"), _("examples"),
            _("suggestion"), _("adapter step"), _("decide"), _("the data shows"), _("predicted by the schemas"),
            *csv_headers()]


def write_csv(report: CompatReport, path: Path, data: Path | None = None) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(csv_header())
    prov = csv_values(report_provenance(report, data))
    for p in report.pairs:
        for i in p.issues:
            writer.writerow([excel_safe(x) for x in (
                p.consumer.department.name or p.consumer.department.id, p.consumer.key,
                p.provider.department.name or p.provider.department.id, p.provider.key, i.field, i.title, i.provider_field,
                i.provider_title, i.kind, i.aspect, i.severity, i.consumer, i.provider, i.checked if i.has_evidence else "",
                i.failing if i.has_evidence else "", i.provider_defects if i.has_evidence else "", " | ".join(i.examples),
                suggestion(i), _step_text(i.step) if i.step else "", "; ".join(i.decide), i.data_shows,
                "yes" if i.predicted else "no", *prov,
            )])
    # UTF-8 with BOM so that Excel on Chinese Windows opens it without mojibake.
    atomic.write_text(path, buf.getvalue(), encoding="utf-8-sig")


# --------------------------------------------------------------------------- the suggested adapter


def render_adapter(p: PairResult) -> str:
    import yaml

    from mvptest.compat.adapter import Adapter

    steps = p.suggested_steps()
    adapter = Adapter(steps, p.provider.key, p.consumer.key)
    defects = [i for i in p.issues if i.has_evidence and i.provider_defects]
    manual = [i for i in p.issues if not i.step and (i.severity == "error" or not i.predicted)
              and not (i.provider_defects and i.provider_defects == i.failing)]
    head = [
        _("# Adapter: {provider} {provider_key} -> {consumer} {consumer_key}").format(
            provider=p.provider.department.name or p.provider.department.id, provider_key=p.provider.key,
            consumer=p.consumer.department.name or p.consumer.department.id, consumer_key=p.consumer.key),
        _("# Written by mvptest compat --suggest-adapter. Steps run in order on every provider record;"),
        _("# check it with: mvptest compat PROVIDER_SPEC CONSUMER_SPEC --adapter THIS_FILE"),
    ]
    head += [_("# DECIDE: {what} (null in the map: no consumer code yet; write it there, until then the value passes "
               "unchanged and fails the check)").format(what=d) for d in p.decisions()]
    if manual:
        head.append(_("# Not adjustable by an adapter (the departments must agree):"))
        head += [f"#   {names(i)} {i.kind}{' (' + aspect_name(i.aspect) + ')' if i.aspect else ''}: {suggestion(i)}"
                 for i in manual]
    if defects:
        head.append(_("# Data defects at the provider (values that break its own schema; the provider corrects them):"))
        head += ["#   " + _("{field} {kind}: {n} of {checked} records").format(
            field=names(i), kind=i.kind, n=i.provider_defects, checked=i.checked)
            + (f" ({places(i)})" if i.defect_at else "") for i in defects]
    body = yaml.safe_dump(adapter.to_dict(), allow_unicode=True, sort_keys=False, default_flow_style=None, width=110)
    return "\n".join(head) + "\n" + body


def write_adapter(p: PairResult, path: Path) -> None:
    atomic.write_text(path, render_adapter(p))


# --------------------------------------------------------------------------- the reports as handlers


class AdapterFiles(BaseHandler):
    """--suggest-adapter: the adapter of the pair, or with --all one file per pair that needs one, in a folder."""

    def __init__(self, target: Path, *, notify: Handler | None = None) -> None:
        self.target = target
        self.notify = notify

    def finish(self, result: Any) -> None:
        if not isinstance(result, CompatReport) or not result.pairs:
            return
        if not result.matrix:
            self._write(result.pairs[0], self.target)
            return
        for p in result.pairs:
            if p.suggested_steps():
                name = f"{p.consumer.key.replace('/', '--')}__{p.provider.key.replace('/', '--')}.adapter.yaml"
                self._write(p, self.target / name)

    def _write(self, p: PairResult, path: Path) -> None:
        write_adapter(p, path)
        if self.notify is not None:
            self.notify.handle(Written(path, _("{n} steps").format(n=len(p.suggested_steps()))))


def file_handlers(*, json_out: Path | None = None, md_out: Path | None = None, csv_out: Path | None = None,
                  suggest_adapter: Path | None = None, notify: Handler | None = None,
                  data: Path | None = None) -> list[Handler]:
    """The files asked for, each a handler that writes when the session finishes (a new format: one more writer
    here and its option; no engine code). ``data``: the --data file the evidence came from (hashed in the files)."""
    writers = [functools.partial(w, data=data) for w in (write_json, write_markdown, write_csv)]
    handlers = file_reports(((json_out, writers[0]), (md_out, writers[1]), (csv_out, writers[2])), notify)
    if suggest_adapter is not None:
        handlers.append(AdapterFiles(suggest_adapter, notify=notify))
    return handlers
