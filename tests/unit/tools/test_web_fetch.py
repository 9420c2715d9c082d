"""SSRF matrix for the web fetch tool: no connection is ever made to a non-public address."""

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import pytest

from sextant_platform.egress import is_public
from sextant_tools.domain.errors import InvalidToolArguments, ToolError
from sextant_tools.infrastructure.web_fetch import SafeWebFetchTool, WebFetchBlocked


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records every address a connection is attempted to, then really connects."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append(host)
        return await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/text": (200, "text/plain; charset=utf-8", b"hello from loopback"),
            "/csv": (200, "text/csv", b"a,b\n1,2\n"),
            "/big": (200, "text/plain", b"x" * 50_000),
            "/binary": (200, "application/octet-stream", b"\x00\x01"),
        }
        if self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        if self.path == "/to-text":
            self.send_response(301)
            self.send_header("Location", "/text")
            self.end_headers()
            return
        status, content_type, body = routes.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _tool(
    backend: RecordingBackend, *, allow_loopback: bool = False, **kwargs: Any
) -> SafeWebFetchTool:
    allowed = [ipaddress.ip_network("127.0.0.1/32")] if allow_loopback else []
    return SafeWebFetchTool(allowed_networks=allowed, backend=backend, **kwargs)  # type: ignore[arg-type]


BLOCKED_URLS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0x7f000001/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[ff02::1]/",
]


@pytest.mark.parametrize("url", BLOCKED_URLS)
async def test_non_public_destinations_are_refused_without_connecting(url: str) -> None:
    backend = RecordingBackend()
    with pytest.raises(WebFetchBlocked):
        await _tool(backend).fetch({"url": url})
    assert backend.attempts == [], f"connected to {backend.attempts}"


@pytest.mark.parametrize(
    "url", ["ftp://example.org/x", "file:///etc/passwd", "http://user:pw@example.org/"]
)
async def test_bad_schemes_and_credentials_are_refused(url: str) -> None:
    backend = RecordingBackend()
    with pytest.raises(ToolError):
        await _tool(backend).fetch({"url": url})
    assert backend.attempts == []


async def test_redirect_to_the_metadata_address_is_refused_at_the_hop(server: str) -> None:
    backend = RecordingBackend()
    with pytest.raises(WebFetchBlocked, match=r"169\.254\.169\.254"):
        await _tool(backend, allow_loopback=True).fetch({"url": f"{server}/to-metadata"})
    assert all(not a.startswith("169.254") for a in backend.attempts)
    assert backend.attempts == ["127.0.0.1"]


async def test_allow_listed_loopback_page_is_fetched_through_redirects(server: str) -> None:
    backend = RecordingBackend()
    result = await _tool(backend, allow_loopback=True).fetch({"url": f"{server}/to-text"})
    assert result["text"] == "hello from loopback"
    assert result["status"] == 200
    assert result["redirects"] == [f"{server}/to-text"]


async def test_body_is_capped_and_binary_content_refused(server: str) -> None:
    tool = _tool(RecordingBackend(), allow_loopback=True, max_bytes=1000)
    big = await tool.fetch({"url": f"{server}/big"})
    assert big["bytes"] == 1000
    assert big["truncated"] is True
    with pytest.raises(InvalidToolArguments, match="content type"):
        await tool.fetch({"url": f"{server}/binary"})


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("2002:a00:1::", False),
        ("192.0.2.1", False),
    ],
)
def test_public_address_rule(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
