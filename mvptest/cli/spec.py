"""``mvptest spec check``: load and lint specs, requirements and scenarios; report every problem, located."""

from __future__ import annotations

from pathlib import Path

import click

_PATH = click.Path(path_type=Path)


@click.group()
def spec() -> None:
    """Work with interface specs, requirement specs and scenarios."""


@spec.command("check")
@click.argument("paths", nargs=-1, required=True, type=_PATH)
@click.option("--spec-root", type=_PATH, help="Folder that $ref may not leave (default: each spec's folder).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def check(paths: tuple[Path, ...], spec_root: Path | None, strict: bool) -> int:
    """Check every spec, requirement and scenario under PATHS and report every problem with file and line.

    \b
    Finds: YAML/JSON syntax errors, unknown keys (with a did-you-mean), schemas that are not
    valid JSON Schema 2020-12, unknown formats, $ref that does not resolve or leaves the spec
    tree, duplicate interface ids, requirements naming an interface nobody provides, targets
    out of range, scenarios naming missing specs.

    \b
    Example:
      mvptest spec check specs/ scenarios/

    Exit 0 when no problem is found, 2 otherwise.
    """
    from mvptest.cli._console import environment
    from mvptest.report.spec_check import SpecCheckConsole
    from mvptest.spec.session import SpecCheckConfig, check_specs

    env = environment()
    return check_specs(SpecCheckConfig(paths, spec_root, strict), SpecCheckConsole(env.stdout, env.stderr)).exit_code
