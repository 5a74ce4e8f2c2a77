"""OpenAPI 3.0/3.1 and Swagger 2.0 documents into interface specs (``mvptest import openapi``)."""

from __future__ import annotations

from pathlib import Path

from mvptest.openapi.document import Imported, convert_document
from mvptest.openapi.writer import Written, write_import

__all__ = ["Imported", "Written", "convert_document", "import_openapi", "write_import"]


def import_openapi(path: Path, department: str, out: Path) -> tuple[Imported, Written]:
    """Convert the document at ``path`` for ``department`` and write the spec, schemas and notes under ``out``."""
    imported = convert_document(path, department)
    return imported, write_import(imported, out)
