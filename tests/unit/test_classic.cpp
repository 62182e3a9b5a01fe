// Classic classifiers (ser::classic): libsvm SVC, liblinear / L-BFGS logistic regression.
// Synthetic fits, probabilities, save/load identity, determinism, bad input, gamma="scale", and
// agreement with scikit-learn (scripts/oracle_classic.py) on synthetic data and on RAVDESS fold 1
// (test actors 01 11 20 21) of the librosa reference features (193-dim and 1020-dim functionals).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "ser/classic/classic.hpp"
#include "ser/error.hpp"
#include "ser/features/scaler.hpp"
#include "ser/util/csv.hpp"
#include "ser/util/files.hpp"
#include "ser/util/npy.hpp"
#include "support/shared.hpp"

using ser::classic::ClassicModel;
using ser::classic::ClassicSettings;
namespace fs = std::filesystem;

namespace {

struct Data {
  std::vector<float> rows;  // n x dim
  std::vector<int> labels;
  std::size_t n = 0, dim = 0;
};

// k Gaussian blobs in `dim` dimensions; centres at distance ~`sep` (in units of the noise std).
Data blobs(std::size_t per_class, int k, std::size_t dim, double sep, unsigned seed, std::vector<int> skip = {}) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::mt19937 crng(1234);  // same centres for train and test draws
  std::vector<std::vector<double>> centre(static_cast<std::size_t>(k), std::vector<double>(dim));
  for (auto& c : centre)
    for (auto& v : c) v = sep * gauss(crng) / std::sqrt(2.0);
  Data d;
  d.dim = dim;
  for (std::size_t i = 0; i < per_class; ++i)
    for (int c = 0; c < k; ++c) {
      if (std::find(skip.begin(), skip.end(), c) != skip.end()) continue;
      for (std::size_t j = 0; j < dim; ++j) d.rows.push_back(static_cast<float>(centre[static_cast<std::size_t>(c)][j] + gauss(rng)));
      d.labels.push_back(c);
    }
  d.n = d.labels.size();
  return d;
}

ClassicSettings svm(const std::string& kernel = "rbf", double c = 1.0, bool probability = true) {
  ClassicSettings s;
  s.architecture = "svm";
  s.svm.kernel = kernel;
  s.svm.c = c;
  s.svm.probability = probability;
  return s;
}

ClassicSettings logreg(const std::string& mc = "ovr", double c = 1.0) {
  ClassicSettings s;
  s.architecture = "logreg";
  s.logreg.multi_class = mc;
  s.logreg.c = c;
  return s;
}

std::vector<ClassicSettings> all_kinds() {
  return {svm("rbf"), svm("linear", 1.0, false), svm("rbf", 10.0, false), logreg("ovr"), logreg("multinomial")};
}

std::string describe(const ClassicSettings& s) {
  if (s.architecture == "svm") return "svm/" + s.svm.kernel + (s.svm.probability ? "/prob" : "");
  return "logreg/" + s.logreg.multi_class;
}

double accuracy(const std::vector<int>& pred, const std::vector<int>& truth) {
  std::size_t ok = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) ok += pred[i] == truth[i];
  return pred.empty() ? 0.0 : static_cast<double>(ok) / static_cast<double>(pred.size());
}

