#!/usr/bin/env bash
# jostle-agent --output on this machine: every batch is one JSON line (wire version 2, seq
# 0, 1, 2...), a line left cut short by an agent that was killed stays as it was and the
# next batch starts on a line of its own, and SIGTERM ends the batch in progress.
# Usage: agent_output_test.sh BUILD_BIN_DIR
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/batches.jsonl
printf '{"wire_version":2,"node":"cut short' > "$out"

"$bin/jostle-agent" --kube off --interval 200ms --batch-ticks 3 --output "$out" \
  --log-level warn 2>"$work/agent.log" &
pid=$!
# Two whole batches after the cut line, then stop it with its third batch in progress.
for _ in $(seq 300); do
  (( $(wc -l < "$out") >= 3 )) && break  # the cut line's end and two batches
  sleep 0.1
done
sleep 0.3
kill -TERM "$pid"
wait "$pid" || { echo "agent exited with $?"; cat "$work/agent.log"; exit 1; }

/usr/bin/python3 - "$out" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
assert text.endswith("\n"), "the last line is not ended"
lines = text.split("\n")[:-1]
assert lines[0] == '{"wire_version":2,"node":"cut short', f"first line changed: {lines[0][:80]!r}"
batches = [json.loads(l) for l in lines[1:]]
assert len(batches) >= 3, f"{len(batches)} batches"
assert [b["seq"] for b in batches] == list(range(len(batches))), [b["seq"] for b in batches]
for b in batches[:-1]:
    assert b["wire_version"] == 2 and len(b["samples"]) == 3, (b["wire_version"], len(b["samples"]))
assert 1 <= len(batches[-1]["samples"]) <= 3
# Within a batch an identity is written once; the later samples refer to it.
first, later = batches[0]["samples"][0]["cgroups"], batches[0]["samples"][1]["cgroups"]
if first:
    assert all("scope" in c and "s" in c for c in first), first[0]
    assert all("scope" not in c for c in later), later[0]
print(f"ok: {len(batches)} batches after the cut line")
PY
