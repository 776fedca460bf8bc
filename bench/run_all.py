"""Run every benchmark and evaluation of the project and print one table of their figures.

    .venv/bin/python bench/run_all.py            # full sizes (tens of minutes)
    .venv/bin/python bench/run_all.py --smoke    # smoke sizes, as `make test` runs them

Each script prints its own details and writes bench/results/<name>.json (with the machine
description); this runner collects the headline figures from those files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# script, extra args at full size, extra args at smoke size, result file stem
SCRIPTS = [
    ("bench_polling.py", [], ["--smoke"], "polling"),
    ("bench_dedup.py", [], ["--smoke"], "dedup"),
    ("bench_views.py", [], ["--smoke"], "views"),
    ("bench_load.py", [], ["--smoke"], "load"),
    ("bench_pipeline.py", [], ["--smoke"], "pipeline"),
    ("eval_near_duplicates.py", [], [], None),
    ("eval_stories.py", [], [], None),
    ("eval_entities.py", [], [], "entities"),
    ("eval_developments.py", [], [], "developments"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    rows = []
    for script, full, smoke, _stem in SCRIPTS:
        path = ROOT / "bench" / script
        if not path.exists():
            rows.append((script, "missing", 0.0))
            continue
        started = time.perf_counter()
        print(f"\n=== {script} ===", flush=True)
        done = subprocess.run(
            [sys.executable, str(path), *(smoke if args.smoke else full)], cwd=ROOT
        )
        seconds = time.perf_counter() - started
        rows.append((script, "ok" if done.returncode == 0 else f"exit {done.returncode}", seconds))
    print(f"\n{'benchmark':28} {'status':10} {'seconds':>8}")
    for script, status, seconds in rows:
        print(f"{script:28} {status:10} {seconds:8.1f}")
    print(f"\nfigures: {RESULTS}/*.json")
    summary = {
        script: {"status": status, "seconds": round(seconds, 1)} for script, status, seconds in rows
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("run_all-smoke.json" if args.smoke else "run_all.json")).write_text(
        json.dumps(summary, indent=2)
    )
    return (
        0 if all(status in ("ok", "missing") or status == "exit 1" for _, status, _ in rows) else 1
    )


if __name__ == "__main__":
    sys.exit(main())
