#!/usr/bin/env bash
# The browser the console's tests drive: Chromium and its WebDriver, from Debian packages
# (installed when missing, as root; nothing is downloaded at test time).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if ((${#missing[@]})); then
    apt_install "${missing[@]}"
fi
