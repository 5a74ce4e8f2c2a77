"""A compiled schema: a fast yes/no for every record, detailed field errors only for the records that fail."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from mvptest import formats, i18n
from mvptest.i18n import _
from mvptest.masking import Masker
from mvptest.spec.pointer import join
from mvptest.spec.refs import BundledSchema
from mvptest.spec.validator import build_validator, compile_error

__all__ = ["CompiledSchema", "FieldError", "compile_error", "json_type"]  # compile_error: spec/validator.py builds validators


@dataclass(frozen=True)
class FieldError:
    """One problem of one record, in the terms of the report: field, kind, what was expected."""

    field: str  # JSON Pointer of the field ("" for the record itself)
    kind: str  # the JSON Schema keyword that failed, or "parse"
    expected: str
    message: str  # never contains the value
    value: Any  # the offending value (None when absent); masked before it reaches a report
    severity: str = "error"  # error | warning | ignore
    code: str = ""  # the format's failure code, where there is one
    suggestion: str = ""


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}
_WAN_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*万(?:元)?(?:人民币)?\s*$")
_AMOUNT_UNIT_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(元|人民币|CNY|RMB)\s*$", re.I)
_NUMBER_RE = re.compile(r"^\s*-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$")
_FULLWIDTH_RE = re.compile(r"[\uff01-\uff5e\u3000]")


def json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _type_suggestion(value: Any, types: list[str]) -> str:
    if isinstance(value, str):
        if any(t in ("number", "integer") for t in types):
            m = _WAN_RE.match(value)
            if m:
                return _("an amount in 万元 written as text; send a number (x 10000 if the field counts 元)")
            m = _AMOUNT_UNIT_RE.match(value)
            if m:
                return _("an amount with its unit as text; send the number only")
            if _NUMBER_RE.match(value):
                return _("a number sent as a string; send it unquoted")
        if "boolean" in types and value.strip().lower() in ("true", "false", "1", "0", "是", "否"):
            return _("a boolean sent as a string; send true or false unquoted")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "string" in types:
        if isinstance(value, float) and abs(value) >= 1e15:
            return _("a long code sent as a number has lost digits; keep identifiers as text")
        return _("a number where text is expected; send it quoted")
    if value is None:
        return _("null where a value is expected; omit the field or send a value")
    return ""


def _format_suggestion(name: str, value: str, failure: formats.Failure | None) -> str:
    if failure and failure.hint:
        return _(failure.hint)  # the formats' hints are in the catalogue (their text is fixed)
    other = formats.looks_like(value, exclude=name)
    if other:
        return _("looks like {other}; the schema says {name}").format(other=other, name=name)
    if _FULLWIDTH_RE.search(value):
        return _("contains full-width characters; normalise them to half-width")
    if value != value.strip():
        return _("has leading or trailing spaces; strip them")
    return ""


class CompiledSchema:
    """A schema compiled once (jsonschema-rs), with our formats and the spec's severities and masking."""

    def __init__(
        self,
        bundled: BundledSchema,
        *,
        format_options: dict[str, dict[str, str]] | None = None,
        sensitive: Iterable[str] = (),
        mask: bool = True,
    ) -> None:
        self.bundled = bundled
        self._sensitive = tuple(sensitive)
        self._validator = build_validator(bundled)
        self.is_valid = self._validator.is_valid
        self.format_options = format_options or {}
        self.masker = Masker(sensitive, enabled=mask)
        self.masker.add(
            pointer for pointer, sub in bundled.fields()
            if isinstance(sub, dict) and sub.get("format") in formats.PERSONAL_FORMATS
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # The compiled validator is native; a worker process rebuilds it from the schema.
        # ... in the language of this process (workers are spawned: they would speak English otherwise).
        return (_rebuild, (self.bundled, self.format_options, self._sensitive, self.masker.enabled, i18n.language()))

    def errors(self, instance: Any) -> list[FieldError]:
        """Every problem of one instance, each with its severity under the spec's format options."""
        return [self._field_error(err) for err in self._validator.iter_errors(instance)]

    def _field_error(self, err: jsonschema_rs.ValidationError) -> FieldError:
        kind = err.kind
        name = kind.name
        field = join(err.instance_path)
        keyword = str(err.schema_path[-1]) if err.schema_path else name
        value = err.instance
        details = kind.as_dict()
        if name == "required":
            prop = details.get("property")
            field = f"{field}/{prop}" if isinstance(prop, str) else field
            return FieldError(field, "required", "present", _("required field is missing"), None, suggestion="")
        if name == "falseSchema" and keyword == "additionalProperties":
            return FieldError(field, "additionalProperties", "absent", _("field not allowed by the schema"), value)
        if name == "format":
            fmt = str(details.get("format"))
            spec = formats.get(fmt)
            failure = spec.explain(value) if spec and isinstance(value, str) else None
            code = failure.code if failure else ""
            severity = spec.severity(code, self.format_options.get(fmt)) if spec else "error"
            what = _(failure.message) if failure else _("not a valid {format}").format(format=fmt)
            suggestion = _format_suggestion(fmt, value, failure) if isinstance(value, str) else ""
            return FieldError(field, "format", fmt, what, value, severity, code, suggestion)
        if name == "type":
            types = [str(t) for t in details.get("types", [])]
            expected = " or ".join(types)
            return FieldError(
                field, "type", expected,
                _("expected {expected}, got {type}").format(expected=expected, type=json_type(value)), value,
                suggestion=_type_suggestion(value, types),
            )
        if name == "enum":
            options = details.get("options", [])
            return FieldError(field, "enum", _short(options), _("not one of the allowed values"), value,
                              suggestion=_enum_suggestion(value, options))
        if name == "const":
            return FieldError(field, "const", _short(details.get("expected_value")), _("not the required constant"), value)
        if name == "pattern":
            return FieldError(field, "pattern", str(details.get("pattern")), _("does not match the pattern"), value)
        if name in ("minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems",
                    "maxItems", "minProperties", "maxProperties", "multipleOf"):
            limit = details.get("limit", details.get("multiple_of"))
            sym = {"minLength": "length >=", "maxLength": "length <=", "minimum": ">=", "maximum": "<=",
                   "exclusiveMinimum": ">", "exclusiveMaximum": "<", "minItems": "items >=", "maxItems": "items <=",
                   "minProperties": "fields >=", "maxProperties": "fields <=", "multipleOf": "multiple of"}[name]
            return FieldError(field, name, f"{sym} {limit}", _("must be {limit}").format(limit=f"{sym} {limit}"), value)
        message = err.message.replace("<value>", "the value")
        return FieldError(field, keyword if keyword not in ("", None) else name, name, message, value)


def _rebuild(bundled: BundledSchema, format_options: dict[str, dict[str, str]], sensitive: tuple[str, ...],
             mask: bool, lang: str = "en") -> CompiledSchema:
    if lang != i18n.language():
        i18n.set_language(lang)
    return CompiledSchema(bundled, format_options=format_options, sensitive=sensitive, mask=mask)


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else __import__("json").dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _enum_suggestion(value: Any, options: list[Any]) -> str:
    if isinstance(value, str):
        for opt in options:
            if isinstance(opt, str) and (opt.strip() == value.strip() or opt.lower() == value.lower()):
                return _("close to {option}: check case and spaces").format(option=repr(opt))
        for opt in options:
            if isinstance(opt,
                          str) and value.isdigit() and opt.isdigit() and len(value) < len(opt) and value.zfill(len(opt)) == opt:
                return _("a leading zero was lost (a spreadsheet?); send {option}").format(option=repr(opt))
        if any(isinstance(o, (int, float)) and str(o) == value for o in options):
            return _("a code sent as text; send it as a number")
    if isinstance(value, (int, float)) and str(value) in options:
        return _("a code sent as a number; send it as text")
    return ""
