"""Load specs, requirements and scenarios from files and folders, collecting every problem with its location."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mvptest import formats
from mvptest.errors import InputError, Location, Problem
from mvptest.spec import meta
from mvptest.spec.adapters import adapter_problems
from mvptest.spec.latency import latency_problem
from mvptest.spec.loader import SPEC_SUFFIXES, Document, display_path, load_document
from mvptest.spec.model import Department, Interface, Parameter, Requirement, Scenario, SpecSet, Targets
from mvptest.spec.pointer import child, join
from mvptest.spec.pools import pool_file_problem
from mvptest.spec.reach import unreachable
from mvptest.spec.refs import BundledSchema, bundle_schema
from mvptest.spec.shape import structure_problems as _structure_problems
from mvptest.spec.shape import suggest as _suggest
from mvptest.spec.validator import compile_error

_SKIP_DIRS = {".git", "__pycache__", "node_modules", ".venv", "venv"}


_JSON_SPEC_HEAD = re.compile(rb'^(?:\xef\xbb\xbf)?\s*\{.*?"kind"\s*:', re.S)


def iter_spec_files(path: Path) -> Iterable[Path]:
    """The spec-like files under a folder (or the file itself). JSON files that are not an object with a "kind"
    in their first 64 KiB (schemas, data exports) are skipped unparsed, as are files over the size limit."""
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if (p.suffix.lower() in SPEC_SUFFIXES and p.is_file() and not (set(p.relative_to(path).parts[:-1]) & _SKIP_DIRS)
                    and (p.suffix.lower() != ".json" or _json_spec_head(p))):
                yield p
    else:
        yield path


def _json_spec_head(path: Path) -> bool:
    from mvptest.spec.loader import max_document_bytes

    try:
        if path.stat().st_size > max_document_bytes():
            return False
        with open(path, "rb") as f:
            return bool(_JSON_SPEC_HEAD.match(f.read(_PEEK_BYTES)))
    except OSError:
        return False


_TEMPLATE_PART = re.compile(r"\{([^{}]*)\}")


def _template_problems(doc: Document, base: str, template: str, params: dict[str, Any]) -> list[Problem]:
    """Every {name} in a path template must be a parameter declared with in: path, or the run sends it literally."""
    where = doc.locate(f"{base}/path")
    problems = []
    rest = _TEMPLATE_PART.sub("", template)
    if "{" in rest or "}" in rest:
        problems.append(Problem(where, f"path {template!r} has an unmatched brace", "write parameters as {name}"))
    for name in dict.fromkeys(_TEMPLATE_PART.findall(template)):
        declared = params.get(name)
        if not name.strip():
            problems.append(Problem(where, f"path {template!r} has an empty {{}}", "name the parameter: {uscc}"))
        elif not isinstance(declared, dict):
            guess = _suggest(name, [k for k, v in params.items() if isinstance(v, dict) and v.get("in") == "path"])
            problems.append(Problem(
                where, f"path {template!r} names {{{name}}}, which is not a declared parameter"
                + (f"; did you mean {{{guess}}}?" if guess else "")
                + f"; the run would send the text {{{name}}} itself",
                f"declare it under parameters: {name}: {{in: path, schema: {{type: string}}}}"))
        elif declared.get("in") != "path":
            problems.append(Problem(
                doc.locate(f"{base}/parameters/{name}/in"),
                f"parameter {name!r} is in the path {template!r} but declared in: {declared.get('in')}",
                "declare it with in: path, or take {" + name + "} out of the path"))
    return problems


MAX_SCHEMA_DEPTH = 100  # JSON levels inside one schema; meta-schema validation takes ~10 frames per two levels


def _too_deep(schema: Any) -> str | None:
    """The pointer of the first value nested deeper than MAX_SCHEMA_DEPTH in a schema, or None (no recursion)."""
    stack: list[tuple[Any, str, int]] = [(schema, "", 0)]
    while stack:
        node, ptr, depth = stack.pop()
        if depth > MAX_SCHEMA_DEPTH:
            return ptr
        if isinstance(node, dict):
            stack.extend((v, child(ptr, k), depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{ptr}/{i}", depth + 1) for i, v in enumerate(node))
    return None


def _walk_schema_formats(node: Any, pointer: str) -> Iterable[tuple[str, str]]:
    if isinstance(node, dict):
        fmt = node.get("format")
        if isinstance(fmt, str):
            yield pointer + "/format", fmt
        for key, value in node.items():
            if key in ("const", "enum", "examples", "default"):
                continue
            yield from _walk_schema_formats(value, child(pointer, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk_schema_formats(item, f"{pointer}/{i}")


class _Checker:
    def __init__(self, spec_root: Path | None) -> None:
        self.spec_root = spec_root
        self.result = SpecSet()
        self.kindless: dict[Path, Problem] = {}
        self.referenced: set[Path] = set()
        self.from_refs: list[tuple[str, str, Location]] = []  # (consumes, from: pointer, where it is written)

    # -- schemas ---------------------------------------------------------------------------------
    def schema(self, doc: Document, pointer: str, schema: Any) -> BundledSchema | None:
        """Bundle, lint and compile one schema written at ``pointer`` in ``doc``."""
        from jsonschema import Draft202012Validator

        if not isinstance(schema, (dict, bool)):
            return None  # every schema: key is typed object-or-boolean in its kind's shape, which said so once
        root = self.spec_root or doc.path.resolve().parent
        bundled, problems = bundle_schema(schema, document=doc, pointer=pointer, root=root)
        from urllib.parse import unquote as _unquote
        from urllib.parse import urlsplit as _urlsplit

        self.referenced.update(Path(_unquote(_urlsplit(u).path)).resolve() for u in bundled.resources if u.startswith("file:"))
        ok = not problems
        self.result.problems.extend(problems)
        # Every resource against the 2020-12 meta-schema and our format names, located in its own file.
        resources: list[tuple[Document | None, str, Any]] = [(doc, pointer, schema)]
        for uri, data in bundled.resources.items():
            if uri != bundled.root_uri:
                from urllib.parse import unquote, urlsplit

                path = Path(unquote(urlsplit(uri).path))
                try:
                    resources.append((load_document(path), "", data))
                except InputError:
                    continue
        known = formats.known_names()
        for rdoc, rptr, data in resources:
            assert rdoc is not None
            deep = _too_deep(data)
            if deep is not None:
                ok = False
                self.result.problems.append(Problem(
                    rdoc.locate(rptr + deep), f"schema is nested more than {MAX_SCHEMA_DEPTH} levels deep",
                    "a schema needs a few levels of objects and arrays; move shared parts to $defs"))
                continue  # validating it against the meta-schema would exhaust Python's stack
            for error in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(data):
                ok = False
                where = rdoc.locate(rptr + join(error.absolute_path))
                self.result.problems.append(
                    Problem(where, f"not a valid JSON Schema (draft 2020-12): {error.message}",
                            "see json-schema.org/draft/2020-12")
                )
            for fptr, name in _walk_schema_formats(data, rptr):
                if name not in known:
                    ok = False
                    guess = _suggest(name, known)
                    self.result.problems.append(
                        Problem(
                            rdoc.locate(fptr),
                            f"unknown format {name!r}" + (f"; did you mean {guess!r}?" if guess else ""),
                            "known formats: " + ", ".join(sorted(known)),
                        )
                    )
        if ok:
            message = compile_error(bundled)
            if message:
                ok = False
                self.result.problems.append(Problem(doc.locate(pointer), f"schema does not compile: {message}"))
        return bundled if ok else None

    # -- documents -------------------------------------------------------------------------------
    def file(self, path: Path, *, explicit: bool) -> None:
        try:
            doc = load_document(path)
        except InputError as exc:
            self.result.problems.append(Problem(exc.where or Location(display_path(path)), exc.message, exc.hint))
            return
        if isinstance(doc.data, dict) and "kind" in doc.data:
            self.result.problems.extend(doc.problems)  # duplicate keys; a kindless schema file reports its own
        data = doc.data
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind is None:
            if path.suffix.lower() == ".json" and not explicit:
                return  # a schema or a data file beside the specs
            if not isinstance(data, dict) and explicit:
                what = {list: "a list", str: "a single text value", bool: "a single true/false"}.get(type(data), "a single value")
                self.result.problems.append(Problem(
                    doc.locate(), f"holds {what} at the top level, not a mapping with a 'kind'",
                    "start the file with kind: interface, kind: requirement, kind: scenario or kind: adapter"))
                return
            keys = list(data) if isinstance(data, dict) else []
            guess = next((k for k in keys if _suggest(k, ["kind"])), None)
            self.kindless[path.resolve()] = (
                Problem(
                    doc.locate(),
                    "has no top-level 'kind'" + (f"; did you mean 'kind' instead of {guess!r}?" if guess else ""),
                    "start the file with kind: interface, kind: requirement, kind: scenario or kind: adapter",
                )
            )  # reported at the end, unless a $ref shows the file is a schema
            return
        if not isinstance(kind, str) or kind not in meta.BY_KIND:
            guess = _suggest(str(kind), meta.BY_KIND)
            self.result.problems.append(
                Problem(
                    doc.locate("/kind"),
                    f"unknown kind {kind!r}" + (f"; did you mean {guess!r}?" if guess else ""),
                    "kind is one of interface, requirement, scenario, adapter",
                )
            )
            return
        self.result.files.append(path)
        if kind == "adapter":
            self.result.problems.extend(adapter_problems(doc))
            return
        structural = _structure_problems(doc, meta.BY_KIND[kind])
        self.result.problems.extend(structural)
        if kind == "interface":
            self._interface_doc(doc, valid=not structural)
        elif kind == "requirement":
            self._requirement_doc(doc, valid=not structural)
        elif kind == "scenario" and not structural:
            self._scenario_doc(doc)

    def _interface_doc(self, doc: Document, *, valid: bool) -> None:
        data = doc.data
        dept_raw = data.get("department") if isinstance(data.get("department"), dict) else {}
        department = Department(str(dept_raw.get("id", "")), str(dept_raw.get("name", "")))
        items = data.get("interfaces") if isinstance(data.get("interfaces"), list) else []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            base = f"/interfaces/{i}"
            response = _mapping(item.get("response"))
            response_schema = (
                self.schema(doc, base + "/response/schema", response["schema"]) if "schema" in response else None
            )
            request = _mapping(item.get("request"))
            request_schema = self.schema(doc, base + "/request/schema", request["schema"]) if "schema" in request else None
            params = []
            raw_params = _mapping(item.get("parameters"))
            for name, p in raw_params.items():
                if not isinstance(p, dict):
                    continue
                pschema = self.schema(doc, f"{base}/parameters/{name}/schema", p["schema"]) if "schema" in p else None
                params.append(Parameter(name, str(p.get("in", "query")), pschema, bool(p.get("required", p.get("in") == "path"))))
            path_template = str(item.get("path", ""))
            for name, p in raw_params.items():
                if isinstance(p, dict) and p.get("in") == "path" and "{" + name + "}" not in path_template:
                    self.result.problems.append(
                        Problem(doc.locate(f"{base}/parameters/{name}"),
                                f"path parameter {name!r} does not appear in path {path_template!r}",
                                f"add {{{name}}} to the path or change 'in'")
                    )
            self.result.problems.extend(_template_problems(doc, base, path_template, raw_params))
            if not valid or response_schema is None:
                continue
            self.result.interfaces.append(
                Interface(
                    department=department,
                    id=item["id"],
                    title=str(item.get("title", "")),
                    version=str(item.get("version", "")),
                    method=item["method"],
                    path=path_template,
                    parameters=params,
                    response_status=int(response.get("status", 200)),
                    response_schema=response_schema,
                    request_schema=request_schema,
                    sensitive=tuple(item.get("sensitive", ())),
                    targets=Targets.merged(data.get("targets"), item.get("targets")),
                    format_options=_merge_format_options(data.get("formats"), item.get("formats")),
                    source=doc.locate(base),
                )
            )

    def _requirement_doc(self, doc: Document, *, valid: bool) -> None:
        data = doc.data
        schema = self.schema(doc, "/schema", data["schema"]) if "schema" in data else None
        if "schema" in data:
            self._from_problems(doc, data["schema"], "/schema")
        if not valid or schema is None:
            return
        consumes = data["consumes"]
        self.result.requirements.append(
            Requirement(
                department=Department(data["department"]["id"], data["department"].get("name", "")),
                id=data.get("id", consumes.split("/", 1)[1]),
                title=str(data.get("title", "")),
                consumes=consumes,
                usage=dict(data.get("usage") or {}),
                schema=schema,
                sensitive=tuple(data.get("sensitive", ())),
                format_options=_merge_format_options(data.get("formats")),
                targets=data.get("targets"),
                source=doc.locate(),
                consumes_at=doc.locate("/consumes"),
            )
        )

    def _from_problems(self, doc: Document, node: Any, pointer: str) -> None:
        """``from:`` (where a requirement field is read at the provider) must be a JSON Pointer."""
        if isinstance(node, dict):
            if "from" in node and isinstance(node.get("properties", node.get("type", node.get("title"))), (dict, str, list)):
                value = node["from"]
                if not isinstance(value, str) or not value.startswith("/"):
                    self.result.problems.append(Problem(
                        doc.locate(pointer + "/from"), f"from: {value!r} is not a JSON Pointer to a provider field",
                        "write it as from: /providerField (nested: /owner/name)"))
                elif isinstance(doc.data, dict) and isinstance(doc.data.get("consumes"), str):
                    self.from_refs.append((doc.data["consumes"], value, doc.locate(pointer + "/from")))
            for key, value in node.items():
                if key not in ("enum", "const", "examples", "default", "x-code-table"):
                    self._from_problems(doc, value, child(pointer, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._from_problems(doc, value, f"{pointer}/{i}")

    def _scenario_doc(self, doc: Document) -> None:
        data = doc.data
        spec_paths = []
        for i, rel in enumerate(data["specs"]):
            p = (doc.path.parent / rel).resolve()
            if not p.exists():
                self.result.problems.append(Problem(doc.locate(f"/specs/{i}"),
                                                    f"spec {rel!r} does not exist (resolved to {display_path(p)})",
                                                    "paths resolve from the scenario's folder"))
            spec_paths.append(p)
        for i, rel in enumerate(data.get("consumers") or []):
            p = (doc.path.parent / rel).resolve()
            if not p.is_file():
                self.result.problems.append(Problem(doc.locate(f"/consumers/{i}"), f"consumer requirement {rel!r} does not "
                                                    f"exist (resolved to {display_path(p)})",
                                                    "list requirement specs (kind: requirement), paths from the scenario's "
                                                    "folder"))
        for name, pool in (data.get("data") or {}).items():
            if isinstance(pool, dict) and isinstance(pool.get("file"), str):
                problem = pool_file_problem(doc.path.parent / pool["file"], str(pool.get("column", name)), name)
                if problem:
                    self.result.problems.append(Problem(doc.locate(join(["data", name, "file"])), *problem))
        latency = latency_problem(doc)
        if latency is not None:
            self.result.problems.append(latency)
        self.result.scenarios.append(Scenario(data["name"], doc.path, data, spec_paths, doc.locate(), doc))

    # -- across files ----------------------------------------------------------------------------
    def cross_checks(self, *, discover_from: list[Path]) -> None:
        seen: dict[str, Interface] = {}
        for itf in self.result.interfaces:
            if itf.key in seen:
                self.result.problems.append(
                    Problem(itf.source, f"duplicate interface id {itf.key!r} (also at {seen[itf.key].source})",
                            "give each interface of a department its own id")
                )
            else:
                seen[itf.key] = itf
        discovered: dict[str, list[Path]] | None = None
        for req in self.result.requirements:
            if req.consumes in seen:
                continue
            if discovered is None:
                discovered = _discover_provided([Path(r.source.path) for r in self.result.requirements], discover_from)
            if req.consumes not in discovered:
                guess = _suggest(req.consumes, set(seen) | set(discovered))
                self.result.problems.append(
                    Problem(
                        req.consumes_at,
                        f"consumes {req.consumes!r}, which no interface spec provides"
                        + (f"; did you mean {guess!r}?" if guess else ""),
                        "name it as <department id>/<interface id> of an interface spec",
                    )
                )
        self._from_checks(seen, discovered or {})
        for scenario in self.result.scenarios:
            names = {p.get("id") if isinstance(p, dict) else p for p in scenario.data.get("interfaces", [])}
            if not names:
                continue
            available: set[str] = set()
            for sp in scenario.spec_paths:
                if sp.exists():
                    sub = load_specs([sp], spec_root=self.spec_root)
                    available |= {i.id for i in sub.interfaces} | {i.key for i in sub.interfaces}
            for j, name in enumerate(scenario.data.get("interfaces", [])):
                ident = name.get("id") if isinstance(name, dict) else name
                if available and ident not in available:
                    self.result.problems.append(
                        Problem(scenario.document.locate(f"/interfaces/{j}"),
                                f"interfaces[{j}]: {ident!r} is in none of the scenario's specs",
                                "available: " + ", ".join(sorted(available)))
                    )


    def _from_checks(self, loaded: dict[str, Interface], discovered: dict[str, list[Path]]) -> None:
        """A requirement's from: must name a field of the provider's response (when one provider is found)."""
        providers: dict[str, Interface | None] = dict(loaded)
        for consumes, value, where in self.from_refs:
            if consumes not in providers:
                specs = set(discovered.get(consumes, []))  # two specs providing it: which one is meant is unknown
                sub = load_specs([specs.pop()], spec_root=self.spec_root) if len(specs) == 1 else None
                providers[consumes] = sub.interface(consumes) if sub is not None else None
            provider = providers[consumes]
            if provider is None:
                continue
            why = unreachable(provider.response_schema, value)
            if why is None:
                continue
            fields = dict(provider.response_schema.fields(max_depth=32))
            guess = _suggest(value, fields)
            self.result.problems.append(Problem(
                where, f"from: {value} names no field of {consumes}'s response" + (f" ({why})" if why else "")
                + (f"; did you mean {guess}?" if guess else ""),
                "fields it serves: " + ", ".join(p for p in list(fields)[:12]) + (", ..." if len(fields) > 12 else "")))


_DISCOVERY_SKIP = _SKIP_DIRS | {"samples", "sample", "data"}
_INTERFACE_KIND = re.compile(rb"""(?:^|[{,\s])(?:\xef\xbb\xbf)?["']?kind["']?\s*:\s*["']?interface\b""")


def looks_like_interface_spec(path: Path) -> bool:
    """A regular file no larger than the spec limit whose first 64 KiB declare kind: interface (never parsed)."""
    from mvptest.spec.loader import max_document_bytes

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_document_bytes():
            return False
        with open(path, "rb") as f:
            return bool(_INTERFACE_KIND.search(f.read(_PEEK_BYTES)))
    except OSError:
        return False


def _discover_provided(sources: list[Path], roots: list[Path]) -> dict[str, list[Path]]:
    """Interface keys provided by specs near the requirements (each one's parent tree) and in the checked folders.

    Only files with a spec suffix whose first 64 KiB say kind: interface are parsed; samples/ and data/ folders,
    files over the spec size limit, pipes and devices are never opened: a data export beside the specs costs nothing.
    """
    found: dict[str, list[Path]] = {}
    candidates = dict.fromkeys([*(s.resolve().parent.parent for s in sources), *(r.resolve() for r in roots)])
    for root in candidates:
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _DISCOVERY_SKIP and not d.startswith("."))
            for name in sorted(files):
                p = Path(folder) / name
                if p.suffix.lower() not in SPEC_SUFFIXES or not looks_like_interface_spec(p):
                    continue
                try:
                    data = load_document(p).data
                except InputError:
                    continue
                if isinstance(data, dict) and data.get("kind") == "interface" and isinstance(data.get("department"), dict):
                    for item in data.get("interfaces") or []:
                        if isinstance(item, dict) and isinstance(item.get("id"), str):
                            found.setdefault(f"{data['department'].get('id')}/{item['id']}", []).append(p)
    return found


_PEEK_BYTES = 64 * 1024


def _mapping(value: Any) -> dict[str, Any]:
    """A value the kind's shape says is a mapping, or an empty one when it is not (the shape reported it)."""
    return value if isinstance(value, dict) else {}


def _merge_format_options(*layers: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for layer in layers:
        for name, codes in (layer or {}).items():
            out.setdefault(name, {}).update(codes)
    return out


def load_specs(paths: Sequence[Path], *, spec_root: Path | None = None) -> SpecSet:
    """Load every spec, requirement and scenario under ``paths``; problems are collected, never raised."""
    checker = _Checker(spec_root)
    dirs = []
    for path in paths:
        if not path.exists():
            checker.result.problems.append(Problem(Location(display_path(path)), "no such file or folder"))
            continue
        if path.is_dir():
            dirs.append(path)
        for f in iter_spec_files(path):
            checker.file(f, explicit=not path.is_dir())
    checker.cross_checks(discover_from=dirs)
    checker.result.problems.extend(p for path, p in checker.kindless.items() if path not in checker.referenced)
    # a schema file shared by two interfaces reports its problem once
    checker.result.problems = list(dict.fromkeys(checker.result.problems))
    checker.result.problems.sort(key=lambda p: (p.where.path, p.where.line or 0, p.where.column or 0))
    return checker.result
