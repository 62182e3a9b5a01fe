// ClassicModel: validation, fit dispatch, prediction, JSON (de)serialisation.
#include "ser/classic/classic.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "classic_internal.hpp"
#include "ser/error.hpp"
#include "ser/util/files.hpp"

namespace ser::classic {

namespace {

constexpr const char* kFormat = "ser-classic-model";
constexpr int kFormatVersion = 1;

std::string num(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

// --- base64 of little-endian float32 (support vectors) ---------------------------------------

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string floats_to_base64(const std::vector<float>& v) {
  std::string bytes;
  bytes.reserve(v.size() * 4);
  for (float f : v) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<char>((u >> (8 * b)) & 0xffu));
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t t = (static_cast<std::uint8_t>(bytes[i]) << 16) | (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                            static_cast<std::uint8_t>(bytes[i + 2]);
    out += kB64[(t >> 18) & 63];
    out += kB64[(t >> 12) & 63];
    out += kB64[(t >> 6) & 63];
    out += kB64[t & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t t = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) t |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += kB64[(t >> 18) & 63];
    out += kB64[(t >> 12) & 63];
    out += (i + 1 < bytes.size()) ? kB64[(t >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// false on malformed input
bool base64_to_floats(const std::string& s, std::size_t count, std::vector<float>& out) {
  int rev[256];
  std::fill(std::begin(rev), std::end(rev), -1);
  for (int i = 0; i < 64; ++i) rev[static_cast<unsigned char>(kB64[i])] = i;
  if (s.size() % 4 != 0) return false;
  std::string bytes;
  bytes.reserve(s.size() / 4 * 3);
  for (std::size_t i = 0; i < s.size(); i += 4) {
    std::uint32_t t = 0;
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char ch = s[i + static_cast<std::size_t>(j)];
      int v;
      if (ch == '=') {
        if (i + 4 != s.size() || j < 2) return false;
        v = 0;
        ++pad;
      } else {
        if (pad) return false;
        v = rev[static_cast<unsigned char>(ch)];
        if (v < 0) return false;
      }
      t = (t << 6) | static_cast<std::uint32_t>(v);
    }
    bytes.push_back(static_cast<char>((t >> 16) & 0xffu));
    if (pad < 2) bytes.push_back(static_cast<char>((t >> 8) & 0xffu));
    if (pad < 1) bytes.push_back(static_cast<char>(t & 0xffu));
  }
  if (bytes.size() != count * 4) return false;
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t u = 0;
    for (int b = 0; b < 4; ++b) u |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[i * 4 + static_cast<std::size_t>(b)])) << (8 * b);
    std::memcpy(&out[i], &u, 4);
  }
  return true;
}

void require_finite(const float* rows, std::size_t n, std::size_t dim, const std::string& what) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dim; ++j)
      if (!std::isfinite(rows[i * dim + j]))
        fail_input(what, "non-finite value " + num(rows[i * dim + j]) + " at row " + std::to_string(i) + ", column " +
                             std::to_string(j) + " (impute or drop the item before fitting/predicting)");
}

}  // namespace

bool is_classic_architecture(const std::string& name) { return name == "svm" || name == "logreg"; }

void validate_settings(const ClassicSettings& s) {
  if (!is_classic_architecture(s.architecture))
    fail_config("model.architecture", "'" + s.architecture + "' is not a classic model (svm | logreg)");
  if (s.architecture == "svm") {
    if (s.svm.kernel != "rbf" && s.svm.kernel != "linear")
      fail_config("model.svm_kernel", "'" + s.svm.kernel + "' is not a known kernel (rbf | linear)");
    if (!(s.svm.c > 0) || !std::isfinite(s.svm.c)) fail_config("model.svm_c", "must be a finite number > 0, got " + num(s.svm.c));
    if (!std::isfinite(s.svm.gamma)) fail_config("model.svm_gamma", "must be finite (<= 0 means \"scale\")");
    if (!(s.svm.tol > 0) || !std::isfinite(s.svm.tol)) fail_config("model.svm_tol", "must be a finite number > 0, got " + num(s.svm.tol));
    if (!(s.svm.cache_mb > 0) || !std::isfinite(s.svm.cache_mb))
      fail_config("model.svm_cache_mb", "must be a finite number > 0, got " + num(s.svm.cache_mb));
  } else {
    if (s.logreg.multi_class != "ovr" && s.logreg.multi_class != "multinomial")
      fail_config("model.logreg_multi_class", "'" + s.logreg.multi_class + "' is not known (ovr | multinomial)");
    if (!(s.logreg.c > 0) || !std::isfinite(s.logreg.c)) fail_config("model.logreg_c", "must be a finite number > 0, got " + num(s.logreg.c));
    if (!(s.logreg.tol > 0) || !std::isfinite(s.logreg.tol))
      fail_config("model.logreg_tol", "must be a finite number > 0, got " + num(s.logreg.tol));
    if (s.logreg.max_iter < 1) fail_config("model.logreg_max_iter", "must be >= 1, got " + std::to_string(s.logreg.max_iter));
  }
}

