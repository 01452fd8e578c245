#!/usr/bin/env bash
# Bulk scoring at scale: `cip generate` 10,000,000 members (about 100 million visits), then
# `cip score` over all of them, reporting wall time and peak RSS (GNU time). Not run in CI.
# Usage: bash benches/score.sh [MEMBERS]   (needs about 4 GB of disk per 10M members)
set -euo pipefail
cd "$(dirname "$0")/.."
members="${1:-10000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cip-target}"
cargo build --profile demo --quiet
cip="$CARGO_TARGET_DIR/demo/cip"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "generating $members members into $work/data"
/usr/bin/time -f "generate: %e s wall, peak RSS %M KiB" \
  "$cip" generate --members "$members" --seed 1 --until 2026-10-31 --out "$work/data"
# The default pool (4 GiB) unless CIP_SCORE_MEMORY says otherwise: everyone is scored in
# ranges of member_id sized to the pool (src/scores/ranges.rs); spills go to the work folder.
cat > "$work/cip.toml" <<TOML
[engine]
memory_limit = "${CIP_SCORE_MEMORY:-4GiB}"
spill_dir = "$work/spill"
TOML
mkdir -p "$work/spill"
echo "scoring"
/usr/bin/time -f "score: %e s wall, %U s user, peak RSS %M KiB" \
  "$cip" --config "$work/cip.toml" --data "$work/data" score --as-of 2026-10-31 --out "$work/scores.parquet" --quiet
ls -l "$work/scores.parquet"
"$cip" --data "$work/data" sql -c "SET cip.as_of = '2026-10-31'; \
  CREATE EXTERNAL TABLE s STORED AS PARQUET LOCATION '$work/scores.parquet'; \
  SELECT segment_id, count(*) FROM s GROUP BY 1 ORDER BY 2 DESC"
