// Identical audio across and inside splits, counted from content records.
#include <gtest/gtest.h>

#include "ser/eval/duplicates.hpp"

namespace {

using ser::eval::ContentRecord;

ContentRecord record(const std::string& id, std::int64_t bytes, const std::string& hash) { return {id, bytes, hash}; }

TEST(EvalDuplicates, GroupsNeedTheSameSizeAndHashAndKnownContent) {
  const std::vector<ContentRecord> r = {
      record("a", 10, "00000000000000aa"), record("b", 10, "00000000000000aa"),  // a copy
      record("c", 11, "00000000000000aa"),                                       // same hash, other size
      record("d", -1, ""),                 record("e", -1, ""),                  // unknown content
      record("f", 10, "00000000000000aa")};                                      // a third copy of a
  const auto groups = ser::eval::duplicate_groups(r);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0], (std::vector<std::size_t>{0, 1, 5}));

  // a and f tested, b trains: 2 pairs across, 1 repeat inside the test part.
  const auto d = ser::eval::split_duplicates(r, groups, {1, 0, 0, 0, 0, 1}, 1);
  EXPECT_EQ(d.across, 2u);
  EXPECT_EQ(d.within_test, 1u);
  EXPECT_EQ(d.within_train, 0u);
  ASSERT_EQ(d.examples.size(), 1u);  // capped
  EXPECT_EQ(ser::eval::example_pairs(d.examples), "a = b");
  const auto none = ser::eval::split_duplicates(r, groups, {0, 0, 1, 1, 1, 0});
  EXPECT_EQ(none.across, 0u);
  EXPECT_EQ(none.within_train, 2u);
}

}  // namespace
