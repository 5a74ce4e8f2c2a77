"""`mvptest run` never loses what it measured and never waits forever (issue 9: nothing lost, no hang).

Every run is a real ``python -m mvptest`` subprocess (Locust monkey-patches the process that imports it): a
results folder that cannot be written is found before any traffic, one that disappears during the run still
leaves the record somewhere named, a master without workers and a worker without a master give up after the
time they said, and user text never reaches the console as markup.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from test_run import (
    PILOT,
    ROOT,
    Lines,
    assert_consistent,
    describe,
    free_port,
    mvptest,
    processes_with,
    read_summary,
    run_env,
    start,
)


class CountingListener:
    """A loopback 'provider' that only counts the TCP connections that reach it (a request needs one)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def __enter__(self) -> CountingListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


# --------------------------------------------------------------------------- a results folder that cannot be written


def _unwritable(kind: str, tmp_path: Path) -> Path:
    if kind == "a-file":
        (tmp_path / "results").write_text("not a folder\n", encoding="utf-8")
        return tmp_path / "results"
    if kind == "under-a-file":
        (tmp_path / "plain.txt").write_text("a regular file\n", encoding="utf-8")
        return tmp_path / "plain.txt" / "results"
    # sysfs takes no new folder, not even from root (chmod would not stop root, who runs these tests)
    path = Path("/sys") / f"mvptest-results-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir()
    except OSError:
        return path
    path.rmdir()
    pytest.skip("/sys takes new folders here")


@pytest.mark.parametrize("kind", ["a-file", "under-a-file", "sysfs"])
def test_unwritable_results_folder_is_exit_2_before_any_traffic(tmp_path: Path, kind: str) -> None:
    results = _unwritable(kind, tmp_path)
    with CountingListener() as provider:
        t0 = time.monotonic()
        proc = mvptest("run", PILOT, "--target", provider.url, "--duration", "2s", "--users", "2",
                       "--results-dir", results)
        elapsed = time.monotonic() - t0
    assert proc.returncode == 2, describe(proc)
    assert provider.connections == 0  # not even the preflight connect: the folder was probed first
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr  # one message, naming the folder
    assert lines[0].startswith(f"error: {results}: cannot write the run's results here ("), proc.stderr
    assert "nothing was run" in proc.stderr and "--results-dir" in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert elapsed < 2 + 10  # found before the 2 s of load, not after (10 s: interpreter and Locust import, busy CI)


def test_probe_leaves_no_trace_when_nothing_is_measured(tmp_path: Path) -> None:
    """The probe creates the run folder; a run that then measures nothing (target refused) removes it again."""
    port = free_port()
    proc = mvptest("run", PILOT, "--target", f"http://127.0.0.1:{port}", "--duration", "2s", "--users", "1",
                   "--results-dir", tmp_path / "a" / "results")
    assert proc.returncode == 3, describe(proc)
    assert not (tmp_path / "a").exists()


# --------------------------------------------------------------------------- a results folder lost during the run


def test_run_folder_replaced_by_a_file_mid_run_keeps_the_record_in_the_temporary_folder(tmp_path: Path) -> None:
    results, tmp = tmp_path / "results", tmp_path / "tmp"
    tmp.mkdir()
    run_dir = results / "mid-run"
    proc = start("run", PILOT, "--duration", "3s", "--users", "2", "--success-rate", "0.9", "--results-dir", results,
                 "--run-id", "mid-run", env=run_env(TMPDIR=str(tmp)))
    try:
        err = Lines(proc)
        err.wait_for("mvptest run pilot-enterprise-registration", timeout=30)  # the load is on
        assert run_dir.is_dir() and not any(run_dir.iterdir())  # created and probed before it, the probe removed
        run_dir.rmdir()
        run_dir.write_text("someone else's file\n", encoding="utf-8")
        proc.wait(timeout=60)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rest = err.rest()
    assert proc.returncode == 0, (out, rest)  # the run's own verdict: it passed, and its record is kept
    [fallback] = list(tmp.glob("mvptest-results-*/mid-run"))
    assert f"could not write {run_dir} at the end" in rest and f"the run's record is in {fallback} instead" in rest
    assert f"results: {fallback}" in out
    s = assert_consistent(fallback)  # every file, and our counts == the sandbox's own
    assert s["verdict"] == "pass" and s["requests"] == s["sandbox_stats"]["requests"] > 0
    assert run_dir.read_text(encoding="utf-8") == "someone else's file\n"  # never overwritten


