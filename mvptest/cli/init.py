"""``mvptest init``: scaffold a pilot folder that passes ``spec check`` and runs as generated."""

from __future__ import annotations

from pathlib import Path

import click

from mvptest.errors import ExitCode, UsageError

_PATH = click.Path(path_type=Path)


@click.command()
@click.argument("directory", type=_PATH)
@click.option("--example", is_flag=True, help="Write the market-supervision/tax pilot that ships with mvptest.")
@click.option("--from-openapi", "document", type=_PATH, metavar="FILE",
              help="Scaffold from an OpenAPI 3.0/3.1 or Swagger 2.0 document (with --department).")
@click.option("--department", metavar="ID", help="The providing department's id, with --from-openapi.")
def init(directory: Path, example: bool, document: Path | None, department: str | None) -> int:
    """Scaffold a pilot in DIRECTORY (a new or empty folder).

    \b
    --example: the market-supervision/tax pilot (specs, scenario, sample data).
    --from-openapi FILE --department ID: the provider's spec imported from FILE, a consumer
    requirement to edit, a scenario calling every GET operation against the sandbox, a README.

    \b
    Examples:
      mvptest init pilot --example
      mvptest init pilot --from-openapi swagger.json --department market-supervision
      cd pilot && mvptest spec check . && mvptest run scenarios/*.yaml
    """
    from mvptest.cli._console import consoles
    from mvptest.cli.import_ import check_department
    from mvptest.scaffold import scaffold_example, scaffold_openapi

    if example == (document is not None):
        raise UsageError("give either --example or --from-openapi FILE", hint="mvptest init DIR --example")
    if document is not None and not department:
        raise UsageError("--from-openapi needs --department ID", hint="e.g. --department market-supervision")
    if example and department:
        raise UsageError("--department goes with --from-openapi, not --example")
    done = (scaffold_example(directory) if example
            else scaffold_openapi(directory, document, check_department(department or "")))  # type: ignore[arg-type]
    out, err = consoles()
    out.print(f"wrote {len(done.files)} file(s) under {directory}", markup=False, highlight=False)
    if done.imported is not None:
        lines = done.imported.notes.lines()
        if lines:
            err.print(f"the import did not convert {len(lines)} item(s) as written: see the notes file under "
                      f"{directory / 'specs'}", markup=False, highlight=False)
    for itf, why in done.skipped.items():
        err.print(f"not in the scenario: {itf} ({why})", markup=False, highlight=False)
    out.print(f"next: cd {directory} && mvptest spec check . && mvptest run scenarios/*.yaml", markup=False,
              highlight=False)
    return ExitCode.OK
