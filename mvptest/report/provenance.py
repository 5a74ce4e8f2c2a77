"""What a report a department sends rests on: the date, mvptest's version, each spec with its version and hash."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mvptest import __version__, i18n
from mvptest.i18n import _


def sha256_file(path: str | Path) -> str | None:
    """The file's SHA-256 in hex; None for standard input or a file that cannot be read again (a pipe)."""
    p = Path(path)
    if str(path) in ("-", "<stdin>") or not p.is_file():
        return None
    digest = hashlib.sha256()
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_entry(path: str | Path) -> dict[str, Any]:
    return {"file": str(path), "sha256": sha256_file(path)}


def _schema_files(bundled: Any, spec_file: Path) -> list[dict[str, Any]]:
    """The schema files a spec's $refs bundled (file: URIs), besides the spec file itself."""
    out = []
    for uri in sorted(getattr(bundled, "resources", {}) or {}):
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            continue
        path = Path(unquote(parsed.path))
        if path.resolve() != spec_file.resolve() and path.is_file():
            out.append(_file_entry(_relative(path)))
    return out


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def spec_entry(spec: Any) -> dict[str, Any]:
    """An interface or requirement: its key, version, kind, file and hash, and the hashes of its schema files."""
    where = getattr(getattr(spec, "source", None), "path", None)
    kind = "interface" if hasattr(spec, "response_schema") else "requirement"
    entry: dict[str, Any] = {"id": spec.key, "kind": kind, "version": getattr(spec, "version", None) or None}
    if where:
        path = Path(str(where))
        entry.update(_file_entry(str(where)))
        bundled = getattr(spec, "response_schema", None) or getattr(spec, "schema", None)
        schemas = _schema_files(bundled, path) if path.is_file() else []
        if schemas:
            entry["schemas"] = schemas
    return entry


def provenance(*, specs: list[dict[str, Any]], data: Sequence[str] = (), adapters: Sequence[str] = ()) -> dict[str, Any]:
    """The ``provenance`` block of a report file (JSON key names are fixed, never translated)."""
    out: dict[str, Any] = {
        "generated_at": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "mvptest_version": __version__,
        "specs": specs,
        "data": [_file_entry(d) for d in data],
    }
    if adapters:
        out["adapters"] = [_file_entry(a) for a in adapters]
    return out


def markdown_lines(prov: dict[str, Any]) -> list[str]:
    """The provenance as a Markdown list, in the report's language."""
    lines = [_("- Date: {date}; mvptest {version}").format(date=prov["generated_at"], version=prov["mvptest_version"])]
    for s in prov["specs"]:
        version = _(" version {version}").format(version=s["version"]) if s.get("version") else ""
        lines.append(_("- Spec `{id}`{version}: `{file}` sha256 `{sha}`").format(
            id=s["id"], version=version, file=s.get("file", "?"), sha=s.get("sha256") or "-"))
        lines += [_("  - schema `{file}` sha256 `{sha}`").format(file=x["file"], sha=x["sha256"] or "-")
                  for x in s.get("schemas", [])]
    lines += [_("- Data file `{file}` sha256 `{sha}`").format(file=d["file"], sha=d["sha256"] or _("(standard input)"))
              for d in prov["data"]]
    lines += [_("- Adapter applied `{file}` sha256 `{sha}`").format(file=a["file"], sha=a["sha256"] or "-")
              for a in prov.get("adapters", [])]
    return lines


CSV_KEYS = ["generated_at", "mvptest_version", "specs", "data_files", "adapters"]


def csv_headers() -> list[str]:
    """The provenance columns a CSV row ends with (the same on every row: a spreadsheet keeps them with each issue);
    in English the machine names of CSV_KEYS."""
    if i18n.language() == "en":
        return list(CSV_KEYS)
    return [_("generated at"), _("mvptest version"), _("specs (id, version, sha256)"), _("data files (sha256)"),
            _("adapters (sha256)")]


def csv_values(prov: dict[str, Any]) -> list[str]:
    specs = "; ".join(" ".join(str(x) for x in (s["id"], s.get("version"), s.get("file"), s.get("sha256")) if x)
                      for s in prov["specs"])
    data = "; ".join(f"{d['file']} {d['sha256'] or '-'}" for d in prov["data"])
    adapters = "; ".join(f"{a['file']} {a['sha256'] or '-'}" for a in prov.get("adapters", []))
    return [prov["generated_at"], prov["mvptest_version"], specs, data, adapters]
