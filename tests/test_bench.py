"""Benchmarks stay runnable: each runs at smoke size (the full runs are `make bench`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("bench_polling.py", ["second cycle <= 10 s: PASS", "flow 2"]),
        ("bench_dedup.py", ["assigned to stories in <= 2 s: PASS"]),
        ("bench_views.py", ["goal every view <= 300 ms: PASS", "trend refresh"]),
        ("bench_load.py", ["rows/s", "same ids: True"]),
        (
            "bench_pipeline.py",
            ["articles stored: threads 40", "flow phases, processes", "cpu ", "goal Prefect cost"],
        ),
    ],
)
def test_benchmark_runs_at_smoke_size(script, expected):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for line in expected:
        assert line in out.stdout


def test_run_all_reads_the_headline_figures_back():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run_all
    finally:
        sys.path.remove(str(ROOT / "bench"))
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_load.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    figures = dict(run_all.headline("load", smoke=True))
    assert int(figures["load_cycle rows/s"].replace(",", "")) > 0
    # Every result file there is (smoke or full) reads back without a missing key.
    for _script, _full, _smoke, stem in run_all.SCRIPTS:
        assert all(f != "(figures not read)" for f, _ in run_all.headline(stem, smoke=True))
