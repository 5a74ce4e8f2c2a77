"""``mvptest validate``: check data files against an interface's or a requirement's schema, per field."""

from __future__ import annotations

from pathlib import Path

import click

from mvptest.errors import ExitCode, UsageError

_PATH = click.Path(path_type=Path)


@click.command()
@click.argument("data", nargs=-1, required=True, type=_PATH)
@click.option("--spec", "spec", type=_PATH, help="Interface or requirement spec whose schema the records must meet.")
@click.option("--interface", "interface", metavar="ID", help="Which interface of --spec (when it holds several).")
@click.option("--schema", "schema", type=_PATH, help="A bare JSON Schema file instead of --spec.")
@click.option("--json-out", type=_PATH, help="Write the report as JSON (schema_version 1).")
@click.option("--md-out", type=_PATH, help="Write the report as Markdown, for a department.")
@click.option("--csv-out", type=_PATH, help="Write the issues as CSV (UTF-8 with BOM, opens in Excel).")
@click.option("--encoding", help="Encoding of CSV files (default: detected; utf-8, utf-8-sig or gb18030).")
@click.option("--sheet", help="Sheet of .xlsx files (default: the first).")
@click.option("--max-examples", default=3, show_default=True, type=click.IntRange(0, 100), help="Examples kept per issue.")
@click.option("--spec-root", type=_PATH, help="Folder that $ref may not leave (default: the spec's folder).")
@click.option("--jobs", "-j", default=0, type=click.IntRange(0, 64), help="Processes for large NDJSON files (default: one per core; 1: no parallelism).")
@click.option("--no-mask", is_flag=True, help="Show sensitive values unmasked in reports (they are masked by default).")
def validate(
    data: tuple[Path, ...],
    spec: Path | None,
    interface: str | None,
    schema: Path | None,
    json_out: Path | None,
    md_out: Path | None,
    csv_out: Path | None,
    encoding: str | None,
    sheet: str | None,
    max_examples: int,
    spec_root: Path | None,
    jobs: int,
    no_mask: bool,
) -> int:
    """Validate records in DATA files against a spec's schema and report per field.

    \b
    DATA is a JSON array, NDJSON (one object per line), CSV with a header row (UTF-8,
    UTF-8 with BOM or GB18030 as Excel saves it; values take the types the schema asks for)
    or .xlsx (first sheet, or --sheet). Files of any size are streamed.

    \b
    Examples:
      mvptest validate specs/samples/tax-enterprise-sample.csv --spec specs/tax/enterprise-registration.yaml
      mvptest validate export.ndjson --spec specs/market-supervision/enterprise-registration.yaml \\
          --interface enterprise-registration --json-out report.json --md-out report.md

    Exit 0 when every record is valid (warnings allowed), 1 when any is invalid, 2 on bad input.
    """
    from mvptest.cli._console import consoles
    from mvptest.report import validation as report
    from mvptest.validation.engine import Finished, choose_schema, validate_files

    if (spec is None) == (schema is None):
        raise UsageError("give exactly one of --spec or --schema", hint="mvptest validate DATA --spec SPEC")
    if interface and spec is None:
        raise UsageError("--interface needs --spec")
    choice = choose_schema(spec=spec, interface=interface, schema=schema, spec_root=spec_root, mask=not no_mask)
    out, err = consoles()
    reporter = report.ConsoleReporter(out, err)
    summary = None
    for event in validate_files(list(data), choice, encoding=encoding, sheet=sheet, max_examples=max_examples, jobs=jobs):
        reporter.handle(event)
        if isinstance(event, Finished):
            summary = event.summary
    assert summary is not None
    for target, writer in ((json_out, report.write_json), (md_out, report.write_markdown), (csv_out, report.write_csv)):
        if target is not None:
            writer(summary, target)
            err.print(f"wrote {target}")
    if summary.interrupted:
        err.print("interrupted: the report covers the records read so far")
        return ExitCode.INTERRUPTED
    return ExitCode.OK if summary.ok else ExitCode.CHECK_FAILED
