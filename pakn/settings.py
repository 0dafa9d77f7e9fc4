"""One typed settings object for the whole project.

Every setting is an environment variable ``PAKN_<NAME>`` with the default shown here; the README's
configuration reference is generated from this class (``pakn config``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAKN_", extra="ignore")

    # --- where local state lives -------------------------------------------------------------
    home: Path = Field(
        PROJECT_ROOT / ".pakn",
        description="Folder for all local state: Kafka jars and data, ClickHouse data, worker "
        "tables, media, dev keys. `pakn services start --reset` wipes its data.",
    )

    tools_cache: Path | None = Field(
        None,
        description="Folder for tools built from source, shared by every PAKN_HOME and kept by "
        "--reset (the s3s-fs binary). Default $XDG_CACHE_HOME/pakn or ~/.cache/pakn.",
    )

    # --- Kafka -------------------------------------------------------------------------------
    kafka_bootstrap: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers.")
    kafka_version: str = Field("4.1.1", description="Apache Kafka broker version provisioned.")
    kafka_controller_port: int = Field(19093, description="KRaft controller port (native broker).")
    kafka_heap: str = Field("1g", description="Java heap of the native broker.")
    topic_prefix: str = Field(
        "pakn.", description="Prefix of every topic name (tests use their own)."
    )
    topic_partitions: int = Field(6, description="Partitions of the case topics.")
    topic_replication: int = Field(1, description="Replication factor of every topic.")

    # --- ClickHouse --------------------------------------------------------------------------
    clickhouse_host: str = Field("127.0.0.1", description="ClickHouse host (native protocol).")
    clickhouse_port: int = Field(19000, description="ClickHouse native TCP port.")
    clickhouse_http_port: int = Field(18123, description="ClickHouse HTTP port (native server).")
    clickhouse_database: str = Field("pakn", description="ClickHouse database of the warehouse.")
    clickhouse_user: str = Field("default", description="ClickHouse user of the sink.")
    clickhouse_password: str = Field("", description="ClickHouse password of the sink.")

    # --- gateway -----------------------------------------------------------------------------
    gateway_host: str = Field("127.0.0.1", description="Address the gateway listens on.")
    gateway_port: int = Field(8080, description="Port the gateway listens on.")
    gateway_public_url: str = Field(
        "", description="Base URL used in tracking links (default http://host:port)."
    )
    gateway_max_body_bytes: int = Field(
        25 * 1024 * 1024, description="Largest request body accepted (413 above)."
    )
    gateway_max_media_files: int = Field(10, description="Most media files in one submission.")
    gateway_max_media_bytes: int = Field(
        20 * 1024 * 1024, description="Largest single media file (413 above)."
    )
    gateway_client_rate: float = Field(
        50.0, description="Requests per second one client address may make (0: no limit)."
    )
    gateway_client_burst: float = Field(100.0, description="Burst allowed above that rate.")
    gateway_trusted_proxies: str = Field(
        "",
        description="Addresses / networks (comma-separated, e.g. 10.0.0.0/8) of reverse proxies "
        "and the app's backend whose Forwarded / X-Forwarded-For name the client; from any other "
        "peer those headers are ignored.",
    )
    gateway_api_client_rate: float = Field(
        200.0,
        description="Requests per second one API client (Open311 key, token subject) may make, "
        "over all its addresses (0: no limit).",
    )
    gateway_api_client_burst: float = Field(400.0, description="Burst allowed above that rate.")
    gateway_sender_per_hour: float = Field(
        20.0, description="Submissions one sender (by pseudonym) may make per hour (0: no limit)."
    )
    gateway_reply_timeout_s: float = Field(
        5.0, description="Longest wait for a command's outcome before answering 202 + status URL."
    )
    gateway_delivery_timeout_s: float = Field(
        5.0, description="Longest wait for Kafka to confirm a write before answering 503."
    )

    # --- media store (gateway/stores/media.py, gateway/stores/media_s3.py) ----------------------
    media_store: Literal["local", "s3"] = Field(
        "local",
        description="Where uploaded media go: `local` (<home>/media) or `s3` (the bucket below).",
    )
    media_s3_endpoint: str = Field(
        "http://127.0.0.1:18333",
        description="S3 endpoint URL; the default is the native S3 service of `pakn services` "
        "(s3s-fs). Empty: AWS's own endpoint for the region.",
    )
    media_s3_bucket: str = Field("pakn-media", description="Bucket of the media files.")
    media_s3_prefix: str = Field(
        "media/", description="Key prefix in the bucket: an object's key is <prefix><sha256>."
    )
    media_s3_region: str = Field("us-east-1", description="Region of the bucket.")
    media_s3_access_key: str = Field(
        "pakn-dev",
        description="S3 access key id (the native S3 service accepts only this key pair). "
        "Empty: boto3's own chain (environment, shared files, instance role).",
    )
    media_s3_secret_key: str = Field(
        "pakn-dev-secret", description="S3 secret key (development default: change it)."
    )
    media_s3_path_style: bool = Field(
        True,
        description="Path-style URLs (endpoint/bucket/key), as most S3-compatible servers want; "
        "false: virtual-hosted (bucket.endpoint).",
    )
    media_s3_create_bucket: bool = Field(
        True, description="Create the bucket at the gateway's start if it is missing."
    )
    media_s3_timeout_s: float = Field(
        10.0, description="Connect and read timeout of one S3 request (503 after retries)."
    )
    s3s_fs_version: str = Field(
        "0.14.1",
        description="s3s-fs version built from crates.io for the native S3 service.",
    )

    # --- faust workers -----------------------------------------------------------------------
    worker_app_id: str = Field("pakn-worker", description="faust app id (= consumer group).")
    worker_data_dir: Path | None = Field(
        None, description="faust table data folder (default <home>/worker/<app id>)."
    )
    worker_web_port: int = Field(6066, description="faust web port; 0 turns the web server off.")
    worker_session_timeout_s: float = Field(
        10.0, description="Kafka group session timeout of the workers (short: fast fail-over)."
    )

    # --- sink --------------------------------------------------------------------------------
    worker_standby_replicas: int = Field(
        0,
        description="Standby replicas of each worker table (1: another worker keeps a warm copy "
        "and takes over a partition without replaying its changelog).",
    )
    worker_uvloop: bool = Field(
        False,
        description="Run the worker on uvloop (measured no faster than asyncio's loop here: "
        "676 vs 677 submissions per CPU-second, bench/uvloop_ab.py; docs/performance.md).",
    )
    worker_stall_s: float = Field(
        60.0,
        description="Watchdog: an assigned partition with lag whose position has not moved "
        "for this long is logged and counted on /metrics.",
    )
    sink_group: str = Field("pakn-sink-clickhouse", description="Consumer group of the sink.")
    sink_batch_rows: int = Field(10_000, description="Rows that trigger an insert.")
    sink_flush_interval_s: float = Field(1.0, description="Longest wait before a partial batch.")
    sink_retry_max_s: float = Field(10.0, description="Cap of the back-off while ClickHouse fails.")

    # --- personal data -----------------------------------------------------------------------
    pii_keys: str = Field(
        "",
        description="Encryption keys 'kid:base64(32 bytes),kid2:...'; the first is used to "
        "encrypt, all decrypt. Empty: a dev key file under <home>/secrets is created.",
    )
    pseudonym_key: str = Field(
        "", description="base64 HMAC key for sender pseudonyms. Empty: dev key file."
    )

    # --- deadlines -----------------------------------------------------------------------------
    calendar_office_hours: str = Field(
        "",
        description='Default office hours as JSON, e.g. {"mon-fri": "08:00-12:00,13:00-17:00"}; '
        "empty: the regulation's default.",
    )
    calendar_public_holidays: bool = Field(
        True, description="Count public holidays and swaps (false only for clock tests/demos)."
    )
    calendar_overrides: str = Field(
        "",
        description="Extra holiday override files (os.pathsep-separated) on top of the shipped "
        "table; read by processors/calendar.py.",
    )
    sla_policy: str = Field(
        "", description="SLA policy file replacing the shipped one; read by processors/sla.py."
    )
    units_file: str = Field(
        "",
        description="Unit directory file replacing the shipped 2025 one (until `pakn units "
        "publish` puts one on the topic).",
    )
    routing_file: str = Field("", description="Routing rules file replacing the shipped one.")
    wordlist_file: str = Field(
        "", description="Extra word list of the wording screen, on top of the shipped one."
    )
    tally_interval_s: float = Field(
        5.0,
        description="How often a worker sends the changed unit-month sums of its partitions to "
        "the oversight tallies (docs/oversight.md).",
    )
    warnings_cap_sender: str = Field(
        "canhbao@hanoi.gov.vn", description="CAP <sender> of the warnings to citizens."
    )
    notifier_batch: int = Field(
        2000, description="Deliveries per notifier transaction (dedup into notifications)."
    )
    oversight_late_share: float = Field(
        0.30, description="Flag a unit whose month has more than this share of late items."
    )
    oversight_repeat_not_satisfied: int = Field(
        5,
        description="Flag a unit for each item rated not satisfied (and reopened) this many "
        "times (§6 '5 lần trở lên', counted per item).",
    )
    smtp_host: str = Field(
        "", description="SMTP server for e-mails to senders (`pakn sender-notices`); empty: none."
    )
    smtp_port: int = Field(25, description="Port of the SMTP server.")
    notice_mail_from: str = Field(
        "khongtraloi@ihanoi.hanoi.gov.vn", description="From address of the e-mails to senders."
    )
    month_close_check_s: float = Field(
        300.0, description="How often workers look for unit-months that ended (close reports)."
    )
    unit_streams: bool = Field(
        True, description="Also publish each case's events on its unit's work stream."
    )
    sla_tick_interval_s: float = Field(
        1.0, description="How often each worker looks for due warnings and breaches."
    )

    # --- agency authentication (gateway/http/auth.py, docs/auth.md) -------------------------
    auth_issuer: str = Field(
        "pakn-dev",
        description="Accepted `iss` of signed tokens (comma-separated for several); "
        "`pakn token` uses the first.",
    )
    auth_audience: str = Field(
        "pakn-gateway",
        description="Accepted `aud` of signed tokens (comma-separated for several); "
        "`pakn token` uses the first.",
    )
    auth_hs256_secret: str = Field(
        "",
        description="Shared HS256 secret (at least 32 bytes). Empty and no public keys: a dev "
        "secret file under <home>/secrets is created; empty with public keys: HS256 is off.",
    )
    auth_public_keys_file: str = Field(
        "",
        description="RS256/ES256 public keys (os.pathsep-separated files): JWKS JSON (kid from "
        "each key) or PEM (kid = file name without .pem). Several kids: rotation.",
    )
    auth_leeway_s: float = Field(
        30.0, description="Clock skew tolerated on a token's exp, nbf and iat (seconds)."
    )
    # --- end of agency authentication ------------------------------------------------------

    # --- Open311 GeoReport v2 (gateway/routes/open311.py, docs/open311.md) ----------------------
    open311_api_keys: str = Field(
        "",
        description="API keys of Open311 clients (POST requests), comma-separated, each "
        "'name:key' or 'key'. Empty: one development key in <home>/secrets/open311_api_key.",
    )
    # --- end of Open311 ---------------------------------------------------------------------

    # --- citizen-reception booking (processors/reception.py, docs/reception.md) ---------------
    reception_booking_opens_before_s: int = Field(
        14 * 86400,
        description="Booking of a reception session opens this long before its first "
        "slot (seconds; judged at publication).",
    )
    reception_booking_closes_before_s: int = Field(
        86400, description="Booking (and moving) closes this long before the session's first slot."
    )
    # --- end of citizen-reception booking ---------------------------------------------------
    # --- submission integrity (processors/reuse.py, docs/integrity.md) ----------------------
    integrity_reuse_distance: int = Field(
        10, description="Largest pHash distance (bits of 64) at which two images are the same."
    )
    integrity_reuse_bands: int = Field(
        4,
        description="Pieces the pHash is cut into for the reuse index's buckets (16 bits each "
        "by default); the distance must stay below 4 x this for a few hundred probes.",
    )
    integrity_reuse_window_days: int = Field(
        365, description="How long a case's images stay in the reuse index (blocklist: always)."
    )
    integrity_duplicate_radius_m: float = Field(
        250.0,
        description="Same category within this many metres (and the window): a likely duplicate.",
    )
    integrity_duplicate_window_days: int = Field(
        30, description="Same category, within the radius and this many days: a likely duplicate."
    )
    integrity_edit_max_time_gap_h: float = Field(
        72.0, description="Capture time further than this from the reported time: a signal."
    )
    integrity_edit_max_distance_m: float = Field(
        500.0, description="Capture position further than this from the reported place: a signal."
    )
    integrity_auto_reject: str = Field(
        "",
        description="Flag kinds that reject a case still waiting to be received, comma-separated "
        "(reused_image, blocklisted_image, likely_duplicate, edit_signal, wording_review). "
        "Empty: flags only.",
    )
    wording_mode: Literal["reject", "review"] = Field(
        "reject",
        description="What a `reject` term of the word list does at the gateway: reject (422 "
        "offensive_wording with the span) or review (accepted; a wording_review flag for the "
        "receiving officer, as `review` terms always get).",
    )
    # --- end of submission integrity --------------------------------------------------------

    log_level: str = Field("INFO", description="Log level of every process.")

    @property
    def tools_dir(self) -> Path:
        if self.tools_cache is not None:
            return self.tools_cache
        xdg = os.environ.get("XDG_CACHE_HOME")
        return (Path(xdg) if xdg else Path.home() / ".cache") / "pakn"

    @property
    def worker_dir(self) -> Path:
        return self.worker_data_dir or self.home / "worker" / self.worker_app_id

    @property
    def public_url(self) -> str:
        return self.gateway_public_url or f"http://{self.gateway_host}:{self.gateway_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
