#!/usr/bin/env bash
# The PostgreSQL tests run against a real server that the test setup starts on loopback: its
# binaries come from Debian's postgresql package (or RENEWAL_WORKER_TEST_PG_URL names a server
# you run: postgresql+psycopg://user@127.0.0.1:5432/db).
exec bash "$(dirname "$0")/ensure-debian-package.sh" postgresql \
  'compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null' RENEWAL_WORKER_TEST_PG_URL "the PostgreSQL tests"
