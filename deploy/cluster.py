"""A local newsmon cluster on 127.0.0.1: PostgreSQL, a Prefect server on it, two process workers.

    .venv/bin/python deploy/cluster.py [--port 4200] [--workers 2] [--sources sources.yaml] [--dir DIR]

The multi-machine layout of deploy/README.md on one machine, every part a real process on
loopback, its files in a throwaway directory:

1. PostgreSQL from Debian's packages (initdb, then postgres on a free port; as root they run
   as the `postgres` user, since PostgreSQL refuses to run as root);
2. a Prefect server whose database is that PostgreSQL
   (PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://...);
3. the process work pool `newsmon` (`prefect work-pool create`) and the deployments of
   deploy/prefect.yaml registered for it (`prefect deploy --all`);
4. `--workers` workers (`prefect worker start --pool newsmon`), each running one flow run at
   a time (`--limit`).

Prints the UI address once the workers are online, writes the addresses to DIR/cluster.json,
and on Ctrl-C (or SIGTERM) stops the workers, then the server, then PostgreSQL. The cluster
is new each time: its database is removed when it stops, its logs too unless --dir names a
directory to keep them in.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from serve import ROOT, start_server, stop  # deploy/ is on sys.path when run as a script

DEPLOYMENTS = Path(__file__).with_name("prefect.yaml")
POOL = "newsmon"  # the work pool of every deployment in prefect.yaml
DATABASE = "prefect"
ROLE = "newsmon"


def postgres_bin() -> Path | None:
    """The directory of PostgreSQL's server programs (initdb, postgres), or None.

    Debian keeps them out of PATH, in /usr/lib/postgresql/<major>/bin; the newest wins.
    """
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = [Path(p).parent for p in [shutil.which("initdb")] if p]
    for folder in debian + on_path:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(bin_dir: Path, url: str, sql: str) -> list[dict[str, str]]:
    """Rows of `sql` as read by PostgreSQL's own client (psql --csv), one dict per row."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    result = subprocess.run(
        [str(bin_dir / "psql"), "-X", "--csv", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
    return list(csv.DictReader(io.StringIO(result.stdout)))


class Postgres:
    """A throwaway PostgreSQL instance on 127.0.0.1:port, reachable only over TCP."""

    def __init__(self, bin_dir: Path, folder: Path, port: int):
        self.bin = bin_dir
        self.port = port
        self.log = folder / "postgres.log"
        self.password = secrets.token_hex(16)
        self.url = f"postgresql+asyncpg://{ROLE}:{self.password}@127.0.0.1:{port}/{DATABASE}"
        self.process: subprocess.Popen | None = None
        self.user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root. The data directory then lives in a
            # folder of its own that user owns: the caller's folders (under /root, or pytest's
            # 0700 temporary directories) are often closed to other users.
            try:
                self.user = pwd.getpwnam("postgres")  # created by Debian's postgresql package
            except KeyError:
                self.user = pwd.getpwnam("nobody")
            self.base = Path(tempfile.mkdtemp(prefix="newsmon-postgres-"))
            os.chown(self.base, self.user.pw_uid, self.user.pw_gid)
        else:
            self.base = folder / "postgres"
            self.base.mkdir()
        self.data = self.base / "data"

    def _as_owner(self) -> dict:
        """Popen arguments that run a program as the data directory's owner."""
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def start(self, timeout: float = 60) -> None:
        """initdb, start the server, create the database; returns once it accepts connections."""
        password_file = self.base / "password"
        password_file.write_text(self.password)
        if self.user is not None:
            os.chown(password_file, self.user.pw_uid, self.user.pw_gid)
        with self.log.open("ab") as log:
            subprocess.run(
                [
                    str(self.bin / "initdb"),
                    "--pgdata",
                    str(self.data),
                    "--username",
                    ROLE,
                    "--auth",
                    "scram-sha-256",
                    "--pwfile",
                    str(password_file),
                    "--encoding",
                    "UTF8",
                    "--no-sync",  # throwaway data: nothing to flush
                ],
                cwd=self.base,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
                **self._as_owner(),
            )
        password_file.unlink()
        log = self.log.open("ab")  # noqa: SIM115 (kept open for the server's life)
        self.process = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-c",
                "listen_addresses=127.0.0.1",
                "-p",
                str(self.port),
                # TCP only: a socket path under a long temporary directory can exceed the
                # 107 bytes a Unix socket name may have.
                "-c",
                "unix_socket_directories=",
                # Throwaway data: durability would only cost disk writes.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            cwd=self.base,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal reaches this script only
            **self._as_owner(),
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"postgres exited with {self.process.returncode}:\n"
                    f"{self.log.read_text(errors='replace')[-2000:]}"
                )
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL on port {self.port} not ready in {timeout:g} s")
            time.sleep(0.2)
        admin = self.url.rsplit("/", 1)[0] + "/postgres"
        psql(self.bin, admin, f"CREATE DATABASE {DATABASE}")

    def stop(self) -> None:
        """Fast shutdown (SIGINT: disconnect clients, checkpoint, exit), then remove the data."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def prefect(*args: str, env: dict[str, str], log: Path) -> None:
    """One `prefect` CLI command from the project root; its output goes to `log`."""
    with log.open("ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "prefect", "--no-prompt", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"prefect {' '.join(args)} failed ({done.returncode}):\n{tail}")


def point_at_sources(sources: Path) -> None:
    """Make `sources` the default of every deployment's `sources` parameter."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    with get_client(sync_client=True) as client:
        for deployment in client.read_deployments():
            if "sources" in deployment.parameters:
                parameters = {**deployment.parameters, "sources": str(sources)}
                client.update_deployment(deployment.id, DeploymentUpdate(parameters=parameters))