std::string error_text(const std::function<void()>& f, ser::ErrorKind* kind = nullptr) {
  try {
    f();
  } catch (const ser::Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "<no ser::Error thrown>";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / ("ser_test_classic_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void check_proba(const std::vector<std::vector<float>>& proba, std::size_t n, int n_classes) {
  ASSERT_EQ(proba.size(), n);
  for (const auto& p : proba) {
    ASSERT_EQ(p.size(), static_cast<std::size_t>(n_classes));
    double sum = 0.0;
    for (float v : p) {
      EXPECT_GE(v, 0.0f);
      EXPECT_LE(v, 1.0f);
      sum += v;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

}  // namespace

// --- fitting and predicting ----------------------------------------------------------------------

TEST(Classic, ArchitectureNames) {
  EXPECT_TRUE(ser::classic::is_classic_architecture("svm"));
  EXPECT_TRUE(ser::classic::is_classic_architecture("logreg"));
  EXPECT_FALSE(ser::classic::is_classic_architecture("model_a"));
  EXPECT_FALSE(ser::classic::is_classic_architecture("SVM"));
  EXPECT_FALSE(ser::classic::is_classic_architecture(""));
}

TEST(Classic, SeparableDataIsLearnedByEveryModel) {
  const Data train = blobs(40, 4, 10, 8.0, 1), test = blobs(25, 4, 10, 8.0, 2);
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    EXPECT_EQ(m.dim(), 10u);
    EXPECT_EQ(m.n_classes(), 4);
    EXPECT_EQ(m.classes(), (std::vector<int>{0, 1, 2, 3}));
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(train.rows.data(), train.n, pred, proba);
    EXPECT_EQ(accuracy(pred, train.labels), 1.0);
    m.predict(test.rows.data(), test.n, pred, proba);
    EXPECT_GE(accuracy(pred, test.labels), 0.98);
    check_proba(proba, test.n, 4);
    // pred is a maximiser of proba for logreg (argmax of the decision values) and mostly for svm
    // (libsvm's vote and Platt's pairwise coupling may differ near a boundary).
    std::size_t agree = 0;
    for (std::size_t i = 0; i < test.n; ++i) {
      const float top = *std::max_element(proba[i].begin(), proba[i].end());
      agree += proba[i][static_cast<std::size_t>(pred[i])] == top;
    }
    if (s.architecture == "logreg")
      EXPECT_EQ(agree, test.n);
    else
      EXPECT_GE(agree, test.n * 95 / 100);
  }
}

TEST(Classic, OverlappingDataBeatsChanceWithValidProbabilities) {
  const Data train = blobs(60, 3, 6, 1.0, 3), test = blobs(60, 3, 6, 1.0, 4);
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 3, s);
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(test.rows.data(), test.n, pred, proba);
    const double acc = accuracy(pred, test.labels);
    EXPECT_GT(acc, 0.5);
    EXPECT_LT(acc, 1.0);  // really overlapping
    check_proba(proba, test.n, 3);
  }
}

TEST(Classic, BinaryProblems) {
  const Data train = blobs(50, 2, 5, 3.0, 5), test = blobs(50, 2, 5, 3.0, 6);
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 2, s);
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(test.rows.data(), test.n, pred, proba);
    EXPECT_GE(accuracy(pred, test.labels), 0.85);
    check_proba(proba, test.n, 2);
    // One pair (svm), one liblinear row (ovr), two softmax rows (multinomial).
    const std::size_t expect = s.logreg.multi_class == "multinomial" && s.architecture == "logreg" ? 2u : 1u;
    EXPECT_EQ(m.decision_values(test.rows.data(), 1).at(0).size(), expect);
  }
}

TEST(Classic, TinyTrainingSetsStillFit) {
  // One item per class (libsvm's Platt CV then has folds without one of the classes).
  const std::vector<float> rows = {-1.0f, 0.5f, 1.0f, -0.5f, 0.9f, -0.4f};
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const auto m = ClassicModel::fit(rows.data(), 2, 2, {0, 1}, 2, s);
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(rows.data(), 3, pred, proba);
    check_proba(proba, 3, 2);
    const auto m3 = ClassicModel::fit(rows.data(), 3, 2, {0, 1, 1}, 3, s);
    m3.predict(rows.data(), 3, pred, proba);
    check_proba(proba, 3, 3);
  }
}

TEST(Classic, ClassesAbsentFromTrainingGetZeroProbability) {
  // 5 classes declared, 1 and 4 never occur.
  const Data train = blobs(30, 5, 8, 6.0, 7, {1, 4}), test = blobs(10, 5, 8, 6.0, 8, {1, 4});
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 5, s);
    EXPECT_EQ(m.classes(), (std::vector<int>{0, 2, 3}));
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(test.rows.data(), test.n, pred, proba);
    check_proba(proba, test.n, 5);
    for (std::size_t i = 0; i < test.n; ++i) {
      EXPECT_NE(pred[i], 1);
      EXPECT_NE(pred[i], 4);
      EXPECT_EQ(proba[i][1], 0.0f);
      EXPECT_EQ(proba[i][4], 0.0f);
    }
    EXPECT_GE(accuracy(pred, test.labels), 0.95);
    // Two present classes out of many: still a valid (binary) model.
    Data two = blobs(20, 6, 4, 6.0, 9, {0, 2, 3, 5});
    const ClassicModel b = ClassicModel::fit(two.rows.data(), two.n, two.dim, two.labels, 6, s);
    b.predict(two.rows.data(), two.n, pred, proba);
    check_proba(proba, two.n, 6);
    EXPECT_EQ(accuracy(pred, two.labels), 1.0);
  }
}

TEST(Classic, SvmWithoutProbabilityGivesOneHotOfThePrediction) {
  const Data train = blobs(30, 3, 4, 2.0, 10);
  const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 3, svm("rbf", 1.0, false));
  std::vector<int> pred;
  std::vector<std::vector<float>> proba;
  m.predict(train.rows.data(), train.n, pred, proba);
  for (std::size_t i = 0; i < train.n; ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(proba[i][static_cast<std::size_t>(c)], c == pred[i] ? 1.0f : 0.0f);
}

