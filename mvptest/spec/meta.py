"""The shapes of interface specs, requirement specs and scenarios, as JSON Schemas used to lint them."""

from __future__ import annotations

from typing import Any

from mvptest.formats import SEVERITIES

_ID = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"}
_POINTER = {"type": "string", "pattern": "^(/.*)?$"}
_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
DURATION = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": r"^\s*([0-9]+(\.[0-9]+)?\s*(ms|s|m|h)\s*)+$"},
    ]
}

DURATION_OR_AUTO = {"anyOf": [*DURATION["anyOf"], {"const": "auto"}]}

DEPARTMENT: dict[str, Any] = {
    "type": "object",
    "required": ["id"],
    "additionalProperties": False,
    "properties": {"id": _ID, "name": {"type": "string"}, "contact": {"type": "string"}},
}

TARGETS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "success_rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "latency_ms": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": dict.fromkeys(("p50", "p90", "p95", "p99", "p999", "max", "mean"), _POSITIVE),
        },
    },
}

# A scenario's targets may also set the confidence of the bounds the verdict uses (run --confidence overrides it):
# one level for the whole run, so an interface spec does not carry it.
SCENARIO_TARGETS: dict[str, Any] = {
    **TARGETS,
    "properties": {**TARGETS["properties"],
                   "confidence": {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 1}},
}

# formats: {cn-uscc: {legacy-check-char: warning}}: per format, per failure code, a severity.
FORMAT_OPTIONS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "object", "additionalProperties": {"enum": list(SEVERITIES)}},
}

_SCHEMA = {"type": ["object", "boolean"]}

PARAMETER: dict[str, Any] = {
    "type": "object",
    "required": ["in"],
    "additionalProperties": False,
    "properties": {
        "in": {"enum": ["path", "query", "header"]},
        "schema": _SCHEMA,
        "required": {"type": "boolean"},
        "description": {"type": "string"},
        "example": {},
    },
}

INTERFACE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "method", "path", "response"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "title": {"type": "string"},
        "version": {"type": ["string", "number"]},
        "description": {"type": "string"},
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]},
        "path": {"type": "string", "pattern": "^/"},
        "parameters": {"type": "object", "additionalProperties": PARAMETER},
        "request": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"content_type": {"type": "string"}, "schema": _SCHEMA},
        },
        "response": {
            "type": "object",
            "required": ["schema"],
            "additionalProperties": False,
            "properties": {
                "status": {"type": "integer", "minimum": 100, "maximum": 599},
                "content_type": {"type": "string"},
                "schema": _SCHEMA,
            },
        },
        "sensitive": {"type": "array", "items": _POINTER},
        "targets": TARGETS,
        "formats": FORMAT_OPTIONS,
    },
}

INTERFACE_DOC: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "department", "interfaces"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "interface"},
        "department": DEPARTMENT,
        "description": {"type": "string"},
        "targets": TARGETS,
        "formats": FORMAT_OPTIONS,
        "interfaces": {"type": "array", "minItems": 1, "items": INTERFACE},
    },
}

REQUIREMENT_DOC: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "department", "consumes", "schema"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "requirement"},
        "id": _ID,
        "title": {"type": "string"},
        "department": DEPARTMENT,
        "description": {"type": "string"},
        "consumes": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$"},
        "usage": {
            "type": "object",
            "required": ["mode"],
            "additionalProperties": False,
            "properties": {
                "mode": {"enum": ["realtime", "batch"]},
                "peak_rps": _POSITIVE,
                "schedule": {"type": "string"},
                "volume": {"type": "integer", "minimum": 0},
            },
        },
        "schema": _SCHEMA,
        "sensitive": {"type": "array", "items": _POINTER},
        "formats": FORMAT_OPTIONS,
        "targets": TARGETS,
    },
}

SCENARIO_DOC: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "name", "specs"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "scenario"},
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "specs": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        # requirement specs of the consuming departments: their declared usage (peak_rps) sets the default load
        "consumers": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "interfaces": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "required": ["id"],
                        "additionalProperties": False,
                        "properties": {
                            "id": {"type": "string"},
                            "weight": _POSITIVE,
                            "params": {"type": "object"},
                        },
                    },
                ]
            },
        },
        "target": {"type": "string", "pattern": "^(sandbox|https?://.+)$"},
        "allowed_hosts": {"type": "array", "items": {"type": "string"}},
        "sandbox": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "seed": {"type": "integer"},
                "latency_ms": {"type": ["string", "number"]},
                "error_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "invalid_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "reset_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "timeout_rate": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "load": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "users": {"type": "integer", "minimum": 1},
                "spawn_rate": _POSITIVE,
                "rate": _POSITIVE,
                "duration": DURATION_OR_AUTO,  # auto: stop once the verdict is decided
                "max_duration": DURATION,  # with duration: auto (default 10m)
                "check_every": DURATION,  # with duration: auto: how often the verdict is looked at (default 5s)
                "think_time": DURATION,
                "timeout": DURATION,
                "workers": {"type": "integer", "minimum": 0},
                # the consumers' summed peak_rps is multiplied by this for the default load (open model)
                "headroom": {"type": "number", "minimum": 1},
            },
        },
        "data": {
            "type": "object",
            "description": "data pools: parameter name -> real values (file CSV/JSON + column, or values)",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "file": {"type": "string"},
                    "column": {"type": "string"},
                    "values": {"type": "array", "minItems": 1},
                },
            },
        },
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "tls": {  # PEM files, relative to the scenario; --ca-bundle/--client-cert/--client-key override them
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "ca_bundle": {"type": "string", "minLength": 1},
                "client_cert": {"type": "string", "minLength": 1},
                "client_key": {"type": "string", "minLength": 1},
                "verify": {"const": True, "description": "verification cannot be turned off: give the CA with ca_bundle"},
            },
        },
        "targets": SCENARIO_TARGETS,
    },
}

