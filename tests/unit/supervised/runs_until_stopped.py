"""A program that runs until it is told to stop (a healthy service)."""

import signal
import sys
import time


def _stop(signum: int, frame: object) -> None:
    sys.exit(0)


signal.signal(signal.SIGTERM, _stop)
while True:
    time.sleep(0.1)
