#!/usr/bin/env bash
# The PostgreSQL tests run against a real server that the test setup starts on loopback.
# This makes sure its binaries (Debian's postgresql package) are on the machine.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || [ -n "${RENEWAL_WORKER_TEST_PG_URL:-}" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's postgresql package for the PostgreSQL tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  exit 0
fi
echo "PostgreSQL server binaries not found: install Debian's 'postgresql' package (sudo apt-get install postgresql)" >&2
echo "or point RENEWAL_WORKER_TEST_PG_URL at a server you run (postgresql+psycopg://user@127.0.0.1:5432/db)." >&2
exit 1
