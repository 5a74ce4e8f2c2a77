"""``mvptest import openapi``: an OpenAPI 3.0/3.1 or Swagger 2.0 document into interface specs."""

from __future__ import annotations

import re
from pathlib import Path

import click

from mvptest.errors import ExitCode, UsageError

_PATH = click.Path(path_type=Path)


def check_department(department: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", department):
        raise UsageError(f"--department {department!r}: an id is lower case letters, digits, - and _",
                         hint="e.g. --department market-supervision")
    return department


@click.group("import")
def import_group() -> None:
    """Turn interface descriptions into mvptest interface specs."""


@import_group.command("openapi")
@click.argument("document", type=_PATH)
@click.option("--department", required=True, metavar="ID", help="The providing department's id (market-supervision).")
@click.option("--out", type=_PATH, metavar="DIR", help="Folder to write into (default: ./specs/<department>/).")
def openapi(document: Path, department: str, out: Path | None) -> int:
    """Write an interface spec for every operation of DOCUMENT (OpenAPI 3.0/3.1 or Swagger 2.0, YAML or JSON).

    \b
    One spec file for the document (<title>.yaml), every named schema as schemas/<Name>.json, the
    document's response examples as examples/<id>.json, and <title>.import-notes.md listing what
    was not converted (also printed here). Local $refs across files are bundled; a URL is never fetched.

    \b
    Example:
      mvptest import openapi swagger.json --department market-supervision
      mvptest spec check specs/market-supervision/
    """
    from mvptest.cli._console import consoles
    from mvptest.openapi import import_openapi

    out_dir = out if out is not None else Path("specs") / check_department(department)
    imported, written = import_openapi(document, check_department(department), out_dir)
    con, err = consoles()
    con.print(f"wrote {written.spec} ({len(imported.operations)} interfaces) and {len(written.schemas)} schema "
              f"file(s) under {out_dir / 'schemas'}", markup=False, highlight=False)
    lines = imported.notes.lines()
    if lines:
        err.print(f"not converted, or converted with a change ({len(lines)}; also in {written.notes}):",
                  markup=False, highlight=False)
        for line in lines:
            err.print(f"  - {line}", markup=False, highlight=False)
    if imported.headers:
        err.print("headers for a run against the provider (scenario `headers:`): "
                  + ", ".join(f"{k}: {v}" for k, v in imported.headers.items()), markup=False, highlight=False)
    con.print(f"next: mvptest spec check {out_dir}", markup=False, highlight=False)
    return ExitCode.OK
