"""Start a local Prefect server on 127.0.0.1 and serve newsmon's deployments from deploy/prefect.yaml.

    .venv/bin/python deploy/serve.py [--port 4200] [--sources sources.yaml] [--no-server]
    make serve [PORT=4200] [SOURCES=my-sources.yaml]

--sources becomes the `sources` parameter of every deployment (a missing file stops here with
exit code 2; an invalid one is reported, and served: each run reads it again). Prints the UI address; Ctrl-C (or SIGTERM) stops the
runner and then the server. With --no-server it serves against the Prefect API already
configured (PREFECT_API_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENTS = Path(__file__).with_name("prefect.yaml")


def start_server(port: int, home: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A Prefect server process on 127.0.0.1:port; returns once its API answers.

    `env` adds settings of the server (deploy/cluster.py sets its PostgreSQL database there).
    """
    env = {
        **os.environ,
        **(env or {}),
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        # The UI calls the API on this port; without it the UI calls 4200.
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
    }
    log = open(home / "server.log", "ab")  # noqa: SIM115 (kept open for the server's life)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/api", server, home / "server.log")
    except BaseException:  # Ctrl-C or SIGTERM while it starts: it must not outlive us
        stop(server)
        raise
    return server


def wait_healthy(
    api: str, server: subprocess.Popen | None = None, log: Path | None = None, timeout: float = 120
) -> None:
    """Block until GET {api}/health answers 200 (a fresh server takes ~17 s here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"the Prefect server exited with {server.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server at {api} did not become healthy in {timeout:g} s")


def stop(process: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM the process group, then SIGKILL after `grace` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def runner_deployments(sources: Path | None = None) -> list:
    """The deployments of prefect.yaml as Prefect RunnerDeployments for `serve`."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.flows import load_flow_from_entrypoint

    spec = yaml.safe_load(DEPLOYMENTS.read_text())
    out = []
    for item in spec["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / item["entrypoint"]))
        parameters = dict(item.get("parameters") or {})
        if sources is not None and "sources" in parameters:
            parameters["sources"] = str(sources)
        kwargs = {}
        for schedule in item.get("schedules") or []:
            if "interval" in schedule:
                kwargs["interval"] = timedelta(seconds=schedule["interval"])
            if "cron" in schedule:
                kwargs["cron"] = schedule["cron"]
        limit = item.get("concurrency_limit")
        if limit:
            kwargs["concurrency_limit"] = ConcurrencyLimitConfig(
                limit=limit["limit"],
                collision_strategy=ConcurrencyLimitStrategy(
                    limit.get("collision_strategy", "ENQUEUE")
                ),
            )
        out.append(
            flow.to_deployment(
                name=item["name"],
                description=item.get("description"),
                parameters=parameters,
                **kwargs,
            )
        )
    return out


def serve(deployments: list) -> None:
    """Serve the deployments until Ctrl-C or SIGTERM, which both stop the runner the same
    way: its main task is cancelled and it shuts down as on Ctrl-C (schedules paused)."""
    from prefect.runner import Runner

    class _Runner(Runner):
        main: asyncio.Task | None = None

        def handle_sigterm(self, *args) -> None:
            # Prefect's own handler calls the synchronous Runner.stop() from inside the
            # running event loop, where it only creates the Runner.astop() coroutine ("was
            # never awaited") and then exits at once, skipping the runner's shutdown. Instead,
            # cancel the main task as asyncio.run does on Ctrl-C (signal-safe: the loop does it).
            if self.main is not None and not self.main.done():
                self.main.get_loop().call_soon_threadsafe(self.main.cancel)

    runner = _Runner(pause_on_shutdown=True, limit=None)  # prefect.serve's defaults
    for deployment in deployments:
        runner.add_deployment(deployment)

    async def run() -> None:
        runner.main = asyncio.current_task()
        await runner.start()  # installs handle_sigterm

    previous = signal.getsignal(signal.SIGTERM)
    try:
        asyncio.run(run())
    except asyncio.CancelledError:  # SIGTERM
        raise KeyboardInterrupt from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=4200)
    parser.add_argument("--sources", type=Path, default=ROOT / "sources.yaml")
    parser.add_argument(
        "--home", type=Path, default=ROOT / "data" / "prefect", help="PREFECT_HOME of the server"
    )
    parser.add_argument("--no-server", action="store_true", help="use the API in PREFECT_API_URL")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from newsmon.config import load_sources
    from newsmon.errors import ConfigError

    sources = args.sources.resolve()  # before the chdir below: relative to where make ran
    if not sources.is_file():  # a misspelt SOURCES= path
        print(f"serve.py: error: {sources}: file not found", file=sys.stderr)
        return 2
    try:
        load_sources(sources)
    except ConfigError as exc:
        # Every run reads the file again, so a fix needs no restart: serve, and say so now
        # rather than only in each failed run.
        print(
            f"serve.py: warning: every run will fail until {sources} is fixed:\n{exc}",
            file=sys.stderr,
            flush=True,
        )

    def shutdown(signum, frame):  # SIGTERM behaves like Ctrl-C (until the runner starts)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    server = None
    try:
        if not args.no_server:
            args.home.mkdir(parents=True, exist_ok=True)
            print(
                f"starting a Prefect server on 127.0.0.1:{args.port} "
                f"(logs: {args.home / 'server.log'}) ...",
                flush=True,
            )
            server = start_server(args.port, args.home)
            os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{args.port}/api"
        os.chdir(ROOT)  # flows resolve relative paths (sources.yaml, data/) from the project
        deployments = runner_deployments(sources)
        ui = os.environ["PREFECT_API_URL"].removesuffix("/api")
        print(
            f"Prefect UI: {ui}  —  deployments: {', '.join(d.name for d in deployments)}"
            f"  —  sources: {sources}",
            flush=True,
        )
        print("open Deployments → poll → Run → Quick run; Ctrl-C stops everything", flush=True)
        serve(deployments)
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    finally:
        if server is not None:
            # A second SIGTERM must not cut the server's shutdown short (stop() ends with
            # SIGKILL after its grace period anyway).
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
