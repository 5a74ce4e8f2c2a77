"""An operation's request body and success response, with their media types and examples."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mvptest.openapi.operations import OperationConverter
    from mvptest.openapi.params import ParameterWriter

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
NO_BODY = (204, 205, 304)


def is_json(media: str) -> bool:
    """``application/json``, ``application/problem+json``, with parameters (``;charset=UTF-8``) or not."""
    base = media.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json") or base == "*/*"


def pick_media(types: list[str]) -> str | None:
    """JSON first (as written, parameters kept), then a form, then the first."""
    for test in (is_json, lambda m: m.split(";", 1)[0].strip().lower() in _FORMS):
        for media in types:
            if test(media):
                return media
    return types[0] if types else None


def request_body(conv: OperationConverter, op: dict[str, Any], params: ParameterWriter, base: Path,
                 where: str) -> dict[str, Any] | None:
    """``request: {content_type, schema}`` from a 3.x requestBody or Swagger 2.0 body / formData parameters."""
    if conv.version == 2:
        return _swagger_request(conv, op, params, base, where)
    body, body_base = conv.source.deref(op.get("requestBody"), base)
    if not isinstance(body, dict):
        if op.get("requestBody") is not None:
            conv.notes.add(where, "requestBody: a remote $ref, not fetched: not converted")
        return None
    content = body.get("content") or {}
    media = pick_media(list(content))
    if media is None:
        return None
    _others(conv, where, "request", media, list(content))
    schema = (content[media] or {}).get("schema")
    return {"content_type": media, "schema": conv.schemas.convert(schema if schema is not None else {},
                                                                  body_base, f"{where} request")}


def _swagger_request(conv: OperationConverter, op: dict[str, Any], params: ParameterWriter, base: Path,
                     where: str) -> dict[str, Any] | None:
    consumes = op.get("consumes") or conv.consumes
    if params.body is not None:
        media = pick_media([m for m in consumes if m.split(";")[0].strip() not in _FORMS]) or "application/json"
        return {"content_type": media,
                "schema": conv.schemas.convert(params.body.get("schema") or {}, base, f"{where} request")}
    if params.form:
        files = any(isinstance(s, dict) and s.get("contentMediaType") for s in params.form.values())
        form = next((m for m in consumes if m.split(";")[0].strip() in _FORMS), None)
        schema: dict[str, Any] = {"type": "object", "properties": params.form}
        if params.form_required:
            schema["required"] = params.form_required
        return {"content_type": form or ("multipart/form-data" if files else "application/x-www-form-urlencoded"),
                "schema": schema}
    return None


def success_status(responses: dict[str, Any]) -> str | None:
    """The first 2xx status (lowest), else ``2XX``, else ``default``."""
    codes = sorted(k for k in map(str, responses) if re.fullmatch(r"2\d\d", k))
    if codes:
        return codes[0]
    return next((k for k in ("2XX", "2xx", "default") if k in responses), None)


def response_part(conv: OperationConverter, op: dict[str, Any], method: str, base: Path,
                  where: str) -> tuple[dict[str, Any], list[Any]]:
    """``response: {status, content_type, schema}`` and the document's examples of that response."""
    responses = {str(k): v for k, v in (op.get("responses") or {}).items()}
    code = success_status(responses)
    if code is None:
        conv.notes.add(where, "no success response described: written as status 200 with any JSON body")
        return {"status": 200, "schema": {}}, []
    status = int(code) if code.isdigit() else 200
    if not code.isdigit():
        conv.notes.add(where, f"response {code!r} written as status 200")
    resp, resp_base = conv.source.deref(responses[code], base)
    if not isinstance(resp, dict):
        conv.notes.add(where, "response: a remote $ref, not fetched: any JSON body accepted")
        return {"status": status, "schema": {}}, []
    if conv.version == 2:
        media = pick_media(list(op.get("produces") or conv.produces))
        schema, examples = resp.get("schema"), _swagger_examples(resp)
    else:
        content = resp.get("content") or {}
        media = pick_media(list(content))
        obj = content.get(media) or {} if media else {}
        schema, examples = obj.get("schema"), _media_examples(conv, obj, resp_base, where)
        _others(conv, where, "response", media, list(content))
    if method == "HEAD":
        return {"status": status, "schema": {}}, []  # HEAD: never a body, whatever the document says of GET
    return _response(conv, where, status, media, schema, examples, resp_base), examples


def _response(conv: OperationConverter, where: str, status: int, media: str | None, schema: Any,
              examples: list[Any], base: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status}
    if status in NO_BODY:
        return {**out, "schema": {}}  # success means no body: the schema is never applied
    if media is not None:
        out["content_type"] = media
        if not is_json(media):
            conv.notes.add(where, f"response is {media}, not JSON: mvptest checks JSON bodies only, a real "
                                  "provider's answer fails as 'not JSON'")
    if schema is None and examples:
        conv.notes.add(where, "response has an example but no schema: the schema is inferred from the example")
        return {**out, "schema": infer_schema(examples[0])}
    if schema is None:
        conv.notes.add(where, f"response {status} describes no body: written as any JSON (schema {{}})")
        return {**out, "schema": {}}
    return {**out, "schema": conv.schemas.convert(schema, base, f"{where} response")}


def _others(conv: OperationConverter, where: str, part: str, media: str | None, types: list[str]) -> None:
    rest = [m for m in types if m != media]
    if media is not None and rest:
        conv.notes.add(where, f"{part} media types {', '.join(rest)} not converted (an interface has one: {media})")


def _swagger_examples(resp: dict[str, Any]) -> list[Any]:
    examples = resp.get("examples") or {}
    return [v for m, v in examples.items() if is_json(str(m))] if isinstance(examples, dict) else []


def _media_examples(conv: OperationConverter, obj: dict[str, Any], base: Path, where: str) -> list[Any]:
    out = [obj["example"]] if "example" in obj else []
    for example in (obj.get("examples") or {}).values():
        node, _ = conv.source.deref(example, base)
        if isinstance(node, dict) and "value" in node:
            out.append(node["value"])
        elif isinstance(node, dict) and "externalValue" in node:
            conv.notes.add(where, f"example {node['externalValue']} (externalValue) not fetched")
    return out


def infer_schema(value: Any) -> Any:
    """The shape of an example: types and properties, nothing required, so other values of that shape pass."""
    if isinstance(value, dict):
        return {"type": "object", "properties": {k: infer_schema(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "items": infer_schema(value[0])} if value else {"type": "array"}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if value is None:
        return {}
    return {"type": "string"}
