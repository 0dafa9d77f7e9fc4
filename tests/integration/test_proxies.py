"""Behind a real reverse proxy (Debian's nginx): each citizen has their own bucket, a client that
talks to the gateway directly cannot borrow another's address, and API clients have theirs."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

from pakn.settings import Settings
from tests.harness import Proc, free_port, wait_for
from tests.pipeline import wait_gateway

pytestmark = pytest.mark.integration


def nginx_binary(tools: Path) -> Path:
    """nginx from PATH, else Debian's package unpacked into the tools cache (apt-get download
    and dpkg-deb: no service is installed or started, nothing runs as a daemon)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found:
        return Path(found)
    target = tools / "nginx"
    binary = target / "usr" / "sbin" / "nginx"
    if not binary.exists():
        target.mkdir(parents=True, exist_ok=True)
        got = subprocess.run(
            ["apt-get", "download", "nginx"], cwd=target, capture_output=True, timeout=300
        )
        if got.returncode != 0:  # an empty package list on a fresh machine
            subprocess.run(["apt-get", "update", "-q"], check=True, timeout=300)
            subprocess.run(["apt-get", "download", "nginx"], cwd=target, check=True, timeout=300)
        [deb] = sorted(target.glob("nginx_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True, timeout=60)
    return binary


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {run}/body;
  proxy_temp_path {run}/proxy;
  fastcgi_temp_path {run}/fastcgi;
  uwsgi_temp_path {run}/uwsgi;
  scgi_temp_path {run}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header Host $host;
    }}
  }}
}}
"""


async def _get(url: str, source: str, **headers: str) -> int:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as s,
        s.get(url, headers=headers) as r,
    ):
        return r.status


def test_buckets_per_citizen_behind_nginx_and_no_borrowed_address(
    env: Settings, tmp_path: Path
) -> None:
    settings = env.model_copy(
        update={
            "gateway_client_rate": 0.01,  # one request per 100 s once the burst is spent
            "gateway_client_burst": 2.0,
            "gateway_trusted_proxies": "127.0.0.1",  # nginx connects from here
        }
    )
    nginx = nginx_binary(settings.tools_dir)
    run, port = tmp_path / "nginx", free_port()
    run.mkdir()
    conf = run / "nginx.conf"
    conf.write_text(NGINX_CONF.format(run=run, port=port, upstream=settings.gateway_port))
    gateway = Proc("gateway", settings, tmp_path).start()
    proxy = subprocess.Popen(
        [str(nginx), "-p", str(run), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_gateway(settings, gateway)
        via = f"http://127.0.0.1:{port}/v1/categories"
        direct = f"http://127.0.0.1:{settings.gateway_port}/v1/categories"
        wait_for(lambda: asyncio.run(_get(via, "127.0.0.9")) == 200, 20, "nginx to answer")

        # citizen A (127.0.0.2) spends its burst; citizen B (127.0.0.3) still has its own
        a = [asyncio.run(_get(via, "127.0.0.2")) for _ in range(3)]
        assert a == [200, 200, 429]
        assert asyncio.run(_get(via, "127.0.0.3")) == 200

        # a direct client naming A's address is not believed: its own (fresh) bucket
        assert asyncio.run(_get(direct, "127.0.0.4", **{"X-Forwarded-For": "127.0.0.3"})) == 200
        assert asyncio.run(_get(direct, "127.0.0.4", **{"X-Forwarded-For": "127.0.0.5"})) == 200
        assert asyncio.run(_get(direct, "127.0.0.4")) == 429
    finally:
        proxy.terminate()
        proxy.wait(10)
        gateway.stop()
