"""The words and numbers every report of a run shares: rates in %, times in ms, target names, verdict sentences."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from mvptest.i18n import _
from mvptest.masking import mask_free_text, mask_text

LATENCY_KEYS = ("p50", "p90", "p95", "p99", "p999", "max", "mean")


def pct(x: float | None, digits: int = 4) -> str:
    """A rate as a percentage (0.99983 -> "99.983 %"); below 1 it never reads as 100 % (rounded down)."""
    if x is None:
        return "-"
    scale = 10 ** (digits + 2)
    value = math.floor(round(x * scale, 6)) / scale * 100 if x < 1 else 100.0
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text} %"


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x:,.3f} ms"


def target_label(name: str) -> str:
    """success_rate -> "success rate", latency_p95_ms -> "latency p95" (translated)."""
    if name == "success_rate":
        return _("success rate")
    if name.startswith("latency_") and name.endswith("_ms"):
        key = name[len("latency_"):-len("_ms")]
        shown = {"p999": "p99.9", "max": _("max"), "mean": _("mean")}.get(key, key)
        return _("latency {percentile}").format(percentile=shown)
    return name


def outcome_of(t: dict[str, Any]) -> str:
    return str(t.get("outcome") or ("pass" if t.get("met") else "fail"))


def outcome_word(outcome: str) -> str:
    return {"pass": _("met"), "fail": _("missed"), "inconclusive": _("inconclusive")}.get(outcome, outcome)


def verdict_word(verdict: str) -> str:
    return {"pass": _("PASS"), "fail": _("FAIL"), "inconclusive": _("INCONCLUSIVE")}.get(verdict, verdict.upper())


def threshold_text(t: dict[str, Any]) -> str:
    if t.get("threshold") is None:
        return "-"
    if t["name"] == "success_rate":
        return f">= {pct(t['threshold'])}"
    return f"<= {t['threshold']:g} ms"


def measured_text(t: dict[str, Any]) -> str:
    if t.get("measured") is None:
        return _("not measured")
    return pct(t["measured"]) if t["name"] == "success_rate" else ms(t["measured"])


def bounds_text(t: dict[str, Any]) -> str:
    """The 95 % interval (one-sided bounds) as a report shows it; "observed" for max and mean."""
    interval = t.get("interval") or {}
    if not interval:
        return "-" if t["name"] == "success_rate" else _("observed")
    low, high = interval.get("low"), interval.get("high")
    if t["name"] == "success_rate":
        return f"{pct(low)} .. {pct(high)}"
    return f"{'-' if low is None else f'{low:,.3f}'} .. {'-' if high is None else f'{high:,.3f}'} ms"


def target_sentence(key: str, t: dict[str, Any]) -> str:
    """One sentence on one target: what was measured against what, and by how much it was missed."""
    label, outcome = target_label(t["name"]), outcome_of(t)
    measured, threshold = measured_text(t), threshold_text(t)
    if outcome == "pass":
        return _("{interface}: {target} {measured} meets {threshold}").format(
            interface=key, target=label, measured=measured, threshold=threshold)
    if outcome == "inconclusive":
        needed = t.get("requests_needed")
        more = (_(" ({needed:,} calls without failure would decide it)").format(needed=needed)
                if isinstance(needed, int) else "")
        return _("{interface}: {target} {measured} cannot show {threshold} with these calls{more}").format(
            interface=key, target=label, measured=measured, threshold=threshold, more=more)
    by = ""
    if t.get("measured") is not None and t.get("threshold") is not None:
        if t["name"] == "success_rate":
            by = _(", short by {points} percentage points").format(
                points=f"{(t['threshold'] - t['measured']) * 100:.3f}")
        else:
            by = _(", {over} over").format(over=ms(t["measured"] - t["threshold"]))
    return _("{interface}: {target} {measured} misses {threshold}{by}").format(
        interface=key, target=label, measured=measured, threshold=threshold, by=by)


def interface_verdict(itf: dict[str, Any]) -> tuple[str, str]:
    """(pass | fail | inconclusive, the reason in one sentence) of one interface."""
    targets = itf.get("targets") or []
    if not itf.get("requests"):
        return "fail", _("{interface}: no calls were made").format(interface=itf.get("key", "?"))
    for outcome in ("fail", "inconclusive"):
        hit = [t for t in targets if outcome_of(t) == outcome]
        if hit:
            return outcome, "; ".join(target_sentence(itf["key"], t) for t in hit)
    if not targets:
        return "pass", _("{interface}: no target to judge").format(interface=itf["key"])
    return "pass", _("{interface}: every target is met").format(interface=itf["key"])


def run_reason(summary: dict[str, Any]) -> str:
    """The run's verdict in one sentence: the summary's own reason in English; in another language, the interfaces'
    sentences (the core's reason stays beside it, as written)."""
    from mvptest.i18n import language

    reason = summary.get("verdict_reason")
    if language() == "en" and reason:
        return str(reason)
    if summary.get("interrupted"):
        return _("the run was interrupted: its figures cover only the part that ran")
    if summary.get("workers_lost"):
        return _("a worker was lost mid-run: its last calls are uncounted")
    if not summary.get("requests"):
        return _("no requests were made: a run with zero requests never passes")
    if summary.get("verdict") == "pass":
        return _("every target is met")
    parts = [interface_verdict(i)[1] for i in summary.get("interfaces", []) if interface_verdict(i)[0] != "pass"]
    return "; ".join(parts) or str(reason or "")


def display_url(url: str | None) -> str:
    """A sample's request as a person reads it: percent-encoding decoded, every query value masked."""
    if not url:
        return ""
    parts = urlsplit(url)
    path = mask_free_text(unquote(parts.path))
    if not parts.query:
        return path
    shown = [f"{k}={mask_text(v) if v else ''}" for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return f"{path}?{'&'.join(shown)}"
