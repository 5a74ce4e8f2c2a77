"""Peak memory and time of `mvptest validate` on hostile data files (issue 9): python bench/readers_memory.py.

Each case is generated in a temporary folder (deleted afterwards), validated in a subprocess, and its peak
resident memory read from wait4's rusage. Not part of the test suite (tests/test_readers_bounded.py has small
versions); the figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC = ["--spec", str(ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"),
        "--interface", "enterprise-registration"]
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MiB = 1 << 20


def run(*args: str) -> tuple[int, float, float, str]:
    """(exit code, peak RSS in MiB, seconds, last line of output) of one mvptest run."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "mvptest", *args], cwd=ROOT, env=env, stdout=out, stderr=out)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        out.seek(0)
        lines = [ln for ln in out.read().decode("utf-8", "replace").splitlines() if ln.strip() and not ln.startswith("  hint")]
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024, seconds, (lines[-1] if lines else "")[:110]


def ndjson_200mb_line(path: Path) -> Path:
    path = path / "one-line.ndjson"
    with path.open("wb") as f:
        f.write(b'{"uscc": "')
        for _ in range(200):
            f.write(b"x" * MiB)
        f.write(b'"}\n')
    return path


def no_newline_1gib(path: Path) -> Path:
    path = path / "no-newline.ndjson"
    with path.open("wb") as f:
        f.write(b'{"uscc": "' + b"x" * (64 << 10))
        f.truncate(1 << 30)  # sparse: the rest reads as NUL bytes, still one line that never ends
    return path


def _xlsx(path: Path, sheet: Callable[[Any], None], strings: Callable[[Any], None] | None = None) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["uscc"])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with dst.open(info.filename, "w", force_zip64=True) as part:
                    sheet(part)
            elif info.filename == "[Content_Types].xml" and strings is not None:
                ct = src.read(info.filename).replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                                     b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
                dst.writestr(info.filename, ct)
            else:
                dst.writestr(info.filename, src.read(info.filename))
        if strings is not None:
            with dst.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                strings(part)
    return path


def _sheet_rows(rows: int, shared: bool) -> Callable[[Any], None]:
    def write(part: Any) -> None:
        part.write(f'<?xml version="1.0"?><worksheet xmlns="{NS}"><sheetData>'.encode())
        part.write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>uscc</t></is></c></row>')
        block = []
        for r in range(2, rows + 2):
            cell = f'<c r="A{r}" t="s"><v>{r - 2}</v></c>' if shared else f'<c r="A{r}"><v>{r}</v></c>'
            block.append(f'<row r="{r}">{cell}</row>')
            if len(block) == 10_000:
                part.write("".join(block).encode())
                block = []
        part.write(("".join(block) + "</sheetData></worksheet>").encode())
    return write


def _strings(count: int) -> Callable[[Any], None]:
    def write(part: Any) -> None:
        part.write(f'<?xml version="1.0"?><sst xmlns="{NS}" count="{count}" uniqueCount="{count}">'.encode())
        for start in range(0, count, 10_000):
            part.write("".join(f"<si><t>{i}</t></si>" for i in range(start, min(count, start + 10_000))).encode())
        part.write(b"</sst>")
    return write


def shared_strings_xlsx(path: Path, count: int) -> Path:
    return _xlsx(path / f"strings-{count}.xlsx", _sheet_rows(0, False), _strings(count))


def row_bomb_xlsx(path: Path, rows: int) -> Path:
    return _xlsx(path / f"rows-{rows}.xlsx", _sheet_rows(rows, False))


def empty_rows_xlsx(path: Path, rows: int) -> Path:
    def write(part: Any) -> None:
        part.write(f'<?xml version="1.0"?><worksheet xmlns="{NS}"><sheetData>'.encode())
        part.write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>uscc</t></is></c></row>')
        for _ in range(rows // 10_000):
            part.write(b"<row/>" * 10_000)
        part.write(b"</sheetData></worksheet>")
    return _xlsx(path / f"empty-rows-{rows}.xlsx", write)


def main() -> None:
    cases: list[tuple[str, Callable[[Path], Path], list[str]]] = [
        ("200 MB NDJSON, one line", ndjson_200mb_line, []),
        ("1 GiB NDJSON, no newline (sparse)", no_newline_1gib, []),
        ("xlsx, 3,000,000 shared strings", lambda p: shared_strings_xlsx(p, 3_000_000), []),
        ("xlsx, 450,000 shared strings (under the limit)", lambda p: shared_strings_xlsx(p, 450_000), []),
        ("xlsx row bomb, 20,000,000 empty rows", lambda p: empty_rows_xlsx(p, 20_000_000), []),
        ("xlsx row bomb, ratio limit raised", lambda p: empty_rows_xlsx(p, 20_000_000), ["--max-zip-ratio", "100000"]),
        ("xlsx, 5,000,000 rows of values", lambda p: row_bomb_xlsx(p, 5_000_000), []),
        ("xlsx, 1,000,000 rows (under the limit)", lambda p: row_bomb_xlsx(p, 1_000_000), ["--max-zip-ratio", "100000"]),
    ]
    print(f"{'case':48} {'file':>10} {'exit':>4} {'peak RSS':>9} {'seconds':>8}  output")
    with tempfile.TemporaryDirectory(prefix="mvptest-bench-") as tmp:
        base = Path(tmp)
        small = base / "small.ndjson"
        small.write_text('{"uscc": "x"}\n')
        code, peak, secs, last = run("validate", str(small), *SPEC, "--jobs", "1")
        print(f"{'baseline: one small record':48} {'14 B':>10} {code:>4} {peak:>7.0f} MB {secs:>8.2f}  {last}")
        for name, make, extra in cases:
            path = make(base)
            size = path.stat().st_size
            shown = f"{size / MiB:,.1f} MB" if size < (1 << 30) else f"{size / (1 << 30):.1f} GiB"
            code, peak, secs, last = run("validate", str(path), *SPEC, *extra)
            print(f"{name:48} {shown:>10} {code:>4} {peak:>7.0f} MB {secs:>8.2f}  {last}")
            path.unlink()


if __name__ == "__main__":
    main()
