#!/usr/bin/env bash
# Makes a released schema version's frozen database: runs `jostle run` of that release (its
# binary given) on the fixture host (procfs/normal_host's /proc and /sys with
# cgroup_v2_systemd's cgroup tree) around a command that writes pytest's JUnit (junit.xml
# here), then dumps the database as SQL. The dumps are committed; store_released_schemas_test
# migrates each to today's schema. Run once per release whose schema changed:
#   make_dump.sh OLD_BUILD/bin/jostle > vN.sql
set -euo pipefail
jostle="$(realpath "$1")"
here="$(cd "$(dirname "$0")" && pwd)"
fixtures="$here/../../../fixtures"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/host"
cp -r "$fixtures/procfs/normal_host/." "$work/host"
cp -r "$fixtures/hosts/cgroup_v2_systemd/." "$work/host"
cp "$here/junit.xml" "$work/junit.src"
cd "$work"
"$jostle" run --db "$work/jostle.db" --run-id released --job unit --node-name fixture-node \
  --interval 200ms --proc-root "$work/host/proc" --sys-root "$work/host/sys" \
  --cgroup-root "$work/host/sys/fs/cgroup" --report-dir "$work/report" --quiet -- \
  sh -c 'sleep 0.5; cp junit.src junit.xml; sleep 1' >/dev/null 2>&1 || true
sqlite3 "$work/jostle.db" .dump
# .dump leaves out the schema version; the migration reads it.
echo "PRAGMA user_version=$(sqlite3 "$work/jostle.db" 'PRAGMA user_version');"
