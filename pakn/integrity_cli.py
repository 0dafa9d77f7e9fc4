"""`pakn integrity`: the blocklist of known images (docs/integrity.md §4).

A blocklisted image goes to the compacted topic integrity.media as ``blocklist:<label>``; every
worker reads it into its reuse index as older than every case: any case whose image is within
the reuse distance is flagged ``blocklisted_image``, also cases submitted before it was listed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from pakn.settings import get_settings


@click.group()
def integrity() -> None:
    """Submission integrity: the image blocklist."""


def _hash_lines(path: Path) -> list[tuple[str, str, tuple[int, ...]]]:
    """A hashes file: one image a line, `label hash [variant hash ...]` (16 hex digits each),
    `#` comments; e.g. exported from another system's index."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            hashes = tuple(int(w, 16) for w in words[1:])
        except ValueError:
            hashes = ()
        if not hashes or any(h >> 64 for h in hashes):
            raise click.ClickException(f"{path}:{n}: expected `label hash [hash ...]` (hex)")
        out.append((words[0], hashlib.sha256(line.encode()).hexdigest(), hashes))
    return out


@integrity.command("block")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--label", default=None, help="Label of the images (default: the file name).")
@click.option(
    "--hashes", "as_hashes", is_flag=True, help="The files list hashes, not images (see below)."
)
def block(paths: tuple[str, ...], label: str | None, as_hashes: bool) -> None:
    """Add images (JPEG, PNG, WebP, HEIC) or hash files to the blocklist.

    Hash files: one image a line, `label hash [variant ...]`, 16 hex digits each."""
    from confluent_kafka import Producer

    from gateway.publisher import producer_config
    from pakn.topics import INTEGRITY_MEDIA, create_topics
    from processors.media_checks import MediaError, perceptual_hashes
    from processors.reuse import BLOCKLIST_PREFIX
    from schemas.codec import get_codec

    settings = get_settings()
    items: list[tuple[str, str, tuple[int, ...]]] = []
    for p in map(Path, paths):
        if as_hashes:
            items += _hash_lines(p)
            continue
        data = p.read_bytes()
        try:
            hashes = tuple(perceptual_hashes(data))
        except MediaError as exc:
            raise click.ClickException(f"{p}: {exc.code} {exc.detail}") from None
        items.append((label or p.name, hashlib.sha256(data).hexdigest(), hashes))
    create_topics(settings)
    producer = Producer(producer_config(settings.kafka_bootstrap))
    topic = INTEGRITY_MEDIA.name(settings)
    for name, sha, hashes in items:
        ref = f"{BLOCKLIST_PREFIX}{name}"
        rec = {
            "ref": ref,
            "sender": "",
            "submitted_at": 0,  # older than every case: the cases are the later of each pair
            "sha256": sha,
            "hashes": [f"{h:016x}" for h in hashes],
            "probe": [],
            "store": [],
        }
        value = get_codec().encode("MediaSighting", rec)
        producer.produce(topic, key=ref.encode(), value=value)
        producer.poll(0)
    if producer.flush(30) > 0:
        raise click.ClickException("Kafka did not confirm every message")
    click.echo(f"blocklisted {len(items)} image(s) on {topic}")