TEST(Classic, ProbabilityDoesNotChangeSvmPredictions) {
  // libsvm's Platt CV is separate from the final model, so pred (the vote) is the same.
  const Data train = blobs(40, 4, 6, 1.5, 11), test = blobs(40, 4, 6, 1.5, 12);
  const auto with = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, svm("rbf", 1.0, true));
  const auto without = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, svm("rbf", 1.0, false));
  std::vector<int> p1, p2;
  std::vector<std::vector<float>> q1, q2;
  with.predict(test.rows.data(), test.n, p1, q1);
  without.predict(test.rows.data(), test.n, p2, q2);
  EXPECT_EQ(p1, p2);
}

TEST(Classic, BalancedClassWeightsFavourTheMinorityClass) {
  // 200 vs 20 items, overlapping: balanced weights must raise the minority's recall.
  Data big = blobs(200, 2, 3, 1.2, 13, {1}), small = blobs(20, 2, 3, 1.2, 14, {0});
  Data train = big;
  train.rows.insert(train.rows.end(), small.rows.begin(), small.rows.end());
  train.labels.insert(train.labels.end(), small.labels.begin(), small.labels.end());
  train.n = train.labels.size();
  const Data test = blobs(200, 2, 3, 1.2, 15);
  for (auto s : {svm("rbf", 1.0, false), svm("linear", 1.0, false), logreg("ovr"), logreg("multinomial")}) {
    SCOPED_TRACE(describe(s));
    auto recall1 = [&](const ClassicModel& m) {
      std::vector<int> pred;
      std::vector<std::vector<float>> proba;
      m.predict(test.rows.data(), test.n, pred, proba);
      std::size_t hit = 0, all = 0;
      for (std::size_t i = 0; i < test.n; ++i)
        if (test.labels[i] == 1) {
          ++all;
          hit += pred[i] == 1;
        }
      return static_cast<double>(hit) / static_cast<double>(all);
    };
    const double plain = recall1(ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 2, s));
    s.class_weights = true;
    const double balanced = recall1(ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 2, s));
    EXPECT_GT(balanced, plain + 0.1) << "plain " << plain << " balanced " << balanced;
  }
}

TEST(Classic, PredictIsThreadSafe) {
  const Data train = blobs(40, 4, 8, 2.0, 16), test = blobs(50, 4, 8, 2.0, 17);
  for (const auto& s : {svm("rbf"), logreg("multinomial")}) {
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    std::vector<int> ref;
    std::vector<std::vector<float>> ref_p;
    m.predict(test.rows.data(), test.n, ref, ref_p);
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int rep = 0; rep < 5; ++rep) {
          std::vector<int> pred;
          std::vector<std::vector<float>> proba;
          m.predict(test.rows.data(), test.n, pred, proba);
          if (pred != ref || proba != ref_p) ++mismatches;
        }
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0);
  }
}

// --- determinism, copies, save/load -------------------------------------------------------------

TEST(Classic, FitsAreDeterministicForASeed) {
  const Data train = blobs(40, 4, 6, 1.5, 18);
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const auto a = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    const auto b = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    EXPECT_EQ(a.to_json().dump(), b.to_json().dump());
  }
  // The seed drives libsvm's probability CV: another seed gives other Platt parameters (and the
  // same support vectors).
  auto s = svm("rbf");
  const auto a = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s).to_json();
  s.seed = 7;
  const auto b = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s).to_json();
  EXPECT_EQ(a["svm"]["support_vectors"], b["svm"]["support_vectors"]);
  EXPECT_EQ(a["svm"]["rho"], b["svm"]["rho"]);
  EXPECT_NE(a["svm"]["prob_a"], b["svm"]["prob_a"]);
}

TEST(Classic, ConcurrentSvmFitsWithProbabilityStayReproducible) {
  const Data train = blobs(30, 3, 5, 1.5, 19);
  const std::string ref = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 3, svm("rbf")).to_json().dump();
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      got[t] = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 3, svm("rbf")).to_json().dump();
    });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, ref);
}

