#!/usr/bin/env bash
# README stays true: every flag its shell examples give to a jostle binary exists in that
# binary's --help, the agent's one-shot example and the CI job's curl examples run as shown,
# and its helm install command renders (with helm installed).
set -euo pipefail
readme=$1
bin=$(cd "$2" && pwd)
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
    *"jostle split"*) check_flags "$bin/jostle split" "${line#*jostle split}" ;;
    *"jostle stats"*) check_flags "$bin/jostle stats" "${line#*jostle stats}" ;;
  esac
done <<<"$blocks"

# The agent's one-shot example prints one JSON batch of two readings.
"$bin/jostle-agent" --once --output - --kube off 2>/dev/null | /usr/bin/python3 -c '
import json, sys
b = json.loads(sys.stdin.readline())
assert len(b["samples"]) == 2, "expected two readings"
assert b["samples"][0]["node"].get("cpu_total_us"), "no node CPU"
' || { echo "jostle-agent --once --output - did not print one batch of two readings"; fail=1; }

# The Kubernetes CI examples, run as written against a real collector on loopback: curl reaches
# "jostle-collector:8080" through --connect-to, and the CI variables they use are set.
work=$(mktemp -d)
collector_pid=""
cleanup() {
  [ -n "$collector_pid" ] && kill "$collector_pid" 2>/dev/null && wait "$collector_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'ci ci-token-1\nread read-token-1\n' >"$work/tokens"
"$bin/jostle-collector" serve --db "$work/jostle.db" --listen "127.0.0.1:$port" \
  --token-file "$work/tokens" 2>"$work/collector.log" &
collector_pid=$!
mkdir -p "$work/path" "$work/job"
cat >"$work/path/curl" <<CURL
#!/bin/sh
exec $(command -v curl) --connect-to jostle-collector:8080:127.0.0.1:$port "\$@"
CURL
chmod +x "$work/path/curl"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
cat >"$work/job/junit.xml" <<'XML'
<testsuite name="suite" tests="2" failures="1" timestamp="2026-01-01T10:00:00Z">
  <testcase classname="t" name="ok" time="0.5"/>
  <testcase classname="t" name="bad" time="0.5"><failure message="boom">boom</failure></testcase>
</testsuite>
XML
ran=0
while IFS= read -r line; do
  case "$line" in
    curl\ *)
      ran=$((ran + 1))
      if ! (cd "$work/job" && PATH="$work/path:$PATH" JOSTLE_CI_TOKEN=ci-token-1 \
            JOSTLE_READ_TOKEN=read-token-1 CI_PIPELINE_ID=readme-run CI_JOB_NAME=unit \
            POD_NAMESPACE=ci POD_NAME=runner-1 GITHUB_STEP_SUMMARY="$work/summary.md" \
            bash -euc "$line" >"$work/out" 2>&1); then
        echo "README example failed: $line"; cat "$work/out"; fail=1
      fi ;;
    jostle\ run\ *)  # in a job directory with a small pytest suite; ~ is the work dir
      ran=$((ran + 1))
      mkdir -p "$work/home" "$work/run-job"
      printf 'def test_ok():\n    pass\n\ndef test_bug():\n    assert 1 + 1 == 3\n' \
        >"$work/run-job/test_readme.py"
      rc=0
      (cd "$work/run-job" && HOME="$work/home" PATH="$bin:$PATH" GITHUB_STEP_SUMMARY= \
        bash -euc "$line" >"$work/out" 2>&1) || rc=$?
      if [ "$rc" != 1 ] || ! grep -q "test_bug" "$work/run-job/jostle-report/report.json" 2>/dev/null ||
         [ ! -f "$work/home/.cache/jostle.db" ]; then
        echo "README example did not exit 1 with test_bug in jostle-report/report.json and" \
             "the database kept (exit $rc): $line"
        tail -20 "$work/out"; fail=1
      fi ;;
    helm\ install\ *)  # rendered, not installed: there is no cluster here
      if command -v helm >/dev/null; then
        ran=$((ran + 1))
        if ! (cd "$(dirname "$readme")" && bash -euc "helm template ${line#helm install }" \
              >"$work/out" 2>&1); then
          echo "README example does not render: $line"; cat "$work/out"; fail=1
        fi
      fi ;;
  esac
done <<<"$blocks"
[ "$ran" -ge 3 ] || { echo "expected README's curl and jostle run examples, ran $ran"; fail=1; }
if ! grep -q "readme-run" "$work/summary.md" 2>/dev/null || ! grep -q "failed" "$work/summary.md"; then
  echo "README's report example did not append run readme-run's report to \$GITHUB_STEP_SUMMARY"
  cat "$work/summary.md" "$work/collector.log" 2>/dev/null | tail -20; fail=1
fi

for doc in collector/attribution/CONFIG.md collector/results/FORMAT.md \
           collector/report/REPORT_SCHEMA.md bench/BENCHMARKS.md docs/report.png \
           helm/jostle/values.yaml Dockerfile; do
  [ -e "$(dirname "$readme")/$doc" ] || { echo "README links $doc, which does not exist"; fail=1; }
done
[ "$fail" = 0 ] && echo "README commands: all flags exist, examples run"
exit "$fail"
