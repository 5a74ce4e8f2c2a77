"""The mvptest command line: a thin click group whose commands load lazily, with errors rendered at the edge."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from mvptest import __version__

# command name -> "module:attribute"; imported only when the command runs, so `mvptest --help` stays fast.
_COMMANDS = {
    "spec": ("mvptest.cli.spec:spec", "Check interface specs, requirement specs and scenarios."),
    "compat": ("mvptest.cli.compat:compat", "Compare a provider's interface with each consumer's requirements, field by field."),
    "validate": ("mvptest.cli.validate:validate", "Validate data files (JSON, NDJSON, CSV, .xlsx) against a spec."),
    "sandbox": ("mvptest.cli.sandbox:sandbox", "Serve an interface from its spec: synthetic data, injected faults."),
    "run": ("mvptest.cli.run:run", "The pilot test: load, every response validated, verdict against targets."),
    "worker": ("mvptest.cli.worker:worker", "A load worker for a distributed run (mvptest run --master)."),
    "report": ("mvptest.cli.report:report", "Re-render the reports of a finished run (HTML, JUnit, console)."),
    "compare": ("mvptest.cli.compare:compare", "Regression gate: a new run against a baseline run, interface by interface."),
    "import": ("mvptest.cli.import_:import_group", "Turn OpenAPI 3.0/3.1 or Swagger 2.0 documents into interface specs."),
    "init": ("mvptest.cli.init:init", "Scaffold a pilot: provider spec, consumer requirement, scenario, README."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        rows = [(name, _COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class State:
    """Settings of the whole invocation, handed to commands through click's context."""

    def __init__(self) -> None:
        self.debug = False
        self.color: bool | None = None


STATE = State()


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="mvptest")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--no-color", is_flag=True, help="No colours (also: the NO_COLOR environment variable).")
@click.option("--lang", metavar="zh-CN|en", help="Language of the output (default: the locale, LANG/LC_ALL). 输出语言.")
def cli(debug: bool, no_color: bool, lang: str | None) -> None:
    """mvptest proves a government data-sharing interface before rollout.

    \b
    It measures the pilot's call success rate and latency under Locust load with every response
    validated, checks field formats against JSON Schema (with the unified social credit code,
    resident ID and other Chinese government formats, checksums included), and holds what a
    provider serves against what each consuming department requires, with the fix.

    \b
    Start here:
      mvptest run scenarios/pilot-enterprise-registration.yaml
      mvptest compat specs/market-supervision/enterprise-registration.yaml specs/tax/enterprise-registration.yaml
      mvptest validate specs/samples/tax-enterprise-sample.csv --spec specs/tax/enterprise-registration.yaml
      mvptest spec check specs/

    \b
    Exit codes: 0 all holds; 1 a check fell short (invalid records, a missed target);
    2 bad input (usage, spec or data file); 3 target unreachable; 4 internal error; 130 interrupted.
    """
    STATE.debug = STATE.debug or debug or bool(os.environ.get("MVPTEST_DEBUG"))
    if no_color or os.environ.get("NO_COLOR"):
        STATE.color = False


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error ends here as one message and a documented exit code."""
    from mvptest.errors import ExitCode, MvptestError

    args = list(sys.argv[1:] if argv is None else argv)
    # --debug before or after the command name (CONTRACTS.md): taken out here, so every command accepts it
    end = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:end]
    args = [a for a in args[:end] if a != "--debug"] + args[end:]
    STATE.debug = debug or bool(os.environ.get("MVPTEST_DEBUG"))
    _sigterm_as_interrupt()
    try:
        args = _take_lang(args)
        rv: Any = cli.main(args=args, prog_name="mvptest", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return ExitCode.BAD_INPUT if exc.exit_code == 2 else exc.exit_code
    except click.Abort:
        click.echo(_interrupted(), err=True)
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        click.echo(_interrupted(), err=True)
        return ExitCode.INTERRUPTED
    except MvptestError as exc:
        if STATE.debug:
            import traceback

            traceback.print_exc()
        render_error(exc)
        return int(exc.exit_code)
    except BrokenPipeError:
        return ExitCode.OK
    except Exception:  # the one place that turns a bug into a report request
        import traceback

        if STATE.debug:
            traceback.print_exc()
        else:
            last = traceback.extract_tb(sys.exc_info()[2])[-1]
            from mvptest.i18n import _

            where = f"{sys.exc_info()[0].__name__} at {os.path.basename(last.filename)}:{last.lineno}"  # type: ignore[union-attr]
            click.echo(_("mvptest: internal error ({where}). Please report it with the command you ran; "
                         "--debug shows the traceback.").format(where=where), err=True)
        return ExitCode.INTERNAL


def _take_lang(args: list[str]) -> list[str]:
    """--lang L (or --lang=L) before or after the command name, as --debug; the locale's language without it."""
    from mvptest import i18n
    from mvptest.errors import UsageError

    end = args.index("--") if "--" in args else len(args)
    chosen, rest, i = None, [], 0
    while i < end:
        a = args[i]
        if a == "--lang" or a.startswith("--lang="):
            if a == "--lang":
                if i + 1 >= end:
                    raise UsageError("--lang needs a language", hint="--lang zh-CN or --lang en")
                chosen, i = args[i + 1], i + 2
            else:
                chosen, i = a.split("=", 1)[1], i + 1
            continue
        rest.append(a)
        i += 1
    lang = i18n.detect() if chosen is None else i18n.normalize(chosen)
    if lang is None:
        raise UsageError(f"--lang {chosen}: not a language mvptest speaks", hint="--lang zh-CN or --lang en")
    i18n.set_language(lang)
    return rest + args[end:]


def _sigterm_as_interrupt() -> None:
    """SIGTERM (a CI job cancelled) ends a command the way Ctrl-C does: partial results are still written."""
    import signal
    import threading

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def render_error(exc: Exception) -> None:
    from mvptest.errors import SpecError
    from mvptest.i18n import _

    err = sys.stderr
    if isinstance(exc, SpecError) and len(exc.problems) > 1:
        for problem in exc.problems:
            click.echo(str(problem), file=err)  # file:line:col: severity: message, as compilers print it
        count = len([p for p in exc.problems if p.severity == "error"])
        click.echo(_("mvptest: {count} problem(s); nothing was run.").format(count=count), file=err)
        return
    click.echo(_("error: {message}").format(message=exc), file=err)
    hint = getattr(exc, "hint", "")
    if hint:
        click.echo(_("  hint: {hint}").format(hint=hint), file=err)


def _interrupted() -> str:
    from mvptest.i18n import _

    return _("Interrupted.")
