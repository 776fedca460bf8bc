"""`newsmon run` the way cron runs it: a subprocess with pipes and no Prefect server.

Nothing a run starts (process workers, their forkserver, the temporary Prefect API) may
outlive it, on success, on SIGTERM or on SIGKILL, and no child may hold the caller's pipe.
A cycle in which no feed could be polled exits non-zero and ends Failed in Prefect.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from .conftest import ROOT, Response, write_sources

pytestmark = pytest.mark.slow

NEWSMON = Path(sys.executable).with_name("newsmon")


def _page(i: int) -> bytes:
    return (
        f"<html><body><article><h1>Harbour report {i}</h1><p>The Pellham harbour board met"
        f" for its session number {i} and heard {i * 7} complaints about ferry delays, the"
        f" new crane on pier {i % 5} and the winter timetable. The chair, Orla Finch, said"
        f" the board would answer each of the {i * 7} letters by the end of the month.</p>"
        "</article></body></html>"
    ).encode()


def _rss(site, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Harbour report {i}</title><link>{site.url(p)}</link>"
        f"<guid>{p}</guid><pubDate>Mon, 30 Nov 2026 10:{i % 60:02d}:00 GMT</pubDate></item>"
        for i, p in enumerate(paths)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Pellham Tide</title>'
        f"{items}</channel></rss>"
    ).encode()


def _slow(seconds: float, body: bytes):
    def answer(handler) -> None:
        time.sleep(seconds)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def _sources(site, tmp_path: Path, pages: int, slow: float = 0.0) -> Path:
    paths = [f"/tide/report-{i}" for i in range(pages)]
    for i, path in enumerate(paths):
        site.routes[path] = _slow(slow, _page(i)) if slow and i % 4 == 0 else Response(_page(i))
    site.routes["/tide.xml"] = Response(_rss(site, paths), content_type="application/rss+xml")
    feeds = [{"id": "tide", "name": "Pellham Tide", "url": site.url("/tide.xml")}]
    return write_sources(
        tmp_path / "sources.yaml",
        feeds,
        tmp_path / "w.duckdb",
        runner={"kind": "processes", "workers": 2},
    )


def _marked(marker: str) -> list[int]:
    """Live processes (not zombies) whose environment carries `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"NEWSMON_TEST_RUN={marker}".encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


class Run:
    """`newsmon run` in a subprocess: stdout and stderr are pipes, no Prefect server."""

    def __init__(self, sources: Path, tmp_path: Path, *extra: str):
        self.marker = uuid.uuid4().hex
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        env |= {
            "NEWSMON_TEST_RUN": self.marker,
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        self.process = subprocess.Popen(
            [str(NEWSMON), "run", "--sources", str(sources), *extra],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.out: dict[str, bytes] = {}
        self.closed: dict[str, float] = {}
        self._readers = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, stream) -> None:
        self.out[name] = stream.read()  # returns at EOF: when no process holds the pipe
        self.closed[name] = time.monotonic()

    def wait_for_workers(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(_marked(self.marker)) < count:
            assert self.process.poll() is None, self.text("stderr")
            assert time.monotonic() < deadline, f"fewer than {count} processes started"
            time.sleep(0.2)

    def finish(self, timeout: float = 300, pipes_within: float = 1.0) -> int:
        """Wait for the run's exit; assert that its pipes close within `pipes_within` seconds
        of it and that none of its processes is alive 5 s after it."""
        code = self.process.wait(timeout=timeout)
        exited = time.monotonic()
        for reader in self._readers:
            reader.join(timeout=max(0.0, exited + pipes_within - time.monotonic()))
        still_open = [name for name in ("stdout", "stderr") if name not in self.closed]
        time.sleep(5)
        alive = _marked(self.marker)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in alive]
        for pid in alive:  # leave nothing for the next test, then fail
            os.kill(pid, signal.SIGKILL)
        assert not alive, f"processes of the run alive 5 s after its exit: {commands}"
        assert not still_open, f"{still_open} open {pipes_within} s after the run exited"
        return code

    def text(self, name: str) -> str:
        return self.out.get(name, b"").decode("utf-8", "replace")


def test_a_process_runner_run_leaves_no_process_and_closes_its_pipes(site, tmp_path):
    run = Run(_sources(site, tmp_path, pages=24), tmp_path)
    assert run.finish() == 0, run.text("stderr")
    assert "new articles 24" in run.text("stdout")
    assert "Error logging to API" not in run.text("stderr")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 24


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_run_stopped_by_a_signal_leaves_no_process(site, tmp_path, sig):
    # Slow pages keep the run fetching while its workers (forkserver + 2) are up.
    run = Run(_sources(site, tmp_path, pages=24, slow=8.0), tmp_path)
    run.wait_for_workers(5)  # the run, its API server, resource tracker, forkserver, a worker
    run.process.send_signal(sig)
    # SIGKILL runs no cleanup: the forkserver notices and ends by itself, in a second or two.
    code = run.finish(timeout=60, pipes_within=1.0 if sig == signal.SIGTERM else 5.0)
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130), run.text("stderr")


# Starts the run's process runner, waits until its forkserver exists (still importing what
# flows/preload.py loads: Prefect, spaCy, the model), prints its pid, and dies by SIGKILL.
_KILLED_WHILE_THE_FORKSERVER_IMPORTS = """
import os, signal, time
from multiprocessing import forkserver
from flows.runners import WarmProcessPoolTaskRunner
WarmProcessPoolTaskRunner(max_workers=1).__enter__()
while not getattr(forkserver._forkserver, "_forkserver_pid", None):
    time.sleep(0.01)
print(forkserver._forkserver._forkserver_pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_forkserver_whose_run_is_killed_while_it_imports_ends_too():
    # Read after its imports, the forkserver's parent was no longer the run (a soak failure):
    # it watched the process that adopted it and outlived the run.
    run = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WHILE_THE_FORKSERVER_IMPORTS],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    with run.stdout:  # not read to its end: a forkserver that lives on holds it open
        pid = int(run.stdout.readline())
    assert run.wait(timeout=120) == -signal.SIGKILL
    deadline = time.monotonic() + 90  # its imports, then the watch: seconds on a busy machine
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.2)
    alive = _running(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "the forkserver outlived the run that started it"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_a_cycle_where_no_feed_answers_exits_non_zero_and_leads_with_it(site, tmp_path):
    feeds = [
        {"id": "gone", "name": "Gone Gazette", "url": site.url("/gone.xml")},
        {"id": "shut", "name": "Shut Herald", "url": "http://127.0.0.1:9/feed.xml"},
    ]
    sources = write_sources(tmp_path / "sources.yaml", feeds, tmp_path / "w.duckdb")
    run = Run(sources, tmp_path)
    assert run.finish() == 3
    first = run.text("stdout").splitlines()[0]
    assert first == "FAILED: no feed could be polled (all 2 failed)"
    assert "gone: HTTP 404" in run.text("stdout")
    assert "no feed could be polled" in run.text("stderr")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        polls = con.execute("SELECT feed_id, status FROM feed_polls ORDER BY 1").fetchall()
    assert polls == [("gone", "error"), ("shut", "error")]  # what it learnt is stored


def test_a_partly_failed_cycle_succeeds_and_leads_with_the_failures(site, tmp_path):
    site.routes["/ok.xml"] = Response(_rss(site, []), content_type="application/rss+xml")
    feeds = [
        {"id": "ok", "name": "Fine Courier", "url": site.url("/ok.xml")},
        {"id": "gone", "name": "Gone Gazette", "url": site.url("/gone.xml")},
    ]
    sources = write_sources(tmp_path / "sources.yaml", feeds, tmp_path / "w.duckdb")
    run = Run(sources, tmp_path)
    assert run.finish() == 0, run.text("stderr")
    lines = run.text("stdout").splitlines()
    assert lines[:2] == ["WARNING: 1 of 2 feeds failed", "  gone: HTTP 404"]
