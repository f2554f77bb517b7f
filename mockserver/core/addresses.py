"""Where a proxy must never connect: the clouds' instance-metadata services.

A recorder or spy that can be pointed at 169.254.169.254 hands out the machine's cloud
credentials (SSRF; WireMock CVE-2023-41329). Upstreams come from the operator, never from a
client, but a stub file, a HAR file or a `--target` is easily copied from somewhere else, so
every way an upstream arrives is checked here, and each resolved address again at connect time
(a name that later points there, DNS rebinding).

An address is compared in every spelling that reaches the same IPv4 host: IPv4-mapped
(``::ffff:169.254.169.254``), IPv4-compatible, NAT64 (``64:ff9b::/96``), 6to4 and Teredo, and
the shorthand forms ``inet_aton`` accepts (``2852039166``, ``0xa9fea9fe``, ``169.254.43518``).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Final

__all__ = ["refused_address"]

# Names the clouds give their metadata services (each resolves to one of the addresses below).
_METADATA_HOSTS: Final = frozenset(
    {
        "metadata.google.internal",  # Google Cloud
        "metadata.goog",  # Google Cloud
        "metadata",  # Google Cloud, short name
        "instance-data",  # AWS (EC2 classic resolver name)
        "instance-data.ec2.internal",  # AWS
        "metadata.azure.com",  # Azure (169.254.169.254 behind it)
        "metadata.tencentyun.com",  # Tencent Cloud
        "metadata.platformequinix.com",  # Equinix Metal
    }
)
# Metadata services outside the link-local ranges (those are refused whole).
_METADATA_ADDRESSES: Final = frozenset(
    {
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6 (Nitro)
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud (the older address)
    }
)
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


def refused_address(host: str) -> str | None:
    """Why a proxy must not reach ``host`` (a name or an address literal), or None."""
    name = host.strip("[]").lower().rstrip(".")
    if name in _METADATA_HOSTS:
        return f"{host} is a cloud metadata host"
    for address in _spellings(name.split("%", 1)[0]):
        if address.is_link_local:
            return f"{host} is a link-local (cloud metadata) address"
        if address in _METADATA_ADDRESSES:
            return f"{host} is a cloud metadata address"
    return None


def _spellings(
    text: str,
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address ``text`` names and every IPv4 address embedded in it; [] for a name."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return _shorthand_ipv4(text)
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        number = int(address)
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if address in _NAT64 or number >> 32 == 0:  # NAT64, or IPv4-compatible ::a.b.c.d
            found.append(ipaddress.IPv4Address(number & 0xFFFFFFFF))
    return found


def _shorthand_ipv4(text: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """What the C library would connect to for ``2852039166`` or ``0251.0376.0251.0376``."""
    if not text or not all(c in "0123456789abcdefx." for c in text):
        return []
    try:
        return [ipaddress.IPv4Address(socket.inet_aton(text))]
    except OSError:
        return []