nlohmann::json settings_to_json(const ClassicSettings& s) {
  return {{"architecture", s.architecture},
          {"class_weights", s.class_weights},
          {"seed", s.seed},
          {"svm",
           {{"kernel", s.svm.kernel},
            {"c", s.svm.c},
            {"gamma", s.svm.gamma},
            {"probability", s.svm.probability},
            {"tol", s.svm.tol},
            {"cache_mb", s.svm.cache_mb}}},
          {"logreg", {{"multi_class", s.logreg.multi_class}, {"c", s.logreg.c}, {"tol", s.logreg.tol}, {"max_iter", s.logreg.max_iter}}}};
}

ClassicSettings settings_from_json(const nlohmann::json& j, const std::string& origin) {
  ClassicSettings s;
  try {
    if (!j.is_object()) fail_input(origin, "classic model settings must be a JSON object");
    s.architecture = j.at("architecture").get<std::string>();
    s.class_weights = j.at("class_weights").get<bool>();
    s.seed = j.at("seed").get<std::uint64_t>();
    const auto& v = j.at("svm");
    s.svm.kernel = v.at("kernel").get<std::string>();
    s.svm.c = v.at("c").get<double>();
    s.svm.gamma = v.at("gamma").get<double>();
    s.svm.probability = v.at("probability").get<bool>();
    s.svm.tol = v.at("tol").get<double>();
    s.svm.cache_mb = v.at("cache_mb").get<double>();
    const auto& l = j.at("logreg");
    s.logreg.multi_class = l.at("multi_class").get<std::string>();
    s.logreg.c = l.at("c").get<double>();
    s.logreg.tol = l.at("tol").get<double>();
    s.logreg.max_iter = l.at("max_iter").get<int>();
  } catch (const nlohmann::json::exception& e) {
    fail_input(origin, std::string("bad classic model settings: ") + e.what());
  }
  try {
    validate_settings(s);
  } catch (const Error& e) {
    fail_input(origin, std::string("bad classic model settings: ") + e.what());
  }
  return s;
}

double gamma_scale(const float* rows, std::size_t n, std::size_t dim) {
  const std::size_t count = n * dim;
  if (count == 0) return 1.0;
  long double sum = 0.0L;
  for (std::size_t i = 0; i < count; ++i) sum += static_cast<long double>(rows[i]);
  const long double mean = sum / static_cast<long double>(count);
  long double ss = 0.0L;
  for (std::size_t i = 0; i < count; ++i) {
    const long double dlt = static_cast<long double>(rows[i]) - mean;
    ss += dlt * dlt;
  }
  const double var = static_cast<double>(ss / static_cast<long double>(count));
  return var != 0.0 ? 1.0 / (static_cast<double>(dim) * var) : 1.0;
}

// --- ClassicModel ------------------------------------------------------------------------------

ClassicModel::ClassicModel() = default;
ClassicModel::~ClassicModel() = default;
ClassicModel::ClassicModel(const ClassicModel&) = default;
ClassicModel& ClassicModel::operator=(const ClassicModel&) = default;
ClassicModel::ClassicModel(ClassicModel&&) noexcept = default;
ClassicModel& ClassicModel::operator=(ClassicModel&&) noexcept = default;
ClassicModel::ClassicModel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

namespace {
const ClassicModel::Impl& need(const std::shared_ptr<const ClassicModel::Impl>& p) {
  if (!p) fail_runtime("classic model", "used before it was fitted or loaded");
  return *p;
}
}  // namespace

const ClassicSettings& ClassicModel::settings() const { return need(impl_).settings; }
std::size_t ClassicModel::dim() const { return need(impl_).dim; }
int ClassicModel::n_classes() const { return need(impl_).n_classes; }
const std::vector<int>& ClassicModel::classes() const { return need(impl_).classes; }
double ClassicModel::gamma_used() const {
  const Impl& m = need(impl_);
  return (m.kind == Kind::Svm && m.kernel_type == RBF) ? m.gamma : 0.0;
}

