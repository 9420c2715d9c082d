"""Run the tools service: ``python -m sextant_tools``."""

import asyncio

from faststream import FastStream

from sextant_platform.telemetry import configure_logging
from sextant_tools.bootstrap import bootstrap
from sextant_tools.presentation.settings import ToolsSettings


async def main() -> None:
    settings = ToolsSettings()
    configure_logging(settings.SERVICE_NAME, settings.TELEMETRY)
    service = bootstrap(settings)
    app = FastStream(service.broker)
    app.after_shutdown(service.close)
    await app.run()


if __name__ == "__main__":
    asyncio.run(main())
