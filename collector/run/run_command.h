// `jostle run -- CMD...`: samples this machine and its cgroups while CMD runs, ingests the
// result files CMD wrote, and writes report.html, report.md and report.json. No server, no
// Kubernetes: an embedded SQLite file holds samples and results (and history across runs
// when --db is kept between runs).
#pragma once

#include <string>
#include <vector>

namespace jostle::collector {

struct RunOptions {
  std::vector<std::string> command;       // CMD and its arguments
  std::vector<std::string> result_globs;  // empty: the usual places (see FindResultFiles)
  std::string report_dir = "jostle-report";
  std::string db;                     // empty: <report_dir>/jostle.db
  std::string run_id;                 // empty: "run-<UTC time>-<pid>"
  std::string job;                    // CI job name on results
  std::string config;                 // attribution/alert config file (JSON)
  std::vector<std::string> webhooks;  // alert webhook URLs
  std::string webhook_secret;         // signs webhook deliveries when set
  std::string interval = "1s";        // sampling interval
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  std::string cgroup_root = "/sys/fs/cgroup";
  std::vector<std::string> cgroups;  // more cgroups to sample (like the agent's --cgroup)
  std::string node_name;             // empty: the hostname
  bool progress = true;              // a status line on stderr when it is a terminal
};

// Runs the whole thing and returns the exit code jostle should exit with: CMD's own (128+N
// when a signal N ended it), or 2 when jostle itself could not start CMD. Failures after
// CMD ran (no result files, a broken webhook) are reported but never change the code.
int RunCommand(const RunOptions& options);

// Result files under `dir` written at or after `since_ns` (file mtime): each glob is matched
// against paths relative to `dir` ('*' also matches '/'), absolute globs as they are. With
// no globs: JUnit XML (*junit*.xml, TEST-*.xml, any *.xml under test-results/,
// test-reports/ or surefire-reports/) and pytest report-logs (*report-log*.json*,
// *.reportlog.jsonl). Skips .git, node_modules and `exclude_dir`.
std::vector<std::string> FindResultFiles(const std::string& dir,
                                         const std::vector<std::string>& globs, int64_t since_ns,
                                         const std::string& exclude_dir);

}  // namespace jostle::collector
