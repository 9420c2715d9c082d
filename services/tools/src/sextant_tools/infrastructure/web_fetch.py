"""The safe web fetch tool: httpx with every connection vetted at connect time.

Defences, and where each lives:

* scheme must be http/https, no credentials in the URL (``_validate_url``);
* every TCP connection — first request and every redirect hop, whatever the host
  spelling — goes through :class:`GuardedNetworkBackend`, which resolves the host,
  rejects non-public addresses (:mod:`sextant_tools.domain.web`) and connects to the
  vetted IP itself, so a second DNS answer cannot swap in another address;
* redirects are followed by hand, at most ``max_redirects`` hops, each re-validated;
* the body is streamed and cut at ``max_bytes``; the whole fetch has a deadline;
* only text, JSON and CSV content types are returned.
"""

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from pydantic import JsonValue

from sextant_contracts import tool_names
from sextant_contracts.tool_arguments import WebFetchArguments
from sextant_tools.domain.errors import InvalidToolArguments, ToolError
from sextant_tools.domain.web import AddressNotAllowed, check_destination

ALLOWED_CONTENT_TYPES = ("text/", "application/json", "application/csv", "application/xml")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebFetchBlocked(ToolError):
    code = "address_not_allowed"


class WebFetchFailed(ToolError):
    code = "fetch_failed"
    retryable = True


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

    async def _vetted_address(
        self, host: str, port: int
    ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as error:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {error}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        for address in addresses:  # every answer must pass: no mixing in a private one
            try:
                check_destination(address, self._allowed)
            except AddressNotAllowed as error:
                raise WebFetchBlocked(f"{host!r} resolves to a blocked address ({error})") from None
        return addresses[0]

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise WebFetchBlocked("unix sockets are never allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class SafeWebFetchTool:
    """Fetches one public web page (text, JSON or CSV) for the agent's lookups."""

    name = tool_names.WEB_FETCH
    description = (
        "Fetch a public http(s) URL and return its text (text, JSON or CSV only, size-capped). "
        "Private, loopback and link-local addresses are refused."
    )
    arguments = WebFetchArguments

    def __init__(
        self,
        *,
        allowed_networks: list[Network] | None = None,
        max_bytes: int = 1_000_000,
        timeout_s: float = 10.0,
        max_redirects: int = 5,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._max_redirects = max_redirects
        self._backend = GuardedNetworkBackend(allowed_networks or [], inner=backend)

    def _client(self) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(trust_env=False, retries=0)
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(), network_backend=self._backend, retries=0
        )
        return httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(self._timeout_s),
            headers={"User-Agent": "sextant-web-fetch/1"},
        )

    def json_schema(self) -> dict[str, Any]:
        return WebFetchArguments.model_json_schema()

    async def fetch(self, raw_arguments: dict[str, Any]) -> dict[str, JsonValue]:
        try:
            args = WebFetchArguments.model_validate(raw_arguments)
        except ValueError as error:
            raise InvalidToolArguments(f"web_fetch: {error}") from None
        url = httpx.URL(str(args.url))
        _validate_url(url)
        try:
            async with asyncio.timeout(self._timeout_s), self._client() as client:
                return await self._follow(client, url)
        except TimeoutError:
            raise WebFetchFailed(f"fetching {url} took longer than {self._timeout_s:g}s") from None
        except httpx.HTTPError as error:
            raise WebFetchFailed(f"fetching {url} failed: {error}") from None

    async def _follow(self, client: httpx.AsyncClient, url: httpx.URL) -> dict[str, JsonValue]:
        hops: list[JsonValue] = []
        for _ in range(self._max_redirects + 1):
            async with client.stream("GET", url) as response:
                if response.is_redirect and "location" in response.headers:
                    hops.append(str(url))
                    url = url.join(response.headers["location"])
                    _validate_url(url)
                    continue
                return await self._read(response, url, hops)
        raise WebFetchFailed(f"more than {self._max_redirects} redirects")

    async def _read(
        self, response: httpx.Response, url: httpx.URL, hops: list[JsonValue]
    ) -> dict[str, JsonValue]:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not content_type.startswith(ALLOWED_CONTENT_TYPES):
            raise InvalidToolArguments(
                f"content type {content_type or 'unknown'!r} is not text, JSON or CSV"
            )
        body = bytearray()
        truncated = False
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > self._max_bytes:
                truncated = True
                del body[self._max_bytes :]
                break
        return {
            "url": str(url),
            "status": response.status_code,
            "content_type": content_type,
            "text": body.decode(response.encoding or "utf-8", errors="replace"),
            "bytes": len(body),
            "truncated": truncated,
            "redirects": hops,
        }


def _validate_url(url: httpx.URL) -> None:
    if url.scheme not in ("http", "https"):
        raise WebFetchBlocked(f"scheme {url.scheme!r} is not allowed (http or https only)")
    if url.userinfo:
        raise WebFetchBlocked("credentials in URLs are not allowed")
    if not url.host:
        raise WebFetchBlocked("URL has no host")
