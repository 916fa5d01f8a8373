#!/usr/bin/env bash
# What the test suite needs beyond the virtualenv, set up or named: Chromium (browser tests),
# Node and the npm packages (Prism, the Twilio mock), and a reachable PostgreSQL.
# `make test` and `.ci/run` both call this. As root on Debian/Ubuntu it installs what is missing
# with apt-get; otherwise, and for anything it cannot fix, it prints one line per missing thing
# (what, and how to get it) and exits 1. It changes nothing that is already there.
set -uo pipefail
cd "$(dirname "$0")/.."

PG_HOST=127.0.0.1
PG_PORT=5432
missing=()
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=
apt_install() {
  can_apt || return 1
  if [ -z "$apt_updated" ]; then apt-get update -qq >/dev/null 2>&1 && apt_updated=1; fi
  echo "provision: installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# Chromium: the browser tests drive Debian's build (tests/browser/conftest.py).
if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
  [ -x /usr/bin/chromium ] || missing+=("chromium: not at /usr/bin/chromium; install it with: sudo apt-get install chromium")
fi

# Node and npm: Prism serves Twilio's OpenAPI description as a mock (tests/prism.py).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=("node/npm: not found; install Node 20 or newer (sudo apt-get install nodejs npm, or https://nodejs.org)")
elif [ ! -e node_modules/.bin/prism ] || { [ -e node_modules/.installed ] && [ package.json -nt node_modules/.installed ]; }; then
  echo "provision: npm install (Prism)"
  if npm install --no-audit --no-fund --silent >/dev/null 2>&1 && [ -e node_modules/.bin/prism ]; then
    touch node_modules/.installed
  else
    missing+=("prism: npm install failed; run it by hand to see why (npm install --no-audit --no-fund)")
  fi
fi

# PostgreSQL at 127.0.0.1:5432 with trust auth (tests/dbs.py; HOMEWARD_TEST_PG points elsewhere).
if [ -z "${HOMEWARD_TEST_PG:-}" ]; then
  command -v pg_isready >/dev/null 2>&1 || apt_install postgresql-client
  if ! command -v pg_isready >/dev/null 2>&1; then
    missing+=("postgresql-client: pg_isready not found; install it with: sudo apt-get install postgresql-client")
  elif ! pg_isready -h "$PG_HOST" -p "$PG_PORT" -q; then
    cluster=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
    if [ -n "$cluster" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
      echo "provision: starting PostgreSQL $cluster"
      pg_ctlcluster --skip-systemctl-redirect "$cluster" main start >/dev/null 2>&1
      for _ in $(seq 1 30); do pg_isready -h "$PG_HOST" -p "$PG_PORT" -q && break; sleep 1; done  # server start-up, not a test
    fi
    pg_isready -h "$PG_HOST" -p "$PG_PORT" -q || missing+=("postgresql: nothing answers at $PG_HOST:$PG_PORT; install and start it (sudo apt-get install postgresql; pg_ctlcluster <version> main start) with trust auth for 127.0.0.1, or set HOMEWARD_TEST_PG")
  fi
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -h "$PG_HOST" -p "$PG_PORT" -q && command -v psql >/dev/null 2>&1 \
     && ! psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d test -w -Atqc "select 1" >/dev/null 2>&1; then
    missing+=("postgresql: cannot sign in as postgres to database test without a password; create it (createdb -U postgres test) and allow trust auth for 127.0.0.1 in pg_hba.conf, or set HOMEWARD_TEST_PG")
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  for line in "${missing[@]}"; do echo "provision: missing $line" >&2; done
  exit 1
fi
echo "provision: chromium, node + prism and PostgreSQL are ready"
