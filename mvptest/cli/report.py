"""``mvptest report RUN_DIR``: re-render the reports of a finished run (HTML, JUnit, console) from its files."""

from __future__ import annotations

from pathlib import Path

import click

_PATH = click.Path(path_type=Path)


@click.command()
@click.argument("run_dir", type=_PATH)
@click.option("--html", "html_out", type=_PATH, metavar="FILE",
              help="Write the page here instead of RUN_DIR/report.html.")
def report(run_dir: Path, html_out: Path | None) -> int:
    """Re-render every report of the finished run in RUN_DIR from its files.

    \b
    Reads summary.json (required), timeseries.csv and histograms.json (when there); writes
    report.html (or --html FILE) and junit.xml, and prints the final table. A folder written by
    an earlier version renders with what it has; the page and the console say what is missing.
    The language is --lang zh-CN|en (before or after the command), else the locale's.

    \b
    Examples:
      mvptest report results/latest
      mvptest --lang zh-CN report results/20240601-101500-pilot-enterprise-registration-1a2b --html /tmp/r.html

    Exit 0 when the reports were written; 2 when RUN_DIR is not a run's folder.
    """
    from mvptest.cli._console import environment
    from mvptest.report.run_console import RunConsole
    from mvptest.report.run_folder import rerender

    env = environment()
    return rerender(run_dir, RunConsole(out=env.stdout, err=env.stderr), html_out=html_out).exit_code
