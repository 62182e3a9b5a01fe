// Fold builders: invariants of every protocol, the built-in tables, determinism, every error case,
// the independent leakage check, and the real corpora when ../shared is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ser/data/corpus.hpp"
#include "ser/data/protocols.hpp"
#include "ser/error.hpp"
#include "support/shared.hpp"

using namespace ser::data;

namespace {

std::string two(int n) { return (n < 10 ? "0" : "") + std::to_string(n); }

Item item(const std::string& speaker, const std::string& label, int n) {
  Item it;
  it.id = speaker + "/" + label + "-" + std::to_string(n);
  it.path = it.id + ".wav";
  it.label = label;
  it.speaker = speaker;
  return it;
}

// RAVDESS speech: 24 actors x 60 files = neutral 4 + 7 emotions x 8.
std::vector<Item> ravdess_like(int actors = 24) {
  std::vector<Item> items;
  for (int a = 1; a <= actors; ++a) {
    for (const auto& label : dataset_labels("ravdess")) {
      const int n = label == "neutral" ? 4 : 8;
      for (int i = 0; i < n; ++i) items.push_back(item(two(a), label, i));
    }
  }
  return items;
}

// Emo-DB: 10 speakers, uneven class counts per speaker, interleaved order.
std::vector<Item> emodb_like() {
  std::vector<Item> items;
  const std::vector<std::string> speakers = {"03", "08", "09", "10", "11", "12", "13", "14", "15", "16"};
  const auto labels = dataset_labels("emodb");
  for (int rep = 0; rep < 8; ++rep) {
    for (std::size_t s = 0; s < speakers.size(); ++s) {
      for (std::size_t c = 0; c < labels.size(); ++c) {
        if (rep < static_cast<int>((s + c) % 5) + 3) items.push_back(item(speakers[s], labels[c], rep));
      }
    }
  }
  return items;
}

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const ser::Error& e) {
    EXPECT_EQ(e.kind(), ser::ErrorKind::Config) << e.what();
    return e.what();
  }
  return "<no ser::Error thrown>";
}

#define EXPECT_ERROR(expr, ...)                                                           \
  do {                                                                                    \
    const std::string msg_ = error_text([&] { (void)(expr); });                           \
    for (const std::string& needle_ : std::initializer_list<std::string>{__VA_ARGS__})   \
      EXPECT_NE(msg_.find(needle_), std::string::npos) << "'" << needle_ << "' not in: " << msg_; \
  } while (0)

std::set<std::string> speakers_of(const std::vector<Item>& items, const std::vector<std::size_t>& idx) {
  std::set<std::string> out;
  for (std::size_t i : idx) out.insert(items[i].speaker);
  return out;
}

std::map<std::string, std::size_t> class_counts(const std::vector<Item>& items, const std::vector<std::size_t>& idx) {
  std::map<std::string, std::size_t> out;
  for (std::size_t i : idx) ++out[items[i].label];
  return out;
}

// Invariants every protocol must satisfy: each fold passes check_fold, parts sorted, fold
// indices are positions, and (for k-fold protocols) every item is tested exactly once.
void expect_valid(const std::vector<Item>& items, const std::vector<Fold>& folds, bool speaker_disjoint,
                  bool each_tested_once) {
  ASSERT_FALSE(folds.empty());
  std::vector<int> tested(items.size(), 0);
  for (std::size_t f = 0; f < folds.size(); ++f) {
    const Fold& fold = folds[f];
    EXPECT_EQ(fold.index, static_cast<int>(f));
    EXPECT_EQ(check_fold(items, fold, speaker_disjoint), "");
    EXPECT_EQ(fold.train.size() + fold.validation.size() + fold.test.size(), items.size());
    for (const auto* part : {&fold.train, &fold.validation, &fold.test}) EXPECT_TRUE(std::is_sorted(part->begin(), part->end()));
    for (std::size_t i : fold.test) ++tested[i];
    // Every class in test is in train (the protocols refuse to build anything else).
    const auto train_classes = class_counts(items, fold.train);
    for (const auto& [label, n] : class_counts(items, fold.test)) EXPECT_TRUE(train_classes.count(label)) << label;
    if (speaker_disjoint) {
      const auto tr = speakers_of(items, fold.train), va = speakers_of(items, fold.validation), te = speakers_of(items, fold.test);
      for (const auto& s : te) EXPECT_FALSE(tr.count(s) || va.count(s)) << "speaker " << s << " fold " << f;
      for (const auto& s : va) EXPECT_FALSE(tr.count(s)) << "speaker " << s << " fold " << f;
    }
  }
  if (each_tested_once) {
    for (std::size_t i = 0; i < items.size(); ++i) EXPECT_EQ(tested[i], 1) << items[i].id;
  }
}

