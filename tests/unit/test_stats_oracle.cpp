// Agreement of ser::eval::stats with SciPy (scripts/oracle_stats.py: scipy.stats.bootstrap
// "percentile", permutation_test "samples", binomtest) on fixed synthetic predictions. Skips
// without a python3 that has scipy (Debian: python3-scipy).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "ser/eval/stats.hpp"
#include "ser/util/files.hpp"
#include "support/python.hpp"
#include "support/shared.hpp"
#include "support/temp_dir.hpp"

namespace st = ser::eval::stats;
namespace fs = std::filesystem;

namespace {

using ser::test::project_dir;

std::string scipy_python() { return ser::test::python_with("scipy.stats, numpy"); }

#define SER_REQUIRE_SCIPY()                                                                       \
  do {                                                                                            \
    if (scipy_python().empty())                                                                   \
      GTEST_SKIP() << "no python3 with scipy (set SER_PYTHON or install python3-scipy); "         \
                      "skipping the SciPy oracle check";                                          \
  } while (0)

// A and B over units x items, k classes; A right with probability 0.65, B with 0.5, otherwise a
// uniform class. mt19937's output is fixed by the standard, and the mapping is our own.
std::pair<st::Scored, st::Scored> synthetic(int units, int items, int k, unsigned seed) {
  std::mt19937 rng(seed);
  auto coin = [&] { return static_cast<double>(rng()) / 4294967296.0; };
  st::Scored a;
  a.n_classes = k;
  a.n_units = units;
  a.pred.resize(1);
  st::Scored b = a;
  for (int u = 0; u < units; ++u)
    for (int i = 0; i < items; ++i) {
      const int t = static_cast<int>(rng() % static_cast<unsigned>(k));
      a.unit.push_back(u), a.truth.push_back(t);
      a.pred[0].push_back(coin() < 0.65 ? t : static_cast<int>(rng() % static_cast<unsigned>(k)));
      b.pred[0].push_back(coin() < 0.5 ? t : static_cast<int>(rng() % static_cast<unsigned>(k)));
    }
  b.unit = a.unit, b.truth = a.truth;
  return {a, b};
}

nlohmann::json run_oracle(const st::Scored& a, const st::Scored& b, const std::string& args) {
  ser::test::TempDir dir;
  {
    std::ofstream csv(dir / "preds.csv");
    csv << "unit,truth,pred_a,pred_b\n";
    for (std::size_t i = 0; i < a.truth.size(); ++i)
      csv << a.unit[i] << ',' << a.truth[i] << ',' << a.pred[0][i] << ',' << b.pred[0][i] << '\n';
  }
  const std::string cmd = "'" + scipy_python() + "' '" + project_dir() + "/scripts/oracle_stats.py' --csv '" +
                          (dir / "preds.csv") + "' --n-classes " + std::to_string(a.n_classes) + " " + args + " > '" +
                          (dir / "out.json") + "' 2> '" + (dir / "err.txt") + "'";
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    ADD_FAILURE() << "oracle failed (" << rc << "): " << cmd << "\n" << ser::util::read_text(dir / "err.txt");
    return nlohmann::json();
  }
  return ser::util::read_json(dir / "out.json");
}

double metric(const st::Triple& t, const std::string& m) {
  return m == "accuracy" ? t.accuracy : m == "balanced_accuracy" ? t.balanced_accuracy : t.macro_f1;
}
st::Interval metric(const st::Intervals& t, const std::string& m) {
  return m == "accuracy" ? t.accuracy : m == "balanced_accuracy" ? t.balanced_accuracy : t.macro_f1;
}

}  // namespace