# --------------------------------------------------------------------------- bounded waits


def test_master_without_workers_gives_up_after_the_stated_wait(tmp_path: Path) -> None:
    marker = "mvptest-test-" + uuid.uuid4().hex
    port = free_port()
    t0 = time.monotonic()
    proc = mvptest("run", PILOT, "--master", "--expect-workers", "2", "--wait-workers", "2", "--master-port", port,
                   "--duration", "2s", "--results-dir", tmp_path / "r", env=run_env(MVPTEST_TEST_MARKER=marker))
    elapsed = time.monotonic() - t0
    assert proc.returncode == 3, describe(proc)
    assert "waiting up to 2 s for 2 worker(s)" in proc.stderr  # said at the start
    assert f"only 0 of 2 worker(s) joined the master at 127.0.0.1:{port} within 2 s" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 2 + 15  # the wait, plus the sandbox and Locust starting on a busy machine
    assert not (tmp_path / "r").exists()  # nothing measured, nothing left
    assert not processes_with(marker)  # the sandbox went with it


def test_worker_without_master_gives_up_after_the_stated_wait() -> None:
    port = free_port()
    t0 = time.monotonic()
    proc = mvptest("worker", "--master", f"127.0.0.1:{port}", "--wait-master", "2")
    elapsed = time.monotonic() - t0
    assert proc.returncode == 3, describe(proc)
    assert "waiting up to 2 s" in proc.stderr
    assert f"error: no master answered at 127.0.0.1:{port} within 2 s" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert 2 <= elapsed < 2 + 10  # it did wait, and no longer than said (plus the interpreter and Locust import)


# --------------------------------------------------------------------------- user text is never console markup


def test_markup_in_a_scenario_name_and_pool_values_prints_literally(tmp_path: Path) -> None:
    name = "pilot [/] [bold]loud[/bold] [red]"
    (tmp_path / "codes.csv").write_text("uscc\n91110000600037341L\n[/]\n", encoding="utf-8")
    text = PILOT.read_text(encoding="utf-8").replace("../specs/", f"{ROOT}/specs/")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text.replace("name: pilot-enterprise-registration", f"name: '{name}'")
                        + "data: {uscc: {file: codes.csv}}\n", encoding="utf-8")
    proc = mvptest("run", scenario, "--duration", "1s", "--users", "1", "--results-dir", tmp_path / "r")
    assert proc.returncode == 1, describe(proc)  # the '[/]' calls fail at the provider: a result, not a crash
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "(e.g. [/])" in proc.stderr  # the pool warning, literally
    assert f"mvptest run {name}: 1 users" in proc.stderr  # the start line
    assert f"mvptest run {name}: " in proc.stdout  # the final table's title
    assert read_summary(next((tmp_path / "r").iterdir()))["scenario"] == name


# --------------------------------------------------------------------------- a worker lost as the run ends


