#!/usr/bin/env bash
# Installs what the comparisons need (DuckDB, lifetimes, PostgreSQL 15), then runs the benches
# (all, or the one named) with the optimised profile. Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore duckdb lifetimes pandas pyarrow
# The wire bench runs PostgreSQL 15 beside cip.
if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cip-target}"
if [ $# -gt 0 ]; then
  cargo bench --profile demo --bench "$1"
else
  cargo bench --profile demo
fi