TEST(Classic, SaveLoadRoundTripIsIdentical) {
  TempDir dir;
  const Data train = blobs(50, 4, 12, 1.5, 20, {2}), test = blobs(40, 4, 12, 1.5, 21);
  auto kinds = all_kinds();
  kinds.push_back(logreg("ovr"));
  kinds.back().class_weights = true;
  auto with_gamma = svm("rbf", 3.0);
  with_gamma.svm.gamma = 0.0123;
  kinds.push_back(with_gamma);
  int idx = 0;
  for (const auto& s : kinds) {
    SCOPED_TRACE(describe(s));
    const auto m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    const std::string path = dir.file("model" + std::to_string(idx++) + ".json");
    m.save(path);
    const auto loaded = ClassicModel::load(path);
    EXPECT_EQ(loaded.to_json(), m.to_json());
    EXPECT_EQ(loaded.dim(), m.dim());
    EXPECT_EQ(loaded.n_classes(), m.n_classes());
    EXPECT_EQ(loaded.settings().svm.gamma, s.svm.gamma);
    EXPECT_EQ(loaded.gamma_used(), m.gamma_used());
    std::vector<int> p1, p2;
    std::vector<std::vector<float>> q1, q2;
    m.predict(test.rows.data(), test.n, p1, q1);
    loaded.predict(test.rows.data(), test.n, p2, q2);
    EXPECT_EQ(p1, p2);
    EXPECT_EQ(q1, q2);  // bitwise
    EXPECT_EQ(m.decision_values(test.rows.data(), test.n), loaded.decision_values(test.rows.data(), test.n));
    // Copies share the fitted state and predict the same.
    ClassicModel copy = loaded;
    ClassicModel moved = std::move(copy);
    moved.predict(test.rows.data(), test.n, p2, q2);
    EXPECT_EQ(q1, q2);
    EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    // No temp file left behind.
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) files += contains(e.path().string(), ".tmp.");
    EXPECT_EQ(files, 0u);
  }
}

TEST(Classic, PrecomputedKernelPathTrainsTheSameSvm) {
  // Small training sets hand libsvm a precomputed kernel matrix; it must give the model libsvm's
  // own kernel code gives (bit for bit; Platt's CV evaluates its kernel values in another form,
  // so probA/probB may differ in the last digits).
  const Data train = blobs(40, 4, 9, 1.0, 26), test = blobs(30, 4, 9, 1.0, 27);
  for (const auto& s : {svm("rbf", 10.0, true), svm("linear", 1.0, false), svm("rbf", 1.0, false)}) {
    SCOPED_TRACE(describe(s));
    const auto gram = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    const std::size_t before = ser::classic::detail::set_svm_gram_max_rows(0);
    const auto plain = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    ser::classic::detail::set_svm_gram_max_rows(before);
    auto a = gram.to_json(), b = plain.to_json();
    for (const char* key : {"support_vectors", "sv_coef", "rho", "n_sv"}) EXPECT_EQ(a["svm"][key], b["svm"][key]) << key;
    const auto pa = a["svm"]["prob_a"].get<std::vector<double>>(), pb = b["svm"]["prob_a"].get<std::vector<double>>();
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_NEAR(pa[i], pb[i], 1e-6 * std::abs(pb[i]) + 1e-9);
    std::vector<int> p1, p2;
    std::vector<std::vector<float>> q1, q2;
    gram.predict(test.rows.data(), test.n, p1, q1);
    plain.predict(test.rows.data(), test.n, p2, q2);
    EXPECT_EQ(p1, p2);
  }
}

TEST(Classic, GammaScaleIsSklearnsFormula) {
  const Data d = blobs(17, 3, 7, 2.0, 22);
  double mean = 0.0;
  for (float v : d.rows) mean += v;
  mean /= static_cast<double>(d.rows.size());
  double var = 0.0;
  for (float v : d.rows) var += (v - mean) * (v - mean);
  var /= static_cast<double>(d.rows.size());
  const double expect = 1.0 / (7.0 * var);
  EXPECT_NEAR(ser::classic::gamma_scale(d.rows.data(), d.n, d.dim), expect, 1e-13 * expect);
  const auto m = ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, svm("rbf"));
  EXPECT_NEAR(m.gamma_used(), expect, 1e-13 * expect);
  EXPECT_EQ(m.settings().svm.gamma, 0.0);  // the settings keep "scale"
  auto explicit_gamma = svm("rbf");
  explicit_gamma.svm.gamma = 0.5;
  EXPECT_EQ(ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, explicit_gamma).gamma_used(), 0.5);
  EXPECT_EQ(ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, svm("linear")).gamma_used(), 0.0);
  // Zero variance: sklearn uses 1.
  const std::vector<float> constant(12, 3.0f);
  EXPECT_EQ(ser::classic::gamma_scale(constant.data(), 4, 3), 1.0);
}

// --- bad input ------------------------------------------------------------------------------------

