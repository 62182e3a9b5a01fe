#pragma once
// Identical audio under different names: items whose files have the same size and XXH64 (the
// content records of eval/overlap.hpp). Across a fold's train/test boundary such a pair makes a
// test score not held-out (`ser train` refuses it unless protocol.allow_duplicates); inside one
// split it weighs one recording twice (reported).
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "ser/eval/overlap.hpp"

namespace ser::eval {

// Groups (indices into `records`, ascending) of 2 or more items with identical audio; items
// whose content is unknown are in none.
std::vector<std::vector<std::size_t>> duplicate_groups(const std::vector<ContentRecord>& records);

struct SplitDuplicates {
  std::size_t across = 0;       // (test item, training item) pairs with identical audio
  std::size_t within_test = 0;  // test items that repeat another test item's audio
  std::size_t within_train = 0; // training items that repeat another training item's audio
  std::vector<std::pair<std::string, std::string>> examples;  // up to `max_examples` (test id, training id)
};
// One split: in_test[i] says whether item i is tested (the rest trains). max_examples caps the
// example pairs kept.
SplitDuplicates split_duplicates(const std::vector<ContentRecord>& records,
                                 const std::vector<std::vector<std::size_t>>& groups, const std::vector<char>& in_test,
                                 std::size_t max_examples = 3);

// Over the folds of a run (in_test[f][i]: item i is tested in fold f): how many items repeat
// another's audio, how many (test, training) pairs of identical audio all folds hold, in how many
// folds, and up to 3 example pairs.
struct FoldsDuplicates {
  std::size_t groups = 0, duplicate_items = 0, across = 0, folds_across = 0;
  std::vector<std::pair<std::string, std::string>> examples;
};
FoldsDuplicates folds_duplicates(const std::vector<ContentRecord>& records, const std::vector<std::vector<char>>& in_test);

// "wav/03a01Fa = copy/03a01Fa, ..." for messages.
std::string example_pairs(const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace ser::eval
