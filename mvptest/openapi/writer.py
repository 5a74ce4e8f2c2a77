"""Writing an import: the interface spec YAML, its schemas as JSON files, the examples and the notes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mvptest.atomic import write_text
from mvptest.openapi.document import Imported
from mvptest.openapi.operations import Operation
from mvptest.openapi.schemas import local_refs


@dataclass
class Written:
    """The files an import wrote."""

    spec: Path
    notes: Path
    schemas: list[Path] = field(default_factory=list)
    # the document's response examples: (file, the `mvptest validate` arguments that check it, from the spec's folder)
    examples: list[tuple[Path, list[str]]] = field(default_factory=list)


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110, default_flow_style=False)


def write_import(imported: Imported, out: Path) -> Written:
    """Write everything under ``out``: ``<name>.yaml``, ``schemas/*.json``, ``examples/*.json``, the notes."""
    out.mkdir(parents=True, exist_ok=True)
    written = Written(out / f"{imported.name}.yaml", out / f"{imported.name}.import-notes.md")
    for name, schema in imported.schemas.items():
        path = out / "schemas" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        write_text(path, json.dumps(local_refs(schema), ensure_ascii=False, indent=2) + "\n")
        written.schemas.append(path)
    for op in imported.operations:
        _write_examples(op, out, written, imported)
    head = (f"# {imported.version_label or imported.name}: imported from {imported.source} by "
            "`mvptest import openapi`.\n"
            f"# What was not converted is listed in {written.notes.name}. Check: mvptest spec check {out}\n")
    write_text(written.spec, head + dump_yaml(imported.spec))
    write_text(written.notes, notes_text(imported, written))
    return written


def _write_examples(op: Operation, out: Path, written: Written, imported: Imported) -> None:
    """Object examples as records of the interface; array examples as records of the items' schema file."""
    itf_id = op.interface["id"]
    records = [e for e in op.examples if isinstance(e, dict)]
    items = [i for e in op.examples if isinstance(e, list) for i in e]
    ref = (op.interface["response"].get("schema") or {}).get("items", {}).get("$ref")
    for suffix, data, args in (("", records, ["--spec", written.spec.name, "--interface", itf_id]),
                               (".items", items, ["--schema", str(ref)])):
        if not data or (suffix and not isinstance(ref, str)):
            if data:
                imported.notes.add(itf_id, "the example's items have an inline schema: not written to examples/")
            continue
        path = out / "examples" / f"{itf_id}{suffix}.json"
        path.parent.mkdir(exist_ok=True)
        write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        written.examples.append((path, [f"examples/{path.name}", *args]))


def notes_text(imported: Imported, written: Written) -> str:
    """The notes file: what was converted, what was not, the headers a run against the provider needs."""
    lines = [f"# Import notes: {imported.version_label or imported.name}", "",
             f"Imported from `{imported.source}` into `{written.spec.name}`: "
             f"{len(imported.operations)} interface(s), {len(written.schemas)} schema file(s) in `schemas/`.", ""]
    if imported.headers:
        lines += ["## Headers for a run against the provider", "",
                  "The document's security schemes, as scenario headers filled from the environment "
                  "(the sandbox does not check them):", "", "```yaml", dump_yaml({"headers": imported.headers}).rstrip(),
                  "```", ""]
    if written.examples:
        lines += ["## The document's response examples", ""]
        lines += [f"- `mvptest validate {' '.join(args)}`" for _, args in written.examples]
        lines.append("")
    items = imported.notes.lines()
    lines += ["## Not converted, or converted with a change", ""]
    lines += [f"- {line}" for line in items] if items else ["Everything was converted."]
    return "\n".join(lines) + "\n"
