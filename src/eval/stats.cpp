#include "ser/eval/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "ser/error.hpp"

namespace ser::eval::stats {
namespace {

constexpr const char* kSubject = "stats";

void validate(const Scored& s, const char* name) {
  const std::string who = std::string(kSubject) + " (" + name + ")";
  if (s.n_classes < 1) fail_input(who, "n_classes must be at least 1");
  if (s.truth.empty()) fail_input(who, "no items");
  if (s.pred.empty()) fail_input(who, "no repeats of predictions");
  if (s.unit.size() != s.truth.size()) fail_input(who, "unit and truth differ in length");
  if (s.n_units < 1) fail_input(who, "n_units must be at least 1");
  for (std::size_t r = 0; r < s.pred.size(); ++r) {
    if (s.pred[r].size() != s.truth.size())
      fail_input(who, "predictions of repeat " + std::to_string(r) + " and truth differ in length");
    for (int p : s.pred[r])
      if (p < 0 || p >= s.n_classes) fail_input(who, "predicted class index out of range");
  }
  for (int t : s.truth)
    if (t < 0 || t >= s.n_classes) fail_input(who, "true class index out of range");
  for (int u : s.unit)
    if (u < 0 || u >= s.n_units) fail_input(who, "unit index out of range");
}

void validate_bootstrap(const BootstrapOptions& o) {
  if (o.resamples < 1) fail_input(kSubject, "bootstrap resamples must be at least 1");
  if (!(o.level > 0.0 && o.level < 1.0)) fail_input(kSubject, "confidence level must be in (0, 1)");
}

void validate_pair(const Scored& a, const Scored& b) {
  validate(a, "A");
  validate(b, "B");
  if (a.n_classes != b.n_classes) fail_input(kSubject, "A and B differ in n_classes");
  if (a.truth != b.truth) fail_input(kSubject, "A and B differ in truth (not the same items)");
  if (a.n_units != b.n_units || a.unit != b.unit) fail_input(kSubject, "A and B differ in units");
  if (a.pred.size() != b.pred.size()) fail_input(kSubject, "A and B differ in the number of repeats");
}

// Uniform integer in [0, n) by Lemire's multiply-and-reject, so the draws do not depend on the
// standard library's (implementation-defined) uniform_int_distribution.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t n) {
  unsigned __int128 m = static_cast<unsigned __int128>(rng()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(rng()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

// numpy.percentile(x, 100*q) with the default "linear" method, including numpy's lerp, which
// computes from the upper end when the fraction is >= 0.5 (bitwise agreement where it matters).
double percentile_linear(std::vector<double> x, double q) {
  std::sort(x.begin(), x.end());
  const double pos = (static_cast<double>(x.size()) - 1.0) * q;
  const double fl = std::floor(pos);
  const auto i = static_cast<std::size_t>(std::max(0.0, fl));
  if (i + 1 >= x.size()) return x.back();
  const double t = pos - fl, a = x[i], b = x[i + 1], d = b - a;
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

// Sparse per-(repeat, unit) confusion counts: a resample weights units by their multiplicity and
// sums these cells, so its cost is O(units * occupied cells) with no allocation.
struct UnitCells {
  int k = 0, repeats = 0, units = 0;
  std::vector<std::size_t> offset;  // [repeat * units + unit] .. next, into cell/count
  std::vector<int> cell;            // truth * k + pred
  std::vector<long long> count;     // items in that cell

  explicit UnitCells(const Scored& s) : k(s.n_classes), repeats(static_cast<int>(s.pred.size())), units(s.n_units) {
    const std::size_t kk = static_cast<std::size_t>(k) * k;
    std::vector<long long> dense(static_cast<std::size_t>(units) * kk);
    offset.push_back(0);
    for (int r = 0; r < repeats; ++r) {
      std::fill(dense.begin(), dense.end(), 0);
      for (std::size_t i = 0; i < s.truth.size(); ++i)
        ++dense[static_cast<std::size_t>(s.unit[i]) * kk + static_cast<std::size_t>(s.truth[i] * k + s.pred[r][i])];
      for (int u = 0; u < units; ++u) {
        for (std::size_t c = 0; c < kk; ++c) {
          const long long v = dense[static_cast<std::size_t>(u) * kk + c];
          if (v) cell.push_back(static_cast<int>(c)), count.push_back(v);
        }
        offset.push_back(cell.size());
      }
    }
  }

  // Confusion of repeat r with units weighted by w (multiplicities) into conf (k*k, overwritten).
  void confusion(int r, const std::vector<long long>& w, std::vector<long long>& conf) const {
    std::fill(conf.begin(), conf.end(), 0);
    for (int u = 0; u < units; ++u) {
      const long long wu = w[static_cast<std::size_t>(u)];
      if (!wu) continue;
      const std::size_t at = static_cast<std::size_t>(r) * units + u;
      for (std::size_t j = offset[at]; j < offset[at + 1]; ++j) conf[static_cast<std::size_t>(cell[j])] += wu * count[j];
    }
  }
};

// compute_metrics' arithmetic (same operations, same order) on a k*k confusion [truth][pred].
Triple metrics_of(const std::vector<long long>& conf, int k) {
  long long n = 0, correct = 0;
  double recall_sum = 0, f1_sum = 0;
  int present_true = 0, present_any = 0;
  for (int c = 0; c < k; ++c) {
    long long predicted = 0, support = 0;
    for (int t = 0; t < k; ++t) predicted += conf[static_cast<std::size_t>(t * k + c)];
    for (int p = 0; p < k; ++p) support += conf[static_cast<std::size_t>(c * k + p)];
    const long long tp = conf[static_cast<std::size_t>(c * k + c)];
    n += support;
    correct += tp;
    const double precision = predicted ? static_cast<double>(tp) / static_cast<double>(predicted) : 0.0;
    const double recall = support ? static_cast<double>(tp) / static_cast<double>(support) : 0.0;
    const double f1 = (precision + recall) > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    if (support > 0) {
      recall_sum += recall;
      ++present_true;
    }
    if (support > 0 || predicted > 0) {
      f1_sum += f1;
      ++present_any;
    }
  }
  Triple m;
  m.accuracy = n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  m.balanced_accuracy = present_true ? recall_sum / present_true : 0.0;
  m.macro_f1 = present_any ? f1_sum / present_any : 0.0;
  return m;
}

// Mean over repeats of each repeat's metrics with units weighted by w.
Triple weighted_triple(const UnitCells& cells, const std::vector<long long>& w, std::vector<long long>& conf) {
  Triple sum;
  for (int r = 0; r < cells.repeats; ++r) {
    cells.confusion(r, w, conf);
    const Triple t = metrics_of(conf, cells.k);
    sum.accuracy += t.accuracy;
    sum.balanced_accuracy += t.balanced_accuracy;
    sum.macro_f1 += t.macro_f1;
  }
  const double r = cells.repeats;
  return {sum.accuracy / r, sum.balanced_accuracy / r, sum.macro_f1 / r};
}

// The bootstrap distributions of the three metrics, and their percentile intervals.
struct Distribution {
  std::vector<double> acc, uar, f1;
  explicit Distribution(int n) { acc.reserve(n), uar.reserve(n), f1.reserve(n); }
  void push(const Triple& t) { acc.push_back(t.accuracy), uar.push_back(t.balanced_accuracy), f1.push_back(t.macro_f1); }
  Intervals intervals(double level) const {
    // As scipy.stats.bootstrap: alpha = (1 - level) / 2, percentiles at alpha and 1 - alpha.
    const double alpha = (1 - level) / 2;
    auto iv = [&](const std::vector<double>& x) { return Interval{percentile_linear(x, alpha), percentile_linear(x, 1 - alpha)}; };
    return {iv(acc), iv(uar), iv(f1)};
  }
};

// Fills w with the multiplicities of n_units draws with replacement.
void draw_units(std::mt19937_64& rng, std::vector<long long>& w) {
  std::fill(w.begin(), w.end(), 0);
  const auto n = static_cast<std::uint64_t>(w.size());
  for (std::uint64_t i = 0; i < n; ++i) ++w[uniform_below(rng, n)];
}

// --- binomial pmf (Loader's saddle-point algorithm, as R's dbinom): accurate to a few ulps
// for any n, unlike exp(lgamma sums), whose cancellation loses ~log10(n) digits.

double stirlerr(double n) {
  // Error of Stirling's formula for log(n!); below 16 computed directly in long double.
  if (n <= 15.0) {
    const long double ln = n;
    return static_cast<double>(std::lgamma(ln + 1) - (ln + 0.5L) * std::log(ln) + ln -
                               0.5L * std::log(2.0L * 3.14159265358979323846264338327950288L));
  }
  const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680, s4 = 1.0 / 1188, nn = n * n;
  if (n > 500) return (s0 - s1 / nn) / n;
  if (n > 80) return (s0 - (s1 - s2 / nn) / nn) / n;
  if (n > 35) return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
  return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

// Deviance term x*log(x/np) + np - x, by a series when x is close to np.
double bd0(double x, double np) {
  if (std::fabs(x - np) < 0.1 * (x + np)) {
    double v = (x - np) / (x + np), s = (x - np) * v, ej = 2 * x * v;
    v *= v;
    for (int j = 1; j < 1000; ++j) {
      ej *= v;
      const double s1 = s + ej / (2 * j + 1);
      if (s1 == s) return s1;
      s = s1;
    }
    return s;
  }
  return x * std::log(x / np) + np - x;
}

double binom_pmf(long long k, long long n, double p) {
  const double q = 1 - p, x = static_cast<double>(k), nd = static_cast<double>(n);
  if (k < 0 || k > n) return 0.0;
  if (p == 0) return k == 0 ? 1.0 : 0.0;
  if (q == 0) return k == n ? 1.0 : 0.0;
  if (k == 0) return std::exp(p < 0.1 ? -bd0(nd, nd * q) - nd * p : nd * std::log(q));
  if (k == n) return std::exp(q < 0.1 ? -bd0(nd, nd * p) - nd * q : nd * std::log(p));
  const double lc = stirlerr(nd) - stirlerr(x) - stirlerr(nd - x) - bd0(x, nd * p) - bd0(nd - x, nd * q);
  const double lf = std::log(2 * 3.14159265358979323846) + std::log(x) + std::log1p(-x / nd);
  return std::exp(lc - 0.5 * lf);
}

// Sum of pmf over [from, to] stepping away from the mode (terms shrink monotonically), stopping
// once terms no longer change the sum.
double binom_tail(long long from, long long to, long long n, double p, bool downward) {
  double sum = 0;
  for (long long j = downward ? to : from; downward ? j >= from : j <= to; j += downward ? -1 : 1) {
    const double t = binom_pmf(j, n, p);
    if (t == 0 || t < sum * 1e-18) break;
    sum += t;
  }
  return sum;
}

// scipy.stats._binomtest._binary_search_for_binom_tst, verbatim: i in [lo, hi] with
// a(i) <= d < a(i+1) for a ascending.
template <class F>
long long binary_search_binom(F a, double d, long long lo, long long hi) {
  while (lo < hi) {
    const long long mid = lo + (hi - lo) / 2;
    const double v = a(mid);
    if (v < d) lo = mid + 1;
    else if (v > d) hi = mid - 1;
    else return mid;
  }
  return a(lo) <= d ? lo : lo - 1;
}

}  // namespace

Triple point_metrics(const Scored& s) {
  validate(s, "result");
  const UnitCells cells(s);
  std::vector<long long> w(static_cast<std::size_t>(s.n_units), 1), conf(static_cast<std::size_t>(s.n_classes) * s.n_classes);
  return weighted_triple(cells, w, conf);
}

Intervals bootstrap_intervals(const Scored& s, const BootstrapOptions& opt) {
  validate(s, "result");
  validate_bootstrap(opt);
  const UnitCells cells(s);
  std::vector<long long> w(static_cast<std::size_t>(s.n_units)), conf(static_cast<std::size_t>(s.n_classes) * s.n_classes);
  std::mt19937_64 rng(opt.seed);
  Distribution dist(opt.resamples);
  for (int b = 0; b < opt.resamples; ++b) {
    draw_units(rng, w);
    dist.push(weighted_triple(cells, w, conf));
  }
  return dist.intervals(opt.level);
}

double binomtest_two_sided(long long k, long long n, double p) {
  if (n < 1) fail_input(kSubject, "binomial test needs n >= 1");
  if (k < 0 || k > n) fail_input(kSubject, "binomial test needs 0 <= k <= n");
  if (!(p >= 0 && p <= 1)) fail_input(kSubject, "binomial test needs p in [0, 1]");
  // scipy.stats.binomtest(k, n, p, alternative="two-sided") (SciPy 1.10), step for step.
  const double nd = static_cast<double>(n), pn = p * nd;
  const double d = binom_pmf(k, n, p), rerr = 1 + 1e-7;
  auto pmf = [&](long long x) { return binom_pmf(x, n, p); };
  double pval;
  if (static_cast<double>(k) == pn) {
    pval = 1.0;
  } else if (static_cast<double>(k) < pn) {
    const long long ix = binary_search_binom([&](long long x) { return -pmf(x); }, -d * rerr,
                                             static_cast<long long>(std::ceil(pn)), n);
    const long long y = n - ix + (d * rerr == pmf(ix) ? 1 : 0);
    // cdf(k) + sf(n - y): the lower tail up to k and the y outcomes at the top.
    pval = binom_tail(0, k, n, p, true) + binom_tail(n - y + 1, n, n, p, false);
  } else {
    const long long ix = binary_search_binom(pmf, d * rerr, 0, static_cast<long long>(std::floor(pn)));
    const long long y = ix + 1;
    // cdf(y - 1) + sf(k - 1).
    pval = binom_tail(0, y - 1, n, p, true) + binom_tail(k, n, n, p, false);
  }
  return std::min(1.0, pval);
}

double mcnemar_exact_p(long long b, long long c) {
  if (b < 0 || c < 0) fail_input(kSubject, "McNemar counts must be non-negative");
  if (b + c == 0) return 1.0;
  return binomtest_two_sided(b, b + c, 0.5);
}

double permutation_p_uar(const Scored& a, const Scored& b, const PermutationOptions& opt, bool* exact,
                         long long* evaluated) {
  validate_pair(a, b);
  if (opt.permutations < 1) fail_input(kSubject, "permutations must be at least 1");
  // UAR only needs each class's support (shared: same truth) and its correct count, so a unit
  // enters as its per-class correct counts under A and under B: O(units * classes) per draw.
  const int k = a.n_classes, units = a.n_units, repeats = static_cast<int>(a.pred.size());
  const std::size_t rk = static_cast<std::size_t>(repeats) * k;
  std::vector<long long> support(static_cast<std::size_t>(k), 0);
  for (int t : a.truth) ++support[static_cast<std::size_t>(t)];
  std::vector<long long> diag_a(static_cast<std::size_t>(units) * rk, 0), diag_b(diag_a.size(), 0), total(rk, 0);
  for (int r = 0; r < repeats; ++r)
    for (std::size_t i = 0; i < a.truth.size(); ++i) {
      const int t = a.truth[i];
      const std::size_t at = static_cast<std::size_t>(a.unit[i]) * rk + static_cast<std::size_t>(r) * k + t;
      diag_a[at] += a.pred[r][i] == t;
      diag_b[at] += b.pred[r][i] == t;
    }
  for (int u = 0; u < units; ++u)
    for (std::size_t j = 0; j < rk; ++j) total[j] += diag_a[u * rk + j] + diag_b[u * rk + j];

  // Statistic of the "A" side holding correct counts cur (the B side holds total - cur).
  auto statistic = [&](const std::vector<long long>& cur) {
    double ua = 0, ub = 0;
    for (int r = 0; r < repeats; ++r) {
      double ra = 0, rb = 0;
      int present = 0;
      for (int c = 0; c < k; ++c) {
        const long long sup = support[static_cast<std::size_t>(c)];
        if (!sup) continue;
        const std::size_t j = static_cast<std::size_t>(r) * k + c;
        ra += static_cast<double>(cur[j]) / static_cast<double>(sup);
        rb += static_cast<double>(total[j] - cur[j]) / static_cast<double>(sup);
        ++present;
      }
      ua += ra / present;
      ub += rb / present;
    }
    return ua / repeats - ub / repeats;
  };
  std::vector<long long> cur(rk, 0);
  for (int u = 0; u < units; ++u)
    for (std::size_t j = 0; j < rk; ++j) cur[j] += diag_a[u * rk + j];
  const double observed = statistic(cur);
  // scipy 1.10: gamma = maximum(1e-14, |1e-14 * observed|); null >= obs - gamma counts as
  // "greater", null <= obs + gamma as "less".
  const double gamma = std::max(1e-14, std::fabs(1e-14 * observed));
  long long n_less = 0, n_greater = 0, n_total = 0;
  auto tally = [&](double t) { n_less += t <= observed + gamma, n_greater += t >= observed - gamma, ++n_total; };
  const bool is_exact = units < 31 && (1LL << units) <= static_cast<long long>(opt.permutations);
  if (is_exact) {
    // All 2^units swap patterns (identity included) in Gray-code order: one unit flips per step.
    std::vector<char> swapped(static_cast<std::size_t>(units), 0);
    tally(observed);
    for (long long g = 1; g < (1LL << units); ++g) {
      const int u = __builtin_ctzll(static_cast<unsigned long long>(g));
      const long long sign = swapped[static_cast<std::size_t>(u)] ? -1 : 1;  // to B's, or back to A's
      swapped[static_cast<std::size_t>(u)] ^= 1;
      for (std::size_t j = 0; j < rk; ++j) cur[j] += sign * (diag_b[u * rk + j] - diag_a[u * rk + j]);
      tally(statistic(cur));
    }
  } else {
    // Each unit's A/B labels swapped with probability 1/2, independently (scipy draws a random
    // permutation of the two per unit); the identity may come up, as in scipy.
    std::mt19937_64 rng(opt.seed);
    for (int it = 0; it < opt.permutations; ++it) {
      std::fill(cur.begin(), cur.end(), 0);
      std::uint64_t bits = 0;
      for (int u = 0; u < units; ++u) {
        if (u % 64 == 0) bits = rng();
        const long long* src = ((bits >> (u % 64)) & 1u) ? &diag_b[u * rk] : &diag_a[u * rk];
        for (std::size_t j = 0; j < rk; ++j) cur[j] += src[j];
      }
      tally(statistic(cur));
    }
  }
  // Exact: count / total; randomised: (count + 1) / (n + 1) on each side. Two-sided: twice the
  // smaller, capped at 1.
  const double adj = is_exact ? 0.0 : 1.0;
  const double p_less = (static_cast<double>(n_less) + adj) / (static_cast<double>(n_total) + adj);
  const double p_greater = (static_cast<double>(n_greater) + adj) / (static_cast<double>(n_total) + adj);
  if (exact) *exact = is_exact;
  if (evaluated) *evaluated = n_total;
  return std::min(1.0, 2 * std::min(p_less, p_greater));
}

PairedComparison compare_paired(const Scored& a, const Scored& b, const BootstrapOptions& bootstrap,
                                const PermutationOptions& permutation) {
  validate_pair(a, b);
  validate_bootstrap(bootstrap);
  PairedComparison out;
  const UnitCells ca(a), cb(b);
  std::vector<long long> w(static_cast<std::size_t>(a.n_units), 1), conf(static_cast<std::size_t>(a.n_classes) * a.n_classes);
  out.a = weighted_triple(ca, w, conf);
  out.b = weighted_triple(cb, w, conf);
  out.difference = {out.a.accuracy - out.b.accuracy, out.a.balanced_accuracy - out.b.balanced_accuracy,
                    out.a.macro_f1 - out.b.macro_f1};
  // Paired bootstrap: one draw of units serves both A and B.
  std::mt19937_64 rng(bootstrap.seed);
  Distribution dist(bootstrap.resamples);
  for (int i = 0; i < bootstrap.resamples; ++i) {
    draw_units(rng, w);
    const Triple ta = weighted_triple(ca, w, conf), tb = weighted_triple(cb, w, conf);
    dist.push({ta.accuracy - tb.accuracy, ta.balanced_accuracy - tb.balanced_accuracy, ta.macro_f1 - tb.macro_f1});
  }
  out.difference_interval = dist.intervals(bootstrap.level);
  for (std::size_t i = 0; i < a.truth.size(); ++i) {
    const bool ra = a.pred[0][i] == a.truth[i], rb = b.pred[0][i] == b.truth[i];
    out.only_a_correct += ra && !rb;
    out.only_b_correct += rb && !ra;
  }
  out.mcnemar_p = mcnemar_exact_p(out.only_a_correct, out.only_b_correct);
  out.permutation_p = permutation_p_uar(a, b, permutation, &out.permutation_exact, &out.permutations);
  return out;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  for (double v : p)
    if (!(v >= 0 && v <= 1)) fail_input(kSubject, "p-values for Holm's correction must be in [0, 1]");
  const std::size_t m = p.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
  // statsmodels: cumulative maximum of (m - j) * p_(j), then capped at 1.
  std::vector<double> out(m);
  double running = 0;
  for (std::size_t j = 0; j < m; ++j) {
    running = std::max(running, static_cast<double>(m - j) * p[order[j]]);
    out[order[j]] = std::min(1.0, running);
  }
  return out;
}

}  // namespace ser::eval::stats
