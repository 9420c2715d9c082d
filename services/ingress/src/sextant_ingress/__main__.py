"""Run the ingress API: ``python -m sextant_ingress`` (REST + outbox relay).

``python -m sextant_ingress create-key <tenant>`` prints a new API key for a tenant.
"""

import sys

from sextant_ingress.bootstrap import bootstrap
from sextant_ingress.settings import IngressSettings
from sextant_platform.service_main import RunningService, run_on_loop, run_service


async def build(settings: IngressSettings) -> RunningService:
    app = bootstrap(settings)
    return RunningService(http=app.api, start=app.start, close=app.close)


async def create_key(tenant_id: str) -> None:
    app = bootstrap(IngressSettings())
    try:
        print(await app.keys.create(tenant_id=tenant_id, name="cli"))
    finally:
        await app.engine.dispose()
        await app.redis.aclose()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "create-key":
        run_on_loop(create_key(sys.argv[2]), IngressSettings().EVENT_LOOP)
    else:
        run_service(IngressSettings, build)
