"""ClickHouse clients built from the settings (one place for host, port, user, database)."""

from __future__ import annotations

from clickhouse_driver import Client

from pakn.settings import Settings


def clickhouse(settings: Settings, *, database: bool = True, **kw: object) -> Client:
    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password,
        database=settings.clickhouse_database if database else "default",
        connect_timeout=3,
        send_receive_timeout=30,
        **kw,
    )
