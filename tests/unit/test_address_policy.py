"""Upstreams on link-local (cloud metadata) addresses are refused, at load and at connect."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from mockserver.recording.proxy import GuardedResolver
from mockserver.stubfiles.stubfile import refused_address


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "169.254.0.1",
        "[fe80::1]",
        "fe80::1%eth0",
        "fd00:ec2::254",
        "metadata.google.internal",
        "METADATA.google.internal.",
        # Issue 13: the same hosts in other spellings, and other clouds' addresses.
        "[::ffff:169.254.169.254]",
        "::ffff:a9fe:a9fe",
        "0:0:0:0:0:ffff:169.254.169.254",
        "::169.254.169.254",  # IPv4-compatible
        "64:ff9b::169.254.169.254",  # NAT64
        "2002:a9fe:a9fe::1",  # 6to4
        "2852039166",  # inet_aton's shorthand forms
        "0xa9fea9fe",
        "169.254.43518",
        "0251.0376.0251.0376",
        "100.100.100.200",  # Alibaba Cloud
        "[::ffff:100.100.100.200]",
        "192.0.0.192",  # Oracle Cloud
        "metadata.goog",
        "metadata.tencentyun.com",
    ],
)
def test_metadata_and_link_local_hosts_are_refused(host: str) -> None:
    assert refused_address(host) is not None


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "10.0.0.5",
        "users.internal",
        "[::1]",
        "api.example.com",
        "[::ffff:127.0.0.1]",
        "100.100.100.201",
        "deadbeef.example",
        "2130706433",  # 127.0.0.1 spelled short
    ],
)
def test_ordinary_hosts_are_allowed(host: str) -> None:
    assert refused_address(host) is None


class _FakeInner:
    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(self, host: str, port: int, family: Any) -> list[dict[str, Any]]:
        return [
            {
                "hostname": host,
                "host": self.address,
                "port": port,
                "family": family,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


def resolve_through_guard(address: str) -> list[Any]:
    async def go() -> list[Any]:
        guard = GuardedResolver()
        guard._inner = _FakeInner(address)  # type: ignore[assignment]
        try:
            return await guard.resolve("rebinding.example", 80, socket.AF_INET)
        finally:
            await guard.close()

    return asyncio.run(go())


def test_a_name_that_resolves_to_a_metadata_address_is_refused_at_connect_time() -> None:
    with pytest.raises(OSError, match=r"169\.254\.169\.254"):
        resolve_through_guard("169.254.169.254")


def test_a_name_that_resolves_elsewhere_connects() -> None:
    assert resolve_through_guard("127.0.0.1")[0]["host"] == "127.0.0.1"
