"""Every service's ``__main__``: settings, logging, build, serve until stopped, on one loop.

Why one function: the four services repeated settings -> logging -> bootstrap -> serve,
and the copies drifted; the event loop choice (uvloop by default) is made here once.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import uvloop

from sextant_platform.http_server import serve_until_stopped
from sextant_platform.settings import ServiceSettings
from sextant_platform.telemetry import configure_logging


@dataclass(frozen=True)
class RunningService:
    """What a service's bootstrap hands over: its HTTP app (API or probes) and its
    start/close (consumers, pools, relays)."""

    http: Any
    start: Callable[[], Awaitable[None]]
    close: Callable[[], Awaitable[None]]


class _Served(Protocol):
    """The settings every served service has (its own defaults for the port)."""

    HTTP_HOST: str
    HTTP_PORT: int


Settings = TypeVar("Settings", bound=ServiceSettings)


def run_service(
    settings_type: type[Settings],
    build: Callable[[Settings], Awaitable[RunningService]],
) -> None:
    """Read ``settings_type`` from the environment, configure logging, build the service
    and serve it until SIGINT/SIGTERM (exiting non-zero if a must-run loop died)."""
    settings = settings_type()
    configure_logging(settings.SERVICE_NAME, settings.TELEMETRY)
    served: _Served = settings  # type: ignore[assignment]  # every service declares both

    async def main() -> None:
        service = await build(settings)
        await serve_until_stopped(
            service.http,
            host=served.HTTP_HOST,
            port=served.HTTP_PORT,
            start=service.start,
            close=service.close,
        )

    run_on_loop(main(), settings.EVENT_LOOP)


def run_on_loop(main: Awaitable[None], event_loop: str) -> None:
    """``asyncio.run(main)`` on the chosen loop ("uvloop" or "asyncio")."""
    factory = uvloop.new_event_loop if event_loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)  # type: ignore[arg-type]
