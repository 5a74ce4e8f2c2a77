"""The .xlsx reader: the workbook's zip and each sheet's XML checked against the limits before openpyxl reads a row."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from mvptest.errors import InputError
from mvptest.validation.coerce import Coercer
from mvptest.validation.inputs import CHUNK, SAMPLE_BYTES, STDIN, ZIP_RATIO_MIN_BYTES, DataInput, Limits, human_size
from mvptest.validation.readers import RecordSource


class XlsxSource(RecordSource):
    """An .xlsx sheet read in openpyxl's streaming mode, after its zip has been checked against the limits."""

    kind = "xlsx"

    def __init__(self, data: DataInput, limits: Limits, coercer: Coercer, sheet: str | None) -> None:
        super().__init__(data, limits)
        self.coercer = coercer
        self.sheet = sheet
        self.headers: list[str] = []

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:
        if self.data.regular and str(self.path) != STDIN:
            yield from self._read(self.path)
            return
        with tempfile.NamedTemporaryFile(prefix="mvptest-", suffix=".xlsx") as tmp:
            self._spool(tmp)
            yield from self._read(Path(tmp.name))

    def _spool(self, tmp: Any) -> None:
        total = 0
        while True:
            data = self.data.stream.read1(CHUNK)
            if not data:
                break
            total += len(data)
            if total > self.limits.spool_bytes:
                raise InputError(f"is an .xlsx stream over {human_size(self.limits.spool_bytes)}", where=self.label,
                                 hint="give the workbook as a file, or export it as CSV")
            tmp.write(data)
        tmp.flush()

    def _read(self, path: Path) -> Iterator[tuple[int | None, Any]]:
        import zipfile

        import openpyxl

        try:
            with zipfile.ZipFile(path) as zf:
                check_xlsx_zip(zf, self.label, self.limits)
        except zipfile.BadZipFile:
            raise InputError("is not a readable .xlsx workbook (not a zip archive)", where=self.label,
                             hint="an .xlsx file is a zip archive; save the file again as .xlsx or CSV in Excel") from None
        except XLSX_ERRORS as exc:
            raise InputError(f"is not a readable .xlsx workbook ({type(exc).__name__})", where=self.label,
                             hint="open it in Excel and save it again as .xlsx, or export the sheet as CSV") from None
        _bound_openpyxl_dimension_scan()
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except XLSX_ERRORS as exc:
            raise InputError(f"is not a readable .xlsx workbook ({type(exc).__name__})", where=self.label,
                             hint="open it in Excel and save it again as .xlsx, or export the sheet as CSV") from None
        try:
            ws = self._worksheet(wb)
            self.encoding = f"sheet {ws.title}"
            with ws._get_source() as part:  # the sheet's XML in the zip, before openpyxl builds any row of it
                check_sheet_rows(part, ws.title, self.label, self.limits)
            yield from self._rows(ws)
        except XLSX_ERRORS as exc:
            raise InputError(f"is not a readable .xlsx workbook ({type(exc).__name__} in the sheet)", where=self.label,
                             hint="open it in Excel and save it again as .xlsx, or export the sheet as CSV") from None
        finally:
            wb.close()

    def _worksheet(self, wb: Any) -> Any:
        if self.sheet is not None:
            if self.sheet not in wb.sheetnames:
                raise InputError(f"has no sheet {self.sheet!r}", where=self.label, hint="sheets: " + ", ".join(wb.sheetnames))
            return wb[self.sheet]
        if not wb.worksheets:
            raise InputError("has no worksheet", where=self.label,
                             hint="add a sheet with a header row, or export the data as CSV")
        return wb.worksheets[0]

    def _rows(self, ws: Any) -> Iterator[tuple[int | None, Any]]:
        limits = self.limits
        # As the sheet declares them (openpyxl's max_row would read the whole sheet when there is no declaration).
        rows, cols = getattr(ws, "_max_row", None) or 0, getattr(ws, "_max_column", None) or 0
        if rows > limits.rows or cols > limits.columns:
            raise InputError(
                f"sheet {ws.title!r} declares {rows:,} rows and {cols:,} columns; the limits are {limits.rows:,} rows "
                f"(--max-rows) and {limits.columns:,} columns (--max-columns)", where=self.label,
                hint="raise the limit if the sheet is really that large, or delete the empty rows and columns in Excel")
        ws.reset_dimensions()  # read the rows that are there, not the declared box
        header_row = next(ws.iter_rows(max_row=1, values_only=True), None)
        if header_row is None:
            return
        headers = ["" if h is None else str(h) for h in header_row[: limits.columns + 1]]
        while headers and headers[-1] == "":
            headers.pop()
        if len(headers) > limits.columns:
            raise InputError(f"sheet {ws.title!r} has more than {limits.columns:,} header cells (--max-columns)",
                             where=self.label,
                             hint="delete the empty columns past the data in Excel, or raise --max-columns")
        if not headers:
            return
        self.headers = headers
        pointers = [self.coercer.pointer_for(h) for h in headers]
        for number, row in enumerate(ws.iter_rows(min_row=2, max_col=len(headers), values_only=True), 2):
            if number > limits.rows:
                raise InputError(f"sheet {ws.title!r} has more than {limits.rows:,} rows (--max-rows)", where=self.label,
                                 hint="raise --max-rows if the sheet is really that large")
            if all(c is None or c == "" for c in row):
                continue
            yield number, self.coercer.record(headers, pointers, list(row), typed=True)


