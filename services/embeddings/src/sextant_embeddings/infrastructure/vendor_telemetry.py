"""Opting out of OpenVINO's usage telemetry before any OpenVINO tool is imported.

OpenVINO's model converter and nncf send usage data to Google Analytics by default
(found in a profile of the service's start-up: the sender ran in a thread while the
model was converted). A service that embeds private documents must not phone home, and
offline the attempt only costs start-up time. The vendor's documented opt-out is a
consent file (``opt_in_out --opt_out``); nncf reads it when it is imported, so this
runs before the OpenVINO backends are imported.
"""

import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def decline_openvino_telemetry() -> bool:
    """Record the opt-out; False (with a warning) when the consent file is not writable."""
    try:
        from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker
    except ImportError:  # the telemetry package is absent: nothing can be sent
        return True
    checker = OptInChecker()
    if checker.update_result(ConsentCheckResult.DECLINED):
        return True
    logger.warning(
        "could not record the OpenVINO telemetry opt-out; make the consent file writable "
        "or run `opt_in_out --opt_out` when building the image",
        extra={"home": str(Path.home())},
    )
    return False
