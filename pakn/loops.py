"""What every transactional consume → produce process shares (`pakn router`, `pakn notifier`,
`pakn sender-notices`): committing a batch with the consumer's positions inside the transaction,
and running until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any, Protocol

from pakn.settings import Settings


def commit_batch(producer: Any, consumer: Any, timeout: float = 30) -> None:
    """Put the consumer's positions in the open transaction and commit it: the batch is either
    written and consumed, or neither. Any failure raises — the process exits, the transaction
    is aborted, and the batch is read again by whoever gets the partitions."""
    offsets = consumer.position(consumer.assignment())
    producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), timeout)
    producer.commit_transaction(timeout)


class Process(Protocol):
    running: bool

    def run(self) -> None: ...


def run_until_stopped(settings: Settings, name: str, make: Callable[[Settings], Process]) -> None:
    """Logging, the topics, the process; SIGTERM or SIGINT ends its loop after the batch."""
    from pakn.logs import setup_logging
    from pakn.topics import create_topics

    setup_logging(settings.log_level, name)
    create_topics(settings)
    process = make(settings)

    def stop(*_: object) -> None:
        process.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    process.run()
