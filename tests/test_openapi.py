"""``mvptest import openapi`` on real OpenAPI 3.0/3.1 and Swagger 2.0 documents: converted, checked, served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mvptest.openapi import convert_document, import_openapi

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "tests" / "data" / "openapi"

# document -> (interfaces, GET interfaces, schema files); exact by construction (every operation of a method an
# interface spec runs: moby's 108 operations are all GET/POST/PUT/DELETE/HEAD)
VENDORED = {
    "oai/v2.0/yaml/petstore.yaml": (3, 2, 2),
    "oai/v2.0/yaml/petstore-separate/spec/swagger.yaml": (4, 2, 2),
    "oai/v3.0/petstore-expanded.yaml": (4, 2, 2),
    "oai/v3.0/uspto.yaml": (3, 2, 1),
    "oai/v3.0/api-with-examples.json": (2, 2, 0),
    "oai/v3.1/non-oauth-scopes.json": (1, 1, 0),
    "moby/swagger.yaml": (108, 44, 149),
    "springfox/enterprise-api.json": (5, 2, 5),
}


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "MVPTEST_DEBUG"}
    out.update({"NO_COLOR": "1", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"})
    return out


def mvptest(*args: Any, cwd: Path = ROOT, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mvptest", *map(str, args)], cwd=cwd, env=env(),
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout)


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def spec_of(out: Path) -> dict[str, Any]:
    (path,) = out.glob("*.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("document", sorted(VENDORED))
def test_vendored_document_imports(document: str, tmp_path: Path) -> None:
    interfaces, _, schemas = VENDORED[document]
    out = tmp_path / "specs" / "demo"
    proc = mvptest("import", "openapi", DOCS / document, "--department", "demo", "--out", out)
    assert proc.returncode == 0, describe(proc)
    spec = spec_of(out)
    assert spec["kind"] == "interface" and spec["department"] == {"id": "demo"}
    assert len(spec["interfaces"]) == interfaces
    assert len(list((out / "schemas").glob("*.json"))) == schemas
    notes = next(out.glob("*.import-notes.md")).read_text(encoding="utf-8")
    for line in proc.stderr.splitlines():  # what the console lists, the notes file lists too
        if line.startswith("  - "):
            assert line[4:] in notes, line
    # spec check, sandbox and run of every vendored document: tests/test_init.py (init imports it the same way)


# (document, examples files written): each validates against the imported schema
EXAMPLES = {"oai/v3.0/uspto.yaml": 1, "oai/v3.0/api-with-examples.json": 2, "moby/swagger.yaml": 7,
            "springfox/enterprise-api.json": 1}


@pytest.mark.parametrize("document", sorted(EXAMPLES))
def test_documents_own_response_examples_validate(document: str, tmp_path: Path) -> None:
    imported, written = import_openapi(DOCS / document, "demo", tmp_path)
    assert len(written.examples) == EXAMPLES[document]
    for _path, args in written.examples:
        proc = mvptest("validate", *args, cwd=tmp_path)
        assert proc.returncode == 0, describe(proc)
        assert " 0 invalid" in proc.stdout + proc.stderr, describe(proc)
    if document == "moby/swagger.yaml":  # an array example with an inline items schema is listed, not dropped
        assert any("image-search" in line and "inline schema" in line for line in imported.notes.lines())


def test_springfox_swagger2_conversion(tmp_path: Path) -> None:
    imported, written = import_openapi(DOCS / "springfox/enterprise-api.json", "market-supervision", tmp_path)
    by_id = {op.interface["id"]: op.interface for op in imported.operations}
    assert list(by_id) == ["get-enterprise-using-get", "delete-enterprise-using-delete", "search-using-get",
                           "create-using-post", "upload-using-post"]
    get = by_id["get-enterprise-using-get"]
    assert get["title"] == "企业注册信息查询" and get["version"] == "2.3.1"
    assert get["path"] == "/gov-data/api/v1/enterprises/{uscc}"  # basePath kept
    assert get["parameters"]["uscc"] == {"in": "path", "required": True, "description": "统一社会信用代码",
                                         "schema": {"type": "string"}, "example": "91110000600037341L"}
    assert get["response"] == {"status": 200, "content_type": "application/json;charset=UTF-8",
                               "schema": {"$ref": "schemas/Result_EnterpriseVO.json"}}
    # Result«EnterpriseVO» and friends: valid file names, refs between them relative to schemas/
    assert sorted(p.name for p in written.schemas) == ["EnterpriseVO.json", "PageInfo_EnterpriseVO.json",
                                                       "Result_EnterpriseVO.json", "Result_PageInfo_EnterpriseVO.json",
                                                       "Result_string.json"]
    result = json.loads((tmp_path / "schemas" / "Result_EnterpriseVO.json").read_text(encoding="utf-8"))
    assert result["properties"]["data"] == {"$ref": "EnterpriseVO.json"}
    vo = imported.schemas["EnterpriseVO"]["properties"]
    assert vo["legalRepresentative"]["type"] == ["string", "null"]  # x-nullable
    assert vo["registeredCapital"] == {"type": "number", "x-openapi-format": "double", "exclusiveMinimum": 0,
                                       "description": "注册资本（万元）"}  # boolean exclusiveMinimum -> number
    assert vo["employees"] == {"type": "integer", "x-openapi-format": "int32", "minimum": 0}
    assert vo["establishedDate"] == {"type": "string", "format": "date", "examples": ["2019-03-12"]}
    assert vo["id"]["readOnly"] is True
    delete = by_id["delete-enterprise-using-delete"]
    assert delete["response"] == {"status": 204, "schema": {}}
    assert delete["description"].endswith("Success: 204 without a body.")
    search = by_id["search-using-get"]["parameters"]
    assert search["status"]["schema"] == {"type": "array", "items": {"type": "string", "enum": ["存续", "注销", "吊销"],
                                                                      "default": "存续"}}
    assert search["pageNum"]["schema"] == {"type": "integer", "x-openapi-format": "int32", "default": 1, "minimum": 1}
    assert by_id["create-using-post"]["request"] == {"content_type": "application/json",
                                                     "schema": {"$ref": "schemas/EnterpriseVO.json"}}
    upload = by_id["upload-using-post"]["request"]
    assert upload["content_type"] == "multipart/form-data" and upload["schema"]["required"] == ["file"]
    assert upload["schema"]["properties"]["file"]["contentMediaType"] == "application/octet-stream"
    assert imported.headers == {"X-Api-Key": "${API_KEY}"}
    lines = imported.notes.lines()
    assert any("'status': collectionFormat multi not converted" in line for line in lines)
    assert any("Result«EnterpriseVO»" in line and "Result_EnterpriseVO.json" in line for line in lines)


def test_cross_file_refs_are_bundled() -> None:
    imported = convert_document(DOCS / "oai/v2.0/yaml/petstore-separate/spec/swagger.yaml", "pets")
    assert sorted(imported.schemas) == ["NewPet", "Pet"]
    assert imported.schemas["NewPet"]["allOf"][0] == {"$ref": "schemas/Pet.json"}
    find = imported.operations[0].interface
    assert find["path"] == "/api/pets"
    assert find["parameters"]["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert find["parameters"]["limit"]["schema"] == {"type": "integer", "x-openapi-format": "int32"}
    assert find["response"]["schema"] == {"type": "array", "items": {"$ref": "schemas/Pet.json"}}


def test_openapi30_server_path_and_form_body() -> None:
    imported = convert_document(DOCS / "oai/v3.0/uspto.yaml", "uspto")
    by_id = {op.interface["id"]: op.interface for op in imported.operations}
    assert by_id["list-data-sets"]["path"] == "/ds-api/"  # the first server's path, variables at their defaults
    search = by_id["perform-search"]
    assert search["path"] == "/ds-api/{dataset}/{version}/records"
    assert search["request"]["content_type"] == "application/x-www-form-urlencoded"
    assert search["request"]["schema"]["required"] == ["criteria"]


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


SMALL_30 = {
    "openapi": "3.0.3", "info": {"title": "Small", "version": "1"},
    "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
                   "schemas": {"Base": {"type": "object", "discriminator": {"propertyName": "kind"},
                                        "properties": {"kind": {"type": "string"}}}}},
    "security": [{"bearerAuth": []}],
    "paths": {"/items/{id}": {"get": {
        "operationId": "getItem",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int64"}},
                       {"name": "session", "in": "cookie", "schema": {"type": "string"}}],
        "responses": {"2XX": {"description": "ok", "content": {"application/problem+json; charset=utf-8": {"schema": {
            "type": "object", "required": ["name"],
            "properties": {
                "name": {"type": "string", "nullable": True},
                "grade": {"type": "string", "enum": ["a", "b"], "nullable": True},
                "parent": {"allOf": [{"$ref": "#/components/schemas/Base"}], "nullable": True},
                "ratio": {"type": "number", "maximum": 1, "exclusiveMaximum": True},
                "blob": {"type": "string", "format": "byte"},
                "secret": {"type": "string", "format": "password", "writeOnly": True},
                "remote": {"$ref": "https://schemas.example/remote.json"}}}}}}},
    }}},
}


def test_openapi30_schema_keywords_become_2020_12(tmp_path: Path) -> None:
    doc = _write(tmp_path / "small.json", SMALL_30)
    imported, _ = import_openapi(doc, "demo", tmp_path / "out")
    itf = imported.operations[0].interface
    assert itf["response"]["status"] == 200 and itf["response"]["content_type"] == "application/problem+json; charset=utf-8"
    assert itf["parameters"] == {"id": {"in": "path", "required": True,
                                        "schema": {"type": "integer", "x-openapi-format": "int64"}}}
    schema = itf["response"]["schema"]
    props = schema["properties"]
    assert props["grade"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert props["ratio"] == {"type": "number", "exclusiveMaximum": 1}
    assert props["blob"]["contentEncoding"] == "base64" and props["secret"]["writeOnly"] is True
    assert props["remote"] == {"x-openapi-unresolved-ref": "https://schemas.example/remote.json"}
    assert imported.schemas["Base"]["discriminator"] == {"propertyName": "kind"}
    assert imported.headers == {"Authorization": "Bearer ${BEARER_AUTH_TOKEN}"}
    validator = jsonschema.Draft202012Validator({**schema, "properties": {k: v for k, v in props.items()
                                                                          if k != "parent"}})
    assert validator.is_valid({"name": None, "grade": None, "ratio": 0.5})
    assert not validator.is_valid({"name": "x", "ratio": 1})  # exclusive: 1 itself is out
    lines = "\n".join(imported.notes.lines())
    assert "remote $ref https://schemas.example/remote.json not fetched" in lines
    assert "in: cookie parameters are not part of an interface spec" in lines
    assert "response '2XX' written as status 200" in lines
    check = mvptest("spec", "check", tmp_path / "out")
    assert check.returncode == 0, describe(check)


def test_bad_documents_exit_2_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.0\ninfo:\n  title: x\n paths: {}\n", encoding="utf-8")
    not_openapi = _write(tmp_path / "package.json", {"name": "left-pad", "version": "1.0.0"})
    missing_ref = _write(tmp_path / "missing.json", {"swagger": "2.0", "info": {"title": "m", "version": "1"},
                                                     "paths": {"/a": {"get": {"responses": {"200": {
                                                         "description": "ok", "schema": {"$ref": "gone.json"}}}}}}})
    cases = [
        (broken, "broken.yaml:4"),
        (not_openapi, "is not an OpenAPI or Swagger document"),
        (ROOT / "specs/market-supervision/enterprise-registration.yaml", "is an mvptest spec already"),
        (DOCS / "oai/v3.1/webhook-example.json", "webhook(s) not converted"),
        (missing_ref, "gone.json, which does not exist"),
    ]
    for document, expected in cases:
        proc = mvptest("import", "openapi", document, "--department", "demo", "--out", tmp_path / "out")
        assert proc.returncode == 2, describe(proc)
        assert expected in proc.stderr and "Traceback" not in proc.stderr, describe(proc)
    proc = mvptest("import", "openapi", DOCS / "oai/v3.0/uspto.yaml", "--department", "Tax Bureau")
    assert proc.returncode == 2 and "--department 'Tax Bureau'" in proc.stderr, describe(proc)


def test_sandbox_serves_the_imported_spec(tmp_path: Path) -> None:
    _, written = import_openapi(DOCS / "springfox/enterprise-api.json", "market-supervision", tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "mvptest", "sandbox", written.spec, "--port", "0"], cwd=ROOT,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        url = line.split()[-1] + "/gov-data/api/v1/enterprises/91110000600037341L"
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
            assert response.status == 200
            body = response.read()
        record = tmp_path / "answer.json"
        record.write_bytes(body)
        check = mvptest("validate", record, "--spec", written.spec, "--interface", "get-enterprise-using-get")
        assert check.returncode == 0, describe(check)
        assert set(json.loads(body)) <= {"code", "msg", "data"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
