// Small helpers of tests that drive real processes through the shell: read a whole file, quote
// a shell word. Header-only test support.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace jostle::testing {

// The whole file, or "" when it cannot be read.
inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `s` as one single-quoted shell word.
inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace jostle::testing
