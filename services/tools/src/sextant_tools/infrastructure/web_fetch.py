"""The safe web fetch tool: httpx with every connection vetted at connect time.

Defences, and where each lives:

* scheme must be http/https, no credentials in the URL (``_validate_url``);
* every TCP connection — first request and every redirect hop, whatever the host
  spelling — goes through :class:`sextant_platform.egress.GuardedNetworkBackend`, which
  resolves the host, rejects non-public addresses and connects to the vetted IP itself,
  so a second DNS answer cannot swap in another address;
* redirects are followed by hand, at most ``max_redirects`` hops, each re-validated;
* the body is streamed and cut at ``max_bytes``; the whole fetch has a deadline;
* only text, JSON and CSV content types are returned.
"""

import asyncio
from typing import Any

import httpcore
import httpx
from pydantic import JsonValue

from sextant_contracts import tool_names
from sextant_contracts.tool_arguments import WebFetchArguments
from sextant_platform.egress import DestinationBlocked, Network, check_url, guarded_client
from sextant_tools.domain.errors import InvalidToolArguments, ToolError

ALLOWED_CONTENT_TYPES = ("text/", "application/json", "application/csv", "application/xml")


class WebFetchBlocked(ToolError):
    code = "address_not_allowed"


class WebFetchFailed(ToolError):
    code = "fetch_failed"
    retryable = True


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
        self._allowed = allowed_networks or []
        self._backend = backend

    def _client(self) -> httpx.AsyncClient:
        return guarded_client(
            self._allowed,
            timeout_s=self._timeout_s,
            user_agent="sextant-web-fetch/1",
            backend=self._backend,
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
        except DestinationBlocked as error:
            raise WebFetchBlocked(str(error)) from None
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
    try:
        check_url(url)
    except DestinationBlocked as error:
        raise WebFetchBlocked(str(error)) from None
