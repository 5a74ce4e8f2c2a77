"""Bounded data readers: the malformed-data corpus, pipes and standard input, size and depth limits in bounded
memory, an interrupted validate, CSV output without formula cells, pool files, and property tests."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mvptest.errors import InputError, Location
from mvptest.validation.readers import Limits, Unparsable, line_batches, open_source

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad" / "data"
MARKET = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
SPEC = ("--spec", MARKET, "--interface", "enterprise-registration")
SAMPLES = ROOT / "specs" / "samples"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "MVPTEST_DEBUG"}
    e.update({"NO_COLOR": "1", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"})
    return e


def mvptest(*args: Any, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mvptest", *map(str, args)], cwd=ROOT, env=env(), capture_output=True,
                          timeout=120, **kw)


# --------------------------------------------------------------------------- the corpus


def test_the_corpus_has_a_case_for_every_file_and_at_least_15_files():
    named = {c["file"] for c in CASES}
    on_disk = {p.name for p in BAD.iterdir() if p.name not in ("cases.yaml", "make_cases.py")}
    assert on_disk <= named, on_disk - named  # every malformed file is asserted
    assert len(named & on_disk) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_malformed_data_file(cli, tmp_path, monkeypatch, case):
    monkeypatch.chdir(ROOT)
    args = [str(a) for a in case.get("args", [])]
    if "--spec" not in args and "--schema" not in args:
        args += [str(a) for a in SPEC]
    out = tmp_path / "report.json"
    result = cli("validate", BAD / case["file"], *args, "--json-out", out)
    assert result.exit_code == case["exit"], result
    assert case["message"] in result.output, result
    assert "Traceback" not in result.output and "internal error" not in result.output, result
    if case["exit"] == 2:
        assert not out.exists()  # bad input: no report for a run that did not happen
        assert [ln for ln in result.stderr.splitlines() if ln.startswith("error:")] == result.stderr.splitlines()[:1], result
    else:
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["records"] == report["valid"] + report["invalid"]
        assert report["ok"] is False


def test_a_record_over_the_limit_is_one_invalid_record_named_with_its_line(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "r.json"
    result = cli("validate", BAD / "over-long-line.ndjson", *SPEC, "--max-record-size", "1KiB", "--json-out", out)
    assert result.exit_code == 1, result
    report = json.loads(out.read_text(encoding="utf-8"))
    assert (report["records"], report["valid"], report["invalid"]) == (3, 2, 1)
    assert report["fields"][""] == {"errors": 1, "warnings": 0, "kinds": {"size": 1}}
    [issue] = [i for i in report["issues"] if i["field"] == ""]
    assert issue["locations"] == ["tests/data/bad/data/over-long-line.ndjson:2"]


def test_markup_in_values_is_printed_as_text(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = cli("validate", BAD / "markup-in-values.ndjson", *SPEC)
    assert result.exit_code == 1, result
    assert "[/]" in result.stdout and "[bold]x[/bold]" in result.stdout


def test_zero_records_fail_the_gate_and_say_so_in_the_report(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "r.json"
    result = cli("validate", BAD / "header-only.csv", SAMPLES / "enterprises.ndjson", *SPEC, "--json-out", out)
    assert result.exit_code == 1, result
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["empty_files"] == ["tests/data/bad/data/header-only.csv"]
    assert "no records found in tests/data/bad/data/header-only.csv: nothing was validated" in result.stderr


# --------------------------------------------------------------------------- pipes, standard input, devices


def _counts(stdout: bytes) -> str:
    return stdout.decode().strip().splitlines()[-1].split(" in ")[0]


@pytest.mark.parametrize("sample", ["enterprises.ndjson", "enterprises.json", "tax-enterprise-sample.csv"])
def test_standard_input_and_pipes_give_the_counts_of_the_file(sample):
    spec = ("--spec", ROOT / "specs" / "tax" / "enterprise-registration.yaml") if sample.endswith(".csv") else SPEC
    path = SAMPLES / sample
    from_file = mvptest("validate", path, *spec)
    assert from_file.returncode == 1, from_file
    expected = _counts(from_file.stdout)
    data = path.read_bytes()
    dash = mvptest("validate", "-", *spec, input=data)  # a real pipe on standard input: no seeking possible
    assert (dash.returncode, _counts(dash.stdout)) == (1, expected), dash.stderr
    dev = mvptest("validate", "/dev/stdin", *spec, input=data)
    assert (dev.returncode, _counts(dev.stdout)) == (1, expected), dev.stderr
    r, w = os.pipe()  # what bash's <(...) hands over: /dev/fd/N, a pipe
    writer = subprocess.Popen(["cat", str(path)], stdout=w)
    os.close(w)
    try:
        fd = mvptest("validate", f"/dev/fd/{r}", *spec, pass_fds=(r,))
    finally:
        os.close(r)
        writer.wait(timeout=10)
    assert (fd.returncode, _counts(fd.stdout)) == (1, expected), fd.stderr


def test_an_xlsx_on_standard_input_is_read_like_the_file():
    spec = ("--spec", ROOT / "specs" / "social-security" / "insured-person.yaml")
    path = SAMPLES / "insured-persons.xlsx"
    from_file, piped = mvptest("validate", path, *spec), mvptest("validate", "-", *spec, input=path.read_bytes())
    assert from_file.returncode == piped.returncode == 1
    assert _counts(piped.stdout) == _counts(from_file.stdout)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_devices_are_refused(cli, device):
    result = cli("validate", device, *SPEC)
    assert result.exit_code == 2, result
    assert f"{device}: is a device, not a data file" in result.stderr


# --------------------------------------------------------------------------- memory stays flat


# Started from a fresh, small interpreter: a child's ru_maxrss also counts the memory of the process it was forked
# from (Linux keeps the larger of the two across exec), and the pytest process can hold hundreds of MiB.
_MEASURE = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[2:]).returncode; "
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)")


def _peak_rss_mib(tmp_path: Path, *args: Any) -> tuple[subprocess.CompletedProcess[bytes], float]:
    """Run mvptest; its exit and output, and its peak resident memory in MiB (from the rusage of its parent)."""
    peak = tmp_path / "peak-kib"
    run = subprocess.run([sys.executable, "-c", _MEASURE, peak, sys.executable, "-m", "mvptest", *map(str, args)], cwd=ROOT,
                         env=env(), capture_output=True, timeout=120, check=False)
    return run, int(peak.read_text()) / 1024


@pytest.mark.parametrize("newline", [True, False], ids=["one-long-line", "no-newline-at-all"])
def test_a_64_mib_line_costs_no_more_memory_than_a_small_file(tmp_path, newline):
    small = tmp_path / "small.ndjson"
    small.write_text('{"uscc": "x"}\n')
    big = tmp_path / "big.ndjson"
    with big.open("wb") as f:
        f.write(b'{"uscc": "x"}\n{"uscc": "')
        for _ in range(64):
            f.write(b"x" * (1 << 20))
        f.write(b'"}\n{"uscc": "y"}\n' if newline else b"")
    base_run, base = _peak_rss_mib(tmp_path, "validate", small, *SPEC, "--jobs", "1")
    run, peak = _peak_rss_mib(tmp_path, "validate", big, *SPEC, "--jobs", "1", "--max-record-size", "1MiB", "--json-out",
                              tmp_path / "r.json")
    assert base_run.returncode == run.returncode == 1, run.stderr
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["records"] == (3 if newline else 2)
    assert report["fields"][""]["kinds"] == {"size": 1}
    # Held whole, the line would add 64 MiB (and more as a parsed string); bounded reading holds at most the
    # 1 MiB limit plus a 1 MiB chunk. 16 MiB of slack covers allocator noise between two interpreter runs.
    assert peak - base < 16, (peak, base)


# --------------------------------------------------------------------------- wide and large .xlsx rows

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _raw_xlsx(path: Path, sheet_data: bytes, *, prefix: str = "", before: bytes = b"") -> Path:
    """A minimal workbook written as raw XML: one sheet 'Wide' whose <sheetData> holds ``sheet_data``."""
    import zipfile

    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{_MAIN_NS}"' if prefix else f'xmlns="{_MAIN_NS}"'
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook'
        '.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml'
        '.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_REL}"><Relationship Id="rId1" '
        f'Type="{_DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN_NS}" xmlns:r="{_DOC_REL}">'
        '<sheets><sheet name="Wide" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_REL}">'
        f'<Relationship Id="rId1" Type="{_DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            f.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + before)
            f.write(f"<{p}worksheet {xmlns}><{p}sheetData>".encode())
            f.write(sheet_data)
            f.write(f"</{p}sheetData></{p}worksheet>".encode())
    return path


def _header(names: list[str], prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    cells = "".join(f'<{p}c t="inlineStr"><{p}is><{p}t>{n}</{p}t></{p}is></{p}c>' for n in names)
    return f'<{p}row r="1">{cells}</{p}row>'.encode()


@pytest.fixture
def object_schema(tmp_path: Path) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"type": "object", "required": ["uscc"], "properties": {"uscc": {"type": "string"}}}))
    return path


def test_a_row_of_a_million_cells_is_refused_before_openpyxl_builds_it(tmp_path, object_schema):
    # One data row of 1,000,000 numeric cells: a 15 MB sheet part (under the 16 MiB the zip-ratio check starts
    # at; a 30 KB file), 1 row (under --max-rows), no shared strings. openpyxl's streaming reader built the whole row: 485 MiB
    # peak before this check, 1.1 GB for 2,000,000 cells.
    wide = _raw_xlsx(tmp_path / "wide.xlsx", _header(["uscc"]) + b'<row r="2">' + b"<c><v>1</v></c>" * 1_000_000 + b"</row>")
    run, peak = _peak_rss_mib(tmp_path, "validate", wide, "--schema", object_schema)
    assert run.returncode == 2, run.stderr
    assert run.stderr.decode().splitlines()[0] == (
        f"error: {wide}: sheet 'Wide' row 2 has more than 1,024 cells; the limit is 1,024 columns (--max-columns)")
    assert b"Traceback" not in run.stderr and run.stdout == b""
    # Refused after 1,025 cells, holding one 64 KiB block: the interpreter with mvptest imported is ~45 MiB.
    assert peak < 150, peak


def test_a_row_over_the_record_size_is_refused_while_still_open(tmp_path, object_schema):
    # One cell holding a 15 MB inline string: refused once 1 MiB of the row has streamed past, not after reading it.
    big = _raw_xlsx(tmp_path / "big.xlsx", _header(["uscc"]) + b'<row r="2"><c t="inlineStr"><is><t>'
                    + b"x" * 15_000_000 + b"</t></is></c></row>")
    run, peak = _peak_rss_mib(tmp_path, "validate", big, "--schema", object_schema, "--max-record-size", "1MiB")
    assert run.returncode == 2, run.stderr
    assert run.stderr.decode().splitlines()[0] == (
        f"error: {big}: sheet 'Wide' row 2 takes more than 1 MiB of the sheet's XML; the limit is 1 MiB a row "
        "(--max-record-size)")
    assert peak < 150, peak


def test_the_row_limits_are_exact_and_name_the_row(cli, tmp_path, object_schema):
    cell = b'<c t="inlineStr"><is><t>' + b"y" * 1000 + b"</t></is></c>"
    row2, row7 = b'<row r="2">' + cell * 3 + b"</row>", b'<row r="7">' + cell * 4 + b"</row>"
    assert len(row7) == 4_165  # the largest row, from <row to </row>: what --max-record-size is held against
    path = _raw_xlsx(tmp_path / "rows.xlsx", _header(["uscc", "a", "b"]) + row2 + row7)
    result = cli("validate", path, "--schema", object_schema, "--max-columns", "3")
    assert result.exit_code == 2, result
    assert "sheet 'Wide' row 7 has more than 3 cells; the limit is 3 columns (--max-columns)" in result.stderr
    assert cli("validate", path, "--schema", object_schema, "--max-columns", "4").exit_code == 0  # 4 cells: at the limit
    result = cli("validate", path, "--schema", object_schema, "--max-record-size", "4164")
    assert result.exit_code == 2, result
    assert "sheet 'Wide' row 7 takes more than 4.1 KiB of the sheet's XML; the limit is 4.1 KiB a row" in result.stderr
    assert cli("validate", path, "--schema", object_schema, "--max-record-size", "4165").exit_code == 0


def test_rows_without_numbers_and_with_a_namespace_prefix_are_counted_too(cli, tmp_path, object_schema):
    rows = _header(["uscc"], "x") + b"<x:row><x:c><x:v>1</x:v></x:c></x:row><x:row>" + b"<x:c><x:v>1</x:v></x:c>" * 6 + b"</x:row>"
    path = _raw_xlsx(tmp_path / "prefixed.xlsx", rows, prefix="x")
    result = cli("validate", path, "--schema", object_schema, "--max-columns", "5")
    assert result.exit_code == 2, result
    assert "sheet 'Wide' row 3 has more than 5 cells" in result.stderr


@pytest.mark.parametrize("sheet_data, before, message", [
    (b"<row><c>", b"", "the XML of sheet 'Wide' is malformed: mismatched tag"),
    (b"<row><c><v>&lol;</v></c></row>", b'<!DOCTYPE worksheet [<!ENTITY lol "lol">]>', "sheet 'Wide' has a DOCTYPE declaration"),
])
def test_a_sheet_that_is_not_plain_xml_is_refused(cli, tmp_path, object_schema, sheet_data, before, message):
    path = _raw_xlsx(tmp_path / "odd.xlsx", _header(["uscc"]) + sheet_data, before=before)
    result = cli("validate", path, "--schema", object_schema)
    assert result.exit_code == 2, result
    assert message in result.stderr and "Traceback" not in result.output, result


def test_a_legitimate_workbook_is_still_read_whole(tmp_path, object_schema):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["uscc", *(f"col{i}" for i in range(1, 20))])
    for i in range(1000):
        ws.append([f"U{i:05d}", *(i * j for j in range(1, 20))])
    ws.append([None, "no uscc"])  # the one invalid record
    path = tmp_path / "normal.xlsx"
    wb.save(path)
    out = tmp_path / "r.json"
    run = mvptest("validate", path, "--schema", object_schema, "--json-out", out)
    assert run.returncode == 1, run.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert (report["records"], report["valid"], report["invalid"]) == (1001, 1000, 1)


def test_the_row_scan_passes_a_normal_sheet_of_1000_rows():
    """20,000 cells (850 KB of XML) within every limit: the scan refuses nothing (its cost, ~25 ms against openpyxl's
    ~165 ms for the same sheet, is a benchmark figure, not asserted here)."""
    import io
    import zipfile

    import openpyxl

    from mvptest.validation.xlsx import check_sheet_rows

    wb = openpyxl.Workbook()
    for i in range(1000):
        wb.active.append([f"v{i}-{j}" if j % 2 else i * j for j in range(20)])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as zf, zf.open("xl/worksheets/sheet1.xml") as part:
        assert check_sheet_rows(part, "Sheet", "normal.xlsx", Limits(columns=20)) is None
    with zipfile.ZipFile(buf) as zf, zf.open("xl/worksheets/sheet1.xml") as part:
        with pytest.raises(InputError, match="row 1 has more than 19 cells"):
            check_sheet_rows(part, "Sheet", "normal.xlsx", Limits(columns=19))


# --------------------------------------------------------------------------- an interrupted validate


def _pipe_empty(fd: int) -> bool:
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, sys.byteorder) == 0


def _sleeping(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "S"


def test_an_interrupt_reports_only_the_records_checked(tmp_path):
    # Every record is invalid. The records go through a pipe that stays open: once the pipe is empty and the
    # validator sleeps (blocked reading for more), exactly the records written have been checked; then SIGINT.
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "mvptest", "validate", "-", *map(str, SPEC), "--json-out", str(out)],
                            cwd=ROOT, env=env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    lines = b"".join(b'{"uscc": "bad-%d"}\n' % i for i in range(5000))
    proc.stdin.write(lines)
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    steady = 0
    while steady < 5 and time.monotonic() < deadline:  # five polls in a row: not a passing moment
        steady = steady + 1 if _pipe_empty(proc.stdin.fileno()) and _sleeping(proc.pid) else 0
        time.sleep(0.05)
    assert steady == 5, "the validator never waited for more input"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["interrupted"] is True and report["ok"] is False
    assert (report["records"], report["valid"], report["invalid"]) == (5000, 0, 5000)
    assert b"Traceback" not in err


# --------------------------------------------------------------------------- CSV output


def test_csv_out_never_writes_a_formula_cell(cli, tmp_path):
    data = tmp_path / "formulas.ndjson"
    values = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)"]
    data.write_text("".join(json.dumps({"uscc": v, "status": v}) + "\n" for v in values), encoding="utf-8")
    out = tmp_path / "issues.csv"
    result = cli("validate", data, *SPEC, "--csv-out", out, "--no-mask")
    assert result.exit_code == 1, result
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    cells = [c for row in rows[1:] for c in row]
    assert any("=cmd|" in c for c in cells)  # the value is there, as evidence...
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]  # ...but never as a formula


# --------------------------------------------------------------------------- pool files (run/plan.py)


def _pool(tmp_path: Path, name: str, content: bytes | None, **spec: Any) -> list[Any]:
    from mvptest.run.pools import _load_pool

    if content is not None:
        (tmp_path / name).write_bytes(content)
    return _load_pool({"file": name, **spec}, tmp_path, Location("scenarios/pilot.yaml", 12), "uscc")


def test_pool_files_are_read_by_the_data_readers(tmp_path):
    csv_gb = "uscc,name\n91350211MA2XNJ4D8L,厦门\n,空\n91350200MA31T3K79X,福州\n".encode("gb18030")
    assert _pool(tmp_path, "p.csv", csv_gb) == ["91350211MA2XNJ4D8L", "91350200MA31T3K79X"]
    assert _pool(tmp_path, "p.ndjson", b'{"uscc": "a"}\n\n{"uscc": "b"}\n') == ["a", "b"]
    assert _pool(tmp_path, "p.json", b'["a", "b", "c"]') == ["a", "b", "c"]
    assert _pool(tmp_path, "q.json", b'[{"code": "a"}]', column="code") == ["a"]


@pytest.mark.parametrize("name, content, extra, message", [
    ("nope.csv", None, {}, "nope.csv: no such file"),
    ("dir.csv", None, {}, "is a directory"),
    ("p.json", b'{"uscc": "a"}', {}, "is not a JSON array (it holds one JSON document)"),
    ("p.csv", b"code\n1\n", {}, "no column 'uscc'"),
    ("p.ndjson", b'{"uscc": "a"}\n{"uscc": \n', {}, ":2 is not a value: not JSON"),
    ("p.xlsx", (BAD / "zip-bomb.xlsx").read_bytes(), {}, "expands 1,022 times"),
    ("p.csv", b"\x80\xff\xfe\x81\n" * 3, {}, "neither UTF-8 nor GB18030"),
])
def test_a_pool_file_that_is_not_data_is_bad_input_naming_the_scenario_line(tmp_path, name, content, extra, message):
    if name == "dir.csv":
        (tmp_path / name).mkdir()
    with pytest.raises(InputError) as info:
        _pool(tmp_path, name, content, **extra)
    assert info.value.exit_code == 2
    assert str(info.value.where) == "scenarios/pilot.yaml:12"
    assert message in info.value.message, info.value.message


# --------------------------------------------------------------------------- properties


def _read(path: Path, limits: Limits = Limits()) -> list[Any]:
    """Every record of a file, or the InputError that refused it; any other exception fails the property."""
    source = open_source(path, bundled=None, limits=limits)
    try:
        return list(source)
    finally:
        source.close()


SUFFIXES = [".json", ".ndjson", ".csv", ".xlsx", ""]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(SUFFIXES), prefix=st.sampled_from([b"", b"[", b"{", b"PK\x03\x04", b"\xef\xbb\xbf"]))
def test_random_bytes_give_records_or_one_input_error(tmp_path, data, suffix, prefix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(prefix + data)
    try:
        rows = _read(path, Limits(record_bytes=256, depth=8))
    except InputError as exc:
        assert exc.exit_code == 2 and exc.where is not None
        return
    for line, record in rows:
        assert line is None or line >= 1
        assert isinstance(record, Unparsable) or record is not None or suffix in (".json", "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), min_size=1, max_size=8))
def test_a_damaged_xlsx_gives_records_or_one_input_error(tmp_path, flips):
    data = bytearray((SAMPLES / "insured-persons.xlsx").read_bytes())
    for pos, value in flips:
        data[pos % len(data)] = value
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(data))
    try:
        _read(path)
    except InputError as exc:
        assert exc.exit_code == 2


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(JSON, min_size=1, max_size=6), depth_limit=st.integers(1, 6))
def test_json_values_round_trip_through_ndjson_and_json_arrays_unless_too_deep(tmp_path, values, depth_limit):
    limits = Limits(depth=depth_limit)
    nd = tmp_path / "v.ndjson"
    nd.write_bytes(b"".join(json.dumps(v, ensure_ascii=False).encode() + b"\n" for v in values))
    arr = tmp_path / "v.json"
    arr.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
    for path in (nd, arr):
        got = [r for _, r in _read(path, limits)]
        assert len(got) == len(values)
        for value, record in zip(values, got):
            if _depth(value) > depth_limit:
                assert isinstance(record, Unparsable) and record.kind == "depth"
            else:
                assert record == value


@given(lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
       limit=st.integers(1, 50), chunk=st.integers(1, 64))
def test_line_batches_splits_exactly_and_never_holds_an_over_long_line(lines, limit, chunk):
    import io

    data = b"\n".join(lines)
    stream = io.BytesIO(data)
    got = [x for batch in line_batches(stream.read, limit, chunk) for x in batch]
    expected = data.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()  # a final newline ends the last line, it does not start another
    assert len(got) == len(expected)
    for have, want in zip(got, expected):
        if len(want) > limit:
            assert type(have) is not bytes and int(have) == len(want)
        else:
            assert have == want
