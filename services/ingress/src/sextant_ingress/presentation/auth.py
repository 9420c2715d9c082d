"""API-key authentication: every route but the probes resolves its caller's tenant.

The key travels as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; both are
declared as OpenAPI security schemes, so generated clients know how to send it.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from sextant_ingress.application.ports import ApiKeys
from sextant_ingress.presentation.problems import ApiProblem

_BEARER = HTTPBearer(
    auto_error=False, scheme_name="BearerKey", description="Authorization: Bearer <API key>"
)
_API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="ApiKeyHeader", description="The API key."
)


async def resolve_tenant(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    x_api_key: Annotated[str | None, Depends(_API_KEY_HEADER)],
) -> str:
    """The tenant of the API key, or 401. Every credential sent must be valid: an
    ``Authorization`` header that is not ``Bearer <valid key>`` is refused even when an
    ``X-API-Key`` is valid (a client sending two keys has a bug worth hearing about)."""
    presented = []
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiProblem(
                401, "Unauthorized", "send the API key as: Authorization: Bearer <key>"
            )
        presented.append(token.strip())
    if x_api_key is not None:
        presented.append(x_api_key)
    if not presented:
        raise ApiProblem(401, "Unauthorized", "send an API key: Authorization: Bearer <key>")
    keys: ApiKeys = request.app.state.keys
    tenants = [await keys.tenant_for(key) for key in dict.fromkeys(presented)]
    known = {tenant for tenant in tenants if tenant is not None}
    if len(known) < len(tenants):
        raise ApiProblem(401, "Unauthorized", "the API key is not valid")
    if len(known) > 1:
        raise ApiProblem(401, "Unauthorized", "the two API keys sent belong to different tenants")
    return known.pop()


Tenant = Annotated[str, Depends(resolve_tenant)]