TEST(Classic, BadTrainingDataIsReported) {
  const Data d = blobs(10, 3, 4, 2.0, 23);
  ser::ErrorKind kind{};
  const auto s = svm("rbf");
  {
    const std::vector<int> one(d.n, 1);
    const auto e = error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, one, 3, s); }, &kind);
    EXPECT_TRUE(contains(e, "only one class")) << e;
    EXPECT_EQ(kind, ser::ErrorKind::Input);
  }
  {
    auto rows = d.rows;
    rows[2 * d.dim + 3] = std::numeric_limits<float>::quiet_NaN();
    const auto e = error_text([&] { ClassicModel::fit(rows.data(), d.n, d.dim, d.labels, 3, logreg()); }, &kind);
    EXPECT_TRUE(contains(e, "non-finite")) << e;
    EXPECT_TRUE(contains(e, "row 2")) << e;
    EXPECT_EQ(kind, ser::ErrorKind::Input);
    rows[2 * d.dim + 3] = std::numeric_limits<float>::infinity();
    EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(rows.data(), d.n, d.dim, d.labels, 3, s); }), "non-finite"));
  }
  {
    auto labels = d.labels;
    labels[5] = 3;
    EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, labels, 3, s); }), "outside 0..2"));
    labels[5] = -1;
    EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, labels, 3, s); }), "outside"));
    labels.pop_back();
    EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, labels, 3, s); }), "labels for"));
  }
  EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), 0, d.dim, {}, 3, s); }), "no training rows"));
  EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 1, s); }), "n_classes"));
  // Prediction rows are checked too.
  const auto m = ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, s);
  auto rows = d.rows;
  rows[1] = std::numeric_limits<float>::quiet_NaN();
  std::vector<int> pred;
  std::vector<std::vector<float>> proba;
  EXPECT_TRUE(contains(error_text([&] { m.predict(rows.data(), 2, pred, proba); }), "non-finite"));
  // An empty (default / moved-from) model refuses to work.
  ClassicModel empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(contains(error_text([&] { empty.predict(rows.data(), 1, pred, proba); }), "before it was fitted"));
}

TEST(Classic, BadSettingsNameTheKey) {
  const Data d = blobs(10, 2, 3, 2.0, 24);
  ser::ErrorKind kind{};
  auto fit = [&](const ClassicSettings& s) { ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 2, s); };
  auto s = svm("poly");
  auto e = error_text([&] { fit(s); }, &kind);
  EXPECT_TRUE(contains(e, "model.svm_kernel")) << e;
  EXPECT_TRUE(contains(e, "poly")) << e;
  EXPECT_EQ(kind, ser::ErrorKind::Config);
  s = svm("rbf", 0.0);
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.svm_c"));
  s = svm("rbf");
  s.svm.tol = -1;
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.svm_tol"));
  s = logreg("softmax");
  e = error_text([&] { fit(s); });
  EXPECT_TRUE(contains(e, "model.logreg_multi_class")) << e;
  EXPECT_TRUE(contains(e, "softmax")) << e;
  s = logreg("ovr", -1.0);
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.logreg_c"));
  s = logreg("multinomial");
  s.logreg.max_iter = 0;
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.logreg_max_iter"));
  s.architecture = "mlp";
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.architecture"));
}

