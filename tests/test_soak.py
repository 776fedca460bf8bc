"""The soak (bench/soak.py and its bench/soak_*.py modules): its detector on planted leftovers,
and the soak itself, small."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from bench import soak

from .conftest import ROOT

# A child that starts a grandchild in a session of its own, detached from nothing: the
# grandchild keeps the child's stdout and outlives it (what a server left behind does).
LEAVES_A_GRANDCHILD = (
    "import subprocess, sys\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
    " start_new_session=True)\n"
    "print('started', flush=True)\n"
)


def test_the_detector_finds_a_grandchild_left_behind_and_the_pipe_it_holds(tmp_path):
    marker = f"test-{uuid.uuid4().hex}"
    result = soak.run_once(
        [sys.executable, "-c", LEAVES_A_GRANDCHILD], dict(os.environ), tmp_path, marker, grace=1
    )
    try:
        assert result.exit_code == 0 and "started" in result.stdout
        assert [i.cmd for i in result.left] == [f"{sys.executable} -c import time; time.sleep(60)"]
        assert result.left_kinds[0].startswith("other: ")
        assert result.eof_after_exit is None  # the grandchild holds the pipe
        assert any(str(result.left[0].pid) in h for h in result.pipe_held_by)
    finally:
        soak.reap(result.left)
    assert soak.marked(marker) == []


def test_a_killed_run_is_reported_and_a_clean_exit_leaves_nothing(tmp_path):
    marker = f"test-{uuid.uuid4().hex}"
    sleeper = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
    result = soak.run_once(sleeper, dict(os.environ), tmp_path, marker, kill_after=1.0, grace=1)
    assert result.exit_code == -9 and 1.0 <= result.killed_at < 5
    assert result.stdout == "up\n"
    assert result.left == [] and result.eof_after_exit is not None


def test_check_c_finds_a_url_stored_twice_and_a_final_entry_missing(tmp_path):
    from newsmon import warehouse

    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:  # the real schema, migrations applied
        for article_id in ("a1", "a2"):
            con.execute(
                "INSERT INTO articles (article_id, feed_id, url, fetched_at, text_source)"
                " VALUES (?, 'f', 'http://127.0.0.1:9/x/news/ferry-3100001', now(), 'feed')",
                [article_id],
            )
    served = {"http://127.0.0.1:9/x/news/ferry-3100001", "http://127.0.0.1:9/x/news/rail-3100002"}
    figures, problems = soak.check_warehouse(db, served, final_listed=served)
    assert figures["rows"] == figures["distinct_ids"] == 2
    assert figures["urls_stored_twice"] == 1 and figures["final_listed_stored"] == 1
    assert len(problems) == 2 and "stored more than once" in problems[0]
    assert "rail-3100002" in problems[1]


def test_run_all_reads_the_soak_figures_back(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run_all
    finally:
        sys.path.remove(str(ROOT / "bench"))
    monkeypatch.setattr(run_all, "RESULTS", tmp_path)
    figures = {
        "cycles": 12,
        "seconds": 181.4,
        "leftover_processes": 2,
        "pipes_held_open": 1,
        "runs_failed": 0,
        "warehouse": {"rows": 136, "distinct_ids": 136, "urls_stored_twice": 0},
        "staging_left": [],
        "growth": {"fds": [7, 7], "rss_mib": [72.9, 73.6], "threads": [2, 2]},
        "passed": False,
    }
    (tmp_path / "soak-smoke.json").write_text(json.dumps(figures))
    rows = dict(run_all.headline("soak", smoke=True))
    assert rows["processes left / pipes held open / runs failed"] == "2 / 1 / 0 (12 cycles)"
    assert rows["articles stored twice / staged batches left"] == "0 / 0"
    assert rows["soak process, first -> last fifth: fds / RSS MiB"] == "7 -> 7 / 72.9 -> 73.6"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_the_soak_passes_at_smoke_size():
    # SMOKE_CYCLES (50) cycles and a clean one: about 12 minutes on 2 quiet cores, about 30 at
    # load average 4 (docs/benchmarks.md, "Soak"); the subprocess times out first, so the
    # failure names it rather than pytest-timeout.
    runs = soak.SMOKE_CYCLES + 1
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=3540,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    grace = f"{soak.GRACE:g}"
    for line in (
        f"(a) processes alive {grace} s after their run exited: 0 in 0 of {runs} runs",
        f"(a) stdout pipe at EOF within {grace} s of exit: {runs} of {runs} runs",
        "(d) staging after the final clean cycle: ",
        "soak: PASS",
    ):
        assert line in out.stdout
    assert "runs on the process runner: 0," not in out.stdout
