"""Where a webhook may send: http(s) URLs whose host is and resolves to public addresses only.

The check runs when a webhook is saved and again before every attempt (DNS answers change);
the attempt then connects to an address this check returned, so that a second DNS answer
cannot point it somewhere else. Hosts in WEBHOOK_ALLOWED_HOSTS skip the address check. Plain
functions, no Flask.
"""

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


class UnsafeTarget(ValueError):
    """The URL may not be a webhook target; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL, lower-case, without brackets
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # the addresses the host resolved to, all allowed

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL; UnsafeTarget when it is not one."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"Longer than {MAX_URL_LENGTH} characters.")
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise UnsafeTarget("Must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeTarget("Not a valid URL.") from error
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("Must be an http or https URL.")
    if not parts.hostname:
        raise UnsafeTarget("Must name a host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("Must not contain credentials.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname.lower(), port or default, path


def is_public(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified addresses
    (also when written as an IPv4-mapped IPv6 address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


Resolver = Callable[[str, int], Iterable[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def check(url: str, allowed_hosts: Iterable[str], resolver: Resolver = resolve) -> Target:
    """The target of `url`, or UnsafeTarget saying why it may not be one.

    A host that resolves to several addresses is refused when any of them is not public: the
    client could connect to that one.
    """
    scheme, host, port, path = parse(url)
    try:
        addresses = tuple(resolver(host, port))
    except (OSError, UnicodeError) as error:
        raise UnsafeTarget(f"The host {host} cannot be resolved.") from error
    if not addresses:
        raise UnsafeTarget(f"The host {host} cannot be resolved.")
    if host not in {allowed.lower() for allowed in allowed_hosts}:
        for address in addresses:
            if not is_public(address):
                raise UnsafeTarget(
                    f"The host {host} is or resolves to a private, loopback, link-local, "
                    "multicast, reserved or unspecified address."
                )
    return Target(scheme, host, port, path, addresses)
