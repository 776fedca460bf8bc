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
