// `jostle run -- CMD...`: samples this machine and its cgroups while CMD runs, ingests the
// result files CMD wrote, and writes report.html, report.md and report.json. No server, no
// Kubernetes: an embedded SQLite file holds samples and results (and history across runs
// when --db is kept between runs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/store/result_store.h"
#include "jostle/results.h"

namespace jostle::collector {

struct RunOptions {
  std::vector<std::string> command;       // CMD and its arguments
  std::vector<std::string> result_globs;  // empty: the usual places (see FindResultFiles)
  std::string report_dir = "jostle-report";
  std::string db;      // empty: <report_dir>/jostle.db
  std::string run_id;  // empty: "run-<UTC time>-<pid>"
  std::string job;     // CI job name on results
  // Commit, branch, ... stored with the results (the exit code is CMD's, filled in here).
  RunIdentity identity;
  std::string config;                 // attribution/alert config file (JSON)
  std::vector<std::string> webhooks;  // alert webhook URLs
  std::string webhook_secret;         // signs webhook deliveries when set
  std::string interval = "1s";        // sampling interval
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  std::string cgroup_root = "/sys/fs/cgroup";
  // How the command's own use is told apart (run_mode.h): "auto" (what this machine allows)
  // or a mode name.
  std::string mode = "auto";
  std::vector<std::string> cgroups;  // more cgroups to sample (like the agent's --cgroup)
  std::string node_name;             // empty: the hostname
  bool progress = true;              // a status line on stderr when it is a terminal
  // Load the bundled pytest plugin (pytest_plugin.h) into every pytest CMD starts, for
  // exact per-test times.
  bool pytest_plugin = true;
};

// Runs the whole thing and returns the exit code jostle should exit with: CMD's own (128+N
// when a signal N ended it; 128+N too when signal N reached jostle before CMD started);
// 127 when CMD was not found, 126 when it could not be executed, 2 when the options were
// unusable. Failures after CMD ran (no result files, a broken webhook, an unwritable report)
// are reported but never change the code.
//
// Every pytest session CMD starts (directly or through tox, make, a shell...) loads the
// bundled plugin through PYTHONPATH and PYTEST_PLUGINS unless options.pytest_plugin is false;
// its report-logs are ingested first, and the same session's JUnit XML or pytest-reportlog
// file is then not ingested twice.
//
// Order: the sampler takes its first sample, CMD starts one interval later (so the padded
// window of CMD's first test is covered), and sampling stops at the first tick at least one
// interval after CMD ended. Signals SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2
// sent to jostle are forwarded to CMD (a terminal's own signals already reached CMD's
// process group and are not sent twice).
int RunCommand(const RunOptions& options);

// Result files under `dir` modified at or after `since_ns` (file mtime, ns since the epoch):
// each glob is matched against paths relative to `dir` ('*' also matches '/'), absolute
// globs as they are. With no globs, files are recognised by content: *.xml files whose
// root element is <testsuites> or <testsuite> (JUnit XML of any producer, e.g. GoogleTest's
// test_detail.xml, pytest's --junitxml) and *.json / *.jsonl / *.log files whose first line
// is a pytest report-log event ("$report_type") or a go test -json event ("Time", "Action"). Skips
// .git, node_modules, directories more than 8 levels down, and `exclude_dir`. Sorted.
std::vector<std::string> FindResultFiles(const std::string& dir,
                                         const std::vector<std::string>& globs, int64_t since_ns,
                                         const std::string& exclude_dir);

// Indices of the JUnit result sets in `sets` whose every test is also in a pytest report-log
// set of `sets` (pytest writing --junitxml and a report-log in the same session). Those are
// the same executions twice; the report-log has the exact per-test times, so `jostle run`
// ingests it and skips the JUnit file. Tests are matched by module path and name:
// JUnit "pkg.test_mod.TestX" + "test_y" is report-log "pkg/test_mod.py::TestX::test_y".
std::vector<size_t> DuplicateJunitSets(const std::vector<ResultSet>& sets);

}  // namespace jostle::collector