ClassicModel ClassicModel::fit(const float* rows, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                               int n_classes, const ClassicSettings& settings) {
  validate_settings(settings);
  const std::string subject = "training data";
  if (n == 0) fail_input(subject, "no training rows");
  if (dim == 0) fail_input(subject, "feature dimension is 0");
  if (!rows) fail_input(subject, "no row data (null pointer)");
  if (labels.size() != n)
    fail_input(subject, std::to_string(labels.size()) + " labels for " + std::to_string(n) + " rows");
  if (n_classes < 2) fail_input(subject, "n_classes must be >= 2, got " + std::to_string(n_classes));
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max() / 2) ||
      dim > static_cast<std::size_t>(std::numeric_limits<int>::max() / 2))
    fail_input(subject, "too many rows or features for libsvm/liblinear");
  std::vector<std::size_t> count(static_cast<std::size_t>(n_classes), 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= n_classes)
      fail_input(subject, "label " + std::to_string(labels[i]) + " of row " + std::to_string(i) + " is outside 0.." +
                              std::to_string(n_classes - 1));
    ++count[static_cast<std::size_t>(labels[i])];
  }
  require_finite(rows, n, dim, subject);

  auto impl = std::make_shared<Impl>();
  Impl& m = *impl;
  m.settings = settings;
  m.dim = dim;
  m.n_classes = n_classes;
  for (int c = 0; c < n_classes; ++c)
    if (count[static_cast<std::size_t>(c)] > 0) m.classes.push_back(c);
  if (m.classes.size() < 2)
    fail_input(subject, "only one class (" + std::to_string(m.classes.empty() ? -1 : m.classes[0]) +
                            ") occurs in the training labels; a classifier needs at least 2");

  // sklearn's class_weight="balanced": n / (n_present_classes * count), over present classes.
  std::vector<double> weight(m.classes.size(), 1.0);
  if (settings.class_weights)
    for (std::size_t c = 0; c < m.classes.size(); ++c)
      weight[c] = static_cast<double>(n) /
                  (static_cast<double>(m.classes.size()) * static_cast<double>(count[static_cast<std::size_t>(m.classes[c])]));

  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return labels[a] < labels[b]; });

  if (settings.architecture == "svm") {
    m.kind = Kind::Svm;
    m.kernel_type = settings.svm.kernel == "linear" ? LINEAR : RBF;
    m.gamma = settings.svm.kernel == "linear" ? 0.0 : (settings.svm.gamma > 0 ? settings.svm.gamma : gamma_scale(rows, n, dim));
    fit_svm(m, rows, n, labels, order, weight);
  } else if (settings.logreg.multi_class == "ovr") {
    m.kind = Kind::Ovr;
    fit_ovr(m, rows, n, labels, order, weight);
  } else {
    m.kind = Kind::Multinomial;
    fit_multinomial(m, rows, n, labels, order, weight);
  }
  return ClassicModel(std::move(impl));
}

void ClassicModel::predict(const float* rows, std::size_t n, std::vector<int>& pred,
                           std::vector<std::vector<float>>& proba) const {
  const Impl& m = need(impl_);
  pred.assign(n, 0);
  proba.assign(n, {});
  if (n == 0) return;
  if (!rows) fail_input("prediction rows", "no row data (null pointer)");
  require_finite(rows, n, m.dim, "prediction rows");
  for (std::size_t i = 0; i < n; ++i) {
    if (m.kind == Kind::Svm)
      predict_svm(m, rows + i * m.dim, pred[i], proba[i], nullptr);
    else
      predict_linear(m, rows + i * m.dim, pred[i], proba[i], nullptr);
  }
}

std::vector<std::vector<double>> ClassicModel::decision_values(const float* rows, std::size_t n) const {
  const Impl& m = need(impl_);
  std::vector<std::vector<double>> out(n);
  if (n == 0) return out;
  if (!rows) fail_input("prediction rows", "no row data (null pointer)");
  require_finite(rows, n, m.dim, "prediction rows");
  int pred = 0;
  std::vector<float> proba;
  for (std::size_t i = 0; i < n; ++i) {
    if (m.kind == Kind::Svm)
      predict_svm(m, rows + i * m.dim, pred, proba, &out[i]);
    else
      predict_linear(m, rows + i * m.dim, pred, proba, &out[i]);
  }
  return out;
}

