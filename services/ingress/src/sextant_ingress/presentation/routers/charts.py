"""``GET /v1/analyses/{id}/charts/{chart_id}.svg``: a chart of an analysis as an image.

The specs are on the analysis itself (Vega-Lite, data inline); this renders one with
vl-convert (Vega and Vega-Lite bundled: no browser, no network), off the event loop, so
a page or a report can show it without shipping a charting library.
"""

import asyncio
from uuid import UUID

import vl_convert
from fastapi import APIRouter, Path
from fastapi.responses import Response

from sextant_ingress.application.views import AnalysisViews
from sextant_ingress.domain.submissions import NotFound
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.problems import ApiProblem, problem_responses

SVG = "image/svg+xml"
CHART_ID_PATTERN = r"^C[0-9]{1,2}$"


def charts_router(views: AnalysisViews) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/analyses/{analysis_id}/charts/{chart_id}.svg",
        response_class=Response,
        operation_id="render_chart",
        summary="One of an analysis's charts, rendered as SVG",
        responses={
            200: {"description": "The chart.", "content": {SVG: {"schema": {"type": "string"}}}},
            **problem_responses(404),
        },
    )
    async def render_chart(
        analysis_id: UUID,
        chart_id: str = Path(pattern=CHART_ID_PATTERN, examples=["C1"]),
        *,
        tenant_id: Tenant,
    ) -> Response:
        """The chart ``chart_id`` (C1, C2, ...) of the analysis's ``charts``, drawn from
        its Vega-Lite spec; 404 when the analysis has no such chart."""
        try:
            view = await views.one(analysis_id, tenant_id=tenant_id)
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error
        spec = next((c["spec"] for c in view.charts if c.get("chart_id") == chart_id), None)
        if spec is None:
            raise ApiProblem(404, "Not found", f"analysis {analysis_id} has no chart {chart_id}")
        svg = await asyncio.to_thread(vl_convert.vegalite_to_svg, spec)
        return Response(svg, media_type=SVG)

    return router
