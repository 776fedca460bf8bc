"""Soak: many `newsmon run` cycles in a row against loopback feeds that change, fail, recover and
misbehave, a kill -9 now and then, then checks that nothing was left behind.

    .venv/bin/python bench/soak.py                 # 300 cycles (one to two hours on 2 cores)
    .venv/bin/python bench/soak.py --smoke         # 50 cycles, as `make test` runs it (12-30 min)
    .venv/bin/python bench/soak.py --cycles 40 --seed 7 --dir /tmp/soak   # keep the work folder

Each cycle runs `newsmon run --sources S --db W` the way a user or a scheduler does: a
subprocess of the console script, stdin /dev/null, stdout a pipe, no Prefect server configured
(every PREFECT_* variable removed; PREFECT_HOME a folder of the soak's own, analytics off), so
each run starts and stops Prefect's temporary API server itself. The feeds are served by a real
HTTP server on 127.0.0.1 (port 0) inside this process: five invented outlets whose feeds (RSS
with and without GUIDs, Atom) gain entries every cycle, revise some, copy one another's text,
and on some cycles answer 500, 503 or 429 with Retry-After, time out, drip, send a truncated or
malformed body, a body over the size cap, a gzip bomb, a redirect loop, HTML, nothing at all;
article pages fail, stall, grow huge or come back too short. Every tenth cycle (the third,
thirteenth...; two at least) is a burst of about 100 new articles, so the process runner
(`runner.auto_min_articles` = 75) runs; on a few cycles this process holds the live warehouse
open, as an analyst's session would, so the run stages its batch; on about one cycle in twenty
(seeded) the run's main process alone gets SIGKILL at a random moment, as a scheduler's
timeout or the OOM killer would deliver it. After the N cycles, one more cycle with every feed
healthy, then the checks:

(a) no process left: every process started by a run (found by a marker in its environment,
    NEWSMON_SOAK_MARKER, which children inherit, and by the run's process tree, sampled while
    it runs) is gone 5 s after its run exits, and the run's stdout pipe reaches EOF within 5 s
    (no grandchild holds it). What survives is listed, then killed by pid
    (`--keep-leftovers`: left running and measured with the soak process);
(b) no growth: open file descriptors, RSS and threads of this process (the HTTP server runs
    in it) from the first fifth of the cycles to the last (medians);
(c) every article stored once: count(*) = count(DISTINCT article_id), no URL stored twice,
    nothing stored that was not served, every entry of the final feeds stored;
(d) nothing staged forever: `<warehouse>.staging/` empty or absent after the clean cycle;
(e) every run that was not killed exited 0 within `--run-timeout`.

Each figure is printed; the exit status is 1 when a check fails (its reason printed), and
the figures go to bench/results/soak.json (soak-smoke.json with --smoke). The work folder is
removed unless `--dir` names one or a check failed. Linux only (/proc, SIGKILL).

This module runs the cycles; the rest lives beside it: bench/soak_outlets.py (the invented
outlets, their articles, pages and feeds), bench/soak_site.py (the newsroom's state, the
routes of the loopback server and the faults it serves), bench/soak_procs.py (running one
command and finding what outlives it) and bench/soak_checks.py (checks (a)-(e), the report).
Their public names can also be imported from here.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT / "src", ROOT):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import duckdb  # noqa: E402
import yaml  # noqa: E402

from bench.soak_checks import check_warehouse, fifths, median, report  # noqa: E402
from bench.soak_outlets import (  # noqa: E402
    OUTLETS,
    WINDOW,
    Item,
    render_feed,
    render_page,
    write_item,
)
from bench.soak_procs import (  # noqa: E402
    GRACE,
    MARKER,
    ProcInfo,
    RunResult,
    descendants,
    kind_of,
    marked,
    own_usage,
    pipe_holders,
    proc_info,
    reap,
    run_once,
)
from bench.soak_site import (  # noqa: E402
    BURST_PER_OUTLET,
    FEED_FAULTS,
    PAGE_FAULTS,
    Newsroom,
    Plan,
    Routes,
    plan_cycle,
)
from newsmon.demo.server import StaticSite  # noqa: E402

# The pieces moved to the modules above stay reachable as bench.soak.<name> (tests/test_soak.py).
__all__ = [
    "BURST_PER_OUTLET",
    "FEED_FAULTS",
    "GRACE",
    "MARKER",
    "OUTLETS",
    "PAGE_FAULTS",
    "WINDOW",
    "Item",
    "Newsroom",
    "Plan",
    "ProcInfo",
    "RunResult",
    "check_warehouse",
    "descendants",
    "fifths",
    "kind_of",
    "main",
    "marked",
    "pipe_holders",
    "plan_cycle",
    "proc_info",
    "reap",
    "render_feed",
    "render_page",
    "report",
    "run_once",
    "soak",
    "write_item",
]

SMOKE_CYCLES = 50  # 12 min on 2 quiet cores, ~30 at load 4 (docs/benchmarks.md, "Soak")
FULL_CYCLES = 300
BURST_EVERY, BURST_AT = 10, 3  # cycles 3, 13, 23...: about 100 new articles each

# http settings of the sources file: a stalled feed or page costs the run about 2 s.
HTTP = {
    "connect_timeout": 1,
    "read_timeout": 1,
    "total_timeout": 2,
    "max_body_bytes": 1_000_000,
    "max_redirects": 3,
    "per_host_connections": 4,
}
# A compressed schedule: every feed is due again a second or two after its last poll (a
# cycle takes ten), Retry-After and backoff included.
POLLING = {
    "initial_interval": "1s",
    "min_interval": "1s",
    "max_interval": "2s",
    "backoff_base": "1s",
    "backoff_max": "2s",
}

# ---------------------------------------------------------------------------------------------
# The soak.


def child_env(prefect_home: Path) -> dict[str, str]:
    """The runs' environment: no Prefect server, a Prefect home of their own, no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(prefect_home)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    return env


