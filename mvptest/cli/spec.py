"""``mvptest spec check``: load and lint specs, requirements and scenarios; report every problem, located."""

from __future__ import annotations

from pathlib import Path

import click

from mvptest.errors import ExitCode

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
    from rich.markup import escape

    from mvptest.cli._console import consoles
    from mvptest.spec.check import load_specs

    out, err = consoles()
    result = load_specs(list(paths), spec_root=spec_root)
    for problem in result.problems:
        colour = "red" if problem.severity == "error" else "yellow"
        # Messages quote the user's own text ("[/]" in a path or value): never read it as console markup.
        err.print(f"{escape(str(problem.where))}: [{colour}]{problem.severity}[/]: {escape(problem.message)}", soft_wrap=True,
                  emoji=False)
        if problem.hint:
            err.print(f"  hint: {escape(problem.hint)}", soft_wrap=True, emoji=False)
    errors = [p for p in result.problems if p.severity == "error" or strict]
    n_files = len(result.files)
    summary = (
        f"{n_files} file(s): {len(result.interfaces)} interface(s), {len(result.requirements)} requirement(s), "
        f"{len(result.scenarios)} scenario(s)"
    )
    if errors:
        out.print(f"{summary}; [red]{len(errors)} problem(s)[/]")
        return ExitCode.BAD_INPUT
    if n_files == 0:
        out.print("no spec, requirement or scenario found (files need a top-level 'kind')")
        return ExitCode.BAD_INPUT
    out.print(f"{summary}: [green]ok[/]")
    return ExitCode.OK