def wait_for_workers(names: list[str], workers: list[subprocess.Popen], timeout: float = 90):
    """Block until every worker has registered with the pool and is online."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    online: set[str] = set()
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for name, worker in zip(names, workers, strict=True):
                if worker.poll() is not None:
                    raise RuntimeError(f"worker {name} exited with {worker.returncode}")
            online = {
                w.name for w in client.read_workers_for_work_pool(POOL) if w.status == "ONLINE"
            }
            if online >= set(names):
                return
            time.sleep(0.5)
    raise RuntimeError(f"workers online after {timeout:g} s: {sorted(online)} of {names}")


def stop_together(processes: list[subprocess.Popen], grace: float = 15) -> None:
    """SIGTERM the process groups all at once, then SIGKILL those still running after `grace`.

    A worker stops on its first SIGTERM (a second one kills it at once); its flow runs, in its
    process group, get the SIGTERM too.
    """
    running = [p for p in processes if p.poll() is None]
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=4200, help="the Prefect server's port")
    parser.add_argument("--pg-port", type=int, default=0, help="PostgreSQL's port (0: a free one)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=1, help="flow runs at a time per worker")
    parser.add_argument(
        "--sources", type=Path, help="the sources file the deployments use (default: theirs)"
    )
    parser.add_argument("--dir", type=Path, help="keep the cluster's files here (must be new)")
    parser.add_argument(
        "--no-schedules", action="store_true", help="run the deployments only when triggered"
    )
    parser.add_argument(
        "--query-seconds", type=float, help="how often workers look for runs (Prefect: 10)"
    )
    parser.add_argument(
        "--slot-wait",
        type=float,
        help="seconds a run waits for the deployment's concurrency slot before retrying "
        "(Prefect: 30)",
    )
    args = parser.parse_args()

    bin_dir = postgres_bin()
    if bin_dir is None:
        print(
            "PostgreSQL's server programs are not installed (Debian: apt-get install postgresql; "
            "`make cluster` does it)",
            file=sys.stderr,
        )
        return 2
    with socket.socket() as sock:
        # Otherwise another server already on the port would answer the health check.
        if sock.connect_ex(("127.0.0.1", args.port)) == 0:
            print(f"port {args.port} is in use: choose another with --port", file=sys.stderr)
            return 2
    keep = args.dir is not None
    folder = args.dir.resolve() if keep else Path(tempfile.mkdtemp(prefix="newsmon-cluster-"))
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        print(f"{folder} is not empty: the cluster needs a new directory", file=sys.stderr)
        return 2

    def shutdown(signum, frame):  # SIGTERM behaves like Ctrl-C
        raise KeyboardInterrupt

    # A handler for SIGINT too: started in the background by a shell, this script inherits
    # SIGINT ignored, and so would the workers — whose SIGTERM handler stops them by sending
    # themselves SIGINT. A signal with a handler is back to its default in the children.
    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    api = f"http://127.0.0.1:{args.port}/api"
    client_env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "PREFECT_HOME": str(folder / "client-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The pull step of prefect.yaml changes into the checkout before each flow run.
        "NEWSMON_HOME": str(ROOT),
    }
    os.environ.update(PREFECT_API_URL=api, PREFECT_HOME=client_env["PREFECT_HOME"])
    postgres = Postgres(bin_dir, folder, args.pg_port or free_port())
    server: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = []
    status = 0
    try:
        started = time.monotonic()
        postgres.start()
        print(
            f"PostgreSQL ({bin_dir.parent.name}) on 127.0.0.1:{postgres.port} "
            f"ready after {time.monotonic() - started:.1f} s (log: {postgres.log})",
            flush=True,
        )
        server_env = {"PREFECT_API_DATABASE_CONNECTION_URL": postgres.url}
        if args.no_schedules:
            server_env["PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED"] = "false"
        if args.slot_wait is not None:
            server_env["PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS"] = str(
                args.slot_wait
            )
        home = folder / "server-home"
        home.mkdir()
        started = time.monotonic()
        server = start_server(args.port, home, server_env)
        print(
            f"Prefect server on PostgreSQL healthy after {time.monotonic() - started:.1f} s "
            f"(log: {home / 'server.log'})",
            flush=True,
        )

        started = time.monotonic()
        log = folder / "prefect-cli.log"
        prefect("work-pool", "create", POOL, "--type", "process", env=client_env, log=log)
        worker_env = dict(client_env)
        if args.query_seconds is not None:
            worker_env["PREFECT_WORKER_QUERY_SECONDS"] = str(args.query_seconds)
        names = [f"worker-{i}" for i in range(1, args.workers + 1)]
        for name in names:  # they start (a few seconds each) while the deployments register
            with (folder / f"{name}.log").open("ab") as out:
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "prefect",
                            "worker",
                            "start",
                            "--pool",
                            POOL,
                            "--name",
                            name,
                            "--limit",
                            str(args.limit),
                        ],
                        cwd=ROOT,
                        env=worker_env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        prefect("deploy", "--all", "--prefect-file", str(DEPLOYMENTS), env=client_env, log=log)
        if args.sources is not None:
            point_at_sources(args.sources.resolve())
        wait_for_workers(names, workers)
        print(
            f"work pool {POOL!r}: deployments of {DEPLOYMENTS.name} registered, "
            f"{len(names)} workers online after {time.monotonic() - started:.1f} s",
            flush=True,
        )

        info = {
            "ui": api.removesuffix("/api"),
            "api": api,
            "database_url": postgres.url,
            "postgres_bin": str(bin_dir),
            "postgres_data": str(postgres.base),
            "server_home": str(home),
            "workers": names,
            "pids": {
                "postgres": postgres.process.pid,
                "server": server.pid,
                **{n: w.pid for n, w in zip(names, workers, strict=True)},
            },
        }
        # Written last, and atomically: its presence means the cluster is ready.
        staged = folder / ".cluster.json"
        staged.write_text(json.dumps(info, indent=1))
        staged.chmod(0o600)  # holds the database password
        staged.replace(folder / "cluster.json")
        print(f"Prefect UI: {info['ui']}  —  Ctrl-C stops everything", flush=True)
        print(
            "run a deployment: PREFECT_API_URL="
            f"{api} .venv/bin/prefect deployment run poll_feeds/poll",
            flush=True,
        )

        while True:
            for name, process in [("server", server), *zip(names, workers, strict=True)]:
                if process.poll() is not None:
                    raise RuntimeError(f"the {name} exited with {process.returncode}")
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc} (files: {folder})", file=sys.stderr, flush=True)
        status = 1
    finally:
        # Workers first (they report to the server), then the server, then its database.
        stop_together(workers)
        if server is not None:
            stop(server)
        postgres.stop()
        if not keep and status == 0:
            shutil.rmtree(folder, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
