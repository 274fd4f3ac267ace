#!/usr/bin/env bash
# The demo scenario: jostle at work on a real noisy neighbour, on this machine.
#
#   demo/run-demo.sh            (as root; scripts/demo.sh builds first, then runs this)
#
# The bundled suite (demo/suite: three tests with latency budgets, one genuine bug, one
# passing test) runs under `jostle run` thirteen times, all into one database so each run
# sees the history of the earlier ones:
#   1. to 10. on a quiet machine (the history: `contention` needs failures significantly
#      more frequent under contention, one-sided Fisher p <= 0.05);
#   11. to 13. while `stress-ng --cpu $(nproc)` saturates the CPU from a sibling cgroup
#      with a high CPU weight (the "burner"), created beneath this script's own cgroup in
#      the run mode `jostle run` takes here (see below; on a host with no writable cgroupfs
#      the burner is a plain process and is named as one).
# The last report gives the budget failures `contention` (10 clear passes, 3 contended
# failures: p = 1/286; still p = 10/286 when a passing load on the machine made two of the
# quiet passes contended), the burner's cgroup as culprit,
# and the bug `fails-regardless`. The burner and its cgroup are removed on exit, Ctrl-C
# or failure.
#
# Environment:
#   JOSTLE_BIN   directory holding the jostle binary (default: build-release/bin)
#   DEMO_DIR     where runs, reports and the database go (default: ./jostle-demo); emptied
#   PYTHON       a Python with pytest (default: /usr/bin/python3)
#   DEMO_QUIET_WAIT  seconds to wait for a busy machine to settle before the quiet run
#                (default 60)
# Exit status: 0 when the report says what it should; 1 when it does not; 2 when it does
# not and the quiet run was not quiet (other load on the machine; try again when idle);
# 77 when this machine cannot run the scenario (the burner's cgroup cannot be made in the run
# mode jostle takes here, no stress-ng, no pytest).
# "Not quiet" is measured here, not read from the report: the machine's busy CPU time during
# the quiet run (/proc/stat) less the CPU time of the run itself (this shell's children),
# above DEMO_QUIET_OTHERS percent (default 25) of the machine.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${JOSTLE_BIN:-$root/build-release/bin}/jostle"
work="${DEMO_DIR:-$PWD/jostle-demo}"
python="${PYTHON:-/usr/bin/python3}"
cgroup_root=/sys/fs/cgroup
burner_name="jostle-demo-burner-$$"

say() { printf '%s\n' "$*" >&2; }
cannot() {
  say "demo: cannot run here: $*"
  exit 77
}

[ -x "$bin" ] || cannot "$bin is missing (build first: scripts/demo.sh)"
command -v stress-ng >/dev/null || cannot "stress-ng is not installed"
"$python" -c 'import pytest' 2>/dev/null || cannot "$python has no pytest (apt install python3-pytest)"

burner_pid=""
burner_dirs=()
cleanup() {
  if [ -n "$burner_pid" ]; then
    kill -TERM "$burner_pid" 2>/dev/null || true
    wait "$burner_pid" 2>/dev/null || true
    burner_pid=""
  fi
  for dir in "${burner_dirs[@]}"; do
    [ -d "$dir" ] || continue
    # Anything left goes back to the parent, so the directory can go.
    while read -r pid; do echo "$pid" >"$(dirname "$dir")/cgroup.procs" 2>/dev/null || true; done \
      <"$dir/cgroup.procs" 2>/dev/null || true
    rmdir "$dir" 2>/dev/null || say "demo: cgroup $dir not removed"
  done
  burner_dirs=()
  v2_restore
}
v2_restore() { :; }  # replaced below once the run mode is known
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# --- The burner's cgroup, in the run mode jostle itself takes here (`jostle run
# --print-mode`; README "jostle run"):
#   v1/hybrid-root: beneath this process's own cgroup in the v1 cpu and cpuacct hierarchies;
#   v2-root, v2-delegated, v2-systemd-scope (pure v2): beside this script, which first moves
#     everything in its cgroup into a leaf (jostle-demo-self-PID) so the cpu controller can
#     be enabled for the children ("no internal processes"), as jostle does for itself;
#   process-tree (no writable cgroupfs): no cgroup; the burner is a plain process, and the
#     report must name it as a neighbour process.
mode="$("$bin" run --print-mode 2>/dev/null | sed -n 's/^mode: //p')"
[ -n "$mode" ] || cannot "$bin run --print-mode failed"
say "demo: run mode $mode"
weight_file=""
weight_value=""
v2_base=""      # pure v2: the cgroup this script started in
v2_leaf=""      # pure v2: the leaf everything in it moved into
v2_enabled=""   # pure v2: "cpu" when this script enabled it in $v2_base/cgroup.subtree_control
burner_rel=""   # what `jostle run --cgroup` is given; empty in process-tree mode