ProtocolConfig protocol(const std::string& name) {
  ProtocolConfig cfg;
  cfg.name = name;
  return cfg;
}

bool same(const std::vector<Fold>& a, const std::vector<Fold>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t f = 0; f < a.size(); ++f) {
    if (a[f].index != b[f].index || a[f].train != b[f].train || a[f].validation != b[f].validation || a[f].test != b[f].test)
      return false;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------- speaker_kfold

TEST(SpeakerKFold, BuiltinRavdessTableIsEmoBoxSixFolds) {
  const auto items = ravdess_like();
  const auto folds = build_folds(items, "ravdess", protocol("speaker_kfold"));
  expect_valid(items, folds, true, true);
  const std::vector<std::set<std::string>> table = {{"01", "11", "20", "21"}, {"04", "10", "12", "14"},
                                                    {"08", "09", "19", "23"}, {"03", "05", "07", "24"},
                                                    {"02", "15", "16", "18"}, {"06", "13", "17", "22"}};
  ASSERT_EQ(folds.size(), 6u);
  for (std::size_t f = 0; f < 6; ++f) {
    EXPECT_EQ(speakers_of(items, folds[f].test), table[f]) << "fold " << f;
    EXPECT_EQ(folds[f].test.size(), 240u);
    // ceil(0.1 * 20 training speakers) = 2 whole speakers for validation.
    EXPECT_EQ(speakers_of(items, folds[f].validation).size(), 2u);
    EXPECT_EQ(folds[f].validation.size(), 120u);
    EXPECT_EQ(speakers_of(items, folds[f].train).size(), 18u);
  }
  EXPECT_EQ(builtin_speaker_table("RAVDESS").size(), 6u);
}

TEST(SpeakerKFold, BuiltinEmoDbIsLeaveOneSpeakerOut) {
  const auto items = emodb_like();
  const auto folds = build_folds(items, "emodb", protocol("speaker_kfold"));
  expect_valid(items, folds, true, true);
  const std::vector<std::string> speakers = {"03", "08", "09", "10", "11", "12", "13", "14", "15", "16"};
  ASSERT_EQ(folds.size(), 10u);
  for (std::size_t f = 0; f < 10; ++f) {
    EXPECT_EQ(speakers_of(items, folds[f].test), std::set<std::string>{speakers[f]});
    EXPECT_EQ(speakers_of(items, folds[f].validation).size(), 1u);  // ceil(0.1 * 9)
    EXPECT_EQ(speakers_of(items, folds[f].train).size(), 8u);
  }
}

TEST(SpeakerKFold, GivenTableAndValidationFraction) {
  const auto items = ravdess_like();
  ProtocolConfig cfg = protocol("speaker_kfold");
  for (int f = 0; f < 3; ++f) {
    cfg.speaker_table.emplace_back();
    for (int a = 1; a <= 24; ++a) {
      if (a % 3 == f) cfg.speaker_table.back().push_back(two(a));
    }
  }
  cfg.validation_fraction = 0.25;
  const auto folds = build_folds(items, "manifest", cfg);  // a given table needs no built-in one
  expect_valid(items, folds, true, true);
  ASSERT_EQ(folds.size(), 3u);
  for (const auto& fold : folds) EXPECT_EQ(speakers_of(items, fold.validation).size(), 4u);  // ceil(0.25 * 16)

  cfg.validation_fraction = 0;  // no validation set at all
  for (const auto& fold : build_folds(items, "manifest", cfg)) EXPECT_TRUE(fold.validation.empty());
}

TEST(SpeakerKFold, ExtraSpeakersTrainInEveryFoldOfTheBuiltinTable) {
  auto items = ravdess_like();
  for (const auto& label : dataset_labels("ravdess")) items.push_back(item("25", label, 0));
  const auto folds = build_folds(items, "ravdess", protocol("speaker_kfold"));
  expect_valid(items, folds, true, false);
  for (const auto& fold : folds) EXPECT_FALSE(speakers_of(items, fold.test).count("25"));
}

// A corpus without a table (a manifest): k speaker-disjoint folds from its speaker column,
// balanced in size, seeded, and leave-one-speaker-out at k = the number of speakers.
TEST(SpeakerKFold, FoldsMadeFromTheDataAreSpeakerDisjointBalancedAndSeeded) {
  const auto items = emodb_like();  // 10 speakers with 28..52 items each
  ProtocolConfig cfg = protocol("speaker_kfold");
  cfg.k = 4;
  const auto folds = build_folds(items, "manifest", cfg);
  expect_valid(items, folds, true, true);
  ASSERT_EQ(folds.size(), 4u);
  std::size_t smallest = items.size(), largest = 0;
  std::map<std::string, int> tested;
  for (const auto& fold : folds) {
    smallest = std::min(smallest, fold.test.size());
    largest = std::max(largest, fold.test.size());
    for (const auto& spk : speakers_of(items, fold.test)) ++tested[spk];
  }
  EXPECT_EQ(tested.size(), 10u);
  for (const auto& [spk, n] : tested) EXPECT_EQ(n, 1) << spk;
  // Greedy dealing keeps folds within one speaker's worth of items of each other.
  EXPECT_LE(largest - smallest, 52u) << smallest << ".." << largest;

  EXPECT_EQ(build_folds(items, "manifest", cfg)[2].test, folds[2].test) << "seeded";
  bool moved = false;
  for (std::uint64_t seed = 1; seed < 6 && !moved; ++seed) {
    ProtocolConfig other = cfg;
    other.seed = seed;
    const auto again = build_folds(items, "manifest", other);
    for (std::size_t f = 0; f < again.size(); ++f) moved = moved || again[f].test != folds[f].test;
  }
  EXPECT_TRUE(moved) << "another seed deals the speakers otherwise";

  cfg.k = 10;  // leave-one-speaker-out
  const auto loso = build_folds(items, "manifest", cfg);
  ASSERT_EQ(loso.size(), 10u);
  for (const auto& fold : loso) EXPECT_EQ(speakers_of(items, fold.test).size(), 1u);
  expect_valid(items, loso, true, true);
}

// ---------------------------------------------------------------- random_kfold

TEST(RandomKFold, StratifiedFoldsEachItemTestedOnce) {
  for (const auto& [corpus, k] : {std::pair{ravdess_like(), 5}, std::pair{emodb_like(), 3}, std::pair{emodb_like(), 10}}) {
    const std::vector<Item>& items = corpus;  // a plain reference: lambdas cannot capture bindings in C++17
    ProtocolConfig cfg = protocol("random_kfold");
    cfg.k = k;
    const auto folds = build_folds(items, "whatever", cfg);
    ASSERT_EQ(folds.size(), static_cast<std::size_t>(k));
    expect_valid(items, folds, false, true);
    const auto all = class_counts(items, [&] {
      std::vector<std::size_t> v(items.size());
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = i;
      return v;
    }());
    std::size_t min_size = items.size(), max_size = 0;
    for (const auto& [label, total] : all) {
      std::size_t lo = total, hi = 0;
      for (const auto& fold : folds) {
        const std::size_t n = class_counts(items, fold.test)[label];
        lo = std::min(lo, n);
        hi = std::max(hi, n);
      }
      EXPECT_LE(hi - lo, 1u) << label;
    }
    for (const auto& fold : folds) {
      min_size = std::min(min_size, fold.test.size());
      max_size = std::max(max_size, fold.test.size());
      // Validation: ceil(0.1 * n) of each class's training items (at least 1).
      const auto training = class_counts(items, fold.train);
      for (const auto& [label, n_val] : class_counts(items, fold.validation)) {
        const std::size_t n = training.at(label) + n_val;
        EXPECT_EQ(n_val, std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(0.1 * n - 1e-9)))) << label;
      }
      EXPECT_EQ(class_counts(items, fold.validation).size(), all.size());
    }
    EXPECT_LE(max_size - min_size, 1u);
  }
}