TEST(Classic, CorruptOrInconsistentFilesAreRejectedNamingTheFile) {
  TempDir dir;
  const Data d = blobs(15, 3, 4, 2.0, 25);
  const auto svm_json = ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, svm("rbf")).to_json();
  const auto lr_json = ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, logreg("ovr")).to_json();
  auto rejects = [&](const std::string& name, const std::string& text, const std::string& part) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name);
    ser::util::write_text_atomic(path, text);
    ser::ErrorKind kind{};
    const auto e = error_text([&] { ClassicModel::load(path); }, &kind);
    EXPECT_TRUE(contains(e, path)) << e;
    EXPECT_TRUE(contains(e, part)) << e;
    EXPECT_EQ(kind, ser::ErrorKind::Input) << e;
  };
  {
    ser::ErrorKind kind{};
    const auto e = error_text([&] { ClassicModel::load(dir.file("missing.json")); }, &kind);
    EXPECT_TRUE(contains(e, "missing.json")) << e;
    EXPECT_EQ(kind, ser::ErrorKind::Input);
  }
  const std::string full = svm_json.dump();
  rejects("truncated.json", full.substr(0, full.size() / 2), "not valid JSON");
  rejects("array.json", "[1, 2]", "not a valid classic model");
  auto j = svm_json;
  j["format"] = "something-else";
  rejects("format.json", j.dump(), "format");
  j = svm_json;
  j["format_version"] = 99;
  rejects("version.json", j.dump(), "format_version");
  j = svm_json;
  j["svm"]["rho"].erase(0);
  rejects("rho.json", j.dump(), "svm.rho");
  j = svm_json;
  j["svm"]["support_vectors"]["base64"] = "AAAA";
  rejects("sv.json", j.dump(), "base64");
  j = svm_json;
  j["svm"]["n_sv"][0] = j["svm"]["n_sv"][0].get<int>() + 1;
  rejects("nsv.json", j.dump(), "shape");
  j = svm_json;
  j["svm"]["prob_a"] = nlohmann::json::array();
  rejects("prob.json", j.dump(), "prob_a");
  j = svm_json;
  j["settings"]["svm"]["kernel"] = "sigmoid";
  rejects("kernel.json", j.dump(), "model.svm_kernel");
  j = svm_json;
  j["classes"] = {0, 2, 1};
  rejects("classes.json", j.dump(), "ascending");
  j = svm_json;
  j.erase("dim");
  rejects("nodim.json", j.dump(), "dim");
  j = lr_json;
  j["logreg"]["coef"][1].erase(0);
  rejects("coef.json", j.dump(), "dim values");
  j = lr_json;
  j["logreg"]["intercept"] = {1.0, "x", 2.0};
  rejects("intercept.json", j.dump(), "not a valid classic model");
  j = lr_json;
  j["logreg"]["multi_class"] = "multinomial";
  rejects("mc.json", j.dump(), "multi_class");
}

// --- scikit-learn oracle ----------------------------------------------------------------------------

namespace {

std::string project_dir() { return fs::weakly_canonical(fs::path(ser::test::fixtures_dir()) / ".." / "..").string(); }

// A Python with scikit-learn: $SER_PYTHON, else python3, else /usr/bin/python3 (Debian's, where
// python3-sklearn lives even when another python3 is first on PATH). Empty when none has it.
std::string sklearn_python() {
  static const std::string found = [] {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("SER_PYTHON")) candidates.push_back(env);
    candidates.push_back("python3");
    candidates.push_back("/usr/bin/python3");
    for (const auto& py : candidates)
      if (std::system(("'" + py + "' -c 'import sklearn, numpy' >/dev/null 2>&1").c_str()) == 0) return py;
    return std::string();
  }();
  return found;
}

#define SER_REQUIRE_SKLEARN()                                                                         \
  do {                                                                                                \
    if (sklearn_python().empty())                                                                     \
      GTEST_SKIP() << "no python3 with scikit-learn (set SER_PYTHON or install python3-sklearn); " \
                      "skipping the scikit-learn oracle check";                                       \
  } while (0)

struct Split {
  std::vector<float> train, test;
  std::vector<int> ytrain, ytest;
  std::size_t dim = 0;
  std::size_t ntrain() const { return ytrain.size(); }
  std::size_t ntest() const { return ytest.size(); }
};

std::string oracle_args(const ClassicSettings& s) {
  std::ostringstream a;
  a.precision(17);
  if (s.architecture == "svm") {
    a << " --model svm --kernel " << s.svm.kernel << " --C " << s.svm.c << " --tol " << s.svm.tol << " --probability "
      << (s.svm.probability ? 1 : 0) << " --gamma " << (s.svm.gamma > 0 ? std::to_string(s.svm.gamma) : std::string("scale"));
  } else {
    a << " --model logreg --multi-class " << s.logreg.multi_class << " --C " << s.logreg.c << " --tol " << s.logreg.tol
      << " --max-iter " << s.logreg.max_iter;
  }
  a << " --class-weight " << (s.class_weights ? "balanced" : "none") << " --seed " << s.seed;
  return a.str();
}

struct OracleResult {
  std::size_t agree = 0, total = 0;
  double our_fit_s = 0.0, sklearn_fit_s = 0.0;
  double max_proba_diff = 0.0;
  std::uintmax_t model_bytes = 0;
};

