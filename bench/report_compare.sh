#!/usr/bin/env bash
# The JSON report of a 10 000-test run over 20 nodes x 1 h x 50 pods (3.6 M cgroup sample
# rows) by jostle, and the same window join by DuckDB, in one run.
#
#   bench/report_compare.sh BUILD_DIR        # BUILD_DIR holds bin/bench_report
#
# 1. bench_report generates bench/out/report_bench.db on first use (through Store::PutBatch
#    and Store::PutResults; a few minutes) and exports the samples the join needs as CSV.
# 2. jostle, each in a fresh process: the first report (empty history cache: the earlier
#    runs' windows are classified and cached) and a second one (cache filled).
# 3. DuckDB (bench/report_duckdb, `npm ci` there first): CSV load, then the join for every
#    failed test (node CPU busy over [start-1s, end+1s], top neighbour pod by CPU), checked
#    against jostle's JSON report.
set -euo pipefail

build=${1:?usage: bench/report_compare.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
db=$out/report_bench.db
csv=$out/report_csv
mkdir -p "$out"

bench=$build/bin/bench_report
if [ ! -f "$db" ]; then "$bench" --db "$db" --export-dir "$csv"; fi
if [ ! -f "$csv/failures.csv" ]; then "$bench" --db "$db" --export-dir "$csv"; fi
if [ ! -d "$here/report_duckdb/node_modules/@duckdb/node-api" ]; then
  (cd "$here/report_duckdb" && npm ci --silent)
fi

value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

echo "== jostle: first report (history cache empty)"
"$bench" --db "$db" --fresh --json "$out/report_first.json" | tee "$out/jostle_first.txt"
echo "== jostle: second report (history cache filled)"
"$bench" --db "$db" --json "$out/report.json" | tee "$out/jostle_second.txt"
echo "== duckdb"
node "$here/report_duckdb/window_join.mjs" "$csv" --check "$out/report.json" |
  tee "$out/duckdb.txt"

first=$(value total_s "$out/jostle_first.txt")
second=$(value total_s "$out/jostle_second.txt")
first_cpu=$(value cpu_s "$out/jostle_first.txt")
second_cpu=$(value cpu_s "$out/jostle_second.txt")
load=$(value load_s "$out/duckdb.txt")
query=$(value query_s "$out/duckdb.txt")
load_cpu=$(value load_cpu_s "$out/duckdb.txt")
query_cpu=$(value query_cpu_s "$out/duckdb.txt")
awk -v f="$first" -v s="$second" -v l="$load" -v q="$query" -v fc="$first_cpu" \
  -v sc="$second_cpu" -v lc="$load_cpu" -v qc="$query_cpu" 'BEGIN {
  printf "== summary (wall s / CPU s)\n"
  printf "jostle report, first (open + BuildRunReport + RenderJson): %.3f / %.3f\n", f, fc
  printf "jostle report, second:                                    %.3f / %.3f\n", s, sc
  printf "duckdb CSV load: %.3f / %.3f   join: %.3f / %.3f\n", l, lc, q, qc
  printf "ratio jostle second / duckdb join: wall %.2f, CPU %.2f\n", s / q, sc / qc
  printf "ratio jostle first / duckdb join:  wall %.2f, CPU %.2f\n", f / q, fc / qc
}'
