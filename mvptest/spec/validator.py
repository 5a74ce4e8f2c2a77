"""The one place a schema becomes a validator: jsonschema-rs, draft 2020-12, mvptest's formats asserted, no fetching."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jsonschema_rs

from mvptest import formats

if TYPE_CHECKING:
    from mvptest.spec.refs import BundledSchema


def _no_retrieval(uri: str) -> Any:
    raise ValueError(f"mvptest does not fetch schemas ({uri}); keep referenced schemas inside the spec tree")


def build_validator(bundled: BundledSchema) -> jsonschema_rs.Validator:
    """The compiled validator of a bundled schema; values are masked in its messages."""
    return jsonschema_rs.Draft202012Validator(
        bundled.schema,
        formats=formats.custom_checkers(),
        validate_formats=True,
        ignore_unknown_formats=False,
        retriever=_no_retrieval,
        mask="<value>",
    )


def compile_error(bundled: BundledSchema) -> str | None:
    """Why a bundled schema cannot be compiled, or None when it can."""
    try:
        build_validator(bundled)
    except (ValueError, jsonschema_rs.ReferencingError) as exc:
        return str(exc).splitlines()[0]
    return None