v1_burner() {
  local controllers path dir mount
  while IFS=: read -r _ controllers path; do
    case ",$controllers," in
      *,cpu,* | *,cpuacct,*) ;;
      *) continue ;;
    esac
    mount="$cgroup_root/$controllers"
    [ -d "$mount" ] || continue
    dir="$mount${path%/}/$burner_name"
    mkdir "$dir" 2>/dev/null || cannot "cannot create cgroup $dir"
    burner_dirs+=("$dir")
    if [ -f "$dir/cpu.shares" ]; then
      weight_file="$dir/cpu.shares"
      weight_value=10240  # ten times the default 1024
    fi
  done </proc/self/cgroup
  burner_rel="$burner_name"  # relative to our own cgroup, as `jostle run --cgroup` reads it
}

v2_burner() {
  local own pid
  own="$(sed -n 's/^0:://p' /proc/self/cgroup)"
  v2_base="$cgroup_root${own%/}"
  if [ "$own" != "/" ]; then
    v2_leaf="$v2_base/jostle-demo-self-$$"
    mkdir "$v2_leaf" 2>/dev/null || cannot "cannot create cgroup $v2_leaf"
    while read -r pid; do echo "$pid" >"$v2_leaf/cgroup.procs" 2>/dev/null || true; done \
      <"$v2_base/cgroup.procs"
  fi
  if ! grep -qw cpu "$v2_base/cgroup.subtree_control"; then
    echo +cpu >"$v2_base/cgroup.subtree_control" 2>/dev/null ||
      cannot "the cpu controller cannot be enabled for children of ${own} (is it in its cgroup.controllers?)"
    v2_enabled=cpu
  fi
  mkdir "$v2_base/$burner_name" 2>/dev/null || cannot "cannot create cgroup $v2_base/$burner_name"
  burner_dirs+=("$v2_base/$burner_name")
  weight_file="$v2_base/$burner_name/cpu.weight"
  weight_value=1000  # ten times the default 100
  burner_rel="${own%/}/$burner_name"  # from the v2 root: jostle moves into a leaf of its own
}

# Undoes v2_burner once the burner's cgroup is gone: the controller first (processes may not
# go back into a cgroup whose subtree_control has one), then everything back out of the leaf.
v2_restore() {
  local pid
  if [ -n "$v2_enabled" ]; then
    echo "-$v2_enabled" >"$v2_base/cgroup.subtree_control" 2>/dev/null || say "demo: -$v2_enabled not written"
    v2_enabled=""
  fi
  if [ -n "$v2_leaf" ] && [ -d "$v2_leaf" ]; then
    while read -r pid; do echo "$pid" >"$v2_base/cgroup.procs" 2>/dev/null || true; done \
      <"$v2_leaf/cgroup.procs"
    rmdir "$v2_leaf" 2>/dev/null || say "demo: cgroup $v2_leaf not removed"
    v2_leaf=""
  fi
}

case "$mode" in
  v1/hybrid-root) v1_burner ;;
  v2-root | v2-delegated | v2-systemd-scope) v2_burner ;;
  process-tree) say "demo: no writable cgroups: the burner runs as a plain process" ;;
  *) cannot "unknown run mode '$mode'" ;;
