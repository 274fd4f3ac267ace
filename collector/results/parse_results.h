// Test-result parsing for POST /api/v1/runs/{run}/results and `jostle ingest`.
//
// Accepted formats (see FORMAT.md next to this file):
//   - JUnit XML of pytest (xunit1/xunit2, pytest-rerunfailures), GoogleTest, Maven
//     Surefire/Failsafe, Gradle, Ant, CTest, Bazel, go-junit-report, jest-junit,
//     mocha-junit-reporter (Cypress), Playwright, karma-junit-reporter, rspec_junit_formatter,
//     PHPUnit, the xunit.net and NUnit JUnit transforms and similar producers;
//   - pytest report-log JSON lines (pytest-reportlog's --report-log);
//   - jostle's JSON results format "jostle-results/v1".
// Any of them may be gzip-compressed (detected by the 1f 8b magic).
//
// Test ids (TestCase::id), stable across runs of the same job and the same whatever format
// reported a test (FORMAT.md "Test ids" lists the mapping per producer):
//   - pytest, in any format: the node id, e.g. "tests/test_io.py::TestDisk::test_write[2]";
//     report-logs carry it, JUnit written by pytest (xunit1 and xunit2) is mapped from its
//     classname, name and file with PytestNodeId (jostle/results.h).
//   - other JUnit: "<classname>::<name>"; "<file>::<name>" when classname is empty; "<name>"
//     when both are empty. The suite name is not part of the id.
//   - jostle JSON: the "id" field as given.
// Entries with the same id in one document are attempts of one test, in document order
// (reruns, retries); Surefire's <flakyFailure>/<rerunFailure> children are attempts too.
//
// Timing: TestAttempt::start_ns is the producer's per-test start when it writes one
// (GoogleTest testcase `timestamp`, report-log `start`, JSON `start`); otherwise it is the
// enclosing suite's `timestamp` plus the durations of the tests before it in that suite,
// with timing_approximate = true; without any timestamp it stays empty. Timestamps without
// a UTC offset are read at ParseOptions::default_tz_offset_s, except those of producers
// known to write UTC without saying so (jest-junit, mocha-junit-reporter, karma, Gradle, Ant).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "jostle/results.h"
#include "jostle/status.h"

namespace jostle::collector {

struct ParseOptions {
  // Largest body accepted, in bytes, after gzip decompression (and before it).
  size_t max_bytes = 20 << 20;
  // Deepest XML element / JSON array-object nesting accepted.
  int max_depth = 64;
  // Seconds east of UTC used for timestamps that carry no offset (see ParseTzOffset).
  int default_tz_offset_s = 0;
  // Names the body in error messages ("junit.xml:812: ..."); "body" when empty.
  std::string source_name;
};

// Parses a result document. content_type is the HTTP Content-Type (parameters ignored) or
// empty to detect by content. Errors:
//   InvalidArgument   malformed document; the message names source, line and what is wrong
//   ResourceExhausted body above max_bytes (compressed or inflated), nesting above max_depth
//   Unsupported       neither JUnit XML, report-log nor jostle JSON (the API answers 415)
Result<ResultSet> ParseResults(std::string_view body, std::string_view content_type,
                               const ParseOptions& options);

// "sha256:" + the 64 lower-case hex digits of SHA-256(bytes): the content digest that, with
// its run, job, shard and attempt, identifies an upload (ResultOrigin::digest). Taken over the
// file's bytes as sent, before any gzip inflation.
std::string ContentDigest(std::string_view bytes);

// Parses a `tz=` value into seconds east of UTC: "UTC", "Z", "+02:00", "-0530", "+2",
// "+02". Refuses offsets beyond +-18:00.
Result<int> ParseTzOffset(std::string_view text);

}  // namespace jostle::collector
