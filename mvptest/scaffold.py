"""``mvptest init``: a pilot folder (provider spec, consumer requirement, scenario, README) that runs as written."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvptest.errors import InputError
from mvptest.examples import PILOT, examples_root
from mvptest.openapi import Imported, import_openapi
from mvptest.openapi.writer import dump_yaml
from mvptest.spec.loader import display_path

# The market-supervision/tax pilot as it ships (setup.cfg installs these under <prefix>/share/mvptest)
EXAMPLE_PARTS = ("specs/market-supervision", "specs/tax/enterprise-registration.yaml", "specs/samples", PILOT.as_posix())
CONSUMER = "consumer"


@dataclass
class Scaffold:
    """What ``init`` wrote, and the notes of the import it made (if any)."""

    root: Path
    files: list[Path] = field(default_factory=list)
    imported: Imported | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # interface id -> why the scenario leaves it out


def _empty_target(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError("exists and is not an empty folder: init writes a new pilot", where=display_path(dest),
                         hint="give a new folder, or empty this one")


def scaffold_example(dest: Path) -> Scaffold:
    """Copy the market-supervision/tax pilot (the checkout's, or the one installed with mvptest) into ``dest``."""
    _empty_target(dest)
    root = examples_root()
    if root is None:
        raise InputError("the example pilot is not installed with this mvptest", where="share/mvptest",
                         hint="reinstall mvptest (pip install --force-reinstall mvptest) or run from its checkout")
    out = Scaffold(dest)
    for part in EXAMPLE_PARTS:
        src = root / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            out.files += sorted(p for p in (dest / part).rglob("*") if p.is_file())
        elif src.is_file():
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / part)
            out.files.append(dest / part)
    _write(out, dest / "README.md", _example_readme())
    return out


def scaffold_openapi(dest: Path, document: Path, department: str) -> Scaffold:
    """Import ``document`` as the provider's spec and write a requirement, a scenario and a README around it."""
    _empty_target(dest)
    out = Scaffold(dest)
    imported, written = import_openapi(document, department, dest / "specs" / department)
    out.imported = imported
    out.files += [written.spec, written.notes, *written.schemas, *(p for p, _ in written.examples)]
    first = _first_object_response(imported)
    if first is not None:
        _write(out, dest / "specs" / CONSUMER / f"{first[0]}.yaml", requirement_text(department, *first))
    scenario = scenario_text(imported, department, f"../specs/{department}/{written.spec.name}", out.skipped)
    _write(out, dest / "scenarios" / f"pilot-{department}.yaml", scenario)
    _write(out, dest / "README.md", _openapi_readme(imported, department, written.spec.name, first))
    return out


def _write(out: Scaffold, path: Path, text: str) -> None:
    from mvptest.atomic import write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    out.files.append(path)


# ---------------------------------------------------------------------- the consumer's requirement

def _resolve(imported: Imported, schema: Any) -> Any:
    for _ in range(8):
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not isinstance(ref, str) or not ref.startswith("schemas/"):
            return schema
        schema = imported.schemas.get(ref[len("schemas/"):-len(".json")], {})
    return schema


def _first_object_response(imported: Imported) -> tuple[str, dict[str, Any], list[str]] | None:
    """(interface id, its response's properties resolved one level, required) of the first object response."""
    for op in imported.operations:
        schema = _resolve(imported, op.interface["response"].get("schema"))
        props = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(props, dict) and props:
            fields = {name: _resolve(imported, value) for name, value in props.items()}
            return op.interface["id"], fields, [r for r in schema.get("required", []) if r in props]
    return None


