"""Serving a service's HTTP side (API, probes, metrics) on the service's own event loop."""

import logging
from typing import Any

import uvicorn

logger = logging.getLogger(__name__)


def http_server(app: Any, *, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for ``app`` that logs through the service's JSON logging.

    ``await server.serve()`` runs until SIGINT/SIGTERM; Kafka consumers started on the
    same loop keep running alongside it.
    """
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
    )
    return uvicorn.Server(config)
