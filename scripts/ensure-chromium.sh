#!/usr/bin/env bash
# The panel's tests look at it in a real headless browser: Debian's chromium, driven by
# Playwright through executable_path (Playwright's own browser download is not used).
set -euo pipefail
if command -v chromium >/dev/null || [ -n "${RENEWAL_WORKER_TEST_CHROMIUM:-}" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium package for the panel's browser tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "Chromium not found: install Debian's 'chromium' package (sudo apt-get install chromium)" >&2
echo "or point RENEWAL_WORKER_TEST_CHROMIUM at a Chromium or Chrome binary." >&2
exit 1
