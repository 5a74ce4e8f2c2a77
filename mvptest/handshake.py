"""The private entry points' handshake: JSON configuration in, one JSON line out ({"ready": ...} or {"error": ...}).

The core starts its helper processes (the sandbox, local load workers) through ``python -m mvptest.<x>_main CONFIG``
with CONFIG a JSON object, and reads their first line of standard output, never text printed for people.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import IO, Any

from mvptest.errors import ConfigError, ExitCode, InputError, MvptestError, TargetUnreachable


def read_config(argv: list[str], stdin: IO[str] | None = None) -> Any:
    """The configuration: JSON in the first argument, or on standard input when there is none (or it is ``-``)."""
    text = argv[0] if argv and argv[0] != "-" else (stdin or sys.stdin).read()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"the configuration is not JSON: {exc}") from None


def answer(**fields: Any) -> None:
    """The one handshake line on standard output, flushed at once."""
    sys.stdout.write(json.dumps(fields, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def error_fields(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, MvptestError):
        return {"error": str(exc), "hint": exc.hint, "exit_code": int(exc.exit_code)}
    return {"error": f"internal error: {type(exc).__name__}: {exc}", "hint": "", "exit_code": int(ExitCode.INTERNAL)}


def serve(main: Callable[[list[str]], int], argv: list[str] | None = None) -> int:
    """Run an entry point's ``main``; an error before it answered becomes the {"error": ...} line and its exit code."""
    try:
        return main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except Exception as exc:
        fields = error_fields(exc)
        answer(**fields)
        sys.stderr.write(f"error: {fields['error']}\n")
        return int(fields["exit_code"])


def parse(line: str, *, who: str) -> dict[str, Any]:
    """A handshake line read back; InputError when the helper answered something else (or nothing)."""
    try:
        data = json.loads(line)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not ("ready" in data or "error" in data):
        raise InputError(f"{who} did not answer the handshake ({line.strip()[:200] or 'no answer'})")
    return data


def raise_error(data: dict[str, Any], *, who: str) -> None:
    """Re-raise an {"error": ...} answer as the kind of error it was (bad input 2, unreachable 3, else 4)."""
    message, hint, code = str(data.get("error")), str(data.get("hint") or ""), data.get("exit_code")
    kinds: dict[Any, type[MvptestError]] = {2: InputError, 3: TargetUnreachable}
    raise kinds.get(code, MvptestError)(f"{who}: {message}", hint=hint)
