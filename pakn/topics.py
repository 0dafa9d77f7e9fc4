"""The topics catalogue: every topic with its key, value schemas, partitions and retention.

Topics are created explicitly (`pakn topics`); the broker has auto-creation off. faust creates its
own internal changelog/repartition topics (``<app id>-<table>-changelog``) the same explicit way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from pakn.settings import Settings

DAY_MS = 24 * 3600 * 1000


def producer_config(bootstrap: str, **extra: object) -> dict[str, object]:
    """What every producer feeding faust-read topics must set (stack notes): idempotent with
    acks=all, and murmur2 keys, so a key lands in the partition faust (aiokafka) would choose."""
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "partitioner": "murmur2_random",
        "linger.ms": 2,
        "compression.type": "lz4",
        **extra,
    }


@dataclass(frozen=True)
class TopicSpec:
    suffix: str
    key: str
    values: tuple[str, ...]
    doc: str
    config: dict[str, str] = field(default_factory=dict)
    partitions: int | None = None  # None: settings.topic_partitions

    def name(self, settings: Settings) -> str:
        return settings.topic_prefix + self.suffix


INTAKE = TopicSpec(
    "intake.submissions",
    key="case_id",
    values=("CaseSubmitted",),
    doc="Submissions accepted by the gateway, before the workers apply them. Kept 30 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)},
)
COMMANDS = TopicSpec(
    "case.commands",
    key="case_id",
    values=("CaseCommand",),
    doc="Actions of officers and senders on cases (agency systems and the gateway write here; "
    "producers must hash keys with murmur2, like faust). Kept 30 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)},
)
COMMAND_RESULTS = TopicSpec(
    "case.command-results",
    key="case_id",
    values=("CommandResult",),
    doc="The answer to every command (accepted or refused with a code), by command id. 7 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
)
CLOCK_TICKS = TopicSpec(
    "sla.ticks",
    key="case_id",
    values=("ClockTick",),
    doc="Internal: due warning/deadline instants found by the workers' timers, applied by the "
    "agent that owns the case. 1 day.",
    config={"cleanup.policy": "delete", "retention.ms": str(DAY_MS)},
)
UNIT_FACTS = TopicSpec(
    "tallies.facts",
    key="unit code",
    values=("UnitPartials", "UnitFacts", "MonthClose"),
    doc="Internal repartition by unit: each case's facts for a unit's monthly figures. 7 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
)
UNIT_TALLIES = TopicSpec(
    "oversight.tallies",
    key="unit code/month",
    values=("UnitMonthTally",),
    doc="Each unit's monthly figures, compacted: the latest value is the figure.",
    config={"cleanup.policy": "compact", "min.compaction.lag.ms": str(60_000)},
)
OVERSIGHT_FLAGS = TopicSpec(
    "oversight.flags",
    key="unit code",
    values=("OversightFlag",),
    doc="A unit crossed an oversight threshold in a month (once per unit, month, flag). Forever.",
    config={"cleanup.policy": "delete", "retention.ms": "-1"},
)
CASE_EVENTS = TopicSpec(
    "case.events",
    key="case_id",
    values=(
        "CaseSubmitted",
        "DeadlineSet",
        "StageCompleted",
        "SlaAlert",
        "SlaAlertWithdrawn",
        "IntegrityFlag",
    ),
    doc="The case event log (system of record, kept forever; the warehouse rebuilds from it). "
    "Platform-internal: agency systems read their unit's stream (unit.<code>) instead.",
    config={"cleanup.policy": "delete", "retention.ms": "-1"},
)
# Submission integrity (docs/integrity.md §4): every worker keeps the window's submissions (read
# from case.events) and the image blocklist below in memory; only findings about another case
# travel (integrity.findings).
INTEGRITY_MEDIA = TopicSpec(
    "integrity.media",
    key="blocklist:<label>",
    values=("MediaSighting",),
    doc="The image blocklist (`pakn integrity block`), compacted and kept: every worker reads it "
    "whole into its reuse index.",
    config={"cleanup.policy": "compact"},
)
INTEGRITY_FINDINGS = TopicSpec(
    "integrity.findings",
    key="case_id",
    values=("IntegrityFlag",),
    doc="Internal: what the indexes found, keyed by the case to flag; its owner keeps the flag "
    "and publishes it on the case log. 7 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
)
CASE_STATE = TopicSpec(
    "case.state",
    key="case_id",
    values=("CaseState",),
    doc="Latest state of every case, compacted: read it as a table.",
    config={"cleanup.policy": "compact", "min.compaction.lag.ms": str(60_000)},
)
UNITS_DIRECTORY = TopicSpec(
    "units.directory",
    key="unit code | @rules | @directory",
    values=("DirectoryUnit", "RoutingRules", "DirectoryHead"),
    doc="The unit directory and the routing rules as data, compacted: one record per unit (a "
    "null value removes it), the rules, and the head that commits a publication (written last "
    "by `pakn units publish`). Every worker and gateway follows it whole (a global table kept by a "
    "consumer thread: docs/units-and-routing.md). One partition: the head must "
    "follow the records it commits.",
    config={"cleanup.policy": "compact", "delete.retention.ms": str(30 * DAY_MS)},
    partitions=1,
)
DEAD_LETTERS = TopicSpec(
    "deadletters",
    key="source topic/partition/offset",
    values=("DeadLetter",),
    doc="Messages a consumer could not decode or apply, with the reason. Kept 30 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)},
    partitions=1,
)

WARNING_COMMANDS = TopicSpec(
    "warnings.commands",
    key="warning_id",
    values=("WarningCommand",),
    doc="Acts on warnings to citizens (draft, edit, approve, update, cancel, supersede); the "
    "gateway writes here (murmur2 keys). Kept 30 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)},
)
WARNING_RESULTS = TopicSpec(
    "warnings.results",
    key="warning_id",
    values=("WarningResult",),
    doc="The answer to every warning command (accepted or refused with a code). 7 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
)
WARNING_STATE = TopicSpec(
    "warnings.state",
    key="warning_id",
    values=("WarningState",),
    doc="Every warning as it stands, compacted (public: the gateway's reads, CAP and Atom).",
    config={"cleanup.policy": "compact", "min.compaction.lag.ms": str(60_000)},
)
SUBSCRIPTIONS = TopicSpec(
    "warnings.subscriptions",
    key="pseudonym",
    values=("Subscription",),
    doc="Citizens' warning subscriptions, compacted (the latest per citizen counts).",
    config={"cleanup.policy": "compact", "min.compaction.lag.ms": str(60_000)},
)
WARNINGS_BY_COMMUNE = TopicSpec(
    "warnings.by-commune",
    key="commune code",
    values=("SubscriberRow", "FanoutTask"),
    doc="Internal repartition by commune: subscription rows and fan-out tasks in one order, so "
    "a fan-out sees every row sent before it. 7 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
)
WARNING_DELIVERIES = TopicSpec(
    "warnings.deliveries",
    key="pseudonym",
    values=("WarningDelivery",),
    doc="Internal: fan-out output, at least once (duplicates possible); `pakn notifier` dedups "
    "it into the notifications topic. 7 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
)
NOTIFICATIONS = TopicSpec(
    "warnings.notifications",
    key="pseudonym",
    values=("WarningDelivery",),
    doc="Exactly one delivery per citizen per sent warning version (transactional: read with "
    "isolation.level=read_committed); the push provider consumes it (docs/warnings.md). 7 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
)
SENDER_NOTICES = TopicSpec(
    "sender.notices",
    key="pseudonym",
    values=("SenderNotice",),
    doc="Exactly one notice per change of a sender's case (transactional: read with "
    "isolation.level=read_committed); the app's push service consumes it (docs/workflow.md). "
    "Partition = the case's partition on case.events. 7 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
)
SENDER_NOTICE_CASES = TopicSpec(
    "sender.notices.cases",
    key="case_id",
    values=("SenderNoticeCase",),
    doc="Internal memory of `pakn sender-notices` per case (no personal data), written in the "
    "notices' transactions; compacted.",
    config={"cleanup.policy": "compact"},
)
SENDER_KEYS = TopicSpec(
    "privacy.sender-keys",
    key="pseudonym/key ref",
    values=("SenderKey",),
    doc="Senders' data keys, wrapped with a master key; compacted. A tombstone destroys a key and "
    "every identity it sealed (crypto-shredding): compaction drops the old value within "
    "max.compaction.lag.ms, the tombstone itself after delete.retention.ms (docs/privacy.md).",
    config={
        "cleanup.policy": "compact",
        "min.compaction.lag.ms": "0",
        "max.compaction.lag.ms": str(DAY_MS),  # also rolls the active segment within a day
        "segment.ms": str(3600 * 1000),
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": str(3600 * 1000),
    },
)
PRIVACY_AUDIT = TopicSpec(
    "privacy.audit",
    key="case id (or pseudonym)",
    values=("PrivacyAudit",),
    doc="Every re-identification and erasure of a sender's personal data. Kept forever.",
    config={"cleanup.policy": "delete", "retention.ms": "-1"},
)
RECEPTION_REQUESTS = TopicSpec(
    "reception.requests",
    key="session_id",
    values=("ReceptionRequest",),
    doc="Citizen-reception bookings and the office's actions, keyed by session: the partition's "
    "owner is the session's one writer (docs/reception.md). Kept 30 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)},
)
RECEPTION_RESULTS = TopicSpec(
    "reception.results",
    key="session_id",
    values=("ReceptionResult",),
    doc="The answer to every reception request (accepted or refused with a code), by request id. "
    "7 days.",
    config={"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
)
RECEPTION_BOOKINGS = TopicSpec(
    "reception.bookings",
    key="session_id/booking_code",
    values=("ReceptionBooking",),
    doc="Each reception booking's latest status and slot (no identity), compacted: the warehouse's "
    "figures of bookings, cancellations, attendance and no-shows.",
    config={"cleanup.policy": "compact", "min.compaction.lag.ms": str(60_000)},
)

# Per-unit work streams `<prefix>unit.<unit code>` (1 partition, 90 days): every event of the
# cases a unit is responsible for, declared by the worker on first use. Agency systems consume
# their unit's stream with their own consumer group and the .avsc files (docs/agency-streams.md).
UNIT_RETENTION_S = 90 * 24 * 3600


def unit_topic_name(settings: Settings, unit_code: str) -> str:
    return f"{settings.topic_prefix}unit.{unit_code}"


CATALOGUE: tuple[TopicSpec, ...] = (
    INTAKE,
    COMMANDS,
    CLOCK_TICKS,
    UNIT_FACTS,
    CASE_EVENTS,
    CASE_STATE,
    COMMAND_RESULTS,
    UNIT_TALLIES,
    OVERSIGHT_FLAGS,
    UNITS_DIRECTORY,
    DEAD_LETTERS,
    WARNING_COMMANDS,
    WARNING_RESULTS,
    WARNING_STATE,
    SUBSCRIPTIONS,
    WARNINGS_BY_COMMUNE,
    WARNING_DELIVERIES,
    NOTIFICATIONS,
    SENDER_NOTICES,
    SENDER_NOTICE_CASES,
    SENDER_KEYS,
    PRIVACY_AUDIT,
    RECEPTION_REQUESTS,
    RECEPTION_RESULTS,
    RECEPTION_BOOKINGS,
    INTEGRITY_MEDIA,
    INTEGRITY_FINDINGS,
)


def create_compacted(settings: Settings, names: list[str], timeout: float = 30.0) -> None:
    """Compacted topics of the case partition count (faust table changelogs), created before the
    workers start so faust never assigns partitions of a topic the cluster does not show yet."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    existing = set(admin.list_topics(timeout=timeout).topics)
    new = [
        NewTopic(
            n,
            num_partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication,
            config={"cleanup.policy": "compact"},
        )
        for n in names
        if n not in existing
    ]
    for fut in admin.create_topics(new, request_timeout=timeout).values() if new else []:
        try:
            fut.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def create_topics(settings: Settings, timeout: float = 30.0) -> list[str]:
    """Create the missing topics of the catalogue; return the names created."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    existing = set(admin.list_topics(timeout=timeout).topics)
    new = [
        NewTopic(
            spec.name(settings),
            num_partitions=spec.partitions or settings.topic_partitions,
            replication_factor=settings.topic_replication,
            config=spec.config,
        )
        for spec in CATALOGUE
        if spec.name(settings) not in existing
    ]
    if not new:
        return []
    created = []
    for name, fut in admin.create_topics(new, request_timeout=timeout).items():
        try:
            fut.result()
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created


def describe(settings: Settings) -> str:
    lines = []
    for spec in CATALOGUE:
        parts = spec.partitions or settings.topic_partitions
        cfg = " ".join(f"{k}={v}" for k, v in spec.config.items())
        lines.append(
            f"{spec.name(settings)}\tkey={spec.key}\tvalues={','.join(spec.values)}\t"
            f"partitions={parts}\t{cfg}"
        )
    return "\n".join(lines)


# Errors a new or just-restarted broker answers while it elects partition leaders: worth a retry.
TRANSIENT = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._TRANSPORT,
        KafkaError._TIMED_OUT,
    }
)


def watermarks(
    consumer: Consumer, topic: str, partition: int, timeout: float = 30.0
) -> tuple[int, int]:
    """(low, high) offsets of a partition, retried while its leader is being elected (a topic
    created a moment ago, a broker that just restarted) instead of failing at once."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            return consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=max(1.0, deadline - time.monotonic())
            )
        except KafkaException as exc:
            if exc.args[0].code() not in TRANSIENT or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
