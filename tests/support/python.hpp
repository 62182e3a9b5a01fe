#pragma once
// The Python oracles (scripts/oracle_*.py) run under a python3 that can import their modules:
// $SER_PYTHON, else python3, else /usr/bin/python3 (Debian's, where python3-sklearn and
// python3-scipy live even when another python3 is first on PATH).
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support/shared.hpp"

namespace ser::test {

// Empty when no candidate can `import <modules>` (e.g. "sklearn, numpy").
inline std::string python_with(const std::string& modules) {
  static std::map<std::string, std::string> found;
  const auto it = found.find(modules);
  if (it != found.end()) return it->second;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("SER_PYTHON")) candidates.push_back(env);
  candidates.push_back("python3");
  candidates.push_back("/usr/bin/python3");
  std::string chosen;
  for (const auto& py : candidates) {
    if (std::system(("'" + py + "' -c 'import " + modules + "' >/dev/null 2>&1").c_str()) == 0) {
      chosen = py;
      break;
    }
  }
  return found[modules] = chosen;
}

// The checkout the tests were built from (scripts/ lives there).
inline std::string project_dir() {
  return std::filesystem::weakly_canonical(std::filesystem::path(fixtures_dir()) / ".." / "..").string();
}

}  // namespace ser::test
