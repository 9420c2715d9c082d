"""A program that fails as soon as it starts (a service whose loop died at once)."""

import sys
import time

time.sleep(0.1)
sys.exit(3)
