#pragma once
// Small string helpers shared by the messages that suggest a nearest name.
#include <cstddef>
#include <string>

namespace ser::util {

// Levenshtein distance (insertions, deletions, substitutions all cost 1).
std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace ser::util
