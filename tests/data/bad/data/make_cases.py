"""Writes the malformed data files of this folder (run once; the files are committed): python make_cases.py."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOOD = json.loads((HERE.parents[3] / "specs" / "samples" / "enterprises.ndjson").read_text(encoding="utf-8").splitlines()[0])


def write(name: str, data: bytes | str) -> None:
    (HERE / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def xlsx(rows: list[list[object]], **parts: bytes) -> bytes:
    """A real workbook from openpyxl, with parts replaced or added afterwards."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in parts:
                dst.writestr(info.filename, src.read(info.filename))
        for name, data in parts.items():
            dst.writestr(name, data)
    return out.getvalue()


def main() -> None:
    header = "uscc,enterpriseName\n"
    line = json.dumps(GOOD, ensure_ascii=False)
    write("latin1-bytes.csv", header.encode() + b"\x80\xff\xfe\x81,caf\xe9\n" * 3)
    write("bom-then-gb18030.csv", b"\xef\xbb\xbf" + header.encode() + "91350211MA2XNJ4D8L,厦门示例\n".encode("gb18030"))
    write("utf16-bom.ndjson", (line + "\n").encode("utf-16"))
    write("utf16-no-bom.csv", (header + "91350211MA2XNJ4D8L,x\n").encode("utf-16-le"))
    write("truncated-array.json", "[" + line + ", {\"uscc\": \"9135")
    write("trailing-garbage.json", "[" + line + "] and more")
    write("not-json.json", "uscc: 91350211MA2XNJ4D8L\n")
    write("empty.json", "   \n")
    write("broken-line.ndjson", line + "\n{\"uscc\": \n" + line + "\n")
    write("scalar-records.ndjson", "42\n\"text\"\n[1, 2]\n")
    write("ragged-rows.csv", header + "91350211MA2XNJ4D8L\n91350211MA2XNJ4D8L,a,b\n")
    write("nul-in-row.csv", header + "91350211MA2XNJ4D8L,a\x00b\n")
    write("unclosed-quote.csv", header + '91350211MA2XNJ4D8L,"never closed\n91350211MA2XNJ4D8L,b\n')
    write("header-only.csv", header)
    write("empty.ndjson", b"")
    write("blank-lines.ndjson", "\n\n  \n")
    write("markup-in-values.ndjson", json.dumps({**GOOD, "status": "[/]", "uscc": "[bold]x[/bold]"}, ensure_ascii=False) + "\n")
    write("too-deep.json", "[" * 10_000 + "]" * 10_000)
    write("too-deep-line.ndjson", '{"a": ' + "[" * 300 + "]" * 300 + "}\n" + line + "\n")
    write("over-long-line.ndjson", line + "\n" + '{"uscc": "' + "x" * 5000 + '"}\n' + line + "\n")
    write("over-long-row.csv", header + "91350211MA2XNJ4D8L," + "x" * 5000 + "\n91350211MA2XNJ4D8L,ok\n")
    write("not-a-zip.xlsx", b"PK\x03\x04 this is not really a zip archive")
    write("text-named.xlsx", "uscc,enterpriseName\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "a zip, but no workbook inside")
    write("zip-not-xlsx.xlsx", buf.getvalue())
    write("encrypted.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    write("empty-sheet.xlsx", xlsx([]))
    write("header-only.xlsx", xlsx([["uscc", "enterpriseName"]]))
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b'<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>uscc</t></is></c></row>'
             b'</sheetData></worksheet>')
    write("declared-huge.xlsx", xlsx([["uscc"]], **{"xl/worksheets/sheet1.xml": sheet}))
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               + "".join(f"<si><t>s{i}</t></si>" for i in range(50)) + "</sst>").encode()
    write("many-strings.xlsx", xlsx([["uscc"], ["x"]], **{"xl/sharedStrings.xml": strings}))
    zeros = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' \
        + b" " * (20 << 20) + b"</sheetData></worksheet>"
    write("zip-bomb.xlsx", xlsx([["uscc"]], **{"xl/worksheets/sheet1.xml": zeros}))
    (HERE / "a-directory.csv").mkdir(exist_ok=True)
    (HERE / "a-directory.csv" / ".gitkeep").write_text("")


if __name__ == "__main__":
    main()
