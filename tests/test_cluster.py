"""deploy/cluster.py for real: PostgreSQL, a Prefect server on it, two workers on a process pool.

One cluster for the module (about 30 s to start): the script runs as a subprocess, as a user
starts it, on free loopback ports, its deployments pointed at a sources file of loopback feeds
and a warehouse in tmp. Runs are created through the Prefect client; what the server recorded
is then read back from PostgreSQL with psql; Ctrl-C must stop every process it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from .conftest import ROOT, Response, StaticSite, write_sources
from .test_deploy import rows, rss

sys.path.insert(0, str(ROOT / "deploy"))
import cluster  # noqa: E402  (deploy/ is a folder of scripts, not a package)

pytestmark = pytest.mark.slow

READY_TIMEOUT = 150.0  # PostgreSQL ~1 s, the server ~11 s, pool + deployments + workers ~18 s
RUN_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0

# Two short articles of the feed, in the team's own words.
ARTICLES = {
    "/cluster/ferry": (
        "Night ferry returns to the island route",
        "The night ferry to the island returned to service on Friday after its engines were "
        "overhauled over the winter. The operator said the crossing will run four times a week "
        "until September and that cabins can again be booked at the harbour office.",
    ),
    "/cluster/market": (
        "Farmers market moves to the old tram depot",
        "The Saturday farmers market has moved from the square to the old tram depot, which "
        "the town restored last year. Stallholders said the roof lets them trade in any weather, "
        "and the council added bicycle racks and a second entrance on Mill Street.",
    ),
}


def _page(headline: str, text: str) -> bytes:
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>{headline} | The Island Post</title>"
        f"</head><body><main><article><h1>{headline}</h1><p>{text}</p></article></main>"
        "</body></html>"
    ).encode()


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path} missing)"


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie has exited: its parent only has not reaped it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Cluster:
    """deploy/cluster.py in a subprocess, and the loopback site its feeds live on."""

    def __init__(self, folder: Path, site: StaticSite):
        self.folder = folder
        self.site = site
        self.dir = folder / "cluster"  # the script's own files (logs, cluster.json)
        self.output = folder / "cluster.out"
        self.sources = folder / "sources.yaml"
        self.db = folder / "warehouse.duckdb"
        self.port = cluster.free_port()
        self.process: subprocess.Popen | None = None
        self.info: dict = {}

    def start(self) -> None:
        write_sources(
            self.sources,
            [{"id": "post", "name": "The Island Post", "url": self.site.url("/cluster.xml")}],
            self.db,
        )
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "deploy" / "cluster.py"),
                    "--port",
                    str(self.port),
                    "--dir",
                    str(self.dir),
                    "--sources",
                    str(self.sources),
                    # Runs only when the test creates them; short waits keep the module short.
                    "--no-schedules",
                    "--query-seconds",
                    "1",
                    "--slot-wait",
                    "1",
                ],
                cwd=ROOT,
                env={**os.environ, "PREFECT_LOGGING_LEVEL": "INFO"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so that the SIGINT below is a Ctrl-C to it alone
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Until the script has written cluster.json (it does once the workers are online)."""
        deadline = time.monotonic() + timeout
        ready = self.dir / "cluster.json"
        while not ready.exists():
            if self.process.poll() is not None:
                self.fail(f"deploy/cluster.py exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.fail(f"deploy/cluster.py not ready after {timeout:g} s")
            time.sleep(0.5)
        self.info = json.loads(ready.read_text())

    def logs(self) -> str:
        parts = [f"--- deploy/cluster.py output ---\n{_tail(self.output)}"]
        for path in sorted(self.dir.glob("*.log")) + sorted(self.dir.glob("*/server.log")):
            parts.append(f"--- {path.name} ---\n{_tail(path)}")
        return "\n".join(parts)

    def fail(self, message: str) -> None:
        pytest.fail(f"{message}\n{self.logs()}", pytrace=False)

    def query(self, sql: str) -> list[dict[str, str]]:
        """Rows from the Prefect server's PostgreSQL database, read with psql."""
        return cluster.psql(Path(self.info["postgres_bin"]), self.info["database_url"], sql)

    def trigger(self, deployment: str, **parameters) -> UUID:
        from prefect.deployments import run_deployment

        return run_deployment(deployment, parameters=parameters, timeout=0).id

    def wait_completed(self, run_ids: list[UUID], timeout: float = RUN_TIMEOUT) -> list:
        """The flow runs once all are final; fails unless every one is Completed."""
        from prefect.client.orchestration import get_client

        deadline = time.monotonic() + timeout
        with get_client(sync_client=True) as client:
            while True:
                runs = [client.read_flow_run(run_id) for run_id in run_ids]
                if all(r.state is not None and r.state.is_final() for r in runs):
                    break
                if time.monotonic() > deadline:
                    states = [r.state.name if r.state else None for r in runs]
                    self.fail(f"runs not final after {timeout:g} s: {states}")
                time.sleep(0.5)
        failed = [
            (r.name, r.state.name, r.state.message) for r in runs if not r.state.is_completed()
        ]
        if failed:
            self.fail(f"runs that did not complete: {failed}")
        return runs

    def interrupt(self, timeout: float = STOP_TIMEOUT) -> int:
        """Ctrl-C, as a terminal sends it; the script's exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"deploy/cluster.py still running {timeout:g} s after Ctrl-C")

    def shut_down(self) -> None:
        """Whatever happened: nothing the script started may outlive the tests."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Each of its processes leads a session of its own (its pid is the group id).
        for pid in self.info.get("pids", {}).values():
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        if data := self.info.get("postgres_data"):
            shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[Cluster]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if cluster.postgres_bin() is None:
        pytest.skip(
            "PostgreSQL's server programs (initdb, postgres) are not installed; "
            "`make test` installs Debian's postgresql"
        )
    folder = tmp_path_factory.mktemp("cluster")
    with StaticSite() as site:
        running = Cluster(folder, site)
        try:
            running.start()
            started = time.monotonic()
            running.wait_ready()
            print(
                f"\ncluster ready in {time.monotonic() - started:.1f} s:\n{_tail(running.output)}"
            )
            with temporary_settings(updates={PREFECT_API_URL: running.info["api"]}):
                yield running
        finally:
            running.shut_down()


def test_two_workers_share_the_runs_and_postgresql_records_them(running):
    site = running.site
    for path, (headline, text) in ARTICLES.items():
        site.routes[path] = Response(_page(headline, text))
    site.routes["/cluster.xml"] = rss(
        [(headline, site.url(path), text[:60]) for path, (headline, _) in ARTICLES.items()]
    )

    # Two poll runs at once. Both workers look for work every second, but the deployment's
    # concurrency limit of 1 (prefect.yaml) lets one run at a time write the warehouse.
    started = time.monotonic()
    poll_ids = [running.trigger("poll_feeds/poll", force=True) for _ in range(2)]
    polls = running.wait_completed(poll_ids)
    polls_took = time.monotonic() - started
    spans = sorted((r.start_time, r.end_time) for r in polls)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"poll runs overlapped: {spans}"
    stored = {
        run_id: (status, new)
        for run_id, status, new in rows(running.db, "SELECT run_id, status, articles_new FROM runs")
    }
    # Each run loaded its own batch (none had to stage it): the first stored both articles,
    # the second found them stored.
    assert set(stored) == {str(i) for i in poll_ids}
    assert sorted(stored.values()) == [("completed", 0), ("completed", 2)]
    assert sorted(rows(running.db, "SELECT title FROM articles")) == sorted(
        (headline,) for headline, _ in ARTICLES.values()
    )

    # Two report runs at once: each worker runs one flow run at a time (--limit 1), so the
    # second worker takes the run the first cannot.
    started = time.monotonic()
    outs = [running.folder / f"report-{i}.html" for i in range(2)]
    report_ids = [running.trigger("report/report", out=str(out)) for out in outs]
    reports = running.wait_completed(report_ids)
    reports_took = time.monotonic() - started
    assert {r.labels["prefect.worker.name"] for r in reports} == {"worker-1", "worker-2"}
    for out in outs:
        html = out.read_text(encoding="utf-8")
        assert all(headline in html for headline, _ in ARTICLES.values())

    # The server's records are rows of PostgreSQL, read with PostgreSQL's own client.
    recorded = {
        UUID(row["id"]): (row["deployment"], row["state_type"], row["worker"])
        for row in running.query(
            "SELECT fr.id, d.name AS deployment, fr.state_type, "
            "fr.labels->>'prefect.worker.name' AS worker "
            "FROM flow_run fr JOIN deployment d ON d.id = fr.deployment_id"
        )
    }
    assert recorded == {
        r.id: (name, "COMPLETED", r.labels["prefect.worker.name"])
        for name, runs in (("poll", polls), ("report", reports))
        for r in runs
    }
    # Runs that tried to start while another poll run held the slot were sent back to wait.
    waited = {
        UUID(row["flow_run_id"])
        for row in running.query(
            "SELECT DISTINCT flow_run_id FROM flow_run_state WHERE name = 'AwaitingConcurrencySlot'"
        )
    }
    assert waited and waited <= set(poll_ids)
    assert not (Path(running.info["server_home"]) / "prefect.db").exists()  # no SQLite behind it

    per_worker = Counter(worker for _, _, worker in recorded.values())
    print(
        f"\n2 poll runs (one at a time) completed in {polls_took:.1f} s, "
        f"2 report runs created at once in {reports_took:.1f} s; "
        f"runs per worker: {dict(sorted(per_worker.items()))}; "
        f"{len(waited)} poll runs waited for the concurrency slot"
    )


def test_ctrl_c_stops_the_workers_the_server_and_postgresql(running):
    pids = running.info["pids"]
    assert all(_alive(pid) for pid in pids.values()), pids
    postgres_port = int(running.info["database_url"].rsplit(":", 1)[1].split("/")[0])
    assert _accepts(postgres_port) and _accepts(running.port)

    started = time.monotonic()
    code = running.interrupt()
    print(f"\nCtrl-C stopped the cluster in {time.monotonic() - started:.1f} s")
    assert code == 0, running.logs()
    assert [name for name, pid in pids.items() if _alive(pid)] == []
    assert not _accepts(postgres_port) and not _accepts(running.port)
    assert not Path(running.info["postgres_data"]).exists()
    assert "stopping ..." in running.output.read_text()
