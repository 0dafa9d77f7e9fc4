"""The project's own native services: a single-node Kafka broker (Maven Central jars) and a
ClickHouse server (Debian package), provisioned and run under ``settings.home``.

The API is in :mod:`pakn.services.manager` (start, stop, status, describe).
"""
