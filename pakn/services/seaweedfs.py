"""SeaweedFS (Apache-2.0) as the S3-compatible media store: one `weed server` process running a
master, a volume server, a filer and the S3 gateway, on the settings' ports.

The `weed` binary is built from the Go module proxy with the system Go (services/seaweedfs/go.mod
pins the version; go.sum pins every dependency) into the tools cache, which every PAKN_HOME shares
and `--reset` keeps: a machine builds it once (docs/media.md has the figures).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from pakn.services import process, system
from pakn.services.base import Service
from pakn.settings import PROJECT_ROOT, Settings

BUILD_MODULE = PROJECT_ROOT / "services" / "seaweedfs"
PACKAGE = "github.com/seaweedfs/seaweedfs/weed"
GO_DIRS = ("/usr/local/go/bin", str(Path.home() / "go" / "bin"))
GRPC_OFFSET = 10_000  # SeaweedFS's own convention: gRPC port = HTTP port + 10000

log = logging.getLogger(__name__)


def parse_endpoint(url: str) -> tuple[str, int]:
    """host, port of an http(s) endpoint URL ("http://127.0.0.1:18333" -> ("127.0.0.1", 18333))."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"media_s3_endpoint must be an http(s) URL, got {url!r}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def build_id(module_dir: Path = BUILD_MODULE) -> str:
    """Names the binary after the pinned module files: a version change builds a new one."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        path = module_dir / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()[:12]


def s3_identities(access_key: str, secret_key: str) -> dict:
    """The S3 gateway's identity file: one identity, allowed everything."""
    return {
        "identities": [
            {
                "name": "pakn",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }


class SeaweedFS(Service):
    name = "seaweedfs"
    stop_grace = 15.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.host, self.port = parse_endpoint(
            settings.media_s3_endpoint or "http://127.0.0.1:18333"
        )
        self.master_port = settings.seaweedfs_master_port
        self.volume_port = settings.seaweedfs_volume_port
        self.filer_port = settings.seaweedfs_filer_port
        self.s3_config = self.root / "s3.json"
        self.out_log = self.logs_dir / "weed.out"
        self.server_log = self.out_log
        self.tools = settings.tools_dir / "seaweedfs"
        self.binary = self.tools / build_id() / "weed"
        self.build_log = self.tools / "build.log"

    @property
    def marker(self) -> str:
        return f"-s3.config={self.s3_config}"

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def log_files(self) -> list[Path]:
        return [self.out_log]

    def where(self) -> str:
        return (
            f"S3 http://{self.host}:{self.port} (master :{self.master_port}, "
            f"volume :{self.volume_port}, filer :{self.filer_port})"
        )

    # --- provisioning ------------------------------------------------------------------------
    def install(self) -> None:
        if self.binary.is_file() and os.access(self.binary, os.X_OK):
            return
        self.tools.mkdir(parents=True, exist_ok=True)
        # The tools cache is shared by every PAKN_HOME: one build at a time.
        with open(self.tools / "build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.binary.is_file():
                self._build()

    def _build(self) -> None:
        go = system.which("go", *GO_DIRS)
        if go is None:
            raise RuntimeError(
                "go not found: the S3 store (SeaweedFS) is built with Go >= 1.26 "
                "(https://go.dev/doc/install), or set PAKN_MEDIA_S3_ENDPOINT to a store you run"
            )
        work = self.tools / "build"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for name in ("go.mod", "go.sum"):
            shutil.copy2(BUILD_MODULE / name, work / name)
        partial = self.binary.with_name("weed.partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        cmd = [go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(partial), PACKAGE]
        # CGO off: a static binary, no C compiler needed; local toolchain: never download one.
        env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
        log.info("building SeaweedFS (a few minutes, once per machine): %s", " ".join(cmd))
        with open(self.build_log, "w") as out:
            done = subprocess.run(
                cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
            )
        if done.returncode != 0 or not partial.is_file():
            raise RuntimeError(
                f"building SeaweedFS failed (go exit {done.returncode}):\n"
                f"{process.tail([self.build_log])}"
            )
        partial.replace(self.binary)
        shutil.rmtree(work, ignore_errors=True)

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        identities = s3_identities(
            self.settings.media_s3_access_key or "pakn-dev",
            self.settings.media_s3_secret_key or "pakn-dev-secret",
        )
        text = json.dumps(identities, indent=2) + "\n"
        if not self.s3_config.is_file() or self.s3_config.read_text() != text:
            tmp = self.s3_config.with_suffix(".tmp")
            tmp.write_text(text)
            os.chmod(tmp, 0o600)  # holds the secret key
            tmp.replace(self.s3_config)

    # --- running -----------------------------------------------------------------------------
    def command(self) -> list[str]:
        ports = {
            "master": self.master_port,
            "volume": self.volume_port,
            "filer": self.filer_port,
            "s3": self.port,
        }
        cmd = [
            str(self.binary), "server",
            "-ip=127.0.0.1", f"-ip.bind={self.host}",
            f"-dir={self.data_dir}",
            "-master.telemetry=false",  # no traffic off this machine
            "-master.volumeSizeLimitMB=256", "-volume.max=0",  # small volumes, count from free disk
            "-filer", "-s3",
            f"-s3.config={self.s3_config}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # extra listeners we do not use
            f"-filer.localSocket={self.root / 'filer.sock'}",
            f"-s3.localSocket={self.root / 's3.sock'}",
        ]  # fmt: skip
        for role, port in ports.items():
            cmd += [f"-{role}.port={port}", f"-{role}.port.grpc={port + GRPC_OFFSET}"]
        return cmd

    def launch(self) -> int:
        for sock in ("filer.sock", "s3.sock"):  # left by a killed process, would refuse to bind
            with contextlib.suppress(FileNotFoundError):
                (self.root / sock).unlink()
        return process.spawn(self.command(), log=self.out_log, pidfile=self.pidfile, cwd=self.root)

    def answers(self, timeout: float) -> bool:
        return s3_answers(self.settings, timeout)


def s3_answers(settings: Settings, timeout: float) -> bool:
    """A signed ListBuckets answers: the gateway, its filer and their master are up."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.media_s3_endpoint,
        aws_access_key_id=settings.media_s3_access_key or "pakn-dev",
        aws_secret_access_key=settings.media_s3_secret_key or "pakn-dev-secret",
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
