// The run identity a CI's own environment gives a job, read by `jostle upload` and
// `jostle run` for what their flags leave unset. Recognised CIs and the variables read (a
// field stays unset when its variable is absent or empty):
//
//   GitHub Actions (GITHUB_ACTIONS=true), provider "github-actions":
//     run GITHUB_RUN_ID; job GITHUB_JOB; commit GITHUB_SHA; branch GITHUB_HEAD_REF (pull
//     requests) else GITHUB_REF_NAME; pr N of GITHUB_REF refs/pull/N/merge; attempt
//     GITHUB_RUN_ATTEMPT; url GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID;
//     default_branch repository.default_branch of the event file GITHUB_EVENT_PATH.
//   GitLab CI (GITLAB_CI=true), "gitlab-ci":
//     run CI_PIPELINE_ID; job CI_JOB_NAME (without the " I/N" GitLab appends to parallel
//     jobs); commit CI_COMMIT_SHA; branch CI_MERGE_REQUEST_SOURCE_BRANCH_NAME else
//     CI_COMMIT_BRANCH else CI_COMMIT_REF_NAME; default_branch CI_DEFAULT_BRANCH; pr
//     CI_MERGE_REQUEST_IID; shard CI_NODE_INDEX/CI_NODE_TOTAL; url CI_JOB_URL.
//   CircleCI (CIRCLECI=true), "circleci":
//     run CIRCLE_WORKFLOW_ID; job CIRCLE_JOB; commit CIRCLE_SHA1; branch CIRCLE_BRANCH; pr
//     CIRCLE_PR_NUMBER, else the number ending CIRCLE_PULL_REQUEST; shard
//     CIRCLE_NODE_INDEX + 1 / CIRCLE_NODE_TOTAL; url CIRCLE_BUILD_URL.
//   Buildkite (BUILDKITE=true), "buildkite":
//     run BUILDKITE_BUILD_ID; job BUILDKITE_STEP_KEY else BUILDKITE_LABEL; commit
//     BUILDKITE_COMMIT; branch BUILDKITE_BRANCH; default_branch
//     BUILDKITE_PIPELINE_DEFAULT_BRANCH; pr BUILDKITE_PULL_REQUEST (unless "false"); shard
//     BUILDKITE_PARALLEL_JOB + 1 / BUILDKITE_PARALLEL_JOB_COUNT; attempt
//     BUILDKITE_RETRY_COUNT + 1; url BUILDKITE_BUILD_URL#BUILDKITE_JOB_ID.
//   Jenkins (JENKINS_URL set), "jenkins":
//     run BUILD_TAG; job JOB_NAME; commit GIT_COMMIT; branch CHANGE_BRANCH (pull requests)
//     else BRANCH_NAME else GIT_BRANCH without "origin/"; pr CHANGE_ID; url BUILD_URL.
//
// A run id is made fit for the results route (characters outside A-Z a-z 0-9 . _ : @ + -
// become '-', cut to 128). A value that fails ValidateRunIdentity is dropped with a note.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "collector/store/result_store.h"
#include "jostle/status.h"

namespace jostle::collector {

// A variable of the environment; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The text of a file (GitHub's event file).
using FileReader = std::function<Result<std::string>(const std::string& path)>;

struct CiEnvironment {
  std::string provider;  // empty: no CI recognised (and every other field empty)
  std::string run_id;    // fit for the results route, or empty
  std::string job;
  RunIdentity identity;  // provider included
  // Every variable read that was set, in the order read, with its value (for --verbose).
  std::vector<std::pair<std::string, std::string>> variables;
  std::vector<std::string> notes;  // values dropped and why
};

CiEnvironment DetectCiEnvironment(const EnvLookup& env, const FileReader& read_file);

// getenv(3), and the file read whole.
EnvLookup ProcessEnvironment();
Result<std::string> ReadTextFile(const std::string& path);

}  // namespace jostle::collector