def test_a_worker_killed_as_the_run_ends_still_fails_the_run(tmp_path: Path) -> None:
    """Killed too late for the heartbeat to miss it during the load: its final report never comes, and that is
    enough (whichever of the two notices it, the run is incomplete)."""
    marker = "mvptest-test-" + uuid.uuid4().hex
    proc = start("run", PILOT, "--duration", "4s", "--users", "4", "--workers", "2", "--success-rate", "0.9",
                 "--results-dir", tmp_path, env=run_env(MVPTEST_TEST_MARKER=marker))
    try:
        err = Lines(proc)
        err.wait_for("mvptest run pilot-enterprise-registration", timeout=30)  # the load is on
        time.sleep(3.5)  # half a second before the end; Locust misses a heartbeat only after 3 s
        workers = [pid for pid in processes_with(marker)
                   if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes() and pid != proc.pid]
        assert len(workers) == 2, workers
        os.kill(workers[0], 9)
        proc.wait(timeout=60)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rest = err.rest()
    assert proc.returncode == 1, (out, rest)
    [run_dir] = [p for p in tmp_path.iterdir() if p.name != "latest"]  # latest: a link to the run's folder
    s = assert_consistent(run_dir, worker_lost=True)
    [lost] = s["workers_lost"]
    assert s["verdict"] == "fail" and s["incomplete"] is True
    assert s["verdict_reason"] == f"worker {lost} was lost mid-run; its calls since its last report are uncounted"
    assert s["requests"] < s["sandbox_stats"]["requests"]  # the dead worker's last calls: served, never counted
    assert "verdict: FAIL (incomplete: a worker was lost)" in out
    assert not processes_with(marker)


# --------------------------------------------------------------------------- the record itself (pure, no load)


def _summary_of(plan_kwargs: dict, *, workers_lost: list[str] | None = None, calls: int = 400) -> tuple:
    from mvptest.run.plan import build_plan
    from mvptest.run.recorder import Recorder
    from mvptest.run.summary import build_summary, histograms, timeseries_rows

    rec = Recorder()
    for i in range(calls):
        rec.record("market-supervision/enterprise-registration", latency_ms=3.0, category=None, start_time=5000.0 + i / 100)
    summary = build_summary(run_id="lost", plan=build_plan(PILOT, **plan_kwargs), recorder=rec, started_at=5000.0,
                            finished_at=5004.0, interrupted=False, target_url="http://127.0.0.1:9", workers=2,
                            cpu_saturated=False, workers_lost=workers_lost, locust_requests=rec.total_requests)
    return summary, timeseries_rows(rec, 5000.0), histograms(rec)


def test_a_lost_worker_fails_a_run_whose_targets_are_all_met(tmp_path: Path) -> None:
    from mvptest.run.folder import write_run

    summary, rows, hist = _summary_of({"success_rate": 0.99}, workers_lost=["host_abc"])
    assert all(t["met"] for t in summary["interfaces"][0]["targets"])  # every target met by what was counted
    assert summary["verdict"] == "fail" and summary["incomplete"] is True
    assert summary["verdict_reason"] == "worker host_abc was lost mid-run; its calls since its last report are uncounted"
    write_run(tmp_path / "lost", summary, rows, hist)
    assert_consistent(tmp_path / "lost", worker_lost=True)  # junit: valid, one more case, failed
    junit = (tmp_path / "lost" / "junit.xml").read_text(encoding="utf-8")
    assert 'classname="run" name="every worker reported to the end"' in junit and 'type="run-incomplete"' in junit
    page = (tmp_path / "lost" / "report.html").read_text(encoding="utf-8")
    assert "Why it fails: worker host_abc was lost mid-run" in page
    complete, _, _ = _summary_of({"success_rate": 0.99})
    assert complete["verdict"] == "pass" and complete["incomplete"] is False
    assert complete["verdict_reason"] == "every target is met"


def test_a_record_that_no_folder_takes_is_exit_4_naming_every_place_tried(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from mvptest.errors import ExitCode, MvptestError
    from mvptest.run.folder import write_run_or_fallback

    (tmp_path / "f").write_text("a file\n", encoding="utf-8")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "f" / "tmp"))
    monkeypatch.setenv("HOME", str(tmp_path / "f" / "home"))
    summary, rows, hist = _summary_of({"success_rate": 0.99})
    with pytest.raises(MvptestError) as err:
        write_run_or_fallback(tmp_path / "f" / "results" / "lost", summary, rows, hist)
    assert err.value.exit_code == ExitCode.INTERNAL
    text = str(err.value)
    for place in (tmp_path / "f" / "results" / "lost", tmp_path / "f" / "tmp", tmp_path / "f" / "home"):
        assert f"{place}: " in text
    # and with one place that takes it, the record lands there whole
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    where, problem = write_run_or_fallback(tmp_path / "f" / "results" / "lost", summary, rows, hist)
    assert where.parent.parent == tmp_path / "t" and where.name == "lost" and problem
    assert assert_consistent(where)["requests"] == 400


