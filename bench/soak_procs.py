"""The soak's process watch (bench/soak.py): run one command as a scheduler would, SIGKILL it
on request, and report what outlived it — processes found by a marker in their environment
and by the run's process tree (read from /proc), and who still holds its stdout pipe.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "NEWSMON_SOAK_MARKER"
GRACE = 5.0  # seconds after a run exits for its processes to go and its pipe to close


@dataclass
class ProcInfo:
    """A process as /proc shows it."""

    pid: int
    ppid: int
    start: int  # clock ticks since boot: a pid may be reused, (pid, start) is not
    state: str
    cmd: str
    rss_kib: int = 0
    fds: int = 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.start)


def proc_info(pid: int) -> ProcInfo | None:
    """A process's parent, start time, state, command line, RSS and fd count (None when gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmd = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
        fields = stat.rsplit(")", 1)[1].split()
        info = ProcInfo(pid, int(fields[1]), int(fields[19]), fields[0], cmd.strip())
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                info.rss_kib = int(line.split()[1])
        info.fds = len(os.listdir(f"/proc/{pid}/fd"))
        return info
    except (OSError, IndexError, ValueError):
        return None


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def marked(value: str) -> list[int]:
    """Processes whose environment carries MARKER=value (children inherit it)."""
    needle = f"{MARKER}={value}\0".encode()
    found = []
    for pid in _pids():
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def descendants(root: int) -> list[int]:
    """The live process tree under `root` (not `root` itself)."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kind_of(info: ProcInfo, parents: dict[int, ProcInfo], run_pid: int) -> str:
    """A short name for a process a run started."""
    cmd = info.cmd
    if not cmd:
        return "exiting process (no command line left)"
    if "uvicorn" in cmd and "prefect.server" in cmd:
        return "Prefect API server (uvicorn prefect.server.api.server:create_app)"
    if "multiprocessing.forkserver" in cmd:
        parent = parents.get(info.ppid)
        if info.ppid == run_pid or parent is None or "forkserver" not in parent.cmd:
            return "multiprocessing forkserver"
        return "process worker (forked from the forkserver)"
    if "multiprocessing.resource_tracker" in cmd:
        return "multiprocessing resource tracker"
    if "multiprocessing.spawn" in cmd:
        return "spawned multiprocessing child"
    return "other: " + cmd[:80]


def pipe_holders(fd: int) -> list[ProcInfo]:
    """Processes (other than this one) holding the pipe that `fd` reads."""
    target = f"pipe:[{os.fstat(fd).st_ino}]"
    holders = []
    for pid in _pids():
        if pid == os.getpid():
            continue
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if target in links and (info := proc_info(pid)):
            holders.append(info)
    return holders


@dataclass
class RunResult:
    """One run, as the soak saw it."""

    exit_code: int | None
    seconds: float
    killed_at: float | None = None  # seconds after start, when SIGKILL was sent
    timed_out: bool = False
    stdout: str = ""
    eof_after_exit: float | None = None  # None: still open GRACE seconds after exit
    pipe_held_by: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # kinds of processes seen during it
    left: list[ProcInfo] = field(default_factory=list)  # alive GRACE s after exit
    left_kinds: list[str] = field(default_factory=list)


def run_once(
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    marker: str,
    kill_after: float | None = None,
    timeout: float = 300.0,
    grace: float = GRACE,
    stderr_path: Path | None = None,
) -> RunResult:
    """Run `cmd` with MARKER=`marker`, SIGKILL its main process after `kill_after` seconds
    (or at `timeout`), and report what it left: processes alive and the stdout pipe still
    open `grace` seconds after it exited."""
    env = {**env, MARKER: marker}
    err = open(stderr_path or os.devnull, "wb")  # noqa: SIM115 (closed below, after the run)
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err
    )
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    out = bytearray()
    result = RunResult(exit_code=None, seconds=0.0)
    seen: dict[tuple[int, int], ProcInfo] = {}
    exited = eof = None
    next_sample = started
    try:
        while True:
            now = time.monotonic()
            if exited is None and proc.poll() is not None:
                exited = now
                result.seconds = now - started
            if exited is None:
                if (
                    kill_after is not None
                    and result.killed_at is None
                    and now - started >= kill_after
                ):
                    os.kill(proc.pid, signal.SIGKILL)
                    result.killed_at = now - started
                if now - started > timeout and not result.timed_out:
                    os.kill(proc.pid, signal.SIGKILL)
                    result.timed_out = True
                if now >= next_sample:  # the run's tree, sampled: who it starts
                    for pid in descendants(proc.pid):
                        if (info := proc_info(pid)) and info.key not in seen:
                            seen[info.key] = info
                    next_sample = now + 0.25
            if eof is not None and exited is not None:
                break
            if exited is not None and now - exited >= grace:
                break
            if eof is None:
                for _key, _events in selector.select(0.05):
                    chunk = os.read(fd, 65536)
                    if chunk:
                        out += chunk
                    else:
                        eof = time.monotonic()
                        selector.unregister(fd)
            else:
                time.sleep(0.05)
        result.exit_code = proc.returncode
        result.stdout = out.decode(errors="replace")
        if eof is not None:
            result.eof_after_exit = max(0.0, eof - exited)
        else:
            result.pipe_held_by = [f"{i.pid} {i.cmd[:100]}" for i in pipe_holders(fd)]
    finally:
        selector.close()
        proc.stdout.close()
        err.close()
        if proc.poll() is None:  # only on an error in the loop above
            proc.kill()
            proc.wait()

    # Whatever the run started is gone GRACE s after it exited, or it is left over.
    deadline = exited + grace
    while True:
        alive = {}
        for pid in marked(marker):
            if (info := proc_info(pid)) and info.state != "Z":
                alive[info.key] = info
        for key, info in seen.items():  # a child that dropped its environment
            now_info = proc_info(info.pid)
            if now_info and now_info.key == key and now_info.state != "Z":
                alive[key] = now_info
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    parents = {info.pid: info for info in seen.values()}
    result.seen = dict(Counter(kind_of(i, parents, proc.pid) for i in seen.values()))
    result.left = list(alive.values())
    result.left_kinds = [kind_of(seen.get(i.key, i), parents, proc.pid) for i in result.left]
    return result


def reap(processes: list[ProcInfo]) -> None:
    """SIGKILL leftovers by pid (only while pid and start time still match), wait for them."""
    for info in processes:
        now = proc_info(info.pid)
        if now and now.key == info.key:
            with contextlib.suppress(OSError):
                os.kill(info.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not any(
            (n := proc_info(i.pid)) and n.key == i.key and n.state != "Z" for i in processes
        ):
            return
        time.sleep(0.1)


def own_usage() -> dict[str, float]:
    """This process's open fds, RSS (MiB) and threads."""
    rss = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return {
        "fds": len(os.listdir("/proc/self/fd")),
        "rss_mib": round(rss / 1024, 1),
        "threads": threading.active_count(),
    }