esac
if [ "$mode" != process-tree ]; then
  [ ${#burner_dirs[@]} -gt 0 ] || cannot "no cpu cgroup hierarchy under $cgroup_root"
  [ -n "$weight_file" ] && [ -f "$weight_file" ] || cannot "no CPU weight file for the burner's cgroup"
  echo "$weight_value" >"$weight_file"
fi

start_burner() {
  local n
  n="$(nproc)"
  (
    for dir in "${burner_dirs[@]}"; do echo "$BASHPID" >"$dir/cgroup.procs"; done
    exec stress-ng --cpu "$n" --timeout 900s --quiet
  ) &
  burner_pid=$!
  sleep 1
  kill -0 "$burner_pid" 2>/dev/null || cannot "stress-ng did not start"
  if [ -n "$burner_rel" ]; then
    say "demo: burner started: stress-ng --cpu $n in cgroup ${burner_dirs[0]#"$cgroup_root"} (CPU weight $weight_value)"
  else
    say "demo: burner started: stress-ng --cpu $n (pid $burner_pid, no cgroup of its own)"
  fi
}

# Percent of CPU time busy over one second, from /proc/stat.
cpu_busy_percent() {
  local a b
  a=($(head -1 /proc/stat))
  sleep 1
  b=($(head -1 /proc/stat))
  local idle=$(((b[4] + b[5]) - (a[4] + a[5])))
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  [ "$total" -gt 0 ] || total=1
  echo $((100 * (total - idle) / total))
}

# Busy and total CPU time of the machine, in clock ticks (/proc/stat: idle and iowait are
# not busy).
machine_ticks() {
  local f
  read -r -a f </proc/stat
  echo $((f[1] + f[2] + f[3] + f[6] + f[7] + f[8])) $((f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7] + f[8]))
}
# CPU time of this shell's waited-for children (cutime + cstime, clock ticks).
children_ticks() {
  local stat
  local -a f
  stat="$(cat /proc/$$/stat)"
  read -r -a f <<<"${stat##*) }"  # fields from the 3rd on: cutime is the 14th of these
  echo $((f[13] + f[14]))
}

# --- The runs.
rm -rf "$work"
mkdir -p "$work"
db="$work/jostle.db"
suite_run() {  # NAME: runs the suite under jostle run in $work/NAME
  local name="$1" rc=0
  mkdir -p "$work/$name"
  (
    cd "$work/$name"
    "$bin" run --db "$db" --report-dir "$work/$name/report" \
      --run-id "demo-$name" --job demo-suite ${burner_rel:+--cgroup "$burner_rel"} --quiet -- \
      "$python" -m pytest -q -p no:cacheprovider --junitxml=junit.xml "$root/demo/suite"
  ) >"$work/$name/jostle-run.log" 2>&1 || rc=$?
  # pytest exits 1 when tests failed; anything else means the run itself went wrong.
  if [ "$rc" -ne 1 ]; then
    cat "$work/$name/jostle-run.log" >&2
    say "demo: run $name: jostle run exited with $rc (expected 1: some tests fail)"
    exit 1
  fi
  [ -f "$work/$name/report/report.json" ] || { say "demo: run $name wrote no report"; exit 1; }
}

busy="$(cpu_busy_percent)"
waited=0
while [ "$busy" -ge 40 ] && [ "$waited" -lt "${DEMO_QUIET_WAIT:-60}" ]; do
  say "demo: the machine is busy ($busy% CPU) before the quiet run; waiting for it to settle"
  sleep 2
  busy="$(cpu_busy_percent)"
  waited=$((waited + 3))
done
[ "$busy" -lt 40 ] || say "demo: the machine is still busy ($busy% CPU); running the quiet run anyway"

say "demo: runs 1 to 10 of 13: the suite on a quiet machine"
read -r busy0 total0 < <(machine_ticks)
own0="$(children_ticks)"
suite_run quiet
for n in 2 3 4 5 6 7 8 9 10; do suite_run "quiet-$n"; done
read -r busy1 total1 < <(machine_ticks)
own1="$(children_ticks)"
others_busy=$((100 * ((busy1 - busy0) - (own1 - own0)) / (total1 - total0 > 0 ? total1 - total0 : 1)))
[ "$others_busy" -ge 0 ] || others_busy=0
say "demo: during the quiet runs, other processes used $others_busy% of the machine's CPU"
start_burner
say "demo: run 11 of 13: the suite while the burner saturates the CPU"
suite_run noisy-1
for n in 2 3; do
  say "demo: run $((10 + n)) of 13: again, under the same noise"
  suite_run "noisy-$n"
done
cleanup

# --- What the report says.
PYTHONDONTWRITEBYTECODE=1 "$python" - "$work" "$burner_name" "$others_busy" \
  "${DEMO_QUIET_OTHERS:-25}" "$mode" <<'EOF'
import json, sys
work, burner = sys.argv[1], sys.argv[2]
others_busy, quiet_limit = int(sys.argv[3]), int(sys.argv[4])
# In process-tree mode the burner has no cgroup: it is named as a process (stress-ng).
if sys.argv[5] == "process-tree":
    burner = "stress-ng"
budget = {"test_checkout_latency_budget", "test_search_latency_budget", "test_login_latency_budget"}
bug = "test_price_rounding"

def load(name):
    with open(f"{work}/{name}/report/report.json") as f:
        return json.load(f)

def by_name(report):
    return {f["name"]: f for f in report["failures"]}

def culprit(f):
    c = f.get("culprits") or []
    return c[0]["name"] if c else "-"

quiet = by_name(load("quiet"))
final_report = load("noisy-3")
final = by_name(final_report)

problems, notes = [], []
if others_busy > quiet_limit:
    notes.append(f"the quiet run was not quiet: other processes used {others_busy}% of this "
                 f"machine's CPU during it (more than {quiet_limit}%). Run the demo again when "
                 "the machine is idle.")
quiet_budget_failures = sorted(budget & quiet.keys())
if quiet_budget_failures:
    problems.append("budget tests failed on the quiet run: " + ", ".join(quiet_budget_failures))
if quiet.get(bug, {}).get("verdict") != "no-contention":
    problems.append(f"{bug} on the quiet run: verdict {quiet.get(bug, {}).get('verdict', 'absent')}, "
                    "expected no-contention")
for name in sorted(budget):
    f = final.get(name)
    if f is None:
        problems.append(f"{name} passed under the burner (the machine may have more CPUs than stress-ng could take)")
    elif f["verdict"] != "contention":
        problems.append(f"{name}: verdict {f['verdict']}, expected contention")
    elif burner not in culprit(f):
        problems.append(f"{name}: culprit {culprit(f)}, expected the burner {burner}")
if final.get(bug, {}).get("verdict") != "fails-regardless":
    problems.append(f"{bug}: verdict {final.get(bug, {}).get('verdict', 'absent')}, expected fails-regardless")

print()
print(f"Report: {work}/noisy-3/report/report.html")
print(f"        (earlier runs: {work}/quiet/report/ ... {work}/noisy-2/report/)")
print()
print("What it says:")
for name, f in sorted(final.items(), key=lambda kv: kv[0]):
    res = f.get("resource") or "-"
    if f["verdict"] == "contention":
        print(f"  {name}: contention ({res}) - it passed on the quiet machine and failed while "
              f"{culprit(f)} took the CPU ({f['evidence']['summary']}). Not a bug in the "
              "test's code.")
    elif f["verdict"] == "fails-regardless":
        print(f"  {name}: fails-regardless - it failed on the quiet machine too. A real bug: look at the code.")
    else:
        print(f"  {name}: {f['verdict']} ({res}), culprit {culprit(f)}")
print()
for n in notes:
    print("Note: " + n)
if problems:
    print("The report does not say what the demo expects:")
    for p in problems:
        print("  - " + p)
    sys.exit(2 if notes else 1)
print("As expected: the timing failures are contention caused by the burner, the rounding bug is real.")
EOF