// --- JSON --------------------------------------------------------------------------------------

nlohmann::json ClassicModel::to_json() const {
  const Impl& m = need(impl_);
  nlohmann::json j;
  j["format"] = kFormat;
  j["format_version"] = kFormatVersion;
  j["settings"] = settings_to_json(m.settings);
  j["dim"] = m.dim;
  j["n_classes"] = m.n_classes;
  j["classes"] = m.classes;
  if (m.kind == Kind::Svm) {
    const std::size_t l = m.n_sv_total();
    nlohmann::json s;
    s["kernel"] = m.kernel_type == LINEAR ? "linear" : "rbf";
    s["gamma"] = m.gamma;
    s["n_sv"] = m.n_sv;
    s["rho"] = m.rho;
    nlohmann::json coef = nlohmann::json::array();
    for (std::size_t r = 0; r + 1 < m.classes.size(); ++r)
      coef.push_back(std::vector<double>(m.sv_coef.begin() + static_cast<std::ptrdiff_t>(r * l),
                                         m.sv_coef.begin() + static_cast<std::ptrdiff_t>((r + 1) * l)));
    s["sv_coef"] = std::move(coef);
    s["prob_a"] = m.prob_a;
    s["prob_b"] = m.prob_b;
    s["support_vectors"] = {{"dtype", "<f4"}, {"shape", {l, m.dim}}, {"base64", floats_to_base64(m.sv)}};
    j["svm"] = std::move(s);
  } else {
    nlohmann::json s;
    s["multi_class"] = m.kind == Kind::Ovr ? "ovr" : "multinomial";
    nlohmann::json coef = nlohmann::json::array();
    for (std::size_t r = 0; r < m.rows; ++r)
      coef.push_back(std::vector<double>(m.coef.begin() + static_cast<std::ptrdiff_t>(r * m.dim),
                                         m.coef.begin() + static_cast<std::ptrdiff_t>((r + 1) * m.dim)));
    s["coef"] = std::move(coef);
    s["intercept"] = m.intercept;
    j["logreg"] = std::move(s);
  }
  return j;
}

