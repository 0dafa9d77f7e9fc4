"""What the manager needs from each native service."""

from __future__ import annotations

import shutil
import time
from abc import ABC, abstractmethod
from pathlib import Path

from pakn.services import process
from pakn.settings import Settings


class Service(ABC):
    name: str
    stop_grace: float = 30.0  # seconds between SIGTERM and SIGKILL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.home) / self.name
        self.data_dir = self.root / "data"
        self.logs_dir = self.root / "logs"
        self.pidfile = self.root / f"{self.name}.pid"

    # --- per service -------------------------------------------------------------------------
    @property
    @abstractmethod
    def marker(self) -> str:
        """Text only this project's process of this service has in its command line."""

    @property
    @abstractmethod
    def endpoint(self) -> tuple[str, int]:
        """host, port that answers once the service is up."""

    @property
    @abstractmethod
    def log_files(self) -> list[Path]:
        """Logs worth showing when the service fails to start."""

    @abstractmethod
    def install(self) -> None:
        """Install or download what is missing (idempotent)."""

    @abstractmethod
    def prepare(self) -> None:
        """Write the config files and initialise the data folder if needed (idempotent)."""

    @abstractmethod
    def launch(self) -> int:
        """Start the process detached; return its pid."""

    @abstractmethod
    def answers(self, timeout: float) -> bool:
        """One real request (not just a TCP connect), bounded by `timeout` seconds."""

    @abstractmethod
    def where(self) -> str:
        """Where it answers, for describe()."""

    # --- shared ------------------------------------------------------------------------------
    def find_pid(self) -> int | None:
        return process.find(self.pidfile, self.marker)

    def answers_now(self, timeout: float) -> bool:
        """One attempt: listening, then one real request."""
        host, port = self.endpoint
        return process.port_open(host, port, timeout=min(0.5, timeout)) and self.answers(timeout)

    def ready(self, timeout: float) -> bool:
        """Poll until the service answers or `timeout` passes. A closed port is checked first:
        it is silent and instant, whereas client libraries log and retry against a dead port."""
        deadline = time.monotonic() + timeout
        host, port = self.endpoint
        while True:
            left = deadline - time.monotonic()
            if process.port_open(host, port, timeout=max(0.1, min(0.5, left))):
                left = deadline - time.monotonic()
                if self.answers(timeout=max(0.5, min(2.0, left))):
                    return True
            if time.monotonic() + 0.2 >= deadline:
                return False
            time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        return process.tail(self.log_files, lines)

    def wipe_data(self) -> None:
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
