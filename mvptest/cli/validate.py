"""``mvptest validate``: check data files against an interface's or a requirement's schema, per field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_PATH = click.Path(path_type=Path)


class _Size(click.ParamType):
    """A size such as 16MiB, 512KiB or 1048576."""

    name = "SIZE"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        from mvptest.validation.readers import parse_size

        if isinstance(value, int):
            return value
        try:
            size = parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if size < 1:
            self.fail("must be at least 1 byte", param, ctx)
        return size


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
@click.option("--jobs", "-j", default=0, type=click.IntRange(0, 64),
              help="Processes for large NDJSON files (default: one per core; 1: no parallelism).")
@click.option("--no-mask", is_flag=True, help="Show sensitive values unmasked in reports (they are masked by default).")
@click.option("--max-record-size", type=_Size(), default="16MiB", show_default=True,
              help="Largest line, record, row or JSON array element; a larger one is an invalid record (kind size).")
@click.option("--max-depth", type=click.IntRange(1, 100_000), default=256, show_default=True,
              help="Deepest JSON nesting of a record; deeper is an invalid record (kind depth).")
@click.option("--max-rows", type=click.IntRange(1), default=1_048_576, show_default=True, help=".xlsx: most rows per sheet.")
@click.option("--max-columns", type=click.IntRange(1), default=1_024, show_default=True, help=".xlsx: most columns per sheet.")
@click.option("--max-shared-strings", type=click.IntRange(1), default=500_000, show_default=True,
              help=".xlsx: most distinct strings (openpyxl holds them all in memory).")
@click.option("--max-zip-ratio", type=click.FloatRange(1), default=100.0, show_default=True,
              help=".xlsx: how many times a part over 16 MiB may expand (zip bombs are refused).")
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
    max_record_size: int,
    max_depth: int,
    max_rows: int,
    max_columns: int,
    max_shared_strings: int,
    max_zip_ratio: float,
) -> int:
    """Validate records in DATA files against a spec's schema and report per field.

    \b
    DATA is a JSON array, NDJSON (one object per line), CSV with a header row (UTF-8,
    UTF-8 with BOM or GB18030 as Excel saves it; values take the types the schema asks for)
    or .xlsx (first sheet, or --sheet). Files of any size are streamed in bounded memory;
    - reads standard input, and pipes (/dev/stdin, <(...)) are read as streams.
    The --max-* options bound what one record or workbook may hold.

    \b
    Examples:
      mvptest validate specs/samples/tax-enterprise-sample.csv --spec specs/tax/enterprise-registration.yaml
      mvptest validate export.ndjson --spec specs/market-supervision/enterprise-registration.yaml \\
          --interface enterprise-registration --json-out report.json --md-out report.md

    Exit 0 when every record is valid (warnings allowed), 1 when any is invalid or a file holds
    no records, 2 on bad input, 130 when interrupted (the report covers the records checked).
    """
    from mvptest.cli._console import environment
    from mvptest.events import Handlers
    from mvptest.report import validation as report
    from mvptest.validation.readers import Limits
    from mvptest.validation.session import ValidateConfig, validate_files

    limits = Limits(record_bytes=max_record_size, depth=max_depth, rows=max_rows, columns=max_columns,
                    shared_strings=max_shared_strings, zip_ratio=max_zip_ratio)
    config = ValidateConfig(data, spec=spec, interface=interface, schema=schema, spec_root=spec_root, mask=not no_mask,
                            encoding=encoding, sheet=sheet, max_examples=max_examples, jobs=jobs, limits=limits)
    env = environment()
    console = report.ValidateConsole(env.stdout, env.stderr)
    files = report.file_handlers(json_out=json_out, md_out=md_out, csv_out=csv_out, notify=console,
                                 sources=report.Sources(spec, schema, spec_root))
    return validate_files(config, Handlers([console, *files])).exit_code
