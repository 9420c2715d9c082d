"""Outbound HTTP to addresses users chose (the agent's web lookups, tenants' webhooks):
public unicast only, checked on every connection.

The rule (pure standard-library ``ipaddress``) is applied to the *resolved* address of
every connection, so DNS names, numeric host tricks (``2130706433``, ``0177.0.0.1``,
``127.1``), redirects and DNS rebinding all meet the same check. IPv6 forms that embed an
IPv4 address (IPv4-mapped, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo) are judged
by the IPv4 address they carry. :class:`GuardedNetworkBackend` resolves, vets and then
connects to the vetted IP itself, so a second DNS answer cannot swap in another address.
"""

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_PREFIX = ipaddress.IPv6Network("64:ff9b:1::/48")


class AddressNotAllowed(Exception):
    """The destination is loopback, private, link-local, multicast or otherwise non-public."""

    code = "address_not_allowed"


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, if it is one of the translation forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64_PREFIX or address in NAT64_LOCAL_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses (and what they embed)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
    return address.is_global and not address.is_multicast and not address.is_reserved


def check_destination(
    address: IPAddress, allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> None:
    """Raise AddressNotAllowed unless ``address`` is public or inside an allow-listed network."""
    if any(address in network for network in allowed):
        return
    if not is_public(address):
        raise AddressNotAllowed(f"{address} is not a public address")


class DestinationBlocked(Exception):
    """A URL or a connection the rules above refuse (a scheme, credentials, an address)."""


def check_url(url: httpx.URL) -> None:
    """http(s), a host, no credentials; raise DestinationBlocked otherwise."""
    if url.scheme not in ("http", "https"):
        raise DestinationBlocked(f"scheme {url.scheme!r} is not allowed (http or https only)")
    if url.userinfo:
        raise DestinationBlocked("credentials in URLs are not allowed")
    if not url.host:
        raise DestinationBlocked("URL has no host")


async def vetted_address(host: str, port: int, allowed: list[Network]) -> IPAddress:
    """``host`` resolved, every address it resolves to checked: the one to connect to.
    Raises DestinationBlocked, or ``httpcore.ConnectError`` when it does not resolve."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise httpcore.ConnectError(f"cannot resolve {host!r}: {error}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:  # every answer must pass: no mixing in a private one
        try:
            check_destination(address, allowed)
        except AddressNotAllowed as error:
            raise DestinationBlocked(f"{host!r} resolves to a blocked address ({error})") from None
    return addresses[0]


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves, vets and connects; wraps another backend (AnyIO's by default)."""

    def __init__(
        self, allowed: list[Network], inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._allowed = allowed
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore names it so
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self._vetted_address(host, port)
        return await self._inner.connect_tcp(
            str(address),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def _vetted_address(self, host: str, port: int) -> IPAddress:
        return await vetted_address(host, port, self._allowed)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise DestinationBlocked("unix sockets are never allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_client(
    allowed: list[Network],
    *,
    timeout_s: float,
    user_agent: str,
    backend: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """An httpx client whose every connection goes through :class:`GuardedNetworkBackend`:
    no proxies from the environment, no retries, redirects not followed."""
    transport = httpx.AsyncHTTPTransport(trust_env=False, retries=0)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl.create_default_context(),
        network_backend=GuardedNetworkBackend(allowed, inner=backend),
        retries=0,
    )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout_s),
        headers={"User-Agent": user_agent},
    )