# kind: adapter (mvptest compat --suggest-adapter writes them; mvptest/compat/adapter.py applies them)
NORMALIZE_OPS = ("trim", "remove-spaces", "halfwidth", "fullwidth-parentheses", "halfwidth-parentheses", "upper",
                 "strip-country-code")
DATE_FORMATS = ("date", "date-compact", "date-time")
_POINTER = {"type": "string", "pattern": "^/"}
_FIELD_STEP = {"field": _POINTER}
# a code a map writes: one value (text, a number, true/false), or null for "not decided yet"
_CODE = {"type": ["string", "number", "boolean", "null"]}
# a fixed offset from UTC: the consumer's time zone for dates cut from date-times (default +08:00, Beijing)
TZ = {"type": "string", "pattern": r"^([+-]\d{2}:\d{2}|Z)$"}
PICK_CHOICES = ("first", "last", "latest", "earliest")

STEP_SHAPES: dict[str, dict[str, Any]] = {
    "copy": {"type": "object", "required": ["from", "to"], "additionalProperties": False,
             "properties": {"from": _POINTER, "to": _POINTER}},
    "rename": {"type": "object", "required": ["from", "to"], "additionalProperties": False,
               "properties": {"from": _POINTER, "to": _POINTER}},
    "date": {"type": "object", "required": ["field", "from", "to"], "additionalProperties": False,
             "properties": {**_FIELD_STEP, "from": {"enum": list(DATE_FORMATS)}, "to": {"enum": list(DATE_FORMATS)},
                            "tz": TZ}},
    "scale": {"type": "object", "required": ["field", "factor"], "additionalProperties": False,
              "properties": {**_FIELD_STEP, "factor": {"type": "number", "exclusiveMinimum": 0}, "unit": {"type": "string"},
                             "integer": {"type": "boolean"}, "round": {"type": "integer", "minimum": 0, "maximum": 10}}},
    "map": {"type": "object", "required": ["field", "values"], "additionalProperties": False,
            "properties": {**_FIELD_STEP, "values": {"type": "object", "minProperties": 1, "additionalProperties": _CODE},
                           "default": _CODE}},
    "convert": {"type": "object", "required": ["field", "to"], "additionalProperties": False,
                "properties": {**_FIELD_STEP, "to": {"enum": ["string", "integer", "number"]}}},
    "normalize": {"type": "object", "required": ["field", "ops"], "additionalProperties": False,
                  "properties": {**_FIELD_STEP, "ops": {"type": "array", "minItems": 1, "items": {"enum": list(NORMALIZE_OPS)}}}},
    # one element of an array into one value: from: /contributions/*/amount, choose: latest, by: period
    "pick": {"type": "object", "required": ["from", "to", "choose"], "additionalProperties": False,
             "properties": {"from": _POINTER, "to": _POINTER,
                            "choose": {"anyOf": [{"enum": list(PICK_CHOICES)}, {"type": "integer"}]},
                            "by": {"type": "string", "pattern": "^/?[^/*]"}, "tz": TZ}},
    # the first `length` characters of a code: a 12-digit statistical division code into its 6-digit GB/T 2260 county
    "prefix": {"type": "object", "required": ["field", "length"], "additionalProperties": False,
               "properties": {**_FIELD_STEP, "length": {"type": "integer", "minimum": 1}}},
}

ADAPTER_DOC: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "steps"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "adapter"},
        "provider": {"type": "string"},
        "consumer": {"type": "string"},
        "description": {"type": "string"},
        "steps": {
            "type": "array",
            "items": {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                      "properties": STEP_SHAPES},
        },
    },
}


BY_KIND: dict[str, dict[str, Any]] = {
    "interface": INTERFACE_DOC,
    "requirement": REQUIREMENT_DOC,
    "scenario": SCENARIO_DOC,
    "adapter": ADAPTER_DOC,
}
