// Logistic regression: one-vs-rest on liblinear (-s 0 -B 1), multinomial with liblbfgs.
#include <lbfgs.h>
#include <linear.h>

#include <Eigen/Core>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <string>

#include "classic_internal.hpp"
#include "ser/error.hpp"

namespace ser::classic {

namespace {

void silent_print(const char*) {}

void silence_liblinear() {
  static std::once_flag once;
  std::call_once(once, [] { set_print_string_function(&silent_print); });
}

struct LinearModelDeleter {
  void operator()(model* p) const {
    if (p) free_and_destroy_model(&p);
  }
};

double expit(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

void fit_ovr(ClassicModel::Impl& m, const float* rows, std::size_t n, const std::vector<int>& labels,
             const std::vector<std::size_t>& order, const std::vector<double>& class_weight) {
  silence_liblinear();
  const std::size_t dim = m.dim;
  const LogregSettings& s = m.settings.logreg;
  const double bias = 1.0;  // sklearn's intercept_scaling

  // Rows sorted by label (stable) as for libsvm: liblinear's class order is then ascending, as in
  // sklearn's modified liblinear. Each row: dim features, the bias feature, the terminator.
  std::vector<feature_node> nodes(n * (dim + 2));
  std::vector<feature_node*> x(n);
  std::vector<double> y(n);
  for (std::size_t r = 0; r < n; ++r) {
    const std::size_t src = order[r];
    feature_node* row = &nodes[r * (dim + 2)];
    for (std::size_t j = 0; j < dim; ++j) {
      row[j].index = static_cast<int>(j + 1);
      row[j].value = static_cast<double>(rows[src * dim + j]);
    }
    row[dim].index = static_cast<int>(dim + 1);
    row[dim].value = bias;
    row[dim + 1].index = -1;
    row[dim + 1].value = 0.0;
    x[r] = row;
    y[r] = static_cast<double>(labels[src]);
  }
  problem prob{};
  prob.l = static_cast<int>(n);
  prob.n = static_cast<int>(dim + 1);
  prob.y = y.data();
  prob.x = x.data();
  prob.bias = bias;

  std::vector<int> weight_label(m.classes.begin(), m.classes.end());
  std::vector<double> weight(class_weight);
  parameter param{};
  param.solver_type = L2R_LR;
  param.eps = s.tol;
  param.C = s.c;
  param.nr_weight = static_cast<int>(weight_label.size());
  param.weight_label = weight_label.data();
  param.weight = weight.data();
  param.p = 0.1;
  param.init_sol = nullptr;
  if (const char* err = check_parameter(&prob, &param))
    fail_config("model.logreg", std::string("liblinear rejects the settings: ") + err);

  std::unique_ptr<model, LinearModelDeleter> trained(train(&prob, &param));
  if (!trained) fail_runtime("logreg fit", "liblinear returned no model");
  const model& t = *trained;
  const int k = static_cast<int>(m.classes.size());
  if (t.nr_class != k) fail_runtime("logreg fit", "liblinear found " + std::to_string(t.nr_class) + " classes, expected " + std::to_string(k));
  for (int c = 0; c < k; ++c)
    if (t.label[c] != m.classes[static_cast<std::size_t>(c)]) fail_runtime("logreg fit", "liblinear's class order is not ascending");
  if (t.nr_feature != static_cast<int>(dim)) fail_runtime("logreg fit", "liblinear's feature count differs from the data's");

  const std::size_t nr_w = (k == 2) ? 1 : static_cast<std::size_t>(k);
  m.rows = nr_w;
  m.coef.assign(nr_w * dim, 0.0);
  m.intercept.assign(nr_w, 0.0);
  for (std::size_t r = 0; r < nr_w; ++r) {
    for (std::size_t j = 0; j < dim; ++j) m.coef[r * dim + j] = t.w[j * nr_w + r];
    m.intercept[r] = t.w[dim * nr_w + r] * bias;
  }
  for (double v : m.coef)
    if (!std::isfinite(v)) fail_runtime("logreg fit", "liblinear produced non-finite weights");
}

namespace {

// sum_i s_i * (logsumexp(z_i) - z_i[y_i]) + ||W||^2 / (2C); variables: W (k x d, row-major), b (k).
struct Multinomial {
  using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  RowMatrix X;       // n x d
  std::vector<int> y;  // class position 0..k-1
  Eigen::VectorXd sw;  // n
  std::size_t k = 0, d = 0;
  double inv_c = 1.0;
  double tol = 1e-4;
  double f_prev = std::numeric_limits<double>::quiet_NaN();
  bool converged = false;
  int iterations = 0;
  // Scratch. Everything is computed on Eigen-owned (aligned) copies: Eigen's vectorised sums peel
  // differently by address, and liblbfgs' buffers sit wherever malloc put them, so computing on
  // Maps of them would make fits depend on heap layout.
  RowMatrix Z, R, W, GW;
  Eigen::VectorXd b, gb;

  double evaluate(const double* x, double* g) {
    const std::size_t n = static_cast<std::size_t>(X.rows());
    W = Eigen::Map<const RowMatrix>(x, static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(d));
    b = Eigen::Map<const Eigen::VectorXd>(x + k * d, static_cast<Eigen::Index>(k));
    Z.noalias() = X * W.transpose();
    Z.rowwise() += b.transpose();
    R.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(k));
    double loss = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const Eigen::Index ii = static_cast<Eigen::Index>(i);
      const double zmax = Z.row(ii).maxCoeff();
      double sum = 0.0;
      for (std::size_t c = 0; c < k; ++c) {
        const double e = std::exp(Z(ii, static_cast<Eigen::Index>(c)) - zmax);
        R(ii, static_cast<Eigen::Index>(c)) = e;
        sum += e;
      }
      const double lse = zmax + std::log(sum);
      loss += sw[ii] * (lse - Z(ii, y[i]));
      for (std::size_t c = 0; c < k; ++c) {
        const Eigen::Index cc = static_cast<Eigen::Index>(c);
        R(ii, cc) = sw[ii] * (R(ii, cc) / sum - (static_cast<int>(c) == y[i] ? 1.0 : 0.0));
      }
    }
    GW.noalias() = R.transpose() * X;
    GW += inv_c * W;
    gb = R.colwise().sum().transpose();
    Eigen::Map<RowMatrix>(g, static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(d)) = GW;
    Eigen::Map<Eigen::VectorXd>(g + k * d, static_cast<Eigen::Index>(k)) = gb;
    return loss + 0.5 * inv_c * W.squaredNorm();
  }

  static lbfgsfloatval_t evaluate_cb(void* self, const lbfgsfloatval_t* x, lbfgsfloatval_t* g, const int, const lbfgsfloatval_t) {
    return static_cast<Multinomial*>(self)->evaluate(x, g);
  }

  // scipy's L-BFGS-B stopping rules as sklearn uses them: max |g| <= gtol, or
  // (f_prev - f) / max(|f_prev|, |f|, 1) <= factr * eps (factr 1e7).
  static int progress_cb(void* self, const lbfgsfloatval_t*, const lbfgsfloatval_t* g, const lbfgsfloatval_t fx,
                         const lbfgsfloatval_t, const lbfgsfloatval_t, const lbfgsfloatval_t, int n, int k, int) {
    auto* me = static_cast<Multinomial*>(self);
    me->iterations = k;
    double gmax = 0.0;
    for (int i = 0; i < n; ++i) gmax = std::max(gmax, std::abs(g[i]));
    const double ftol = 1e7 * std::numeric_limits<double>::epsilon();
    const bool fstop = std::isfinite(me->f_prev) &&
                       (me->f_prev - fx) <= ftol * std::max({std::abs(me->f_prev), std::abs(fx), 1.0});
    me->f_prev = fx;
    if (gmax <= me->tol || fstop) {
      me->converged = true;
      return 1;
    }
    return 0;
  }
};

struct LbfgsFree {
  void operator()(lbfgsfloatval_t* p) const { lbfgs_free(p); }
};

}  // namespace

void fit_multinomial(ClassicModel::Impl& m, const float* rows, std::size_t n, const std::vector<int>& labels,
                     const std::vector<std::size_t>& order, const std::vector<double>& class_weight) {
  const std::size_t dim = m.dim;
  const std::size_t k = m.classes.size();
  const LogregSettings& s = m.settings.logreg;
  std::vector<int> position(static_cast<std::size_t>(m.n_classes), -1);
  for (std::size_t c = 0; c < k; ++c) position[static_cast<std::size_t>(m.classes[c])] = static_cast<int>(c);

  Multinomial prob;
  prob.k = k;
  prob.d = dim;
  prob.inv_c = 1.0 / s.c;
  prob.tol = s.tol;
  prob.X.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(dim));
  prob.y.resize(n);
  prob.sw.resize(static_cast<Eigen::Index>(n));
  for (std::size_t r = 0; r < n; ++r) {
    const std::size_t src = order[r];
    for (std::size_t j = 0; j < dim; ++j)
      prob.X(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) = static_cast<double>(rows[src * dim + j]);
    const int pos = position[static_cast<std::size_t>(labels[src])];
    prob.y[r] = pos;
    prob.sw[static_cast<Eigen::Index>(r)] = class_weight[static_cast<std::size_t>(pos)];
  }

