"""The REST API, wired: exception handlers, body limits, metrics, and one router per
resource (``presentation/routers``) over the ingress's use cases and views.

Every error is an RFC 9457 problem document (``application/problem+json``); every
malformed input is a 4xx that says what is wrong. A 202 is returned only after the
request and its event are committed to PostgreSQL (see ``SubmitAnalysis``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sextant_contracts.errors import describe_validation_error
from sextant_ingress.application.cancel_analysis import CancelAnalysis
from sextant_ingress.application.ports import ApiKeys, DeadLetterReads, UsageReads
from sextant_ingress.application.resume_analysis import ResumeAnalysis
from sextant_ingress.application.submit_analysis import SubmitAnalysis
from sextant_ingress.application.threads import Conversations
from sextant_ingress.application.upload_dataset import ListDatasets, UploadDataset
from sextant_ingress.application.views import AnalysisViews
from sextant_ingress.application.webhooks import WebhookRegistry
from sextant_ingress.presentation.event_stream import EventFeed, event_stream_router
from sextant_ingress.presentation.openapi_document import exact_openapi
from sextant_ingress.presentation.problems import ApiProblem, problem
from sextant_ingress.presentation.routers.analyses import analyses_router
from sextant_ingress.presentation.routers.charts import charts_router
from sextant_ingress.presentation.routers.datasets import UPLOAD_PATHS, datasets_router
from sextant_ingress.presentation.routers.dead_letters import dead_letters_router
from sextant_ingress.presentation.routers.probes import probes_router
from sextant_ingress.presentation.routers.threads import threads_router
from sextant_ingress.presentation.routers.usage import usage_router
from sextant_ingress.presentation.routers.webhooks import webhooks_router
from sextant_platform.health import ReadinessCheck
from sextant_platform.metrics import HttpMetrics
from sextant_platform.telemetry import is_machine_poll

CONSOLE = Path(__file__).parent / "console"
"""The web console's files (HTML, CSS, JavaScript; nothing loaded from elsewhere)."""


@dataclass(frozen=True)
class IngressUseCases:
    """What the routes call: the use cases and the views, built by the bootstrap."""

    submit: SubmitAnalysis
    cancel: CancelAnalysis
    resume: ResumeAnalysis
    upload: UploadDataset
    datasets: ListDatasets
    views: AnalysisViews
    feed: EventFeed
    keys: ApiKeys
    usage: UsageReads
    dead_letters: DeadLetterReads
    webhooks: WebhookRegistry
    conversations: Conversations


class BodyLimit:
    """Refuse bodies over the limit *before* reading them (Content-Length), and stop
    reading a chunked body as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, *, default_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.upload_bytes = upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if scope["path"] in UPLOAD_PATHS else self.default_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_large = problem(413, "Payload too large", f"the body limit is {limit} bytes")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise ApiProblem(413, "Payload too large", f"the body limit is {limit} bytes")
            return message

        await self.app(scope, limited, send)


def create_app(
    use_cases: IngressUseCases,
    *,
    checks: Mapping[str, ReadinessCheck],
    max_body_bytes: int = 1_048_576,
) -> FastAPI:
    app = FastAPI(
        title="Sextant ingress",
        version="1",
        description="Submit, follow, fetch, list and cancel data analyses.",
        # FastAPI's own server span per request (a caller's traceparent is continued):
        # where a REST-submitted analysis's one trace starts.
        telemetry={"exclude": is_machine_poll},
    )
    app.state.keys = use_cases.keys
    app.include_router(
        analyses_router(use_cases.submit, use_cases.cancel, use_cases.resume, use_cases.views)
    )
    app.include_router(event_stream_router(use_cases.views, use_cases.feed))
    app.include_router(charts_router(use_cases.views))
    app.include_router(datasets_router(use_cases.upload, use_cases.datasets))
    app.include_router(usage_router(use_cases.usage))
    app.include_router(dead_letters_router(use_cases.dead_letters))
    app.include_router(webhooks_router(use_cases.webhooks))
    app.include_router(threads_router(use_cases.conversations))
    app.include_router(probes_router(checks))
    # The web console: static files that call the public API above with the user's key.
    app.mount("/console", StaticFiles(directory=CONSOLE, html=True), name="console")
    _handle_problems(app)
    app.openapi = exact_openapi(app)  # type: ignore[method-assign]
    # Body limits inside the app, so a limit hit while streaming the body becomes a
    # problem response through the exception handlers; metrics outermost, to see all.
    app.add_middleware(
        BodyLimit, default_bytes=max_body_bytes, upload_bytes=use_cases.upload.limits.max_bytes
    )
    app.add_middleware(HttpMetrics)
    return app


def _handle_problems(app: FastAPI) -> None:
    """Every error as a problem document."""

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, error: ApiProblem) -> JSONResponse:
        return problem(error.status, error.title, error.detail, str(request.url.path))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        details = describe_validation_error(error.errors(), limit=10)
        return problem(422, "Invalid request", details[:2000], str(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:  # FastAPI's "error parsing the body": malformed input
            detail = f"the body could not be parsed: {error.detail}"
            return problem(422, "Invalid request", detail, str(request.url.path))
        answer = problem(error.status_code, "HTTP error", str(error.detail), request.url.path)
        answer.headers.update(error.headers or {})
        if error.status_code == 405:  # Allow lists every method of the path (RFC 9110)
            answer.headers["Allow"] = ", ".join(allowed_methods(request))
        return answer


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (Starlette's own 405 names
    only the first route that matched the path, not all of them)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)
