"""Serving a service's HTTP side (API, probes, metrics) on the service's own event loop."""

import signal
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

import uvicorn

from sextant_platform.fatal import EXIT_CODE, failures

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def http_server(app: Any, *, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for ``app`` that logs through the service's JSON logging.

    ``await server.serve()`` runs until SIGINT/SIGTERM; Kafka consumers started on the
    same loop keep running alongside it.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,  # open SSE streams must not hold a stop forever
    )
    return uvicorn.Server(config)


async def serve_until_stopped(
    app: Any,
    *,
    host: str,
    port: int,
    start: Callable[[], Awaitable[None]],
    close: Callable[[], Awaitable[None]],
) -> None:
    """Start the service, serve ``app`` until SIGINT/SIGTERM, then close the service.

    Every service's ``__main__`` is this: consumers and HTTP share one loop and one
    shutdown path, so a stop signal drains both.
    """
    await start()
    # uvicorn re-raises the stop signal once it has shut down; with the default handler
    # that would end the process before ``close`` commits and disconnects. A no-op
    # handler installed first is what uvicorn restores and re-raises into.
    previous = {sig: signal.signal(sig, _ignore) for sig in STOP_SIGNALS}
    try:
        await http_server(app, host=host, port=port).serve()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        await close()
    if failures():  # a must-run loop died: exit non-zero so the supervisor restarts us
        raise SystemExit(EXIT_CODE)


def _ignore(signum: int, frame: FrameType | None) -> None:
    return None