  const int nvar = static_cast<int>(k * (dim + 1));
  std::unique_ptr<lbfgsfloatval_t, LbfgsFree> x(lbfgs_malloc(nvar));
  if (!x) fail_runtime("logreg fit", "out of memory for L-BFGS");
  std::fill(x.get(), x.get() + nvar, 0.0);
  lbfgs_parameter_t param;
  lbfgs_parameter_init(&param);
  param.m = 10;               // scipy's maxcor
  param.epsilon = 0.0;        // stopping is done in progress_cb (scipy's rules)
  param.max_iterations = s.max_iter;
  param.max_linesearch = 20;  // scipy's maxls
  param.ftol = 1e-3;          // scipy's line search (dcsrch) constants
  param.gtol = 0.9;
  lbfgsfloatval_t fx = 0.0;
  const int ret = lbfgs(nvar, x.get(), &fx, &Multinomial::evaluate_cb, &Multinomial::progress_cb, &prob, &param);

  if (ret == LBFGSERR_MAXIMUMITERATION) {
    spdlog::warn("logreg (multinomial): L-BFGS did not converge in {} iterations (model.logreg_max_iter)", s.max_iter);
  } else if (ret == LBFGSERR_ROUNDING_ERROR || ret == LBFGSERR_MINIMUMSTEP || ret == LBFGSERR_MAXIMUMSTEP ||
             ret == LBFGSERR_MAXIMUMLINESEARCH || ret == LBFGSERR_WIDTHTOOSMALL || ret == LBFGSERR_INCREASEGRADIENT ||
             ret == LBFGSERR_INCORRECT_TMINMAX) {
    // The line search could not improve further: the point reached (liblbfgs keeps the last good
    // one) is as converged as double precision allows.
    spdlog::debug("logreg (multinomial): L-BFGS line search stopped (code {}) after {} iterations", ret, prob.iterations);
  } else if (ret < 0) {
    fail_runtime("logreg fit", "L-BFGS failed (liblbfgs code " + std::to_string(ret) + ")");
  }
  if (!std::isfinite(fx)) fail_runtime("logreg fit", "L-BFGS reached a non-finite objective");