TEST(RandomKFold, ValidationKeepsAtLeastOneTrainingItemPerClass) {
  std::vector<Item> items;
  for (int i = 0; i < 3; ++i) items.push_back(item("a", "rare", i));  // 2 training items per fold
  for (int i = 0; i < 30; ++i) items.push_back(item("a", "common", i));
  ProtocolConfig cfg = protocol("random_kfold");
  cfg.k = 3;
  cfg.validation_fraction = 0.9;
  for (const auto& fold : build_folds(items, "", cfg)) {
    EXPECT_EQ(class_counts(items, fold.validation)["rare"], 1u);
    EXPECT_EQ(class_counts(items, fold.train)["rare"], 1u);
    EXPECT_EQ(class_counts(items, fold.train)["common"], 2u);  // min(ceil(0.9 * 20), 19) = 18 to validation
  }
}

// ---------------------------------------------------------------- holdout

TEST(Holdout, BySpeakers) {
  const auto items = ravdess_like();
  ProtocolConfig cfg = protocol("holdout");
  cfg.holdout_test_speakers = {"23", "24", "01"};
  const auto folds = build_folds(items, "ravdess", cfg);
  ASSERT_EQ(folds.size(), 1u);
  expect_valid(items, folds, true, false);
  EXPECT_EQ(speakers_of(items, folds[0].test), (std::set<std::string>{"01", "23", "24"}));
  EXPECT_EQ(speakers_of(items, folds[0].validation).size(), 3u);  // ceil(0.1 * 21)
}

