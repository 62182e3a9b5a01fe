#pragma once
// Uncertainty and significance for classification results: percentile bootstrap confidence
// intervals, paired bootstrap intervals of differences, the exact McNemar test, a paired
// permutation test on UAR, and Holm's step-down correction. Semantics follow SciPy where SciPy
// has the procedure (scipy.stats.bootstrap with method="percentile", permutation_test with
// permutation_type="samples", binomtest), so its functions are the oracle for these.
//
// Resampling is by unit: every item belongs to one unit (its speaker in speaker protocols, itself
// otherwise) and a resample draws units with replacement, keeping all items of a drawn unit.
// A result may hold several repeats of one protocol over the same items: its statistic is then
// the mean over repeats of each repeat's metric, and a resample keeps the same units in every
// repeat.
#include <cstdint>
#include <string>
#include <vector>

namespace ser::eval::stats {

// The predictions of one result over a fixed list of items.
struct Scored {
  int n_classes = 0;
  std::vector<int> truth;              // per item, 0..n_classes-1
  std::vector<std::vector<int>> pred;  // [repeat][item], 0..n_classes-1
  std::vector<int> unit;               // per item, 0..n_units-1
  int n_units = 0;
};

// accuracy, balanced_accuracy (UAR) and macro_f1 with compute_metrics' semantics (classes absent
// from both truth and predictions are left out of the macro averages), mean over repeats.
struct Triple {
  double accuracy = 0, balanced_accuracy = 0, macro_f1 = 0;
};
Triple point_metrics(const Scored& s);

struct Interval {
  double low = 0, high = 0;
};
struct Intervals {
  Interval accuracy, balanced_accuracy, macro_f1;
};

struct BootstrapOptions {
  int resamples = 2000;
  std::uint64_t seed = 0;
  double level = 0.95;
};

// Percentile interval of each metric over `resamples` unit resamples (numpy.percentile with
// linear interpolation at (1-level)/2 and (1+level)/2, as scipy.stats.bootstrap "percentile").
// Throws ser::Error (input) when `s` is inconsistent (sizes, labels out of range, no items).
Intervals bootstrap_intervals(const Scored& s, const BootstrapOptions& opt);

// Two-sided exact McNemar test: b = items only A got right, c = items only B got right;
// scipy.stats.binomtest(b, b + c, 0.5).pvalue (1 when b + c = 0).
double mcnemar_exact_p(long long b, long long c);

// Two-sided binomial test p-value with SciPy's definition (sum of the probabilities of outcomes
// no more likely than k, with a relative tolerance of 1e-7).
double binomtest_two_sided(long long k, long long n, double p);

struct PermutationOptions {
  int permutations = 10000;  // randomised test; exact enumeration when 2^n_units <= permutations
  std::uint64_t seed = 0;
};

// A against B on the same items (same truth, units and number of repeats).
struct PairedComparison {
  Triple a, b, difference;          // difference = a - b
  Intervals difference_interval;    // paired bootstrap (the same resampled units for both)
  long long only_a_correct = 0, only_b_correct = 0;  // first repeat's per-item correctness
  double mcnemar_p = 1;             // exact, on the first repeat
  double permutation_p = 1;         // UAR(A) - UAR(B), units' A/B labels swapped at random
  bool permutation_exact = false;
  long long permutations = 0;       // evaluated (2^n_units when exact)
};
PairedComparison compare_paired(const Scored& a, const Scored& b, const BootstrapOptions& bootstrap,
                                const PermutationOptions& permutation);

// Paired permutation test of the difference in UAR with scipy.stats.permutation_test's
// semantics for permutation_type="samples", alternative="two-sided": randomised p-values are
// (count + 1) / (permutations + 1) on each side, doubled and capped at 1; exact ones count/total.
double permutation_p_uar(const Scored& a, const Scored& b, const PermutationOptions& opt, bool* exact = nullptr,
                         long long* evaluated = nullptr);

// Holm's step-down adjusted p-values (as statsmodels multipletests(method="holm")), in input order.
std::vector<double> holm_adjust(const std::vector<double>& p);

}  // namespace ser::eval::stats
