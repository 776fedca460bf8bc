"""Benchmarks stay runnable: each runs at smoke size (the full runs are `make bench`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT


@pytest.mark.slow
def test_polling_benchmark_smoke():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_polling.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "second cycle <= 10 s: PASS" in out.stdout
    assert "flow 2" in out.stdout


@pytest.mark.slow
def test_dedup_benchmark_smoke():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_dedup.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "assigned to stories in <= 2 s: PASS" in out.stdout
