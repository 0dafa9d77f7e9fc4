"""The native S3-compatible store: s3s-fs (Apache-2.0, crates.io), an S3 server over a folder.

It speaks the real S3 REST protocol with SigV4 authentication, Content-MD5 checks, user metadata,
CopyObject and ListObjectsV2: what the gateway's boto3 store uses (docs/media.md says why this and
not SeaweedFS). `cargo install --locked` builds the pinned version, with the crate's own lock
file, into the tools cache, which every PAKN_HOME shares and `--reset` keeps: once per machine.

It is a development and test store: the key pair is on its command line (its only way in).
Production points PAKN_MEDIA_S3_ENDPOINT at a managed S3 or an S3 cluster.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from pakn.services import process, system
from pakn.services.base import Service
from pakn.settings import Settings

CRATE = "s3s-fs"
CARGO_DIRS = (str(Path.home() / ".cargo" / "bin"),)
DEV_ACCESS_KEY, DEV_SECRET_KEY = "pakn-dev", "pakn-dev-secret"

log = logging.getLogger(__name__)


def parse_endpoint(url: str) -> tuple[str, int]:
    """host, port of an http(s) endpoint URL ("http://127.0.0.1:18333" -> ("127.0.0.1", 18333))."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"media_s3_endpoint must be an http(s) URL, got {url!r}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def cargo_install_command(cargo: str, version: str, root: Path) -> list[str]:
    # --locked: the dependency versions the crate was published and tested with.
    return [
        cargo, "install", CRATE, "--version", version, "--locked",
        "--features", "binary", "--root", str(root),
    ]  # fmt: skip


class S3Store(Service):
    name = "s3"
    stop_grace = 10.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.host, self.port = parse_endpoint(
            settings.media_s3_endpoint or "http://127.0.0.1:18333"
        )
        self.version = settings.s3s_fs_version
        self.out_log = self.logs_dir / "s3s-fs.log"
        self.tools = settings.tools_dir / CRATE
        self.binary = self.tools / self.version / "bin" / CRATE
        self.build_log = self.tools / f"build-{self.version}.log"

    @property
    def marker(self) -> str:
        return f" {self.data_dir}"  # the last argument: this home's server only

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def log_files(self) -> list[Path]:
        return [self.out_log]

    @property
    def server_log(self) -> Path:
        return self.out_log

    def where(self) -> str:
        return f"S3 http://{self.host}:{self.port}, s3s-fs {self.version}"

    # --- provisioning ------------------------------------------------------------------------
    def installed(self) -> bool:
        return self.binary.is_file() and os.access(self.binary, os.X_OK)

    def install(self) -> None:
        if self.installed():
            return
        self.tools.mkdir(parents=True, exist_ok=True)
        # The tools cache is shared by every PAKN_HOME: one build at a time.
        with open(self.tools / "build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.installed():
                self._build()

    def _build(self) -> None:
        cargo = system.which("cargo", *CARGO_DIRS)
        if cargo is None:
            raise RuntimeError(
                f"cargo not found: the native S3 store ({CRATE} {self.version}) is built with "
                "Rust >= 1.92 (rustup), or set PAKN_MEDIA_S3_ENDPOINT to an S3 store you run"
            )
        # Build into a side folder, then swap: an interrupted build never looks installed.
        partial = self.tools / f"{self.version}.partial"
        target = self.tools / "target"
        shutil.rmtree(partial, ignore_errors=True)
        cmd = cargo_install_command(cargo, self.version, partial)
        env = {**os.environ, "CARGO_TARGET_DIR": str(target)}
        log.info("building %s %s (a few minutes, once per machine)", CRATE, self.version)
        with open(self.build_log, "w") as out:
            done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0 or not (partial / "bin" / CRATE).is_file():
            raise RuntimeError(
                f"building {CRATE} {self.version} failed (cargo exit {done.returncode}):\n"
                f"{process.tail([self.build_log])}"
            )
        shutil.rmtree(self.tools / self.version, ignore_errors=True)
        partial.replace(self.tools / self.version)
        shutil.rmtree(target, ignore_errors=True)  # ~400 MB of intermediate files

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)

    # --- running -----------------------------------------------------------------------------
    def command(self) -> list[str]:
        return [
            str(self.binary),
            "--host", self.host, "--port", str(self.port),
            "--access-key", self.settings.media_s3_access_key or DEV_ACCESS_KEY,
            "--secret-key", self.settings.media_s3_secret_key or DEV_SECRET_KEY,
            str(self.data_dir),
        ]  # fmt: skip

    def launch(self) -> int:
        env = {**os.environ, "RUST_LOG": "warn,s3s_fs=info"}  # start-up lines, not every request
        with contextlib.suppress(FileNotFoundError):
            self.out_log.unlink()  # its "pretty" log is verbose: keep the last run's only
        return process.spawn(
            self.command(), log=self.out_log, pidfile=self.pidfile, cwd=self.root, env=env
        )

    def answers(self, timeout: float) -> bool:
        return s3_answers(self.settings, timeout)


def s3_answers(settings: Settings, timeout: float) -> bool:
    """A signed ListBuckets answers (with the configured key pair)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.media_s3_endpoint,
        aws_access_key_id=settings.media_s3_access_key or DEV_ACCESS_KEY,
        aws_secret_access_key=settings.media_s3_secret_key or DEV_SECRET_KEY,
        config=Config(
            region_name=settings.media_s3_region,
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 1},
        ),
    )
    try:
        client.list_buckets()
    except (BotoCoreError, ClientError):
        return False
    return True
