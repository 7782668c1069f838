"""Is a URL safe for the gateway to call on a user's behalf (callbacks)?

A user-supplied URL that resolves to loopback, a private network, link-local (cloud metadata
at 169.254.169.254), or another reserved range would let any key holder make the gateway
reach inside the operator's network. Hosts are resolved, and every address must be public;
the check runs at submit and again right before each delivery, since DNS can change between
the two (rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeURL(ValueError):
    """The URL's host is not a public internet address."""


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_public_url(url: str) -> None:
    """Raise :class:`UnsafeURL` unless every address ``url``'s host resolves to is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("the URL must be http:// or https:// with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port,
                                                             type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeURL(f"cannot resolve {parts.hostname}: {exc}") from exc
    for *_, sockaddr in infos:
        if not is_public_address(str(sockaddr[0])):
            raise UnsafeURL(f"{parts.hostname} resolves to {sockaddr[0]}, which is not a "
                            "public address")
