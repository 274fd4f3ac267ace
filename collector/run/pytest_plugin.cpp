#include "collector/run/pytest_plugin.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "collector/run/pytest_plugin_source.h"

namespace jostle::collector {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kModule = "jostle_pytest";

// The value of NAME in `env`, and where it is; npos when absent.
size_t Find(const std::vector<std::string>& env, std::string_view name) {
  for (size_t i = 0; i < env.size(); ++i) {
    if (env[i].size() > name.size() && env[i].compare(0, name.size(), name) == 0 &&
        env[i][name.size()] == '=') {
      return i;
    }
  }
  return std::string::npos;
}

void Set(std::vector<std::string>& env, std::string_view name, std::string value) {
  std::string entry = std::string(name) + "=" + std::move(value);
  size_t at = Find(env, name);
  if (at == std::string::npos) {
    env.push_back(std::move(entry));
  } else {
    env[at] = std::move(entry);
  }
}

std::string ValueOf(const std::vector<std::string>& env, std::string_view name) {
  size_t at = Find(env, name);
  return at == std::string::npos ? std::string() : env[at].substr(name.size() + 1);
}

}  // namespace

std::string_view PytestPluginSource() { return kPytestPluginSource; }

Result<PytestPlugin> InstallPytestPlugin(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string tmpl = (fs::path(base) / "jostle-pytest-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return Status::FromErrno(errno, "mkdtemp " + tmpl);
  PytestPlugin p{tmpl, (fs::path(tmpl) / "logs").string()};
  std::error_code ec;
  fs::create_directory(p.log_dir, ec);
  if (ec) {
    RemovePytestPlugin(p);
    return Status::IOError(p.log_dir + ": " + ec.message());
  }
  const fs::path module = fs::path(p.dir) / (std::string(kModule) + ".py");
  std::ofstream out(module, std::ios::binary | std::ios::trunc);
  out << PytestPluginSource();
  out.close();
  if (!out) {
    int err = errno;
    RemovePytestPlugin(p);
    return Status::FromErrno(err, module.string());
  }
  return p;
}

std::vector<std::string> PytestPluginEnvironment(const PytestPlugin& plugin,
                                                 const std::vector<std::string>& environ) {
  std::vector<std::string> env = environ;
  const std::string path = ValueOf(env, "PYTHONPATH");
  Set(env, "PYTHONPATH", path.empty() ? plugin.dir : plugin.dir + ":" + path);
  std::string plugins = ValueOf(env, "PYTEST_PLUGINS");
  bool listed = false;
  for (size_t start = 0; start <= plugins.size();) {
    size_t comma = std::min(plugins.find(',', start), plugins.size());
    std::string item = plugins.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    listed = listed || item == kModule;
    start = comma + 1;
  }
  if (!listed) {
    Set(env, "PYTEST_PLUGINS",
        plugins.empty() ? std::string(kModule) : plugins + "," + std::string(kModule));
  }
  Set(env, "JOSTLE_PYTEST_REPORT_DIR", plugin.log_dir);
  return env;
}

std::vector<std::string> PytestPluginLogs(const PytestPlugin& plugin) {
  std::vector<std::string> logs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(plugin.log_dir, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == ".jsonl") {
      logs.push_back(entry.path().string());
    }
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

void RemovePytestPlugin(const PytestPlugin& plugin) {
  std::error_code ec;
  if (!plugin.dir.empty()) fs::remove_all(plugin.dir, ec);
}

}  // namespace jostle::collector
