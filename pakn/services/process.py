"""Detached service processes: spawn, find again (pid file, then command line), stop.

The services must outlive the command that started them (`pakn services start` exits at once), so
they run in their own session and are found again later through a pid file. A pid file alone can
lie (stale file, reused pid), so a pid only counts when its command line still carries the
service's marker: the exact path of the config file this project wrote for it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_PROC = Path("/proc")

# Runs in a short-lived intermediate Python process: it starts the service in a new session and
# exits at once, so the service is re-parented to init. The service is then nobody's child here:
# no zombie when it stops, no Popen object warning at exit, and the caller (a CLI command, a test
# run) can exit while the service keeps running. os._exit skips Popen's "still running" warning.
_LAUNCHER = """
import os, subprocess, sys
log, cwd, *cmd = sys.argv[1:]
with open(log, "ab") as out:
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            cwd=cwd, start_new_session=True, close_fds=True)
print(proc.pid, flush=True)
os._exit(0)
"""


def spawn(
    cmd: Sequence[str],
    *,
    log: Path,
    pidfile: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start `cmd` detached (own session, stdin closed, output appended to `log`); its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(cmd)}\n".encode())
    done = subprocess.run(
        [sys.executable, "-I", "-c", _LAUNCHER, str(log), str(cwd), *cmd],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        raise RuntimeError(f"could not start {cmd[0]}:\n{done.stderr[-2000:]}")
    pid = int(done.stdout)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(f"{pid}\n")
    return pid


def _cmdline(pid: int) -> str | None:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _reap(pid: int) -> None:
    """Reap a zombie if it happens to be our child (it should not be: see _LAUNCHER)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int, marker: str) -> bool:
    """Whether `pid` runs and is the service whose command line contains `marker`."""
    if not _PROC.is_dir():  # not Linux: trust the pid file
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    # The state letter follows the command name, which is in parentheses and may hold spaces.
    if stat.rsplit(")", 1)[-1].split()[:1] in (["Z"], ["X"]):
        _reap(pid)
        return False
    cmd = _cmdline(pid)
    return bool(cmd) and marker in cmd


def find(pidfile: Path, marker: str) -> int | None:
    """The running service's pid: from its pid file, else by scanning for its command line
    (covers a deleted or overwritten pid file). None when it does not run."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(pidfile.read_text().strip())
        if alive(pid, marker):
            return pid
    if not _PROC.is_dir():
        return None
    me = os.getpid()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        cmd = _cmdline(pid)
        if cmd and marker in cmd and alive(pid, marker):
            with contextlib.suppress(OSError):
                pidfile.write_text(f"{pid}\n")
            return pid
    return None


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        # Our services lead their own process group: signal the group so nothing is left behind.
        try:
            leads_group = os.getpgid(pid) == pid
        except ProcessLookupError:
            return
        if leads_group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def wait_gone(pid: int, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid, marker):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def terminate(pid: int, marker: str, grace: float) -> bool:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. Returns True if SIGKILL was needed."""
    if not alive(pid, marker):
        return False
    _signal(pid, signal.SIGTERM)
    if wait_gone(pid, marker, grace):
        return False
    _signal(pid, signal.SIGKILL)
    if not wait_gone(pid, marker, 10.0):
        raise RuntimeError(f"process {pid} survived SIGKILL")
    return True


_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}


def _listening_locally(port: int) -> bool | None:
    """Whether a local socket listens on `port`, read from /proc/net (None: cannot tell)."""
    tables = [_PROC / "net" / "tcp", _PROC / "net" / "tcp6"]
    if not tables[0].is_file():
        return None
    want = f":{port:04X}"
    for table in tables:
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                # fields[1] is local address:port in hex, fields[3] the state; 0A = LISTEN.
                if len(fields) > 3 and fields[1].endswith(want) and fields[3] == "0A":
                    return True
    return False


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something listens on host:port. For a local host this reads /proc/net instead of
    connecting: an empty connection makes ClickHouse log a warning each time, and client
    libraries log (with tracebacks) every refused connection."""
    if host in _LOCAL_HOSTS:
        listening = _listening_locally(port)
        if listening is not None:
            return listening
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(paths: Sequence[Path], lines: int = 40) -> str:
    """The last lines of each existing log file, for error messages."""
    parts: list[str] = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64 * 1024))
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        body = "\n".join(text.splitlines()[-lines:])
        parts.append(f"--- {path} (last {lines} lines) ---\n{body}")
    return "\n".join(parts) or "(no log written)"