OracleResult compare_with_sklearn(const Split& sp, int n_classes, const ClassicSettings& s, const std::string& tag) {
  TempDir dir;
  ser::util::write_npy_f32(dir.file("train.npy"), {sp.ntrain(), sp.dim}, sp.train.data());
  ser::util::write_npy_f32(dir.file("test.npy"), {sp.ntest(), sp.dim}, sp.test.data());
  {
    std::ofstream y(dir.file("ytrain.csv"));
    for (int v : sp.ytrain) y << v << "\n";
  }
  const std::string cmd = "'" + sklearn_python() + "' '" + project_dir() + "/scripts/oracle_classic.py' --train '" +
                          dir.file("train.npy") + "' --train-labels '" + dir.file("ytrain.csv") + "' --test '" +
                          dir.file("test.npy") + "'" + oracle_args(s) + " > '" + dir.file("out.json") + "' 2> '" +
                          dir.file("err.txt") + "'";
  OracleResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const ClassicModel m = ClassicModel::fit(sp.train.data(), sp.ntrain(), sp.dim, sp.ytrain, n_classes, s);
  r.our_fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<int> pred;
  std::vector<std::vector<float>> proba;
  m.predict(sp.test.data(), sp.ntest(), pred, proba);
  {  // save -> load -> predict is identical on realistic data too
    m.save(dir.file("model.json"));
    r.model_bytes = fs::file_size(dir.file("model.json"));
    std::vector<int> pred2;
    std::vector<std::vector<float>> proba2;
    ClassicModel::load(dir.file("model.json")).predict(sp.test.data(), sp.ntest(), pred2, proba2);
    EXPECT_EQ(pred2, pred) << tag;
    EXPECT_EQ(proba2, proba) << tag;
  }

  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    ADD_FAILURE() << tag << ": oracle failed (" << rc << "): " << cmd << "\n" << ser::util::read_text(dir.file("err.txt"));
    return r;
  }
  const auto out = ser::util::read_json(dir.file("out.json"));
  const auto ref = out.at("pred").get<std::vector<int>>();
  EXPECT_EQ(ref.size(), pred.size());
  r.total = std::min(ref.size(), pred.size());
  for (std::size_t i = 0; i < r.total; ++i) r.agree += ref[i] == pred[i];
  r.sklearn_fit_s = out.at("fit_seconds").get<double>();
  if (s.architecture == "svm" && s.svm.kernel == "rbf" && s.svm.gamma <= 0) {
    const double g = out.at("gamma").get<double>();
    EXPECT_NEAR(m.gamma_used(), g, 1e-12 * g) << tag;
  }
  if (s.architecture == "logreg" && out.contains("proba")) {
    const auto cls = out.at("classes").get<std::vector<int>>();
    const auto pr = out.at("proba").get<std::vector<std::vector<double>>>();
    for (std::size_t i = 0; i < std::min(pr.size(), proba.size()); ++i)
      for (std::size_t c = 0; c < cls.size(); ++c)
        r.max_proba_diff = std::max(r.max_proba_diff, std::abs(pr[i][c] - proba[i][static_cast<std::size_t>(cls[c])]));
  }
  std::cout << "[oracle] " << tag << " " << describe(s) << " C=" << (s.architecture == "svm" ? s.svm.c : s.logreg.c)
            << (s.class_weights ? " balanced" : "") << ": " << r.agree << "/" << r.total << " agree with sklearn "
            << out.at("sklearn").get<std::string>() << "; fit " << r.our_fit_s << " s (sklearn " << r.sklearn_fit_s << " s)";
  if (s.architecture == "logreg") std::cout << "; max |proba diff| " << r.max_proba_diff;
  std::cout << "; model.json " << r.model_bytes / 1024 << " KiB";
  std::cout << std::endl;
  return r;
}

void expect_agreement(const OracleResult& r, double min_fraction) {
  ASSERT_GT(r.total, 0u);
  EXPECT_GE(static_cast<double>(r.agree), min_fraction * static_cast<double>(r.total)) << r.agree << "/" << r.total;
}

// RAVDESS fold 1 of a librosa reference table: test actors 01 11 20 21, standardised on training.
Split ravdess_fold1(const std::string& csv_path) {
  Split sp;
  const auto rows = ser::util::parse_csv(ser::util::read_text(csv_path), csv_path);
  if (rows.size() < 2) return sp;
  sp.dim = rows[0].fields.size() - 1;
  std::vector<float> all;
  std::vector<int> labels;
  std::vector<bool> is_test;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    if (f.size() != sp.dim + 1) continue;
    const std::string& id = f[0];  // ravdess/Actor_NN/03-01-EE-...
    const auto a = id.find("Actor_");
    const auto slash = id.rfind('/');
    if (a == std::string::npos || slash == std::string::npos) continue;
    const int actor = std::stoi(id.substr(a + 6, 2));
    const std::string name = id.substr(slash + 1);
    const int emotion = std::stoi(name.substr(6, 2));  // third field
    labels.push_back(emotion - 1);
    is_test.push_back(actor == 1 || actor == 11 || actor == 20 || actor == 21);
    for (std::size_t j = 0; j < sp.dim; ++j) all.push_back(std::strtof(f[j + 1].c_str(), nullptr));
  }
  std::vector<std::size_t> train_idx;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (!is_test[i]) train_idx.push_back(i);
  ser::features::StandardScaler scaler;
  scaler.fit(all.data(), train_idx, sp.dim);
  scaler.transform_rows(all.data(), labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto& dst = is_test[i] ? sp.test : sp.train;
    dst.insert(dst.end(), all.begin() + static_cast<std::ptrdiff_t>(i * sp.dim), all.begin() + static_cast<std::ptrdiff_t>((i + 1) * sp.dim));
    (is_test[i] ? sp.ytest : sp.ytrain).push_back(labels[i]);
  }
  return sp;
}

