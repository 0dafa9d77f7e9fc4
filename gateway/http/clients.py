"""Who the client is, for the limits: its address behind trusted proxies, and its API identity.

``Forwarded`` (RFC 7239, parsed by aiohttp's ``request.forwarded``) and ``X-Forwarded-For`` are
believed only when the peer that connected is a configured proxy (``PAKN_GATEWAY_TRUSTED_PROXIES``);
the client is then the right-most address that is not itself a trusted proxy. From any other
peer the headers are ignored: a client cannot choose its own bucket.

Not aiohttp-remotes: its Strict middlewares refuse every direct (unproxied) client with 400, and
its Filtered one believes X-Forwarded-For from any peer — neither is "trusted only from the
proxies"; the rule above is ten lines on top of aiohttp's own RFC 7239 parser.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import hdrs, web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(spec: str) -> tuple[Network, ...]:
    """``10.0.0.0/8, 127.0.0.1`` -> networks (ValueError on a malformed entry: a config error)."""
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False) for item in spec.split(",") if item.strip()
    )


def _address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    value = value.strip().strip('"')
    if value.startswith("["):  # RFC 7239: "[2001:db8::1]:4711"
        value = value[1:].split("]")[0]
    elif value.count(":") == 1:  # "192.0.2.60:4711"
        value = value.split(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None  # "unknown", an obfuscated identifier: not an address


def _trusted(addr: object, networks: Sequence[Network]) -> bool:
    return isinstance(addr, ipaddress.IPv4Address | ipaddress.IPv6Address) and any(
        addr in n for n in networks
    )


def client_address(request: web.Request, networks: Sequence[Network]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy."""
    peer = request.remote or "?"
    if not networks or not _trusted(_address(peer), networks):
        return peer
    hops = [f.get("for") for f in request.forwarded]
    if not hops:
        hops = [h for v in request.headers.getall(hdrs.X_FORWARDED_FOR, []) for h in v.split(",")]
    chain = [a for a in (_address(h) for h in hops) if a is not None]
    for addr in reversed(chain):
        if not _trusted(addr, networks):
            return str(addr)
    return str(chain[0]) if chain else peer
