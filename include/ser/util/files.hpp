#pragma once
// Crash-safe output: everything is written to a sibling temp file and renamed into place, so an
// interrupted run never leaves a truncated file under the final name.
#include <nlohmann/json.hpp>

#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace ser::util {

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);
void write_text_atomic(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);
// read_text + JSON parse; throws ser::Error (input) naming the file when it is not valid JSON.
nlohmann::json read_json(const std::string& path);

// Subfolders of `dir` named <prefix><number> (a run's fold-1, fold-2, ..., fold-10), as
// (number, path) sorted by number; empty when there are none.
std::vector<std::pair<int, std::string>> numbered_subdirs(const std::string& dir, const std::string& prefix);

// Creates `dir` (and parents) and checks that a file can be created in it, so that a command
// finds an unusable output folder before it computes anything. Throws ser::Error (runtime kind)
// naming the folder and the reason.
void ensure_writable_dir(const std::string& dir);

}  // namespace ser::util
