#pragma once
// Crash-safe output: everything is written to a sibling temp file and renamed into place, so an
// interrupted run never leaves a truncated file under the final name.
#include <functional>
#include <ostream>
#include <string>

namespace ser::util {

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);
void write_text_atomic(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);

}  // namespace ser::util
