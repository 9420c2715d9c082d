"""API-key authentication: every route but the probes resolves its caller's tenant."""

from typing import Annotated

from fastapi import Depends, Header, Request

from sextant_ingress.application.ports import ApiKeys
from sextant_ingress.presentation.problems import ApiProblem


async def resolve_tenant(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    """The tenant of the API key (``Authorization: Bearer`` or ``X-API-Key``), or 401."""
    key = x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if not key:
        raise ApiProblem(401, "Unauthorized", "send an API key: Authorization: Bearer <key>")
    keys: ApiKeys = request.app.state.keys
    found = await keys.tenant_for(key)
    if found is None:
        raise ApiProblem(401, "Unauthorized", "the API key is not valid")
    return found


Tenant = Annotated[str, Depends(resolve_tenant)]