def test_a_worker_whose_master_dies_mid_run_gives_up_after_the_stated_wait(tmp_path: Path) -> None:
    marker = "mvptest-test-" + uuid.uuid4().hex
    port = free_port()
    master = start("run", PILOT, "--duration", "60s", "--users", "2", "--master", "--expect-workers", "1",
                   "--master-port", port, "--results-dir", tmp_path, env=run_env(MVPTEST_TEST_MARKER=marker))
    worker = None
    try:
        Lines(master).wait_for("waiting up to 60 s for 1 worker(s)", timeout=30)
        worker = start("worker", "--master", f"127.0.0.1:{port}", "--wait-master", "3")
        w_lines = Lines(worker)
        w_lines.wait_for("received", timeout=30)  # the plan: the run is on
        time.sleep(1)
        os.kill(master.pid, 9)
        t0 = time.monotonic()
        worker.wait(timeout=30)
        gave_up_in = time.monotonic() - t0
        w_err = w_lines.rest()
    finally:
        for p in (master, worker):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        for pid in processes_with(marker):  # the master's sandbox, orphaned by the kill
            os.kill(pid, 9)
    assert worker.returncode == 3, w_err
    assert 3 <= gave_up_in < 3 + 10  # the heartbeat stopped; it waited what it said, not Locust's 60 s
    assert f"lost the master at 127.0.0.1:{port}: no heartbeat for 3 s" in w_err


def test_run_id_must_be_a_plain_new_folder_name(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_text("{}\n", encoding="utf-8")
    for run_id, message in (("../x", "give a plain folder name"), ("old", "already holds a finished run")):
        proc = mvptest("run", PILOT, "--duration", "1s", "--results-dir", tmp_path, "--run-id", run_id)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, describe(proc)
    assert (tmp_path / "old" / "summary.json").read_text(encoding="utf-8") == "{}\n"  # the old run untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


# --------------------------------------------------------------------------- loads no generator can start


@pytest.mark.parametrize(("args", "what"), [
    (("--users", "100000000"), "100,000,000 users is more than 1 load process(es) can run"),
    (("--users", "20001", "--workers", "2"), "20,001 users is more than 2 load process(es) can run"),
    (("--rate", "1e12"), "a rate of 1,000,000,000,000 calls/s is more than 1 load process(es) can start"),
], ids=["users", "users-per-worker", "rate"])
def test_a_load_no_generator_can_start_is_bad_input_before_any_traffic(tmp_path: Path, args: tuple, what: str) -> None:
    """5,000,000 users once took 24 GB before the first call (and the OOM killer ended it)."""
    listener = CountingListener()
    with listener:
        proc = mvptest("run", PILOT, "--target", listener.url, "--results-dir", tmp_path / "r", *args)
    assert proc.returncode == 2 and what in proc.stderr and "Traceback" not in proc.stderr, describe(proc)
    assert listener.connections == 0


def test_users_in_the_scenario_past_the_limit_name_the_line(tmp_path: Path) -> None:
    scenario = tmp_path / "big.yaml"
    scenario.write_text(PILOT.read_text(encoding="utf-8").replace("../specs/", f"{ROOT}/specs/").replace(
        "load: {users: 20, spawn_rate: 20,", "load: {users: 5000000,"), encoding="utf-8")
    proc = mvptest("run", scenario, "--results-dir", tmp_path / "r")
    assert proc.returncode == 2 and "big.yaml:" in proc.stderr and "5,000,000 users" in proc.stderr, describe(proc)


def test_debug_is_accepted_after_the_command_name(tmp_path: Path) -> None:
    proc = mvptest("validate", tmp_path / "missing.json", "--schema", tmp_path / "missing-schema.json", "--debug")
    assert proc.returncode == 2, describe(proc)
    assert "No such option" not in proc.stderr and "no such file" in proc.stderr