def _xlsx_errors() -> tuple[type[BaseException], ...]:
    """What openpyxl and zipfile raise on a damaged workbook (a damaged workbook is bad input, not a bug)."""
    import struct
    import zipfile
    import zlib

    return (zipfile.BadZipFile, zlib.error, struct.error, KeyError, OSError, ValueError, TypeError, SyntaxError,
            AttributeError, IndexError, EOFError, NotImplementedError, RuntimeError, AssertionError)


XLSX_ERRORS = _xlsx_errors()
_SI_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")
_ROW_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_SHEET_PART_RE = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.I)
_DIMENSION_RE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s[^>]*?ref=\"([A-Za-z]{1,3}[0-9]{1,7}(?::[A-Za-z]{1,3}[0-9]{1,7})?)\"")


def _bound_openpyxl_dimension_scan() -> None:
    """openpyxl 3.1 opens every read-only sheet by looking for its <dimension>; when a sheet has none it parses
    the whole sheet into memory (an .xlsx row bomb: gigabytes, minutes). Read the declaration from the sheet's
    first 64 KiB instead, where the schema puts it; without one, the size stays unknown, as openpyxl allows."""
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    if getattr(ReadOnlyWorksheet._get_size, "_mvptest_bounded", False):
        return

    def _get_size(self: Any) -> None:
        with self._get_source() as src:
            head = src.read(SAMPLE_BYTES)
        m = _DIMENSION_RE.search(head)
        if m:
            ref = m.group(1).decode()
            bounds = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
            if None not in bounds:
                self._min_column, self._min_row, self._max_column, self._max_row = bounds

    _get_size._mvptest_bounded = True  # type: ignore[attr-defined]
    ReadOnlyWorksheet._get_size = _get_size


def check_xlsx_zip(zf: Any, label: str, limits: Limits) -> None:
    """Refuse, before anything is decompressed, what would not fit: encrypted parts, zip bombs, too many strings."""
    infos = zf.infolist()
    names = {i.filename for i in infos}
    if not any(n.lower().endswith("workbook.xml") for n in names):
        raise InputError("is a zip archive but not an .xlsx workbook (no xl/workbook.xml)", where=label,
                         hint="save the sheet as .xlsx or CSV in Excel")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise InputError(f"has an encrypted part ({info.filename})", where=label,
                             hint="remove the password in Excel and save again")
        total += info.file_size
        if info.file_size > ZIP_RATIO_MIN_BYTES and info.file_size > limits.zip_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise InputError(
                f"part {info.filename} expands {ratio:,.0f} times ({human_size(info.compress_size)} to "
                f"{human_size(info.file_size)}), over the {limits.zip_ratio:g} limit: a zip bomb, or a sheet of empty rows",
                where=label, hint="raise --max-zip-ratio if the workbook is genuine")
    if total > limits.unzipped_bytes:
        raise InputError(f"expands to {human_size(total)}, over the {human_size(limits.unzipped_bytes)} limit", where=label,
                         hint="export the sheet as CSV")
    for info in infos:
        # Counted before openpyxl opens the workbook: it would take minutes (and gigabytes) to find too many.
        if _SHEET_PART_RE.match(info.filename) and _count_tags(zf, info, _ROW_RE, limits.rows) > limits.rows:
            raise InputError(f"sheet part {info.filename} has more than {limits.rows:,} rows (--max-rows)", where=label,
                             hint="raise --max-rows if the sheet is really that large, or export it as CSV")
        if info.filename.lower().endswith("sharedstrings.xml"):
            count = _count_tags(zf, info, _SI_RE, limits.shared_strings)
            if count > limits.shared_strings:
                raise InputError(
                    f"holds more than {limits.shared_strings:,} shared strings ({info.filename}); openpyxl would load them "
                    "all into memory", where=label, hint="raise --max-shared-strings, or export the sheet as CSV")