TEST(StatsOracle, BootstrapPermutationAndMcNemarAgreeWithScipy) {
  SER_REQUIRE_SCIPY();
  constexpr int kResamples = 4000, kPermutations = 4000;
  const auto [a, b] = synthetic(20, 6, 4, 2024);
  const auto out = run_oracle(a, b,
                              "--resamples " + std::to_string(kResamples) + " --permutations " +
                                  std::to_string(kPermutations) + " --seed 5 --mcnemar 0,5 1,1 3,17 40,60 0,0 250,310 0,1 4900,5100 49800,50200 0,100000");
  ASSERT_FALSE(out.is_null());
  std::cout << "[oracle] scipy " << out["scipy"].get<std::string>() << ", numpy " << out["numpy"].get<std::string>() << "\n";

  const auto ta = st::point_metrics(a), tb = st::point_metrics(b);
  for (const std::string m : {"accuracy", "balanced_accuracy", "macro_f1"}) {
    EXPECT_NEAR(metric(ta, m), out["point"]["a"][m].get<double>(), 1e-12) << m;
    EXPECT_NEAR(metric(tb, m), out["point"]["b"][m].get<double>(), 1e-12) << m;
  }

  // Bootstrap endpoints: ours and SciPy's are two independent Monte-Carlo estimates of the same
  // percentile, each with standard error se ~ sqrt(q(1-q)/N) / f(x_q) (estimated by the script
  // from SciPy's bootstrap distribution; ~0.002 here for N = 4000), so their difference has
  // standard error sqrt(2) se. We allow 4 sqrt(2) se plus one lattice step 1/n_items, since the
  // metrics of 120 items are discrete and a percentile may land on a neighbouring value.
  const st::BootstrapOptions bo{kResamples, 77, 0.95};
  const auto ours_a = st::bootstrap_intervals(a, bo);
  const auto cmp = st::compare_paired(a, b, bo, {kPermutations, 78});
  const double step = 1.0 / static_cast<double>(a.truth.size());
  for (const std::string m : {"accuracy", "balanced_accuracy", "macro_f1"}) {
    for (const auto& [name, iv] : {std::pair{std::string("a"), metric(ours_a, m)},
                                   std::pair{std::string("difference"), metric(cmp.difference_interval, m)}}) {
      const auto& s = out["bootstrap"][name][m];
      const double tol_low = 4 * std::sqrt(2.0) * s["se_low"].get<double>() + step;
      const double tol_high = 4 * std::sqrt(2.0) * s["se_high"].get<double>() + step;
      std::cout << "[oracle] bootstrap " << name << " " << m << ": ours [" << iv.low << ", " << iv.high << "] scipy ["
                << s["low"].get<double>() << ", " << s["high"].get<double>() << "] |diff| " << std::fabs(iv.low - s["low"].get<double>())
                << " / " << std::fabs(iv.high - s["high"].get<double>()) << " (tol " << tol_low << " / " << tol_high << ")\n";
      EXPECT_NEAR(iv.low, s["low"].get<double>(), tol_low) << name << " " << m;
      EXPECT_NEAR(iv.high, s["high"].get<double>(), tol_high) << name << " " << m;
    }
  }

  // Permutation p: each two-sided estimate 2 min(p_less, p_greater) has variance ~ 2 p (1 - p/2)
  // / N (binomial on the smaller side, doubled); the difference of two independent ones has
  // twice that. 3 standard errors, plus 2/(N+1) for the +1 adjustment.
  const double p_scipy = out["permutation"]["pvalue"].get<double>();
  EXPECT_FALSE(out["permutation"]["exact"].get<bool>());
  EXPECT_FALSE(cmp.permutation_exact);
  EXPECT_EQ(cmp.permutations, kPermutations);
  EXPECT_NEAR(out["permutation"]["statistic"].get<double>(), ta.balanced_accuracy - tb.balanced_accuracy, 1e-12);
  const double se = std::sqrt(2 * 2 * p_scipy * (1 - p_scipy / 2) / kPermutations);
  const double tol = 3 * se + 2.0 / (kPermutations + 1);
  std::cout << "[oracle] permutation p: ours " << cmp.permutation_p << " scipy " << p_scipy << " (tol " << tol << ")\n";
  EXPECT_NEAR(cmp.permutation_p, p_scipy, tol);

  for (const auto& row : out["binomtest"]) {
    const long long bb = row[0].get<long long>(), cc = row[1].get<long long>();
    const double ref = row[2].get<double>(), ours = st::mcnemar_exact_p(bb, cc);
    std::cout << "[oracle] mcnemar(" << bb << ", " << cc << "): ours " << ours << " scipy " << ref << " diff " << ours - ref << "\n";
    EXPECT_NEAR(ours, ref, 1e-12) << bb << "," << cc;
    EXPECT_NEAR(ours, ref, 1e-12 * ref) << bb << "," << cc;  // relative as well, for the small ones
  }
}

TEST(StatsOracle, ExactPermutationEqualsScipy) {
  SER_REQUIRE_SCIPY();
  // 8 units: 2^8 = 256 <= 10000, so both enumerate every swap pattern.
  for (unsigned seed : {1u, 2u, 3u}) {
    const auto [a, b] = synthetic(8, 5, 3, seed);
    const auto out = run_oracle(a, b, "--no-bootstrap --permutations 10000");
    ASSERT_FALSE(out.is_null());
    bool exact = false;
    long long evaluated = 0;
    const double p = st::permutation_p_uar(a, b, {10000, 0}, &exact, &evaluated);
    std::cout << "[oracle] exact permutation (seed " << seed << "): ours " << p << " scipy " << out["permutation"]["pvalue"]
              << "\n";
    EXPECT_TRUE(exact);
    EXPECT_TRUE(out["permutation"]["exact"].get<bool>());
    EXPECT_EQ(evaluated, 256);
    EXPECT_EQ(out["permutation"]["n"].get<long long>(), 256);
    EXPECT_NEAR(p, out["permutation"]["pvalue"].get<double>(), 1e-12);
  }
}