TEST(Holdout, ByStratifiedFraction) {
  const auto items = emodb_like();
  ProtocolConfig cfg = protocol("holdout");
  cfg.holdout_test_fraction = 0.3;
  const auto folds = build_folds(items, "emodb", cfg);
  ASSERT_EQ(folds.size(), 1u);
  expect_valid(items, folds, false, false);
  std::vector<std::size_t> all(items.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto test = class_counts(items, folds[0].test);
  for (const auto& [label, n] : class_counts(items, all)) {
    EXPECT_EQ(test.at(label), static_cast<std::size_t>(std::ceil(0.3 * n - 1e-9))) << label;
  }
  EXPECT_FALSE(folds[0].validation.empty());
}

// ---------------------------------------------------------------- determinism

TEST(Protocols, SameSeedSameFoldsOtherSeedOtherFolds) {
  const auto items = ravdess_like();
  for (const std::string name : {"random_kfold", "speaker_kfold", "holdout"}) {
    ProtocolConfig cfg = protocol(name);
    const auto a = build_folds(items, "ravdess", cfg);
    const auto b = build_folds(items, "ravdess", cfg);
    EXPECT_TRUE(same(a, b)) << name;
    cfg.seed = 43;
    const auto c = build_folds(items, "ravdess", cfg);
    EXPECT_FALSE(same(a, c)) << name;
    expect_valid(items, c, name == "speaker_kfold", name == "random_kfold");
  }
}

// ---------------------------------------------------------------- errors

TEST(Protocols, ErrorsNameTheKeyAndTheCulprit) {
  const auto items = ravdess_like();
  ProtocolConfig cfg;

  EXPECT_ERROR(build_folds({}, "ravdess", cfg), "protocol", "no items");
  cfg.name = "leave_one_out";
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.name", "leave_one_out");

  cfg = protocol("random_kfold");
  cfg.k = 1;
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.k", "at least 2");
  auto small = items;
  for (int i = 0; i < 3; ++i) small.push_back(item("01", "rare", i));
  cfg.k = 4;
  EXPECT_ERROR(build_folds(small, "ravdess", cfg), "protocol.k", "class 'rare'", "3 items");
  cfg.k = 3;
  EXPECT_NO_THROW(build_folds(small, "ravdess", cfg));

  cfg = protocol("speaker_kfold");
  cfg.speaker_table = {{"01", "02"}, {"99", "03"}};
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.speaker_table", "99", "not in the corpus");
  cfg.speaker_table = {{"01", "02"}, {"03", "02"}};
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.speaker_table", "'02'", "fold 0 and fold 1");
  cfg.speaker_table = {{"01", "02", "01"}};
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.speaker_table", "'01'", "twice");
  cfg.speaker_table = {{"01", "02"}, {}};
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.speaker_table", "fold 1", "no speakers");
  cfg.speaker_table = {{"01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"},
                       {"13", "14", "15", "16", "17", "18", "19", "20", "21"}};
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.speaker_table", "22 23 24", "no fold");

  // The built-in table on a partial corpus names the actors it lacks.
  EXPECT_ERROR(build_folds(ravdess_like(20), "ravdess", protocol("speaker_kfold")), "protocol.speaker_table",
               "21 22 23 24", "not in the corpus");
  // Folds made from the data need at most one fold per speaker.
  cfg = protocol("speaker_kfold");
  cfg.k = 25;
  EXPECT_ERROR(build_folds(items, "manifest", cfg), "protocol.k", "exceeds the 24 speakers", "leave-one-speaker-out");

  // Only speaker 02 ever says 'calm': its test fold has no calm training data.
  std::vector<Item> calm_once;
  for (const std::string s : {"01", "02", "03", "04"}) {
    for (int i = 0; i < 3; ++i) calm_once.push_back(item(s, "angry", i));
  }
  calm_once.push_back(item("02", "calm", 0));
  cfg.speaker_table = {{"01", "03"}, {"02", "04"}};
  EXPECT_ERROR(build_folds(calm_once, "", cfg), "protocol.speaker_table", "class 'calm' absent from training in fold 1");
  cfg = protocol("holdout");
  cfg.holdout_test_speakers = {"02"};
  EXPECT_ERROR(build_folds(calm_once, "", cfg), "protocol.holdout_test_speakers", "class 'calm' absent from training");

  auto anonymous = items;
  anonymous[7].speaker.clear();
  EXPECT_ERROR(build_folds(anonymous, "ravdess", protocol("speaker_kfold")), "protocol.name", "speaker",
               anonymous[7].id);
  cfg = protocol("holdout");
  cfg.holdout_test_speakers = {"01"};
  EXPECT_ERROR(build_folds(anonymous, "ravdess", cfg), "protocol.holdout_test_speakers", "speaker");
  EXPECT_NO_THROW(build_folds(anonymous, "ravdess", protocol("random_kfold")));  // speakers not needed

  cfg.holdout_test_speakers = {"01", "77"};
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.holdout_test_speakers", "77");
  cfg.holdout_test_speakers.clear();
  cfg.holdout_test_fraction = 1.0;
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.holdout_test_fraction");
  cfg.holdout_test_fraction = 0.2;
  cfg.validation_fraction = -0.1;
  EXPECT_ERROR(build_folds(items, "ravdess", cfg), "protocol.validation_fraction");
}

// ---------------------------------------------------------------- check_fold

TEST(CheckFold, ReportsEachKindOfLeak) {
  const auto items = ravdess_like(2);  // 120 items, speakers 01 (0..59) and 02 (60..119)
  Fold good;
  good.index = 4;
  for (std::size_t i = 0; i < 120; ++i) (i < 60 ? good.train : good.test).push_back(i);
  EXPECT_EQ(check_fold(items, good, true), "");

  Fold f = good;
  f.validation.push_back(f.test.back());
  EXPECT_NE(check_fold(items, f, false).find("in both validation and test"), std::string::npos);
  f = good;
  f.test.pop_back();
  EXPECT_NE(check_fold(items, f, false).find("1 items in no part"), std::string::npos);
  f = good;
  f.test.push_back(120);
  EXPECT_NE(check_fold(items, f, false).find("out of range"), std::string::npos);
  f = good;
  f.train.push_back(0);
  EXPECT_NE(check_fold(items, f, false).find("twice in train"), std::string::npos);
  f = good;
  std::swap(f.train.back(), f.test.front());  // item 59 (speaker 01) to test, item 60 (speaker 02) to train
  EXPECT_EQ(check_fold(items, f, false), "");
  const std::string leak = check_fold(items, f, true);
  EXPECT_NE(leak.find("fold 4"), std::string::npos) << leak;
  EXPECT_NE(leak.find("speaker '0"), std::string::npos) << leak;
  EXPECT_NE(leak.find("train and test"), std::string::npos) << leak;
}

// ---------------------------------------------------------------- real corpora

TEST(ProtocolsShared, RealCorporaSatisfyTheInvariants) {
  SER_REQUIRE_SHARED();
  const std::string data = ser::test::shared_dir() + "/data";
  for (const std::string dataset : {"ravdess", "emodb"}) {
    const CorpusIndex index = dataset == "ravdess" ? index_ravdess(data + "/ravdess") : index_emodb(data + "/emodb");
    ASSERT_FALSE(index.items.empty()) << dataset;
    const auto& items = index.items;

    const auto speaker = build_folds(items, dataset, protocol("speaker_kfold"));
    EXPECT_EQ(speaker.size(), dataset == "ravdess" ? 6u : 10u);
    expect_valid(items, speaker, true, true);
    const auto table = builtin_speaker_table(dataset);
    for (std::size_t f = 0; f < speaker.size(); ++f) {
      EXPECT_EQ(speakers_of(items, speaker[f].test), std::set<std::string>(table[f].begin(), table[f].end()));
    }
    expect_valid(items, build_folds(items, dataset, protocol("random_kfold")), false, true);
    ProtocolConfig h = protocol("holdout");
    expect_valid(items, build_folds(items, dataset, h), false, false);
    h.holdout_test_speakers = table[0];
    expect_valid(items, build_folds(items, dataset, h), true, false);
  }
}

// ---- leakage rule 2: training-time copies ----

namespace {

struct ProtocolCase {
  const char* name;
  std::string dataset;
  ProtocolConfig cfg;
  bool by_speaker;
};

std::vector<ProtocolCase> every_protocol() {
  ProtocolConfig random_cfg;
  random_cfg.name = "random_kfold";
  ProtocolConfig speaker_cfg;
  speaker_cfg.name = "speaker_kfold";
  ProtocolConfig holdout_fraction;
  holdout_fraction.name = "holdout";
  ProtocolConfig holdout_speakers = holdout_fraction;
  holdout_speakers.holdout_test_speakers = {"03", "08"};
  ProtocolConfig no_validation = speaker_cfg;
  no_validation.validation_fraction = 0;
  return {{"random_kfold", "ravdess", random_cfg, false},   {"speaker_kfold", "ravdess", speaker_cfg, true},
          {"speaker_kfold emodb", "emodb", speaker_cfg, true}, {"holdout by fraction", "emodb", holdout_fraction, false},
          {"holdout by speakers", "emodb", holdout_speakers, true}, {"speaker_kfold, no validation", "emodb", no_validation, true}};
}

}  // namespace

// Every item of the corpus gets three copies in the table, test items included (the worst case:
// a cache shared by every fold), and every fold of every protocol must still train on copies of
// its own training items only.
TEST(AugmentedFolds, NoCopyOfATestOrValidationItemOrSpeakerReachesTrainingInAnyProtocol) {
  for (const auto& pc : every_protocol()) {
    SCOPED_TRACE(pc.name);
    const auto items = pc.dataset == "ravdess" ? ravdess_like() : emodb_like();
    std::vector<std::size_t> copy_source;
    for (std::size_t i = 0; i < items.size(); ++i)
      for (int c = 0; c < 3; ++c) copy_source.push_back(i);
    const std::size_t n = items.size();
    for (const Fold& fold : build_folds(items, pc.dataset, pc.cfg)) {
      const Fold f = with_copies(fold, copy_source, n);
      EXPECT_EQ(f.validation, fold.validation);
      EXPECT_EQ(f.test, fold.test);
      std::set<std::size_t> train(fold.train.begin(), fold.train.end());
      std::set<std::string> held_out_speakers;
      for (const auto* part : {&fold.validation, &fold.test})
        for (std::size_t i : *part) held_out_speakers.insert(items[i].speaker);
      std::size_t copies = 0;
      for (std::size_t row : f.train) {
        if (row < n) continue;
        ++copies;
        const std::size_t src = copy_source[row - n];
        ASSERT_TRUE(train.count(src)) << "copy of a non-training item " << items[src].id;
        if (pc.by_speaker) ASSERT_FALSE(held_out_speakers.count(items[src].speaker)) << items[src].id;
      }
      EXPECT_EQ(copies, 3 * fold.train.size()) << "every training item contributes its copies";
      EXPECT_EQ(check_copies(items, f, copy_source, pc.by_speaker), "");
    }
  }
}

TEST(AugmentedFolds, TheCheckCatchesEveryKindOfLeak) {
  const auto items = emodb_like();
  ProtocolConfig cfg;
  cfg.name = "speaker_kfold";
  const Fold fold = build_folds(items, "emodb", cfg).front();
  const std::size_t n = items.size();
  std::vector<std::size_t> copy_source = {fold.train.front(), fold.test.front(), fold.validation.front()};
  Fold clean = with_copies(fold, copy_source, n);
  EXPECT_EQ(check_copies(items, clean, copy_source, true), "");

  Fold copy_in_test = clean;
  copy_in_test.test.push_back(n);
  EXPECT_NE(check_copies(items, copy_in_test, copy_source, true).find("in test"), std::string::npos);
  Fold copy_in_validation = clean;
  copy_in_validation.validation.push_back(n);
  EXPECT_NE(check_copies(items, copy_in_validation, copy_source, true).find("in validation"), std::string::npos);
  Fold test_copy_in_train = clean;
  test_copy_in_train.train.push_back(n + 1);
  EXPECT_NE(check_copies(items, test_copy_in_train, copy_source, false).find("its source is not a training item"),
            std::string::npos);
  // A training item of a held-out speaker cannot exist in a valid fold, so build one by hand:
  // the copy's source is in train, its speaker also in test.
  Fold mixed = fold;
  std::size_t same_speaker = 0;
  for (std::size_t i : fold.test)
    if (i != fold.test.front() && items[i].speaker == items[fold.test.front()].speaker) same_speaker = i;
  mixed.test.erase(std::find(mixed.test.begin(), mixed.test.end(), same_speaker));
  mixed.train.push_back(same_speaker);
  const std::vector<std::size_t> one = {same_speaker};
  EXPECT_NE(check_copies(items, with_copies(mixed, one, n), one, true).find("held-out speaker"), std::string::npos);
  EXPECT_EQ(check_copies(items, with_copies(mixed, one, n), one, false), "");
}
