#include "collector/ci/ci_environment.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "collector/ci/run_identity.h"

namespace jostle::collector {
namespace {

// Reads variables, remembering the ones set.
class Reader {
 public:
  Reader(const EnvLookup& env, CiEnvironment& out) : env_(env), out_(out) {}
  std::string Get(const std::string& name) {
    std::optional<std::string> v = env_(name);
    if (!v || v->empty()) return "";
    out_.variables.emplace_back(name, *v);
    return *v;
  }
  // The first of `names` that is set.
  std::string First(std::initializer_list<const char*> names) {
    for (const char* n : names) {
      std::string v = Get(n);
      if (!v.empty()) return v;
    }
    return "";
  }

 private:
  const EnvLookup& env_;
  CiEnvironment& out_;
};

std::optional<int> Number(const std::string& text) {
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoi(text);
}

std::string SanitizeRunId(std::string id) {
  for (char& c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '@' || c == '+' || c == '-';
    if (!ok) c = '-';
  }
  if (id.size() > 128) id.resize(128);
  return id;
}

void Shard(RunIdentity& id, std::optional<int> index, std::optional<int> total, int base) {
  if (!index || !total || *total < 1) return;
  id.shard_index = *index + (1 - base);
  id.shard_total = *total;
}

void GitHub(Reader& r, const FileReader& read_file, CiEnvironment& ci) {
  RunIdentity& id = ci.identity;
  ci.run_id = r.Get("GITHUB_RUN_ID");
  ci.job = r.Get("GITHUB_JOB");
  id.commit = r.Get("GITHUB_SHA");
  id.branch = r.First({"GITHUB_HEAD_REF", "GITHUB_REF_NAME"});
  const std::string ref = r.Get("GITHUB_REF");
  const std::string pull = "refs/pull/";
  if (ref.rfind(pull, 0) == 0) {
    const size_t end = ref.find('/', pull.size());
    id.pr =
        ref.substr(pull.size(), end == std::string::npos ? std::string::npos : end - pull.size());
  }
  id.attempt = Number(r.Get("GITHUB_RUN_ATTEMPT"));
  const std::string server = r.Get("GITHUB_SERVER_URL"), repo = r.Get("GITHUB_REPOSITORY");
  if (!server.empty() && !repo.empty() && !ci.run_id.empty()) {
    id.url = server + "/" + repo + "/actions/runs/" + ci.run_id;
  }
  const std::string event_path = r.Get("GITHUB_EVENT_PATH");
  if (event_path.empty()) return;
  Result<std::string> event = read_file(event_path);
  if (!event.ok()) {
    ci.notes.push_back("GITHUB_EVENT_PATH: " + event.status().message());
    return;
  }
  nlohmann::json j = nlohmann::json::parse(*event, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* repo_json =
      j.is_object() && j.contains("repository") ? &j["repository"] : nullptr;
  if (repo_json != nullptr && repo_json->is_object() && repo_json->contains("default_branch") &&
      (*repo_json)["default_branch"].is_string()) {
    id.default_branch = (*repo_json)["default_branch"].get<std::string>();
  }
}

void GitLab(Reader& r, CiEnvironment& ci) {
  RunIdentity& id = ci.identity;
  ci.run_id = r.Get("CI_PIPELINE_ID");
  ci.job = r.Get("CI_JOB_NAME");
  id.commit = r.Get("CI_COMMIT_SHA");
  id.branch =
      r.First({"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME"});
  id.default_branch = r.Get("CI_DEFAULT_BRANCH");
  id.pr = r.Get("CI_MERGE_REQUEST_IID");
  Shard(id, Number(r.Get("CI_NODE_INDEX")), Number(r.Get("CI_NODE_TOTAL")), 1);
  if (id.shard_total && *id.shard_total > 1) {
    // GitLab names the jobs of `parallel: N` "<name> I/N".
    const std::string suffix =
        " " + std::to_string(*id.shard_index) + "/" + std::to_string(*id.shard_total);
    if (ci.job.size() > suffix.size() && ci.job.ends_with(suffix)) {
      ci.job.resize(ci.job.size() - suffix.size());
    }
  }
  id.url = r.Get("CI_JOB_URL");
}

void CircleCi(Reader& r, CiEnvironment& ci) {
  RunIdentity& id = ci.identity;
  ci.run_id = r.Get("CIRCLE_WORKFLOW_ID");
  ci.job = r.Get("CIRCLE_JOB");
  id.commit = r.Get("CIRCLE_SHA1");
  id.branch = r.Get("CIRCLE_BRANCH");
  id.pr = r.Get("CIRCLE_PR_NUMBER");
  if (id.pr.empty()) {
    const std::string url = r.Get("CIRCLE_PULL_REQUEST");
    const size_t slash = url.find_last_of('/');
    if (slash != std::string::npos) id.pr = url.substr(slash + 1);
  }
  Shard(id, Number(r.Get("CIRCLE_NODE_INDEX")), Number(r.Get("CIRCLE_NODE_TOTAL")), 0);
  id.url = r.Get("CIRCLE_BUILD_URL");
}

void Buildkite(Reader& r, CiEnvironment& ci) {
  RunIdentity& id = ci.identity;
  ci.run_id = r.Get("BUILDKITE_BUILD_ID");
  ci.job = r.First({"BUILDKITE_STEP_KEY", "BUILDKITE_LABEL"});
  id.commit = r.Get("BUILDKITE_COMMIT");
  id.branch = r.Get("BUILDKITE_BRANCH");
  id.default_branch = r.Get("BUILDKITE_PIPELINE_DEFAULT_BRANCH");
  id.pr = r.Get("BUILDKITE_PULL_REQUEST");
  if (id.pr == "false") id.pr.clear();
  Shard(id, Number(r.Get("BUILDKITE_PARALLEL_JOB")), Number(r.Get("BUILDKITE_PARALLEL_JOB_COUNT")),
        0);
  if (std::optional<int> retries = Number(r.Get("BUILDKITE_RETRY_COUNT")))
    id.attempt = *retries + 1;
  const std::string build = r.Get("BUILDKITE_BUILD_URL"), job = r.Get("BUILDKITE_JOB_ID");
  id.url = build.empty() || job.empty() ? build : build + "#" + job;
}

void Jenkins(Reader& r, CiEnvironment& ci) {
  RunIdentity& id = ci.identity;
  ci.run_id = r.Get("BUILD_TAG");
  ci.job = r.Get("JOB_NAME");
  id.commit = r.Get("GIT_COMMIT");
  id.branch = r.First({"CHANGE_BRANCH", "BRANCH_NAME"});
  if (id.branch.empty()) {
    id.branch = r.Get("GIT_BRANCH");
    if (id.branch.rfind("origin/", 0) == 0) id.branch.erase(0, 7);
  }
  id.pr = r.Get("CHANGE_ID");
  id.url = r.Get("BUILD_URL");
}

// Drops each field that fails validation on its own, with a note.
void DropInvalid(CiEnvironment& ci) {
  RunIdentity& id = ci.identity;
  id.commit = NormalizeCommit(id.commit);
  auto check = [&](auto clear) {
    RunIdentity one;
    clear(one, /*copy=*/true);
    Status st = ValidateRunIdentity(one);
    if (!st.ok()) {
      ci.notes.push_back("ignored: " + st.message());
      clear(id, /*copy=*/false);
    }
  };
  check([&](RunIdentity& x, bool copy) { x.commit = copy ? id.commit : ""; });
  check([&](RunIdentity& x, bool copy) { x.branch = copy ? id.branch : ""; });
  check([&](RunIdentity& x, bool copy) { x.default_branch = copy ? id.default_branch : ""; });
  check([&](RunIdentity& x, bool copy) { x.pr = copy ? id.pr : ""; });
  check([&](RunIdentity& x, bool copy) { x.url = copy ? id.url : ""; });
  check([&](RunIdentity& x, bool copy) {
    x.shard_index = copy ? id.shard_index : std::nullopt;
    x.shard_total = copy ? id.shard_total : std::nullopt;
  });
  check([&](RunIdentity& x, bool copy) { x.attempt = copy ? id.attempt : std::nullopt; });
  if (ci.job.size() > 256) {
    ci.notes.push_back("ignored: job name longer than 256 characters");
    ci.job.clear();
  }
}

}  // namespace

CiEnvironment DetectCiEnvironment(const EnvLookup& env, const FileReader& read_file) {
  CiEnvironment ci;
  Reader r(env, ci);
  if (r.Get("GITHUB_ACTIONS") == "true") {
    ci.provider = "github-actions";
    GitHub(r, read_file, ci);
  } else if (r.Get("GITLAB_CI") == "true") {
    ci.provider = "gitlab-ci";
    GitLab(r, ci);
  } else if (r.Get("CIRCLECI") == "true") {
    ci.provider = "circleci";
    CircleCi(r, ci);
  } else if (r.Get("BUILDKITE") == "true") {
    ci.provider = "buildkite";
    Buildkite(r, ci);
  } else if (!r.Get("JENKINS_URL").empty()) {
    ci.provider = "jenkins";
    Jenkins(r, ci);
  } else {
    return CiEnvironment{};
  }
  ci.identity.provider = ci.provider;
  ci.run_id = SanitizeRunId(ci.run_id);
  DropInvalid(ci);
  return ci;
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace jostle::collector