  m.rows = k;
  m.coef.assign(x.get(), x.get() + k * dim);
  m.intercept.assign(x.get() + k * dim, x.get() + k * (dim + 1));
  for (double v : m.coef)
    if (!std::isfinite(v)) fail_runtime("logreg fit", "L-BFGS produced non-finite weights");
}

void predict_linear(const ClassicModel::Impl& m, const float* row, int& pred, std::vector<float>& proba,
                    std::vector<double>* dec) {
  const std::size_t dim = m.dim;
  const std::size_t k = m.classes.size();
  std::vector<double> d(m.rows);
  for (std::size_t r = 0; r < m.rows; ++r) {
    const double* w = m.coef.data() + r * dim;
    double sum = 0.0;  // liblinear's order: features, then the bias feature
    for (std::size_t j = 0; j < dim; ++j) sum += w[j] * static_cast<double>(row[j]);
    d[r] = sum + m.intercept[r];
  }
  proba.assign(static_cast<std::size_t>(m.n_classes), 0.0f);
  std::vector<double> p(k);
  std::size_t best = 0;
  if (m.kind == Kind::Ovr && k == 2) {
    best = d[0] > 0 ? 0 : 1;
    p[0] = expit(d[0]);
    p[1] = 1.0 - p[0];
  } else {
    for (std::size_t c = 1; c < k; ++c)
      if (d[c] > d[best]) best = c;
    if (m.kind == Kind::Ovr) {
      double sum = 0.0;
      for (std::size_t c = 0; c < k; ++c) sum += (p[c] = expit(d[c]));
      for (std::size_t c = 0; c < k; ++c) p[c] /= sum;
    } else {
      double sum = 0.0;
      for (std::size_t c = 0; c < k; ++c) sum += (p[c] = std::exp(d[c] - d[best]));
      for (std::size_t c = 0; c < k; ++c) p[c] /= sum;
    }
  }
  pred = m.classes[best];
  for (std::size_t c = 0; c < k; ++c) proba[static_cast<std::size_t>(m.classes[c])] = static_cast<float>(p[c]);
  if (dec) *dec = std::move(d);
}

}  // namespace ser::classic
