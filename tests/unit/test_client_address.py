"""Forwarded / X-Forwarded-For name the client only when a trusted proxy says so."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from gateway.http.clients import client_address, trusted_networks

PROXIES = trusted_networks("10.0.0.0/8, 127.0.0.1")


class _Transport:
    def __init__(self, peer: str) -> None:
        self.peer = peer

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self.peer, 40000) if name == "peername" else default


def _request(peer: str, **headers: str):  # type: ignore[no-untyped-def]
    return make_mocked_request("GET", "/v1/results", headers=headers, transport=_Transport(peer))


def test_a_direct_client_cannot_choose_its_address() -> None:
    r = _request("203.0.113.7", **{"X-Forwarded-For": "198.51.100.1"})
    assert client_address(r, PROXIES) == "203.0.113.7"
    r = _request("203.0.113.7", Forwarded="for=198.51.100.1")
    assert client_address(r, PROXIES) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() -> None:
    r = _request("10.1.2.3", **{"X-Forwarded-For": "198.51.100.9, 203.0.113.5, 10.0.0.2"})
    assert client_address(r, PROXIES) == "203.0.113.5"  # 198.51.100.9 could be forged
    r = _request("127.0.0.1", Forwarded='for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"')
    assert client_address(r, PROXIES) == "2001:db8::1"


def test_no_proxies_configured_means_the_peer() -> None:
    r = _request("10.1.2.3", **{"X-Forwarded-For": "198.51.100.9"})
    assert client_address(r, ()) == "10.1.2.3"
    assert client_address(_request("10.1.2.3", **{"X-Forwarded-For": "junk"}), PROXIES) == (
        "10.1.2.3"
    )