SHEET_BLOCK = 64 * 1024


def check_sheet_rows(part: BinaryIO, title: str, label: str, limits: Limits) -> None:
    """Refuse the first row of a sheet with more cells than --max-columns or more bytes than --max-record-size, as
    soon as it passes the limit: one pass of expat over the sheet's XML, one block held. openpyxl's streaming
    reader builds each row whole, however wide (one row of 2,000,000 cells: 1.1 GB), so this runs before it."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.ordered_attributes = True  # a list, cheaper than a dict: this runs once per element
    columns, record_bytes = limits.columns, limits.record_bytes
    depth, in_data, row, row_start, cells = 0, False, 0, -1, 0  # row_start: offset of the open row, -1 between rows

    def start(name: str, attrs: list[str]) -> None:
        nonlocal depth, in_data, row, row_start, cells
        depth += 1
        if row_start >= 0:
            if depth == 4:  # a cell, or anything else directly in the row: openpyxl holds it all
                cells += 1
                if cells > columns:
                    raise _too_wide(title, row, label, limits)
        elif depth == 3 and in_data:
            if _local(name) == "row":
                row = _row_number(attrs, row)
            row_start, cells = parser.CurrentByteIndex, 0
        elif depth == 2:
            in_data = _local(name) == "sheetData"

    def end(name: str) -> None:
        nonlocal depth, row_start
        if depth == 3 and row_start >= 0:
            if parser.CurrentByteIndex + len(name) + 3 - row_start > record_bytes:  # up to the end of </row>
                raise _too_large(title, row, label, limits)
            row_start = -1
        depth -= 1

    def doctype(*_: Any) -> None:
        raise InputError(f"sheet {title!r} has a DOCTYPE declaration, which no .xlsx sheet has (its entities could "
                         "expand without bound)", where=label, hint="save the workbook again in Excel")

    parser.StartElementHandler, parser.EndElementHandler, parser.StartDoctypeDeclHandler = start, end, doctype
    fed = 0
    try:
        while block := part.read(SHEET_BLOCK):
            parser.Parse(block, False)
            fed += len(block)
            if row_start >= 0 and fed - row_start > record_bytes:
                raise _too_large(title, row, label, limits)  # a row still open past the limit: a huge value or tag
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise InputError(f"is not a readable .xlsx workbook (the XML of sheet {title!r} is malformed: {exc})",
                         where=label, hint="save the workbook again in Excel, or export the sheet as CSV") from None


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _row_number(attrs: list[str], previous: int) -> int:
    """A <row>'s r attribute, or one more than the row before (as openpyxl numbers it)."""
    for key, value in zip(attrs[::2], attrs[1::2]):
        if key == "r" and value.isdigit():
            return int(value)
    return previous + 1


def _too_wide(title: str, row: int, label: str, limits: Limits) -> InputError:
    return InputError(
        f"sheet {title!r} row {row:,} has more than {limits.columns:,} cells; the limit is {limits.columns:,} columns "
        "(--max-columns)", where=label,
        hint="raise --max-columns if the rows are really that wide, or delete the unused columns in Excel")


def _too_large(title: str, row: int, label: str, limits: Limits) -> InputError:
    limit = human_size(limits.record_bytes)
    return InputError(
        f"sheet {title!r} row {row:,} takes more than {limit} of the sheet's XML; the limit is {limit} a row "
        "(--max-record-size)", where=label, hint="raise --max-record-size if the row is genuine, or export the sheet as CSV")


def _count_tags(zf: Any, info: Any, pattern: re.Pattern[bytes], limit: int) -> int:
    """How many elements ``pattern`` finds in a zip part, streamed; stops counting past ``limit``."""
    count, carry = 0, b""
    with zf.open(info) as part:
        while True:
            data = part.read(CHUNK)
            if not data:
                return count + len(pattern.findall(carry))
            block = carry + data
            count += len(pattern.findall(block))
            carry = block[-24:]
            count -= len(pattern.findall(carry))  # counted again with the next block
            if count > limit:
                return count
