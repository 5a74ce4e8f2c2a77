"""${VAR} in a spec's or scenario's header values, from the environment; every value substituted becomes a secret."""

from __future__ import annotations

import os
import re

from mvptest.errors import InputError, Location
from mvptest.spec.secrets import SECRETS

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute_env(value: str, *, where: Location, name: str) -> str:
    """${VAR} from the environment, as an HTTP header can carry it; else bad input naming the header and the
    variable, never the value (a missing variable, a control character, a character outside Latin-1).

    Every value substituted is a secret of this process from then on (spec/secrets.py SECRETS): it is scrubbed from
    every sample and message, whatever a provider echoes back."""
    def repl(m: re.Match[str]) -> str:
        var = m.group(1)
        if var not in os.environ:
            raise InputError(f"header {name!r} needs the environment variable {var}, which is not set",
                             where=where, hint=f"export {var}=... before the run")
        text = os.environ[var]
        _check_header_text(text, name=name, where=where, source=f"the environment variable {var}", var=var)
        SECRETS.add(text)
        return text

    _check_header_text(_ENV_RE.sub("", value), name=name, where=where, source="its value in the scenario")
    return _ENV_RE.sub(repl, value)


def _check_header_text(text: str, *, name: str, where: Location, source: str, var: str | None = None) -> None:
    """A header carries Latin-1 without control characters; Python's own error would quote the value."""
    if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", text):
        hint = (f"a token file saved on Windows ends with \\r: export {var}=\"$(tr -d '\\r\\n' < FILE)\"" if var
                else "remove the line break or control character")
        raise InputError(f"header {name!r}: {source} contains a line break or another control character",
                         where=where, hint=hint)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        raise InputError(f"header {name!r}: {source} contains characters an HTTP header cannot carry "
                         "(only Latin-1 travels in a header; Chinese text does not)", where=where,
                         hint="percent-encode or base64-encode the value, as the provider expects it") from None
