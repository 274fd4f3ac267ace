#!/usr/bin/env bash
# README stays true: every flag its shell examples give to a jostle binary exists in that
# binary's --help, and the commands that need no cluster run as shown.
set -euo pipefail
readme=$1
bin=$2
fail=0

# Shell blocks of README, continuation lines joined.
blocks=$(awk '/^```sh$/{on=1; next} /^```$/{on=0} on' "$readme" | sed -e 's/^# *//' |
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta')

check_flags() {  # $1: help command, $2: the line
  local help
  help=$($1 --help 2>&1)
  for flag in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$2" | sort -u); do
    if ! grep -qE -- "(^|[ ,])${flag}([ =,]|$)" <<<"$help"; then
      echo "README uses '$flag' but '$1 --help' does not list it: $2"
      fail=1
    fi
  done
}

while IFS= read -r line; do
  case "$line" in
    *jostle-agent*) check_flags "$bin/jostle-agent" "${line#*jostle-agent}" ;;
    *"jostle-collector serve"*) check_flags "$bin/jostle-collector serve" "${line#*jostle-collector serve}" ;;
    *"jostle run"*) check_flags "$bin/jostle run" "$(sed -e 's/^.*jostle run//; s/ -- .*//' <<<"$line")" ;;
    *"jostle upload"*) check_flags "$bin/jostle upload" "${line#*jostle upload}" ;;
  esac
done <<<"$blocks"

# The agent's one-shot example prints one JSON batch of two readings.
"$bin/jostle-agent" --once --output - --kube off 2>/dev/null | /usr/bin/python3 -c '
import json, sys
b = json.loads(sys.stdin.readline())
assert len(b["samples"]) == 2, "expected two readings"
assert b["samples"][0]["node"].get("cpu_total_us"), "no node CPU"
' || { echo "jostle-agent --once --output - did not print one batch of two readings"; fail=1; }

for doc in collector/attribution/CONFIG.md collector/results/FORMAT.md \
           collector/report/REPORT_SCHEMA.md bench/BENCHMARKS.md docs/report.png; do
  [ -e "$(dirname "$readme")/$doc" ] || { echo "README links $doc, which does not exist"; fail=1; }
done
[ "$fail" = 0 ] && echo "README commands: all flags exist, examples run"
exit "$fail"