ClassicModel ClassicModel::from_json(const nlohmann::json& j, const std::string& origin) {
  auto bad = [&](const std::string& what) { fail_input(origin, "not a valid classic model: " + what); };
  auto finite = [&](const std::vector<double>& v, const char* key) {
    for (double x : v)
      if (!std::isfinite(x)) bad(std::string(key) + " holds a non-finite value");
  };
  auto impl = std::make_shared<Impl>();
  Impl& m = *impl;
  try {
    if (!j.is_object()) bad("top level is not a JSON object");
    if (!j.contains("format") || j.at("format") != kFormat) bad("\"format\" is not \"" + std::string(kFormat) + "\"");
    if (j.at("format_version").get<int>() != kFormatVersion)
      bad("format_version " + j.at("format_version").dump() + " is not supported (this build reads " +
          std::to_string(kFormatVersion) + ")");
    m.settings = settings_from_json(j.at("settings"), origin);
    const long long dim = j.at("dim").get<long long>();
    m.n_classes = j.at("n_classes").get<int>();
    if (dim < 1 || dim > std::numeric_limits<int>::max() / 2) bad("dim " + std::to_string(dim) + " is out of range");
    m.dim = static_cast<std::size_t>(dim);
    if (m.n_classes < 2) bad("n_classes must be >= 2");
    m.classes = j.at("classes").get<std::vector<int>>();
    if (m.classes.size() < 2) bad("fewer than 2 classes");
    for (std::size_t c = 0; c < m.classes.size(); ++c) {
      if (m.classes[c] < 0 || m.classes[c] >= m.n_classes) bad("class " + std::to_string(m.classes[c]) + " is outside 0..n_classes-1");
      if (c > 0 && m.classes[c] <= m.classes[c - 1]) bad("classes are not strictly ascending");
    }
    const std::size_t k = m.classes.size();
    if (m.settings.architecture == "svm") {
      m.kind = Kind::Svm;
      if (!j.contains("svm")) bad("no \"svm\" section");
      const auto& s = j.at("svm");
      const std::string kernel = s.at("kernel").get<std::string>();
      if (kernel != m.settings.svm.kernel) bad("svm.kernel differs from settings.svm.kernel");
      m.kernel_type = kernel == "linear" ? LINEAR : RBF;
      m.gamma = s.at("gamma").get<double>();
      if (m.kernel_type == RBF && (!(m.gamma > 0) || !std::isfinite(m.gamma))) bad("svm.gamma must be a finite number > 0");
      m.n_sv = s.at("n_sv").get<std::vector<int>>();
      if (m.n_sv.size() != k) bad("svm.n_sv has " + std::to_string(m.n_sv.size()) + " entries for " + std::to_string(k) + " classes");
      long long l = 0;
      for (int c : m.n_sv) {
        if (c < 0) bad("svm.n_sv holds a negative count");
        l += c;
      }
      if (l < 1) bad("no support vectors");
      const auto& svj = s.at("support_vectors");
      if (svj.at("dtype") != "<f4") bad("svm.support_vectors.dtype is not \"<f4\"");
      const auto shape = svj.at("shape").get<std::vector<long long>>();
      if (shape.size() != 2 || shape[0] != l || shape[1] != dim)
        bad("svm.support_vectors.shape is not [" + std::to_string(l) + ", " + std::to_string(dim) + "]");
      if (!base64_to_floats(svj.at("base64").get<std::string>(), static_cast<std::size_t>(l) * m.dim, m.sv))
        bad("svm.support_vectors.base64 is malformed or has the wrong length");
      for (float v : m.sv)
        if (!std::isfinite(v)) bad("svm.support_vectors holds a non-finite value");
      const auto coef = s.at("sv_coef").get<std::vector<std::vector<double>>>();
      if (coef.size() != k - 1) bad("svm.sv_coef must have " + std::to_string(k - 1) + " rows");
      m.sv_coef.clear();
      for (const auto& row : coef) {
        if (row.size() != static_cast<std::size_t>(l)) bad("an svm.sv_coef row does not have one value per support vector");
        finite(row, "svm.sv_coef");
        m.sv_coef.insert(m.sv_coef.end(), row.begin(), row.end());
      }
      const std::size_t pairs = k * (k - 1) / 2;
      m.rho = s.at("rho").get<std::vector<double>>();
      if (m.rho.size() != pairs) bad("svm.rho must have " + std::to_string(pairs) + " values");
      finite(m.rho, "svm.rho");
      m.prob_a = s.at("prob_a").get<std::vector<double>>();
      m.prob_b = s.at("prob_b").get<std::vector<double>>();
      if (m.settings.svm.probability) {
        if (m.prob_a.size() != pairs || m.prob_b.size() != pairs)
          bad("svm.prob_a / svm.prob_b must have " + std::to_string(pairs) + " values (settings.svm.probability is true)");
      } else if (!m.prob_a.empty() || !m.prob_b.empty()) {
        bad("svm.prob_a / svm.prob_b present although settings.svm.probability is false");
      }
      finite(m.prob_a, "svm.prob_a");
      finite(m.prob_b, "svm.prob_b");
      m.build_svm();
    } else {
      if (!j.contains("logreg")) bad("no \"logreg\" section");
      const auto& s = j.at("logreg");
      const std::string mc = s.at("multi_class").get<std::string>();
      if (mc != m.settings.logreg.multi_class) bad("logreg.multi_class differs from settings.logreg.multi_class");
      m.kind = mc == "ovr" ? Kind::Ovr : Kind::Multinomial;
      const std::size_t expect_rows = (m.kind == Kind::Ovr && k == 2) ? 1 : k;
      const auto coef = s.at("coef").get<std::vector<std::vector<double>>>();
      if (coef.size() != expect_rows) bad("logreg.coef must have " + std::to_string(expect_rows) + " rows");
      m.coef.clear();
      for (const auto& row : coef) {
        if (row.size() != m.dim) bad("a logreg.coef row does not have dim values");
        finite(row, "logreg.coef");
        m.coef.insert(m.coef.end(), row.begin(), row.end());
      }
      m.intercept = s.at("intercept").get<std::vector<double>>();
      if (m.intercept.size() != expect_rows) bad("logreg.intercept must have " + std::to_string(expect_rows) + " values");
      finite(m.intercept, "logreg.intercept");
      m.rows = expect_rows;
    }
  } catch (const nlohmann::json::exception& e) {
    bad(e.what());
  }
  return ClassicModel(std::move(impl));
}

void ClassicModel::save(const std::string& path) const {
  const std::string text = to_json().dump();
  util::write_text_atomic(path, text + "\n");
}

ClassicModel ClassicModel::load(const std::string& path) {
  return from_json(util::read_json(path), path);
}

}  // namespace ser::classic
