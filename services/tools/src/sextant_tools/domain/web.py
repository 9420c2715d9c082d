"""Which network addresses the agent's web lookups may reach: public unicast only.

Pure standard-library logic (``ipaddress``) so the rule is testable on its own. The rule
is applied to the *resolved* address of every connection, so DNS names, numeric host
tricks (``2130706433``, ``0177.0.0.1``, ``127.1``), redirects and DNS rebinding all meet
the same check. IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64 ``64:ff9b::/96``,
6to4 ``2002::/16``, Teredo) are judged by the IPv4 address they carry.
"""

import ipaddress

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
