// Manifest rules that must not depend on where `ser` is started from, duplicate rows, and the
// options prediction uses (no label column, row order kept).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "ser/data/corpus.hpp"
#include "ser/error.hpp"
#include "ser/util/files.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using ser::data::CorpusIndex;
using ser::data::index_manifest;
using ser::test::TempDir;

namespace {

// Runs f with the working directory set to dir, restoring it afterwards.
template <class F>
auto in_directory(const std::string& dir, F f) {
  const fs::path before = fs::current_path();
  fs::current_path(dir);
  struct Restore {
    fs::path p;
    ~Restore() { fs::current_path(p); }
  } restore{before};
  return f();
}

const ser::data::IndexProblem* problem_at(const CorpusIndex& index, const std::string& where) {
  for (const auto& p : index.problems) {
    if (p.path.size() >= where.size() && p.path.compare(p.path.size() - where.size(), where.size(), where) == 0) return &p;
  }
  return nullptr;
}

}  // namespace

TEST(ManifestRules, IdsAndPathsAreTheSameFromAnyWorkingDirectory) {
  TempDir d;
  fs::create_directories(d / "corpus/m");
  fs::create_directories(d / "corpus/bad");
  // A file inside the manifest's folder, one beside it (".."), and one given absolute.
  ser::util::write_text_atomic(d / "corpus/m/list.csv",
                               "path,label\nin.wav,a\n../bad/good.wav,b\n" + (d / "corpus/bad/abs.wav") + ",c\n");
  const std::string abs_manifest = d / "corpus/m/list.csv";
  const CorpusIndex from_root = in_directory(d.str(), [] { return index_manifest("corpus/m/list.csv"); });
  const CorpusIndex from_inside = in_directory(d / "corpus/m", [] { return index_manifest("list.csv"); });
  const CorpusIndex from_sibling = in_directory(d / "corpus/bad", [] { return index_manifest("../m/list.csv"); });
  const CorpusIndex from_anywhere = index_manifest(abs_manifest);
  for (const CorpusIndex* index : {&from_root, &from_inside, &from_sibling, &from_anywhere}) {
    ASSERT_EQ(index->items.size(), 3u);
    ASSERT_TRUE(index->problems.empty());
    // Sorted by id; the one given absolute and outside the folder keeps its absolute id.
    EXPECT_EQ(index->items[0].id, "../bad/good");
    EXPECT_EQ(index->items[1].id, (d / "corpus/bad/abs"));
    EXPECT_EQ(index->items[2].id, "in");
    EXPECT_EQ(index->items[0].path, d / "corpus/bad/good.wav");  // absolute: openable from anywhere
    EXPECT_EQ(index->items[2].path, d / "corpus/m/in.wav");
  }
}

TEST(ManifestRules, RepeatedRowKeepsOneAndNamesBothLines) {
  TempDir d;
  ser::util::write_text_atomic(d / "m.csv", "path,label\na.wav,x\nb.wav,y\na.wav,x\n");
  const CorpusIndex index = index_manifest(d / "m.csv");
  ASSERT_EQ(index.items.size(), 2u);
  EXPECT_EQ(index.items[0].id, "a");
  ASSERT_EQ(index.problems.size(), 1u);
  EXPECT_EQ(index.problems[0].path, d / "m.csv:4");
  EXPECT_NE(index.problems[0].reason.find("line 4 repeats line 2"), std::string::npos) << index.problems[0].reason;
}

TEST(ManifestRules, ConflictingRowsForOneIdDropBothWithLineNumbers) {
  TempDir d;
  ser::util::write_text_atomic(d / "m.csv", "path,label\na.wav,x\nb.wav,y\na.wav,z\n");
  const CorpusIndex index = index_manifest(d / "m.csv");
  ASSERT_EQ(index.items.size(), 1u);
  EXPECT_EQ(index.items[0].id, "b");
  ASSERT_EQ(index.problems.size(), 2u);
  const auto* first = problem_at(index, "m.csv:2");
  const auto* second = problem_at(index, "m.csv:4");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first->reason.find("lines 2 and 4"), std::string::npos) << first->reason;
  EXPECT_NE(second->reason.find("lines 2 and 4"), std::string::npos) << second->reason;
}

TEST(ManifestRules, PredictionOptionsNeedNoLabelAndKeepRowOrder) {
  TempDir d;
  ser::util::write_text_atomic(d / "m.csv", "path,speaker\nz.wav,s1\na.wav,s2\nm.wav,s1\n");
  EXPECT_THROW(index_manifest(d / "m.csv"), ser::Error);  // training still needs labels
  const CorpusIndex index = index_manifest(d / "m.csv", {/*require_label=*/false, /*keep_row_order=*/true});
  ASSERT_EQ(index.items.size(), 3u);
  EXPECT_EQ(index.items[0].id, "z");
  EXPECT_EQ(index.items[1].id, "a");
  EXPECT_EQ(index.items[2].id, "m");
  EXPECT_EQ(index.items[0].label, "");
  EXPECT_EQ(index.items[1].speaker, "s2");
}

TEST(ManifestRules, MissingManifestOrRootIsAUsageMistake) {
  TempDir d;
  try {
    index_manifest(d / "nope.csv");
    FAIL() << "no error";
  } catch (const ser::Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("nope.csv"), std::string::npos);
  }
  try {
    ser::data::index_ravdess(d / "no-such-root");
    FAIL() << "no error";
  } catch (const ser::Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("no-such-root"), std::string::npos);
  }
}
