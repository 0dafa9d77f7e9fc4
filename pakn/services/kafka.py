"""Apache Kafka (KRaft, one node) from Maven Central jars, run with the system Java."""

from __future__ import annotations

import base64
import logging
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from pakn.services import process, system
from pakn.services.base import Service
from pakn.settings import PROJECT_ROOT, Settings

POM = PROJECT_ROOT / "services" / "kafka" / "pom.xml"
_VERSION_FILE = ".pakn-kafka-version"  # written after a complete download: names the version

log = logging.getLogger(__name__)


def parse_hostport(bootstrap: str) -> tuple[str, int]:
    """host, port of the first bootstrap server ("127.0.0.1:19092,..." -> ("127.0.0.1", 19092))."""
    first = bootstrap.split(",")[0].strip()
    first = first.split("://", 1)[-1]  # tolerate "PLAINTEXT://host:port"
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"kafka_bootstrap must be host:port, got {bootstrap!r}")
    return host.strip("[]"), int(port)


def _heap_mb(heap: str) -> int:
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", heap.strip())
    if not m:
        raise ValueError(f"kafka_heap must look like 512m or 1g, got {heap!r}")
    n, unit = int(m.group(1)), m.group(2).lower()
    return {"k": n // 1024, "m": n, "g": n * 1024, "": n // (1024 * 1024)}[unit]


def _kafka_uuid() -> str:
    """A cluster id as `StorageTool random-uuid` prints it (URL-safe base64 of 16 random bytes),
    made here to save one JVM start. Kafka avoids ids starting with '-' (they look like flags)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class Kafka(Service):
    name = "kafka"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.libs = self.root / "libs"
        self.config_dir = self.root / "config"
        self.properties = self.config_dir / "server.properties"
        self.log4j = self.config_dir / "log4j2.yaml"
        self.server_log = self.logs_dir / "server.log"
        self.out_log = self.logs_dir / "kafka.out"  # JVM stdout/stderr (crashes before log4j)
        self.provision_log = self.logs_dir / "provision.log"
        self.host, self.port = parse_hostport(settings.kafka_bootstrap)
        self.controller_port = settings.kafka_controller_port
        self.version = settings.kafka_version

    @property
    def marker(self) -> str:
        return f"kafka.Kafka {self.properties}"

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def log_files(self) -> list[Path]:
        return [self.out_log, self.server_log]

    def where(self) -> str:
        return (
            f"bootstrap {self.host}:{self.port} (KRaft controller :{self.controller_port}), "
            f"Kafka {self.version}"
        )

    # --- provisioning ------------------------------------------------------------------------
    def jars_present(self) -> bool:
        marker = self.libs / _VERSION_FILE
        return (
            marker.is_file()
            and marker.read_text().strip() == self.version
            and (self.libs / f"kafka_2.13-{self.version}.jar").is_file()
        )

    def install(self) -> None:
        if system.which("java") is None:
            system.apt_install("openjdk-17-jre-headless")
        if self.jars_present():
            return
        if system.which("mvn") is None:
            system.apt_install("maven")
        if not POM.is_file():
            raise RuntimeError(f"{POM} is missing: it lists the broker's Maven artifacts")
        # Download beside, then swap: a failed download never leaves a half-filled libs folder, and
        # jars of another version never end up on the same classpath.
        partial = self.root / "libs.partial"
        shutil.rmtree(partial, ignore_errors=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            system.which("mvn") or "mvn", "-q", "-B", "-f", str(POM),
            f"-Dkafka.version={self.version}",
            "dependency:copy-dependencies", f"-DoutputDirectory={partial}",
        ]  # fmt: skip
        log.info("downloading Kafka %s jars: %s", self.version, " ".join(cmd))
        with open(self.provision_log, "w") as out:
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0 or not (partial / f"kafka_2.13-{self.version}.jar").is_file():
            raise RuntimeError(
                f"downloading Kafka {self.version} from Maven Central failed "
                f"(mvn exit {done.returncode}):\n{process.tail([self.provision_log])}"
            )
        (partial / _VERSION_FILE).write_text(f"{self.version}\n")
        shutil.rmtree(self.libs, ignore_errors=True)
        partial.replace(self.libs)

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        system.render(
            "server.properties",
            self.properties,
            host=self.host,
            port=str(self.port),
            controller_port=str(self.controller_port),
            data_dir=str(self.data_dir),
            partitions=str(self.settings.topic_partitions),
        )
        system.render("log4j2.yaml", self.log4j, logs_dir=str(self.logs_dir))
        if not (self.data_dir / "meta.properties").is_file():
            self._format()

    def _format(self) -> None:
        """KRaft storage must be formatted once with a cluster id before the first start."""
        cmd = [
            self._java(), "-Xmx256m", f"-Dlog4j2.configurationFile={self.log4j}",
            "-cp", f"{self.libs}/*", "kafka.tools.StorageTool",
            "format", "-t", _kafka_uuid(), "-c", str(self.properties),
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"formatting Kafka storage in {self.data_dir} failed ({done.returncode}):\n"
                f"{(done.stdout + done.stderr)[-4000:]}"
            )

    def _java(self) -> str:
        java = system.which("java")
        if java is None:
            raise RuntimeError("java not found (apt-get install -y openjdk-17-jre-headless)")
        return java

    # --- running -----------------------------------------------------------------------------
    def launch(self) -> int:
        heap = self.settings.kafka_heap
        xms = "256m" if _heap_mb(heap) >= 256 else heap  # -Xms above -Xmx stops the JVM
        cmd = [
            self._java(),
            f"-Xmx{heap}", f"-Xms{xms}",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp", f"{self.libs}/*",
            "kafka.Kafka", str(self.properties),
        ]  # fmt: skip
        return process.spawn(cmd, log=self.out_log, pidfile=self.pidfile, cwd=self.root)

    def answers(self, timeout: float) -> bool:
        return kafka_metadata_ok(self.settings.kafka_bootstrap, timeout)


def kafka_metadata_ok(bootstrap: str, timeout: float) -> bool:
    """A metadata request answers and names at least one broker."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap,
            # librdkafka logs every refused connection to stderr; a probe must stay quiet.
            "log_level": 0,
            "socket.connection.setup.timeout.ms": max(1000, int(timeout * 1000)),
        }
    )
    try:
        md = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(md.brokers)
