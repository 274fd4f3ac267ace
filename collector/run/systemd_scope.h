// The v2-systemd-scope mode (run_mode.h): `jostle run` re-runs itself in a transient scope
// with delegation, `systemd-run --scope -p Delegate=yes [--user]`, so the cgroup it then
// splits (jostle-self beside the command's cgroup) is one systemd has handed over.
#pragma once

#include <string>

#include "jostle/status.h"

namespace jostle::collector {

// Set in the re-run jostle's environment (the scope's unit name); not passed to CMD.
inline constexpr const char* kRunScopeEnv = "JOSTLE_RUN_SCOPE";

// Whether a throwaway scope starts: `systemd-run --scope -p Delegate=yes --quiet --collect
// [--user] -- true` exits 0.
bool SystemdScopeUsable(bool user);

// Replaces this process with the same command line (/proc/self/cmdline, /proc/self/exe) run
// by systemd-run in scope `jostle-run-<pid>.scope`. Returns only when that could not be
// started (the reason).
Status ReexecInSystemdScope(bool user);

}  // namespace jostle::collector
