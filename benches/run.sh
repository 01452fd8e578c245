#!/usr/bin/env bash
# Installs what the comparisons need (DuckDB's Python package), then runs the benches
# (all, or the one named) with the optimised profile. Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore duckdb lifetimes pandas pyarrow
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cip-target}"
if [ $# -gt 0 ]; then
  cargo bench --profile demo --bench "$1"
else
  cargo bench --profile demo
fi
