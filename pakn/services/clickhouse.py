"""ClickHouse from Debian's package (18.16), run in the project folder on the settings' ports.

Debian's package also registers a system service (port 9000 etc.); whether it runs or not, ours is
a separate process with its own config, data and ports.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from pakn.services import process, system
from pakn.services.base import Service
from pakn.settings import Settings

_BUILTIN_USERS = {"default", "analyst"}  # defined by templates/clickhouse-users.xml


def server_binary() -> str | None:
    return system.which("clickhouse-server") or None


class ClickHouse(Service):
    name = "clickhouse"
    stop_grace = 20.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.config = self.root / "config.xml"
        self.users = self.root / "users.xml"
        self.server_log = self.logs_dir / "clickhouse-server.log"
        self.error_log = self.logs_dir / "clickhouse-server.err.log"
        self.out_log = self.logs_dir / "stdout.log"
        self.host = settings.clickhouse_host
        self.port = settings.clickhouse_port
        self.http_port = settings.clickhouse_http_port

    @property
    def marker(self) -> str:
        return f"--config-file={self.config}"

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def log_files(self) -> list[Path]:
        return [self.out_log, self.error_log]

    def where(self) -> str:
        return f"native {self.host}:{self.port}, HTTP {self.host}:{self.http_port}"

    def install(self) -> None:
        if server_binary() is None:
            system.apt_install("clickhouse-server", "clickhouse-client")
            if server_binary() is None:
                raise RuntimeError("clickhouse-server still missing after apt-get install")

    def prepare(self) -> None:
        for sub in ("tmp", "user_files", "format_schemas"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        system.render(
            "clickhouse-config.xml",
            self.config,
            logs_dir=escape(str(self.logs_dir)),
            listen_host=escape(self._listen_host()),
            tcp_port=str(self.port),
            http_port=str(self.http_port),
            data_dir=escape(str(self.data_dir)),
            users_config=escape(str(self.users)),
        )
        system.render("clickhouse-users.xml", self.users, extra_users=self._extra_users())

    def _listen_host(self) -> str:
        # Loopback only; "localhost" would make 18.16 try ::1 too, which may not exist here.
        return "127.0.0.1" if self.host in ("localhost", "127.0.0.1") else self.host

    def _extra_users(self) -> str:
        """The sink's user, when the settings name one other than the built-in ones."""
        user = self.settings.clickhouse_user
        if user in _BUILTIN_USERS:
            return ""
        digest = hashlib.sha256(self.settings.clickhouse_password.encode()).hexdigest()
        return (
            f"        <{user}>\n"
            f"            <password_sha256_hex>{digest}</password_sha256_hex>\n"
            "            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
            "            <profile>default</profile>\n"
            "            <quota>default</quota>\n"
            f"        </{user}>\n"
        )

    def launch(self) -> int:
        binary = server_binary()
        if binary is None:
            raise RuntimeError("clickhouse-server not found")
        # 18.16 runs fine as root and on a root-owned data folder: no `clickhouse` user needed.
        cmd = [binary, f"--config-file={self.config}"]
        return process.spawn(cmd, log=self.out_log, pidfile=self.pidfile, cwd=self.root)

    def answers(self, timeout: float) -> bool:
        return clickhouse_select_ok(self.settings, timeout)


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.ident = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.ident


@contextlib.contextmanager
def _quiet_driver() -> Iterator[None]:
    """clickhouse-driver logs a warning with a traceback for every failed connection; a probe
    expects failures. Only this thread's records are dropped: other threads still log."""
    logger = logging.getLogger("clickhouse_driver.connection")
    quiet = _ThisThread()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def clickhouse_select_ok(settings: Settings, timeout: float) -> bool:
    """`SELECT 1` over the native protocol with the settings' user."""
    from clickhouse_driver import Client

    client = Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password,
        connect_timeout=timeout,
        send_receive_timeout=timeout,
        sync_request_timeout=timeout,
    )
    try:
        with _quiet_driver():
            return client.execute("SELECT 1") == [(1,)]
    except Exception:  # any failure means "does not answer"; the caller shows the log
        return False
    finally:
        client.disconnect()
