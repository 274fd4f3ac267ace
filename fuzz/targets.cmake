# Every fuzz target, once: jostle_fuzz_target(NAME SOURCE LIBRARY [CONTENT_TYPE]). The
# includer defines jostle_fuzz_target first: fuzz/CMakeLists.txt builds libFuzzer binaries,
# tests/fuzz/CMakeLists.txt builds corpus replays with the normal compiler. Each target's
# seeds are in fuzz/corpus/NAME.
jostle_fuzz_target(fuzz_wire_batch wire_batch_fuzz.cpp jostle_wire)
# Result parsers: one target per format (the Content-Type fixes which parser runs).
jostle_fuzz_target(fuzz_results_junit results_fuzz.cpp jostle_collector_results application/xml)
jostle_fuzz_target(fuzz_results_reportlog results_fuzz.cpp jostle_collector_results
  application/x-ndjson)
jostle_fuzz_target(fuzz_results_json results_fuzz.cpp jostle_collector_results application/json)
# No Content-Type: detection by content (go test -json, with build output before the JSON).
jostle_fuzz_target(fuzz_results_sniffed results_fuzz.cpp jostle_collector_results "")
# Kubernetes API answers (the agent's pod resolver), the collector's token file and config.
jostle_fuzz_target(fuzz_kube_json kube_json_fuzz.cpp jostle_agent_kube)
jostle_fuzz_target(fuzz_token_file token_file_fuzz.cpp jostle_collector_api)
jostle_fuzz_target(fuzz_attribution_config attribution_config_fuzz.cpp
  jostle_collector_attribution)
# The collector's HTTP API as a whole (routes, query parameters, every body parser behind
# them, the store), through CollectorApi::Handle.
jostle_fuzz_target(fuzz_api_request api_request_fuzz.cpp jostle_collector_read_api)
# A request's Transfer-Encoding header (RFC 9112 transfer-coding list).
jostle_fuzz_target(fuzz_transfer_encoding transfer_encoding_fuzz.cpp jostle_http_server)