def _field(schema: Any, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(schema, dict):
        for key in ("type", "format", "description"):
            if key in schema:
                out[key] = schema[key]
    out["from"] = "/" + name.replace("~", "~0").replace("/", "~1")
    return out


def requirement_text(department: str, interface: str, fields: dict[str, Any], required: list[str]) -> str:
    """A requirement of every field of the provider's response, for the consumer to cut down to what it needs."""
    schema: dict[str, Any] = {"type": "object"}
    if required:
        schema["required"] = required
    schema["properties"] = {name: _field(value, name) for name, value in fields.items()}
    doc = {"kind": "requirement", "id": interface, "department": {"id": CONSUMER, "name": "EDIT: the consuming department"},
           "consumes": f"{department}/{interface}", "usage": {"mode": "realtime", "peak_rps": 10}}
    return ("# The consuming department's requirement: EDIT it before the pilot.\n"
            f"# - department: your department's id and name (and rename the folder specs/{CONSUMER}/ to match)\n"
            "# - usage: how you call it: realtime with your peak calls per second, or {mode: batch, schedule: daily}\n"
            "# - schema: generated with EVERY field of the provider's response; keep only the fields you need,\n"
            "#   give each the type and format YOUR system expects (e.g. format: date-compact for YYYYMMDD);\n"
            "#   from: names the provider's field it is filled from. Then: mvptest compat <provider spec> <this file>\n"
            + dump_yaml(doc) + dump_yaml({"schema": schema}))


# ---------------------------------------------------------------------- the scenario

def _array_value(param: dict[str, Any]) -> str | None:
    """A JSON text for a required array parameter, from the document's own example, default or enum."""
    schema: dict[str, Any] = param["schema"] if isinstance(param.get("schema"), dict) else {}
    items: dict[str, Any] = schema["items"] if isinstance(schema.get("items"), dict) else {}
    for candidate in (param.get("example"), schema.get("default"), *(schema.get("examples") or [])):
        if isinstance(candidate, list) and candidate:
            return json.dumps(candidate, ensure_ascii=False)
    for key in ("default", "example"):
        if key in items:
            return json.dumps([items[key]], ensure_ascii=False)
    if items.get("enum"):
        return json.dumps([items["enum"][0]], ensure_ascii=False)
    if items.get("examples"):
        return json.dumps([items["examples"][0]], ensure_ascii=False)
    return None


def _needs_json(param: dict[str, Any]) -> bool:
    types = param.get("schema", {}).get("type") if isinstance(param.get("schema"), dict) else None
    kinds = set(types) if isinstance(types, list) else {types}
    return bool(param.get("required")) and param.get("in") != "path" and bool(kinds & {"array", "object"})


def scenario_plan(imported: Imported, skipped: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    """The GET interfaces a sandbox run can call as generated, and the data pools they need."""
    ids: list[str] = []
    pools: dict[str, Any] = {}
    for op in imported.operations:
        itf = op.interface
        if itf["method"] != "GET":
            continue
        needs = {n: p for n, p in (itf.get("parameters") or {}).items() if _needs_json(p)}
        values = {n: _array_value(p) for n, p in needs.items()}
        missing = [n for n, v in values.items() if v is None or (n in pools and pools[n]["values"] != [v])]
        if missing:
            skipped[itf["id"]] = f"required parameter {missing[0]!r} has no example value to send"
            continue
        for name, value in values.items():
            pools[name] = {"values": [value]}
        ids.append(itf["id"])
    return ids, pools


def scenario_text(imported: Imported, department: str, spec_rel: str, skipped: dict[str, str]) -> str:
    """Every GET operation against the sandbox, as generated; the provider's headers ready to uncomment."""
    ids, pools = scenario_plan(imported, skipped)
    if not ids:
        ids = [op.interface["id"] for op in imported.operations[:1]]
    doc: dict[str, Any] = {
        "kind": "scenario", "name": f"pilot-{department}",
        "description": f"{imported.version_label or imported.name}: every GET operation, against the sandbox",
        "specs": [spec_rel],
        "interfaces": [{"id": f"{department}/{i}", "weight": 1} for i in ids],
        "target": "sandbox",
        "sandbox": {"seed": 1},
        "load": {"users": 5, "spawn_rate": 5, "duration": "10s", "timeout": "5s"},
        "targets": {"success_rate": 0.999, "latency_ms": {"p95": 100}},
    }
    if pools:
        doc["data"] = pools
    lines = ["# Generated by mvptest init: runs as written against the built-in sandbox:",
             f"#   mvptest run scenarios/pilot-{department}.yaml",
             "# Against the provider: mvptest run scenarios/... --target https://provider.example --allow-host provider.example"]
    if imported.headers:
        lines += ["# The provider's security (from the document) needs these headers; the sandbox does not check them,",
                  "# so they are commented out here (a ${VAR} must be set before any run that names it). Uncomment them",
                  "# and export the variables before a run against the provider:",
                  *["#   " + line for line in dump_yaml({"headers": imported.headers}).splitlines()]]
    if pools:
        lines += ["# data: required array parameters, from the document's examples, as JSON text (what mvptest sends",
                  "# and the sandbox reads today; a provider may expect form style: check its notes file)."]
    for itf_id, why in skipped.items():
        lines.append(f"# not in the scenario: {itf_id} ({why}): add a data pool for it")
    return "\n".join(lines) + "\n" + dump_yaml(doc)


# ---------------------------------------------------------------------- the READMEs

def _openapi_readme(imported: Imported, department: str, spec_name: str,
                    first: tuple[str, dict[str, Any], list[str]] | None) -> str:
    requirement = f"specs/{CONSUMER}/{first[0]}.yaml" if first else ""
    steps = [
        f"# Pilot: {imported.version_label or imported.name}", "",
        f"Scaffolded by `mvptest init` from `{imported.source}` for the providing department `{department}`.", "",
        f"- `specs/{department}/{spec_name}`: the provider's interface spec, one interface per operation "
        f"({len(imported.operations)}), schemas in `specs/{department}/schemas/`;",
        f"  what the import could not convert is in `specs/{department}/{Path(spec_name).stem}.import-notes.md`.",
    ]
    if requirement:
        steps.append(f"- `{requirement}`: the consuming department's requirement. **Edit it**: your department, "
                     "your usage, only the fields you need in your formats.")
    steps += [
        f"- `scenarios/pilot-{department}.yaml`: every GET operation against the built-in sandbox.", "",
        "## Steps", "", "```sh", "mvptest spec check .                      # every file, with file:line problems",
        f"mvptest sandbox specs/{department}/{spec_name} --port 8000   # the provider, simulated",
        f"mvptest run scenarios/pilot-{department}.yaml                 # the pilot against the sandbox",
    ]
    if requirement:
        steps.append(f"mvptest compat specs/{department}/{spec_name} {requirement} --sandbox")
    steps += [f"mvptest run scenarios/pilot-{department}.yaml --target https://provider.example "
              "--allow-host provider.example", "```", "",
              "Exit codes: 0 every target met, 1 a target missed, 2 bad input, 3 unreachable.", ""]
    return "\n".join(steps)


def _example_readme() -> str:
    return "\n".join([
        "# The market-supervision / tax pilot", "",
        "The market-supervision bureau (市场监督管理局) provides enterprise registration data; the tax bureau",
        "(税务局) consumes it. The pilot measures the call success rate (>= 99.9 %) and latency (p95 <= 100 ms).", "",
        "```sh", "mvptest spec check specs/",
        "mvptest run scenarios/pilot-enterprise-registration.yaml",
        "mvptest compat specs/market-supervision/enterprise-registration.yaml specs/tax/enterprise-registration.yaml",
        "mvptest validate specs/samples/tax-enterprise-sample.csv --spec specs/tax/enterprise-registration.yaml",
        "```", ""])