void ravdess_oracle(const std::string& file) {
  const std::string path = ser::test::reference_dir() + "/" + file;
  if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
  const Split sp = ravdess_fold1(path);
  ASSERT_EQ(sp.ntrain(), 1200u);
  ASSERT_EQ(sp.ntest(), 240u);
  ClassicSettings rbf = svm("rbf", 10.0, true);
  ClassicSettings linear = svm("linear", 1.0, false);
  ClassicSettings ovr = logreg("ovr", 0.1);
  ClassicSettings multi = logreg("multinomial", 0.1);
  // FUNCTIONALS.md: libsvm and liblinear predict exactly what sklearn predicts (240/240).
  expect_agreement(compare_with_sklearn(sp, 8, rbf, file), 1.0);
  expect_agreement(compare_with_sklearn(sp, 8, linear, file), 0.99);
  expect_agreement(compare_with_sklearn(sp, 8, ovr, file), 1.0);
  expect_agreement(compare_with_sklearn(sp, 8, multi, file), 0.99);
}

}  // namespace

TEST(ClassicOracle, SyntheticAgreesWithSklearn) {
  SER_REQUIRE_SKLEARN();
  const Data tr = blobs(60, 5, 20, 1.0, 30), te = blobs(60, 5, 20, 1.0, 31, {3});
  Split sp;
  sp.dim = tr.dim;
  sp.train = tr.rows;
  sp.ytrain = tr.labels;
  sp.test = te.rows;
  sp.ytest = te.labels;
  std::vector<ClassicSettings> kinds = {svm("rbf", 10.0, true), svm("linear", 1.0, false), logreg("ovr", 0.1),
                                        logreg("multinomial", 0.1)};
  for (std::size_t i = 0, n = kinds.size(); i < n; ++i) {
    kinds.push_back(kinds[i]);
    kinds.back().class_weights = true;
  }
  for (const auto& s : kinds) {
    SCOPED_TRACE(describe(s));
    expect_agreement(compare_with_sklearn(sp, 5, s, "synthetic"), 0.99);
  }
  // Imbalanced, with a class absent from training, class weights on.
  const Data full = blobs(60, 4, 8, 1.0, 32, {2});
  Data imb;
  imb.dim = full.dim;
  for (std::size_t i = 0; i < full.n; ++i) {
    const int c = full.labels[i];
    if ((c == 1 && i % 4 != 0) || (c == 3 && i % 2 != 0)) continue;  // 60 / 15 / 30 items
    imb.rows.insert(imb.rows.end(), full.rows.begin() + static_cast<std::ptrdiff_t>(i * full.dim),
                    full.rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * full.dim));
    imb.labels.push_back(c);
  }
  imb.n = imb.labels.size();
  Split sp2;
  sp2.dim = imb.dim;
  sp2.train = imb.rows;
  sp2.ytrain = imb.labels;
  const Data te2 = blobs(40, 4, 8, 1.0, 33);
  sp2.test = te2.rows;
  sp2.ytest = te2.labels;
  for (auto s : {svm("rbf", 10.0, false), logreg("ovr", 0.1), logreg("multinomial", 0.1)}) {
    s.class_weights = true;
    SCOPED_TRACE(describe(s));
    expect_agreement(compare_with_sklearn(sp2, 4, s, "imbalanced"), 0.99);
  }
}

TEST(ClassicOracle, RavdessFold1Issa193AgreesWithSklearn) {
  SER_REQUIRE_SHARED();
  SER_REQUIRE_SKLEARN();
  ravdess_oracle("ravdess_features193.csv");
}

TEST(ClassicOracle, RavdessFold1FunctionalsAgreesWithSklearn) {
  SER_REQUIRE_SHARED();
  SER_REQUIRE_SKLEARN();
  ravdess_oracle("ravdess_functionals.csv");
}
