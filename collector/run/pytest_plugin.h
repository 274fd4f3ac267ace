// The pytest plugin `jostle run` loads into every pytest its command starts
// (pytest_plugin/jostle_pytest.py, built into the binary): installed in a scratch directory
// of its own, put on the command's PYTHONPATH and PYTEST_PLUGINS, it writes a report-log
// with the exact start and stop of every test phase and rerun into that directory's logs/.
// Nothing in the user's project changes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jostle/status.h"

namespace jostle::collector {

// The plugin's Python source (`jostle pytest-plugin` prints it).
std::string_view PytestPluginSource();

struct PytestPlugin {
  std::string dir;      // holds jostle_pytest.py: goes on PYTHONPATH
  std::string log_dir;  // where each pytest session writes its report-log
};

// Creates a scratch directory under `parent` (TMPDIR or /tmp when empty) with the plugin
// and an empty logs/ directory.
Result<PytestPlugin> InstallPytestPlugin(const std::string& parent = "");

// `environ` (NAME=VALUE entries) with the plugin added: its directory first on PYTHONPATH,
// jostle_pytest appended to PYTEST_PLUGINS (comma-separated, as pytest reads it), and
// JOSTLE_PYTEST_REPORT_DIR set to the log directory. Other entries are kept as they are.
std::vector<std::string> PytestPluginEnvironment(const PytestPlugin& plugin,
                                                 const std::vector<std::string>& environ);

// The report-logs written into the log directory, sorted.
std::vector<std::string> PytestPluginLogs(const PytestPlugin& plugin);

// Removes the scratch directory and everything in it.
void RemovePytestPlugin(const PytestPlugin& plugin);

}  // namespace jostle::collector