def newsmon_command() -> list[str]:
    """The console script next to this interpreter (as users run it), else the module."""
    script = Path(sys.executable).parent / "newsmon"
    return [str(script)] if script.exists() else [sys.executable, "-m", "newsmon.cli"]


def _parse(stdout: str) -> dict[str, int | bool]:
    """The figures of a run's summary on stdout."""
    figures: dict[str, int | bool] = {}
    if m := re.search(r"new articles (\d+)", stdout):
        figures["new"] = int(m[1])
    if m := re.search(r"feeds polled (\d+) .*?: ok (\d+) .*?failed (\d+)", stdout):
        figures["polled"], figures["ok"], figures["failed"] = map(int, m.groups())
    if m := re.search(r"; updated (\d+);", stdout):
        figures["updated"] = int(m[1])
    if m := re.search(r"this run's (\d+) entries are staged", stdout):
        figures["staged"], figures["entries"] = True, int(m[1])
    return figures


def soak(args: argparse.Namespace, work: Path) -> int:
    """Run the cycles and the clean one in `work`, then report; returns the exit status."""
    rng = random.Random(args.seed)
    soak_id = uuid.uuid4().hex[:12]
    cycles = args.cycles
    total = cycles + 1  # the last one is the clean cycle
    bursts = {c for c in range(1, cycles + 1) if c % BURST_EVERY == BURST_AT}
    if len(bursts) < 2 and cycles >= 6:
        # Two bursts at least: one may be killed, the other then runs the process runner
        # to its end.
        bursts.add(cycles - 2)
    # About one cycle in twenty is killed (two at least), half of them bursts: a burst is
    # where the process runner's forkserver and workers run.
    kill_count = 0
    if args.kill_one_in:
        kill_count = min(cycles, max(2, round(cycles / args.kill_one_in)))
    from_bursts = min(len(bursts), (kill_count + 1) // 2)
    others = [c for c in range(1, cycles + 1) if c not in bursts]
    kills = set(rng.sample(sorted(bursts), from_bursts))
    kills |= set(rng.sample(others, min(len(others), kill_count - from_bursts)))
    quiet = [c for c in others if c not in kills]
    busy = set(rng.sample(quiet, min(len(quiet), max(1, cycles // 12))))
    forced = {c for c in range(1, cycles + 1) if rng.random() < 0.25} | {total}

    newsroom = Newsroom(args.seed)
    site = StaticSite()
    site.routes = Routes(newsroom)
    db = work / "warehouse.duckdb"
    sources = work / "sources.yaml"
    prefect_home = work / "prefect-home"
    prefect_home.mkdir()
    logs = work / "logs"
    logs.mkdir()
    env = child_env(prefect_home)
    cmd = newsmon_command()
    # DuckDB's first connection in this process allocates for good: pay that before the
    # first sample, so (b) sees growth, not the warm-up.
    with duckdb.connect(str(work / "warm-up.duckdb")) as con:
        con.execute("SELECT 1").fetchall()

    records: list[dict] = []
    samples: list[dict[str, float]] = []
    leftovers: list[tuple[int, str, ProcInfo]] = []  # (cycle, kind, process)
    kept: list[ProcInfo] = []
    streaks: Counter = Counter()
    durations: dict[bool, list[float]] = {False: [], True: []}
    wall = time.monotonic()
    with site:
        newsroom.base = site.base_url
        feeds = [
            {
                "id": outlet,
                "name": name,
                "url": site.url(f"/{outlet}/feed.xml"),
                "language": "en",
            }
            for outlet, (name, _kind) in OUTLETS.items()
        ]
        data = {
            "feeds": feeds,
            "settings": {
                "warehouse": str(db),
                "allow_private_networks": True,
                "lock_wait": 1,
                "http": HTTP,
                "polling": {**POLLING, "robots_txt": True},
            },
        }
        sources.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        print(
            f"soak {soak_id}: {cycles} cycles + 1 clean, seed {args.seed}; {len(OUTLETS)} outlets"
            f" at {site.base_url}; bursts {sorted(bursts)}; kill -9 in {sorted(kills)};"
            f" warehouse held open in {sorted(busy)}; work folder {work}",
            flush=True,
        )
        print(f"runs: {' '.join(cmd)} run --sources {sources} --db {db} [--force]", flush=True)
        for cycle in range(1, total + 1):
            clean = cycle == total
            burst = cycle in bursts
            newsroom.plan = plan_cycle(rng, newsroom, burst, clean, streaks)
            site.requests = []
            kill_after = None
            if cycle in kills:
                # Somewhere in a run of this kind, by the runs measured so far (a burst takes
                # about twice a small cycle); in a burst, in its second half, where the
                # process runner works.
                small = median(durations[False]) or 12.0
                expected = median(durations[burst]) or (2 * small if burst else small)
                kill_after = rng.uniform(0.4 if burst else 0.05, 0.9) * expected
            holder = None
            if cycle in busy and db.exists():
                try:
                    holder = duckdb.connect(str(db), read_only=True)
                except duckdb.Error as exc:  # held by a process left over
                    print(f"  (could not hold the warehouse open: {exc})")
            argv = [*cmd, "run", "--sources", str(sources), "--db", str(db)]
            if cycle in forced:
                argv.append("--force")
            stderr_path = logs / f"cycle-{cycle:03d}.stderr"
            try:
                result = run_once(
                    argv,
                    env,
                    work,
                    f"{soak_id}:{cycle}",
                    kill_after=kill_after,
                    timeout=args.run_timeout,
                    stderr_path=stderr_path,
                )
            finally:
                if holder is not None:
                    holder.close()
            figures = _parse(result.stdout)
            ok_exit = result.killed_at is not None or (
                result.exit_code == 0 and not result.timed_out
            )
            if ok_exit and result.killed_at is None:
                durations[burst].append(result.seconds)
            if ok_exit and not result.left and result.eof_after_exit is not None:
                stderr_path.unlink(missing_ok=True)
            for info, kind in zip(result.left, result.left_kinds, strict=True):
                leftovers.append((cycle, kind, info))
            if args.keep_leftovers:
                kept += result.left
            else:
                reap(result.left)
            runner = "processes" if any("forkserver" in k for k in result.seen) else "threads"
            record = {
                "cycle": cycle,
                "kind": "clean" if clean else "burst" if burst else "small",
                "force": "--force" in argv,
                "busy": holder is not None,
                "faults": dict(newsroom.plan.feed_faults),
                "page_faults": len(newsroom.plan.page_faults),
                "exit": result.exit_code,
                "seconds": round(result.seconds, 2),
                "killed_at": None if result.killed_at is None else round(result.killed_at, 2),
                "kill_planned": None if kill_after is None else round(kill_after, 2),
                "timed_out": result.timed_out,
                "runner": runner,
                "requests": len(site.requests),
                "eof_after_exit": None
                if result.eof_after_exit is None
                else round(result.eof_after_exit, 2),
                "pipe_held_by": result.pipe_held_by,
                "seen": result.seen,
                "left": [
                    f"{k} (pid {i.pid}, {i.rss_kib // 1024} MiB, {i.fds} fds)"
                    for i, k in zip(result.left, result.left_kinds, strict=True)
                ],
                **figures,
            }
            records.append(record)
            usage = own_usage()
            if kept:
                alive = [n for i in kept if (n := proc_info(i.pid)) and n.key == i.key]
                usage["kept_rss_mib"] = round(sum(i.rss_kib for i in alive) / 1024, 1)
                usage["kept_fds"] = sum(i.fds for i in alive)
            samples.append(usage)
            print(_cycle_line(record, total), flush=True)
            if not ok_exit:
                print(f"  stderr of the run kept in {stderr_path}")
        final_listed = newsroom.listed_urls()
        served = set(newsroom.served_urls)
    wall = time.monotonic() - wall
    if kept:
        reap(kept)
    return report(args, work, db, records, samples, leftovers, served, final_listed, wall)


def _cycle_line(r: dict, total: int) -> str:
    what = r["kind"] + (" busy" if r["busy"] else "") + (" force" if r["force"] else "")
    exit_text = "killed" if r["killed_at"] is not None and r["exit"] == -9 else f"exit {r['exit']}"
    if r["killed_at"] is not None:
        exit_text += f" @{r['killed_at']:.1f}s"
    if r["timed_out"]:
        exit_text += " TIMEOUT"
    if r["kill_planned"] is not None and r["killed_at"] is None:
        exit_text += f" (kill @{r['kill_planned']:.1f}s came late)"
    new = f"{r['new']}" if "new" in r else "-"
    if r.get("updated"):
        new += f"+{r['updated']}u"
    staged = " staged" if r.get("staged") else ""
    faults = ", ".join(f"{o} {f}" for o, f in sorted(r["faults"].items())) or "none"
    pipe = "pipe EOF" if r["eof_after_exit"] is not None else "PIPE HELD OPEN"
    left = f"; LEFT {len(r['left'])}: " + "; ".join(r["left"]) if r["left"] else ""
    return (
        f"cycle {r['cycle']:3d}/{total} {what:18} {exit_text:16} {r['seconds']:6.1f} s"
        f"  new {new:>5}{staged}  {r['runner']:9}  {pipe}  feed faults: {faults};"
        f" page faults {r['page_faults']}{left}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cycles", type=int, help=f"default {FULL_CYCLES} ({SMOKE_CYCLES} with --smoke)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help=f"{SMOKE_CYCLES} cycles, as make test runs it"
    )
    parser.add_argument("--seed", type=int, default=20250516)
    parser.add_argument(
        "--kill-one-in",
        type=int,
        default=20,
        metavar="N",
        help="SIGKILL the run in about one cycle of N (two at least; 0: never; default 20)",
    )
    parser.add_argument("--dir", type=Path, help="work folder to use and keep")
    parser.add_argument("--run-timeout", type=float, default=300.0, help="seconds a run may take")
    parser.add_argument(
        "--keep-leftovers",
        action="store_true",
        help="leave processes that outlive their run running (and measure them) until the end",
    )
    args = parser.parse_args(argv)
    if args.cycles is None:
        args.cycles = SMOKE_CYCLES if args.smoke else FULL_CYCLES
    if args.cycles < 1:
        parser.error("--cycles must be 1 or more")
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        if any(args.dir.iterdir()):
            parser.error(f"{args.dir} is not empty")
    work = args.dir or Path(tempfile.mkdtemp(prefix="newsmon-soak-"))
    status = 1
    try:
        status = soak(args, work)
    finally:
        if args.dir is None and status == 0:
            shutil.rmtree(work, ignore_errors=True)
        elif status != 0:
            print(f"work folder kept: {work}")
    return status


if __name__ == "__main__":
    sys.exit(main())
