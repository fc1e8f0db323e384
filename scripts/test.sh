#!/usr/bin/env bash
# The whole suite: lint, types, tests on SQLite, then on PostgreSQL with Redis.
# With CI=true every part is mandatory; elsewhere a missing server skips its part, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

ci=${CI:-}
export SARUNA_TESTING=1
PG_URL=${SARUNA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/saruna}
REDIS=${SARUNA_TEST_REDIS_URL:-redis://127.0.0.1:6379/5}
workers=${SARUNA_TEST_WORKERS:-auto}

say() { printf '\n=== %s\n' "$*"; }
reachable() { python - "$1" <<'PY'
import socket, sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
try:
    socket.create_connection((u.hostname, u.port), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}

say "ruff"
ruff check saruna tests bench
say "mypy"
mypy saruna

if [ -z "$ci" ] && [ ! -x /usr/bin/chromium ]; then
  echo "NOTE: browser tests skipped: no /usr/bin/chromium (apt-get install chromium; mandatory in CI)"
fi
if [ -z "$ci" ] && [ ! -x /usr/sbin/dovecot ]; then
  echo "NOTE: IMAP tests skipped: no /usr/sbin/dovecot (apt-get install dovecot-imapd; mandatory in CI)"
fi

say "tests on SQLite, in-memory channel layer"
env -u DATABASE_URL -u REDIS_URL pytest -n "$workers" -p no:cacheprovider

if reachable "$PG_URL" && reachable "$REDIS"; then
  say "tests on PostgreSQL with Redis (channel layer, cache, Huey)"
  DATABASE_URL=$PG_URL REDIS_URL=$REDIS pytest -n "$workers" -p no:cacheprovider -m "not e2e"
elif [ -n "$ci" ]; then
  echo "FAIL: CI needs PostgreSQL at $PG_URL and Redis at $REDIS" >&2
  exit 1
else
  echo "NOTE: PostgreSQL/Redis run skipped: no server at $PG_URL or $REDIS (mandatory in CI)"
fi
