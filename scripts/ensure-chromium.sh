#!/usr/bin/env bash
# The panel's tests look at it in a real headless browser: Debian's chromium, driven by
# Playwright through executable_path (Playwright's own browser download is not used), or the
# binary RENEWAL_WORKER_TEST_CHROMIUM names.
exec bash "$(dirname "$0")/ensure-debian-package.sh" chromium \
  'command -v chromium >/dev/null' RENEWAL_WORKER_TEST_CHROMIUM "the panel's browser tests"
