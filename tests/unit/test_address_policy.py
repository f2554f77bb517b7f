"""Upstreams on link-local (cloud metadata) addresses are refused, at load and at connect."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from mockserver.proxy import _GuardedResolver
from mockserver.stubfile import refused_address


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
    ],
)
def test_metadata_and_link_local_hosts_are_refused(host: str) -> None:
    assert refused_address(host) is not None


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "10.0.0.5", "users.internal", "[::1]", "api.example.com"]
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
        guard = _GuardedResolver()
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
