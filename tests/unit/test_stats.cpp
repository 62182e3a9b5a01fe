// ser::eval::stats on hand-computed cases: binomial/McNemar p-values, exact permutation p-values,
// Holm, point metrics against compute_metrics, bootstrap invariants and input errors.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ser/error.hpp"
#include "ser/eval/metrics.hpp"
#include "ser/eval/stats.hpp"

namespace st = ser::eval::stats;

namespace {

// n_units units of items_per_unit items, k classes, `repeats` independent random predictions
// that are right with probability p_right.
st::Scored random_scored(int n_units, int items_per_unit, int k, int repeats, double p_right, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> coin(0, 1);
  st::Scored s;
  s.n_classes = k;
  s.n_units = n_units;
  for (int u = 0; u < n_units; ++u)
    for (int i = 0; i < items_per_unit; ++i) {
      s.unit.push_back(u);
      s.truth.push_back(static_cast<int>(rng() % static_cast<unsigned>(k)));
    }
  s.pred.resize(static_cast<std::size_t>(repeats));
  for (auto& p : s.pred)
    for (int t : s.truth) p.push_back(coin(rng) < p_right ? t : static_cast<int>(rng() % static_cast<unsigned>(k)));
  return s;
}

// One item per unit, all of class 0; A right on every item, B wrong on every item.
std::pair<st::Scored, st::Scored> all_vs_none(int n_units) {
  st::Scored a;
  a.n_classes = 2;
  a.n_units = n_units;
  for (int u = 0; u < n_units; ++u) a.unit.push_back(u), a.truth.push_back(0);
  st::Scored b = a;
  a.pred = {std::vector<int>(static_cast<std::size_t>(n_units), 0)};
  b.pred = {std::vector<int>(static_cast<std::size_t>(n_units), 1)};
  return {a, b};
}

template <class F>
void expect_input_error(F f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no ser::Error thrown (expected: " << part << ")";
  } catch (const ser::Error& e) {
    EXPECT_EQ(e.kind(), ser::ErrorKind::Input) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

}  // namespace

// Loader's pmf is accurate to a few ulps (SciPy's boost ibeta to about one), so hand values are
// checked to 1e-14 relative.
#define EXPECT_P(x, ref) EXPECT_NEAR(x, ref, 1e-14 * (ref))

TEST(StatsBinom, HandComputedPValues) {
  EXPECT_P(st::mcnemar_exact_p(0, 5), 2.0 / 32);
  EXPECT_P(st::mcnemar_exact_p(5, 0), 2.0 / 32);
  EXPECT_P(st::mcnemar_exact_p(1, 1), 1.0);
  EXPECT_P(st::mcnemar_exact_p(0, 0), 1.0);
  EXPECT_P(st::mcnemar_exact_p(2, 8), 2.0 * (1 + 10 + 45) / 1024);
  EXPECT_P(st::mcnemar_exact_p(1, 2), 1.0);  // outcomes 1 and 2 of 3 equally likely
  // p = 1/4, n = 4: pmf = {81, 108, 54, 12, 1} / 256.
  EXPECT_P(st::binomtest_two_sided(0, 4, 0.25), (81.0 + 54 + 12 + 1) / 256);
  EXPECT_P(st::binomtest_two_sided(3, 4, 0.25), (12.0 + 1) / 256);
  EXPECT_P(st::binomtest_two_sided(1, 4, 0.25), 1.0);  // k == n p
  EXPECT_P(st::binomtest_two_sided(2, 2, 0.25), 1.0 / 16);
  EXPECT_P(st::binomtest_two_sided(0, 3, 0.0), 1.0);
  EXPECT_EQ(st::binomtest_two_sided(1, 3, 0.0), 0.0);
}

TEST(StatsBinom, LargeNIsAProbability) {
  const double p = st::mcnemar_exact_p(50000, 50300);
  EXPECT_GT(p, 0.3);
  EXPECT_LT(p, 0.4);  // z = 300 / sqrt(100300) = 0.947 -> about 0.34
  EXPECT_LT(st::mcnemar_exact_p(0, 100000), 1e-300);
  EXPECT_DOUBLE_EQ(st::mcnemar_exact_p(50000, 50000), 1.0);
}

TEST(StatsPermutation, ExactEnumerationByHand) {
  // T = (n - 2|S|) / n over swap sets S; only S = {} reaches the observed 1: p = 2 / 2^n.
  for (int n : {3, 4}) {
    auto [a, b] = all_vs_none(n);
    bool exact = false;
    long long evaluated = 0;
    EXPECT_DOUBLE_EQ(st::permutation_p_uar(a, b, {1 << n, 0}, &exact, &evaluated), 2.0 / (1 << n));
    EXPECT_TRUE(exact);
    EXPECT_EQ(evaluated, 1LL << n);
  }
  // A right on units 0 and 1 only, B right on unit 2 only: T = sum of +-1/3; observed 1/3,
  // #{T >= 1/3} = 4 of 8 -> p = 1.
  auto [a, b] = all_vs_none(3);
  a.pred[0][2] = 1;
  b.pred[0][2] = 0;
  EXPECT_DOUBLE_EQ(st::permutation_p_uar(a, b, {8, 0}), 1.0);
}

TEST(StatsPermutation, RandomisedCountsAsScipy) {
  // 40 units: the observed extreme is never reached by chance, so p = 2 (0 + 1) / (n + 1).
  auto [a, b] = all_vs_none(40);
  bool exact = true;
  long long evaluated = 0;
  EXPECT_DOUBLE_EQ(st::permutation_p_uar(a, b, {999, 3}, &exact, &evaluated), 2.0 / 1000);
  EXPECT_FALSE(exact);
  EXPECT_EQ(evaluated, 999);
  // 3 units but fewer permutations than 2^3: randomised.
  auto [a3, b3] = all_vs_none(3);
  st::permutation_p_uar(a3, b3, {7, 0}, &exact, &evaluated);
  EXPECT_FALSE(exact);
  EXPECT_EQ(evaluated, 7);
  // A against itself: every null value equals the observed 0, p = 1.
  EXPECT_DOUBLE_EQ(st::permutation_p_uar(a, a, {100, 1}), 1.0);
}

TEST(StatsHolm, HandCase) {
  const auto adj = st::holm_adjust({0.01, 0.04, 0.03});
  ASSERT_EQ(adj.size(), 3u);
  EXPECT_NEAR(adj[0], 0.03, 1e-15);
  EXPECT_NEAR(adj[1], 0.06, 1e-15);
  EXPECT_NEAR(adj[2], 0.06, 1e-15);
  const auto capped = st::holm_adjust({0.5, 0.2, 0.9, 0.01});
  EXPECT_NEAR(capped[3], 0.04, 1e-15);
  EXPECT_DOUBLE_EQ(capped[1], 0.6);
  EXPECT_DOUBLE_EQ(capped[0], 1.0);
  EXPECT_DOUBLE_EQ(capped[2], 1.0);
  EXPECT_TRUE(st::holm_adjust({}).empty());
}

TEST(StatsPoint, MatchesComputeMetrics) {
  const std::vector<std::string> labels{"a", "b", "c", "d", "e"};
  for (unsigned seed : {1u, 2u, 3u}) {
    // 5 classes over few items, so some classes are absent from truth or predictions.
    const auto s = random_scored(4, 3, 5, 3, 0.5, seed);
    double acc = 0, uar = 0, f1 = 0;
    for (const auto& p : s.pred) {
      const auto m = ser::eval::compute_metrics(s.truth, p, labels);
      acc += m.accuracy, uar += m.balanced_accuracy, f1 += m.macro_f1;
    }
    const auto t = st::point_metrics(s);
    EXPECT_DOUBLE_EQ(t.accuracy, acc / 3);
    EXPECT_DOUBLE_EQ(t.balanced_accuracy, uar / 3);
    EXPECT_DOUBLE_EQ(t.macro_f1, f1 / 3);
  }
}

TEST(StatsBootstrap, IdenticalUnitsGiveADegenerateInterval) {
  st::Scored s;
  s.n_classes = 3;
  s.n_units = 5;
  s.pred.resize(1);
  for (int u = 0; u < 5; ++u)
    for (int i = 0; i < 3; ++i) s.unit.push_back(u), s.truth.push_back(i), s.pred[0].push_back(i == 2 ? 1 : i);
  const auto t = st::point_metrics(s);
  const auto iv = st::bootstrap_intervals(s, {500, 7, 0.95});
  for (auto [i, v] : {std::pair{iv.accuracy, t.accuracy}, {iv.balanced_accuracy, t.balanced_accuracy}, {iv.macro_f1, t.macro_f1}}) {
    EXPECT_DOUBLE_EQ(i.low, v);
    EXPECT_DOUBLE_EQ(i.high, v);
  }
}

TEST(StatsBootstrap, DeterministicPerSeedAndRepeatInvariant) {
  const auto s = random_scored(15, 4, 4, 1, 0.6, 11);
  const auto x = st::bootstrap_intervals(s, {1000, 42, 0.9});
  const auto y = st::bootstrap_intervals(s, {1000, 42, 0.9});
  const auto z = st::bootstrap_intervals(s, {1000, 43, 0.9});
  EXPECT_EQ(x.accuracy.low, y.accuracy.low);
  EXPECT_EQ(x.balanced_accuracy.high, y.balanced_accuracy.high);
  EXPECT_EQ(x.macro_f1.low, y.macro_f1.low);
  EXPECT_TRUE(x.accuracy.low != z.accuracy.low || x.accuracy.high != z.accuracy.high ||
              x.balanced_accuracy.low != z.balanced_accuracy.low || x.macro_f1.high != z.macro_f1.high);
  const auto t = st::point_metrics(s);
  EXPECT_LT(x.balanced_accuracy.low, t.balanced_accuracy);
  EXPECT_GT(x.balanced_accuracy.high, t.balanced_accuracy);
  // Two identical repeats: the mean over repeats is each repeat's value, so the same interval.
  auto twice = s;
  twice.pred.push_back(s.pred[0]);
  const auto w = st::bootstrap_intervals(twice, {1000, 42, 0.9});
  EXPECT_EQ(w.accuracy.low, x.accuracy.low);
  EXPECT_EQ(w.accuracy.high, x.accuracy.high);
  EXPECT_EQ(w.balanced_accuracy.low, x.balanced_accuracy.low);
  EXPECT_EQ(w.macro_f1.high, x.macro_f1.high);
}

TEST(StatsCompare, PairedFields) {
  // 14 units: 2^14 > 5000 permutations, so the randomised test.
  auto a = random_scored(14, 5, 3, 2, 0.7, 5);
  auto b = random_scored(14, 5, 3, 2, 0.4, 5);  // same truth and units (same seed), weaker
  b.truth = a.truth;
  const auto r = st::compare_paired(a, b, {800, 1, 0.95}, {5000, 2});
  const auto ta = st::point_metrics(a), tb = st::point_metrics(b);
  EXPECT_DOUBLE_EQ(r.a.balanced_accuracy, ta.balanced_accuracy);
  EXPECT_DOUBLE_EQ(r.b.macro_f1, tb.macro_f1);
  EXPECT_DOUBLE_EQ(r.difference.accuracy, ta.accuracy - tb.accuracy);
  long long oa = 0, ob = 0;
  for (std::size_t i = 0; i < a.truth.size(); ++i) {
    oa += a.pred[0][i] == a.truth[i] && b.pred[0][i] != a.truth[i];
    ob += b.pred[0][i] == a.truth[i] && a.pred[0][i] != a.truth[i];
  }
  EXPECT_EQ(r.only_a_correct, oa);
  EXPECT_EQ(r.only_b_correct, ob);
  EXPECT_DOUBLE_EQ(r.mcnemar_p, st::mcnemar_exact_p(oa, ob));
  EXPECT_DOUBLE_EQ(r.permutation_p, st::permutation_p_uar(a, b, {5000, 2}));
  EXPECT_FALSE(r.permutation_exact);
  EXPECT_EQ(r.permutations, 5000);
  EXPECT_LE(r.difference_interval.accuracy.low, r.difference.accuracy);
  EXPECT_GE(r.difference_interval.accuracy.high, r.difference.accuracy);
  // Against itself: every paired difference is 0.
  const auto self = st::compare_paired(a, a, {200, 1, 0.95}, {100, 2});
  EXPECT_EQ(self.difference_interval.balanced_accuracy.low, 0.0);
  EXPECT_EQ(self.difference_interval.macro_f1.high, 0.0);
  EXPECT_DOUBLE_EQ(self.mcnemar_p, 1.0);
  EXPECT_DOUBLE_EQ(self.permutation_p, 1.0);
}

TEST(StatsErrors, InputChecks) {
  const auto good = random_scored(4, 2, 3, 1, 0.5, 9);
  const st::BootstrapOptions bo{10, 0, 0.95};
  auto with = [&](auto edit) {
    auto s = good;
    edit(s);
    return s;
  };
  expect_input_error([&] { st::point_metrics(with([](st::Scored& s) { s.truth.clear(), s.unit.clear(), s.pred[0].clear(); })); }, "no items");
  expect_input_error([&] { st::point_metrics(with([](st::Scored& s) { s.pred[0].pop_back(); })); }, "differ in length");
  expect_input_error([&] { st::point_metrics(with([](st::Scored& s) { s.unit.pop_back(); })); }, "differ in length");
  expect_input_error([&] { st::point_metrics(with([](st::Scored& s) { s.truth[0] = 3; })); }, "class index out of range");
  expect_input_error([&] { st::point_metrics(with([](st::Scored& s) { s.pred[0][1] = -1; })); }, "class index out of range");
  expect_input_error([&] { st::point_metrics(with([](st::Scored& s) { s.unit[0] = 4; })); }, "unit index out of range");
  expect_input_error([&] { st::bootstrap_intervals(good, {0, 0, 0.95}); }, "resamples");
  expect_input_error([&] { st::bootstrap_intervals(good, {10, 0, 1.0}); }, "level");
  expect_input_error([&] { st::bootstrap_intervals(good, {10, 0, 0.0}); }, "level");
  expect_input_error([&] { st::permutation_p_uar(good, good, {0, 0}); }, "permutations");
  expect_input_error([&] { st::compare_paired(good, with([](st::Scored& s) { s.truth[0] = (s.truth[0] + 1) % 3; }), bo, {}); }, "truth");
  expect_input_error([&] { st::compare_paired(good, with([](st::Scored& s) { s.unit[0] = (s.unit[0] + 1) % 4; }), bo, {}); }, "units");
  expect_input_error([&] { st::compare_paired(good, with([](st::Scored& s) { s.n_classes = 4; }), bo, {}); }, "n_classes");
  expect_input_error([&] { st::compare_paired(good, with([](st::Scored& s) { s.pred.push_back(s.pred[0]); }), bo, {}); }, "repeats");
  expect_input_error([] { st::binomtest_two_sided(5, 4, 0.5); }, "k <= n");
  expect_input_error([] { st::binomtest_two_sided(1, 4, 1.5); }, "p in [0, 1]");
  expect_input_error([] { st::mcnemar_exact_p(-1, 3); }, "non-negative");
  expect_input_error([] { st::holm_adjust({0.1, 1.2}); }, "[0, 1]");
}
