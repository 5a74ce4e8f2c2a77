"""``mvptest compare BASELINE_RUN NEW_RUN``: the regression gate between two finished runs."""

from __future__ import annotations

from pathlib import Path

import click

from mvptest.run.compare import DEFAULT_MAX_REGRESSION, DEFAULT_MAX_SUCCESS_DROP, DEFAULT_MIN_LATENCY_MS

_PATH = click.Path(path_type=Path)


@click.command()
@click.argument("baseline", type=_PATH)
@click.argument("new", type=_PATH)
@click.option("--max-regression", "max_regression", type=click.FloatRange(0), default=DEFAULT_MAX_REGRESSION,
              show_default=True, metavar="PCT",
              help="Allowed growth of a latency percentile (p50 to p99.9) and fall of throughput, in percent.")
@click.option("--min-latency-change", "min_latency_ms", type=click.FloatRange(0), default=DEFAULT_MIN_LATENCY_MS,
              show_default=True, metavar="MS", help="A latency change smaller than this is never a regression (noise).")
@click.option("--max-success-drop", "max_success_drop", type=click.FloatRange(0), default=DEFAULT_MAX_SUCCESS_DROP,
              show_default=True, metavar="PP",
              help="Allowed fall of the success rate, in percentage points (it must also be beyond chance).")
@click.option("--json-out", type=_PATH, help="Write the comparison as JSON (schema_version 1).")
@click.option("--md-out", type=_PATH, help="Write the comparison as Markdown.")
def compare(baseline: Path, new: Path, max_regression: float, min_latency_ms: float, max_success_drop: float,
            json_out: Path | None, md_out: Path | None) -> int:
    """Compare a new run with a baseline run, interface by interface.

    \b
    BASELINE NEW: run folders (results/<run-id>) or their summary.json files.
    Per interface: the success rate, every latency percentile and the throughput, side by side
    with the change. A regression is a latency percentile grown by more than --max-regression
    percent (and by at least --min-latency-change ms), throughput fallen by more than
    --max-regression percent, or the success rate fallen by more than --max-success-drop
    percentage points beyond chance (an exact one-sided binomial test at 5 %
    against the baseline's failure rate).

    \b
    Examples:
      mvptest compare results/baseline results/latest
      mvptest compare baseline/summary.json results/nightly --max-regression 5 --json-out compare.json

    Exit 0 when no measure regressed, 1 on a regression, 2 when the runs cannot be compared
    (not a run, no interface in common, a run without calls).
    """
    from mvptest.cli._console import environment
    from mvptest.events import Handlers, Session
    from mvptest.report.regression import ConsoleComparison, JsonComparison, MarkdownComparison
    from mvptest.run.compare import compare_runs

    env = environment()
    handlers = Handlers([ConsoleComparison(env.stdout, env.stderr)])
    handlers.handlers += [JsonComparison(json_out)] if json_out else []
    handlers.handlers += [MarkdownComparison(md_out)] if md_out else []
    handlers.start(Session("compare"))
    result = compare_runs(baseline, new, max_regression_pct=max_regression, min_latency_ms=min_latency_ms,
                          max_success_drop_pp=max_success_drop)
    handlers.finish(result)
    for target in (json_out, md_out):
        if target is not None:
            env.stderr.print(f"wrote {target}")
    return result.exit_code
