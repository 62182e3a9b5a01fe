// libsvm C-SVC: fit, the libsvm view of a stored model, prediction.
#include <libsvm/svm.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "classic_internal.hpp"
#include "ser/error.hpp"

namespace ser::classic {

namespace {

void silent_print(const char*) {}

void silence_libsvm() {
  static std::once_flag once;
  std::call_once(once, [] { svm_set_print_string_function(&silent_print); });
}

// libsvm's probability CV shuffles with the C library's rand(): one fit at a time seeds it.
std::mutex& rand_mutex() {
  static std::mutex m;
  return m;
}

std::atomic<std::size_t> g_gram_max_rows{4096};

// The kernel matrix exactly as libsvm's Kernel computes it for training (sequential double dot
// products in feature order, no fused multiply-add; rbf: exp(-gamma * (|x_i|^2 + |x_j|^2 -
// 2 x_i.x_j))), in libsvm's precomputed-kernel layout: row i = {0: i+1}, {1: K(i,0)}, ...,
// {n: K(i,n-1)}, {-1}. Handing this to libsvm trains bit-for-bit the model its own kernel code
// would, but computes each value once instead of once per pair / CV fold / cache miss.
// Vectorised across j (each lane still sums its own products in feature order).
void gram_nodes(const std::vector<double>& xt, std::size_t n, std::size_t dim, int kernel_type, double gamma,
                std::vector<svm_node>& nodes) {
  std::vector<double> sq(n, 0.0);  // |x_i|^2, summed in feature order like libsvm's dot()
  for (std::size_t f = 0; f < dim; ++f) {
    const double* col = &xt[f * n];
    for (std::size_t i = 0; i < n; ++i) sq[i] += col[i] * col[i];
  }
  nodes.assign(n * (n + 2), svm_node{-1, 0.0});
  for (std::size_t i = 0; i < n; ++i) {
    nodes[i * (n + 2)] = svm_node{0, static_cast<double>(i + 1)};
    for (std::size_t j = 0; j < n; ++j) nodes[i * (n + 2) + j + 1].index = static_cast<int>(j + 1);
  }
  auto kernel = [&](std::size_t i, std::size_t j, double d) {
    return kernel_type == RBF ? std::exp(-gamma * (sq[i] + sq[j] - 2 * d)) : d;
  };
  constexpr std::size_t B = 4;  // rows of i per pass over xt
  std::vector<double> acc(B * n);
  for (std::size_t i0 = 0; i0 < n; i0 += B) {
    const std::size_t bi = std::min(B, n - i0);
    std::fill(acc.begin(), acc.end(), 0.0);
    for (std::size_t f = 0; f < dim; ++f) {
      const double* col = &xt[f * n];
      for (std::size_t b = 0; b < bi; ++b) {
        const double a = col[i0 + b];
        double* out = &acc[b * n];
        for (std::size_t j = i0; j < n; ++j) out[j] += a * col[j];
      }
    }
    for (std::size_t b = 0; b < bi; ++b) {
      const std::size_t i = i0 + b;
      for (std::size_t j = i; j < n; ++j) {
        const double k = kernel(i, j, acc[b * n + j]);
        nodes[i * (n + 2) + j + 1].value = k;
        nodes[j * (n + 2) + i + 1].value = k;
      }
    }
  }
}

struct SvmModelDeleter {
  void operator()(svm_model* p) const {
    if (p) svm_free_and_destroy_model(&p);
  }
};

}  // namespace

namespace detail {
std::size_t set_svm_gram_max_rows(std::size_t rows) { return g_gram_max_rows.exchange(rows); }
}  // namespace detail

void ClassicModel::Impl::build_svm() {
  const std::size_t l = n_sv_total();
  const int k = static_cast<int>(classes.size());
  sv_nodes.assign(l * (dim + 1), svm_node{-1, 0.0});
  sv_ptrs.resize(l);
  for (std::size_t i = 0; i < l; ++i) {
    svm_node* row = &sv_nodes[i * (dim + 1)];
    for (std::size_t j = 0; j < dim; ++j) {
      row[j].index = static_cast<int>(j + 1);
      row[j].value = static_cast<double>(sv[i * dim + j]);
    }
    row[dim].index = -1;
    sv_ptrs[i] = row;
  }
  coef_ptrs.resize(static_cast<std::size_t>(k - 1));
  for (int r = 0; r + 1 < k; ++r) coef_ptrs[static_cast<std::size_t>(r)] = sv_coef.data() + static_cast<std::size_t>(r) * l;
  label_arr = classes;

  model = svm_model{};
  model.param.svm_type = C_SVC;
  model.param.kernel_type = kernel_type;
  model.param.degree = 3;
  model.param.gamma = gamma;
  model.param.coef0 = 0.0;
  model.param.cache_size = settings.svm.cache_mb;
  model.param.eps = settings.svm.tol;
  model.param.C = settings.svm.c;
  model.param.shrinking = 1;
  model.param.probability = prob_a.empty() ? 0 : 1;
  model.nr_class = k;
  model.l = static_cast<int>(l);
  model.SV = sv_ptrs.data();
  model.sv_coef = coef_ptrs.data();
  model.rho = rho.data();
  model.probA = prob_a.empty() ? nullptr : prob_a.data();
  model.probB = prob_b.empty() ? nullptr : prob_b.data();
  model.sv_indices = nullptr;
  model.label = label_arr.data();
  model.nSV = n_sv.data();
  model.free_sv = 0;  // never handed to svm_free_*: everything is owned by the vectors
}

void fit_svm(ClassicModel::Impl& m, const float* rows, std::size_t n, const std::vector<int>& labels,
             const std::vector<std::size_t>& order, const std::vector<double>& class_weight) {
  silence_libsvm();
  const std::size_t dim = m.dim;
  const SvmSettings& s = m.settings.svm;

  // Rows in ascending label order (stable), so libsvm's first-occurrence class order is sklearn's
  // sorted order and each class keeps its rows in their original order.
  const bool gram = n <= g_gram_max_rows.load();
  std::vector<svm_node> nodes;
  std::vector<svm_node*> x(n);
  std::vector<double> y(n);
  for (std::size_t r = 0; r < n; ++r) y[r] = static_cast<double>(labels[order[r]]);
  if (gram) {
    std::vector<double> xt(dim * n);  // feature-major copy of the sorted rows
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < dim; ++j) xt[j * n + r] = static_cast<double>(rows[order[r] * dim + j]);
    gram_nodes(xt, n, dim, m.kernel_type, m.gamma, nodes);
    for (std::size_t r = 0; r < n; ++r) x[r] = &nodes[r * (n + 2)];
  } else {
    nodes.resize(n * (dim + 1));
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t src = order[r];
      svm_node* row = &nodes[r * (dim + 1)];
      for (std::size_t j = 0; j < dim; ++j) {
        row[j].index = static_cast<int>(j + 1);
        row[j].value = static_cast<double>(rows[src * dim + j]);
      }
      row[dim].index = -1;
      row[dim].value = 0.0;
      x[r] = row;
    }
  }
  svm_problem prob{};
  prob.l = static_cast<int>(n);
  prob.y = y.data();
  prob.x = x.data();

  std::vector<int> weight_label(m.classes.begin(), m.classes.end());
  std::vector<double> weight(class_weight);
  svm_parameter param{};
  param.svm_type = C_SVC;
  param.kernel_type = gram ? PRECOMPUTED : m.kernel_type;
  param.degree = 3;
  param.gamma = m.gamma;
  param.coef0 = 0.0;
  param.cache_size = s.cache_mb;
  param.eps = s.tol;
  param.C = s.c;
  param.nr_weight = static_cast<int>(weight_label.size());
  param.weight_label = weight_label.data();
  param.weight = weight.data();
  param.nu = 0.5;
  param.p = 0.1;
  param.shrinking = 1;
  param.probability = s.probability ? 1 : 0;
  if (const char* err = svm_check_parameter(&prob, &param)) fail_config("model.svm", std::string("libsvm rejects the settings: ") + err);

  std::unique_ptr<svm_model, SvmModelDeleter> trained;
  if (s.probability) {
    std::lock_guard<std::mutex> lock(rand_mutex());
    std::srand(static_cast<unsigned>(m.settings.seed ^ (m.settings.seed >> 32)));
    trained.reset(svm_train(&prob, &param));
  } else {
    trained.reset(svm_train(&prob, &param));
  }
  if (!trained) fail_runtime("svm fit", "libsvm returned no model");
  const svm_model& t = *trained;
  const int k = static_cast<int>(m.classes.size());
  if (t.nr_class != k) fail_runtime("svm fit", "libsvm found " + std::to_string(t.nr_class) + " classes, expected " + std::to_string(k));
  for (int c = 0; c < k; ++c)
    if (t.label[c] != m.classes[static_cast<std::size_t>(c)]) fail_runtime("svm fit", "libsvm's class order is not ascending");

  const std::size_t l = static_cast<std::size_t>(t.l);
  m.n_sv.assign(t.nSV, t.nSV + k);
  m.sv.assign(l * dim, 0.0f);
  for (std::size_t i = 0; i < l; ++i) {
    if (gram) {  // SV[i][0] is the serial number (1-based) of a sorted training row
      const double serial = t.SV[i][0].value;
      if (!(serial >= 1 && serial <= static_cast<double>(n))) fail_runtime("svm fit", "libsvm support vector serial out of range");
      const std::size_t src = order[static_cast<std::size_t>(serial) - 1];
      std::copy(rows + src * dim, rows + (src + 1) * dim, m.sv.begin() + static_cast<std::ptrdiff_t>(i * dim));
      continue;
    }
    for (const svm_node* p = t.SV[i]; p->index != -1; ++p) {
      if (p->index < 1 || static_cast<std::size_t>(p->index) > dim) fail_runtime("svm fit", "libsvm support vector index out of range");
      m.sv[i * dim + static_cast<std::size_t>(p->index - 1)] = static_cast<float>(p->value);  // exact: it was a float
    }
  }
  m.sv_coef.resize(static_cast<std::size_t>(k - 1) * l);
  for (int r = 0; r + 1 < k; ++r)
    for (std::size_t i = 0; i < l; ++i) m.sv_coef[static_cast<std::size_t>(r) * l + i] = t.sv_coef[r][i];
  const std::size_t pairs = static_cast<std::size_t>(k) * static_cast<std::size_t>(k - 1) / 2;
  m.rho.assign(t.rho, t.rho + pairs);
  if (s.probability) {
    if (!t.probA || !t.probB) fail_runtime("svm fit", "libsvm produced no probability model");
    m.prob_a.assign(t.probA, t.probA + pairs);
    m.prob_b.assign(t.probB, t.probB + pairs);
  } else {
    m.prob_a.clear();
    m.prob_b.clear();
  }
  for (double v : m.sv_coef)
    if (!std::isfinite(v)) fail_runtime("svm fit", "libsvm produced non-finite coefficients");
  for (double v : m.rho)
    if (!std::isfinite(v)) fail_runtime("svm fit", "libsvm produced a non-finite rho");
  trained.reset();  // frees libsvm's model (its SV pointers refer to `nodes`, freed after)
  m.build_svm();
}

void predict_svm(const ClassicModel::Impl& m, const float* row, int& pred, std::vector<float>& proba,
                 std::vector<double>* dec) {
  const std::size_t dim = m.dim;
  std::vector<svm_node> x(dim + 1);
  for (std::size_t j = 0; j < dim; ++j) {
    x[j].index = static_cast<int>(j + 1);
    x[j].value = static_cast<double>(row[j]);
  }
  x[dim].index = -1;
  x[dim].value = 0.0;
  const std::size_t k = m.classes.size();
  std::vector<double> values(k * (k - 1) / 2);
  pred = static_cast<int>(svm_predict_values(&m.model, x.data(), values.data()));
  proba.assign(static_cast<std::size_t>(m.n_classes), 0.0f);
  if (!m.prob_a.empty()) {
    std::vector<double> p(k);
    svm_predict_probability(&m.model, x.data(), p.data());
    for (std::size_t c = 0; c < k; ++c) proba[static_cast<std::size_t>(m.classes[c])] = static_cast<float>(p[c]);
  } else {
    proba[static_cast<std::size_t>(pred)] = 1.0f;
  }
  if (dec) *dec = std::move(values);
}

}  // namespace ser::classic
