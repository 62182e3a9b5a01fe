#include "ser/eval/duplicates.hpp"

#include <algorithm>
#include <map>

namespace ser::eval {

std::vector<std::vector<std::size_t>> duplicate_groups(const std::vector<ContentRecord>& records) {
  std::map<std::pair<std::int64_t, std::string>, std::vector<std::size_t>> by_content;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].xxh64.empty()) continue;
    by_content[{records[i].bytes, records[i].xxh64}].push_back(i);
  }
  std::vector<std::vector<std::size_t>> out;
  for (auto& [key, members] : by_content) {
    if (members.size() > 1) out.push_back(std::move(members));
  }
  std::sort(out.begin(), out.end());
  return out;
}

SplitDuplicates split_duplicates(const std::vector<ContentRecord>& records,
                                 const std::vector<std::vector<std::size_t>>& groups, const std::vector<char>& in_test,
                                 std::size_t max_examples) {
  SplitDuplicates out;
  for (const auto& g : groups) {
    std::vector<std::size_t> test, train;
    for (std::size_t i : g) (in_test[i] ? test : train).push_back(i);
    out.across += test.size() * train.size();
    out.within_test += test.empty() ? 0 : test.size() - 1;
    out.within_train += train.empty() ? 0 : train.size() - 1;
    for (std::size_t t : test) {
      for (std::size_t r : train) {
        if (out.examples.size() < max_examples) out.examples.emplace_back(records[t].id, records[r].id);
      }
    }
  }
  return out;
}

FoldsDuplicates folds_duplicates(const std::vector<ContentRecord>& records, const std::vector<std::vector<char>>& in_test) {
  FoldsDuplicates out;
  const auto groups = duplicate_groups(records);
  out.groups = groups.size();
  for (const auto& g : groups) out.duplicate_items += g.size() - 1;
  if (groups.empty()) return out;
  for (const auto& fold : in_test) {
    const SplitDuplicates d = split_duplicates(records, groups, fold);
    out.across += d.across;
    out.folds_across += d.across > 0;
    for (const auto& e : d.examples) {
      if (out.examples.size() < 3) out.examples.push_back(e);
    }
  }
  return out;
}

std::string example_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [a, b] : pairs) out += (out.empty() ? "" : ", ") + a + " = " + b;
  return out;
}

}  // namespace ser::eval
