#pragma once
// Classic (torch-free) classifiers over one standardised feature vector per utterance:
//   svm    - libsvm C-SVC (rbf | linear kernel), = scikit-learn's SVC
//   logreg - L2 logistic regression: one-vs-rest on liblinear (-s 0 -B 1), = sklearn's
//            LogisticRegression(solver="liblinear"); or multinomial (softmax) minimised with
//            L-BFGS (liblbfgs), = sklearn's LogisticRegression(solver="lbfgs", multinomial).
//
// Matching scikit-learn 1.2 (checked by tests/unit/test_classic.cpp against
// scripts/oracle_classic.py):
//   - classes are handed to libsvm/liblinear in ascending order (sklearn sorts its labels), so the
//     one-vs-one vote and its tie-breaking are sklearn's;
//   - gamma <= 0 is gamma="scale": 1 / (dim * var(X_train)) over every value of the matrix
//     (population variance; 1 when that variance is 0);
//   - class_weights = "balanced": weight of class k = n / (n_present_classes * count_k), where only
//     the classes that occur in the training labels count (sklearn only knows those);
//   - liblinear uses bias = intercept_scaling = 1, so the intercept is regularised as in sklearn;
//     multinomial minimises sum_i w_i * CE_i + ||W||^2 / (2C) with the intercepts unpenalised and
//     stops like scipy's L-BFGS-B in sklearn: max |gradient| <= tol, or a relative decrease of the
//     objective below 2.2e-9, or max_iter iterations.
// SVM probabilities are libsvm's Platt scaling (internal 5-fold CV) and are NOT expected to equal
// sklearn's (different random folds); predictions are libsvm's vote either way.
//
// No LibTorch here: this header and src/classic compile into ser_core.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ser::classic {

struct SvmSettings {
  std::string kernel = "rbf";  // rbf | linear
  double c = 1.0;
  double gamma = 0.0;       // <= 0: scikit-learn's gamma="scale" (see above); resolved at fit
  bool probability = true;  // Platt probabilities (libsvm -b 1)
  double tol = 1e-3;        // libsvm eps
  double cache_mb = 200;
};

struct LogregSettings {
  // ovr: liblinear -s 0 (L2, primal), = sklearn solver="liblinear";
  // multinomial: softmax + L2 with L-BFGS, = sklearn solver="lbfgs", multi_class="multinomial".
  std::string multi_class = "ovr";
  double c = 1.0;
  double tol = 1e-4;
  int max_iter = 1000;  // multinomial only (liblinear 2.3 has a fixed Newton-iteration limit)
};

struct ClassicSettings {
  std::string architecture;  // "svm" | "logreg"
  SvmSettings svm;
  LogregSettings logreg;
  bool class_weights = false;  // inverse class frequency ("balanced" in sklearn terms)
  // Seeds libsvm's probability cross-validation (it draws from the C library's rand(); fits that
  // use it are serialised process-wide by a mutex, so they are reproducible under threads).
  std::uint64_t seed = 42;
};

bool is_classic_architecture(const std::string& name);  // "svm" || "logreg"

// Settings <-> JSON (the "settings" object of a saved model). settings_from_json validates the
// values and throws ser::Error (input) whose subject is `origin` and whose text names the key,
// e.g. "model.svm.kernel".
nlohmann::json settings_to_json(const ClassicSettings& settings);
ClassicSettings settings_from_json(const nlohmann::json& j, const std::string& origin);
// Throws ser::Error (config) naming the offending key (model.architecture, model.svm.kernel,
// model.svm.c, ..., model.logreg.multi_class, ...). Only the chosen architecture's section is
// checked. fit() calls it first.
void validate_settings(const ClassicSettings& settings);

class ClassicModel {
 public:
  ClassicModel();  // empty; predict/save throw until assigned a fitted or loaded model
  ~ClassicModel();
  ClassicModel(const ClassicModel&);
  ClassicModel& operator=(const ClassicModel&);
  ClassicModel(ClassicModel&&) noexcept;
  ClassicModel& operator=(ClassicModel&&) noexcept;

  // rows: row-major n x dim, already standardised; labels in 0..n_classes-1 (every class need not
  // occur, but >= 2 distinct must). Throws ser::Error: config for bad settings, input for bad
  // data (empty, size mismatch, label out of range, < 2 distinct classes, non-finite value),
  // runtime when a solver fails.
  static ClassicModel fit(const float* rows, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                          int n_classes, const ClassicSettings& settings);

  // pred: class index per row; proba: n rows of n_classes probabilities (sum 1).
  // svm: pred is libsvm's one-vs-one vote (= sklearn SVC.predict); proba from Platt scaling, or the
  // one-hot of pred when probability=false. logreg: pred = argmax of the decision values (always a
  // maximiser of proba). Classes absent from training get probability 0. Thread-safe.
  void predict(const float* rows, std::size_t n, std::vector<int>& pred,
               std::vector<std::vector<float>>& proba) const;
  // Decision values in the fitted model's own terms (svm: k'(k'-1)/2 one-vs-one values in libsvm's
  // pair order; logreg: one per present class, or one for a binary ovr model), for diagnostics.
  std::vector<std::vector<double>> decision_values(const float* rows, std::size_t n) const;

  // One JSON file with settings, n_classes, dim and every fitted parameter (doubles in shortest
  // round-trip form; support vectors, which are float inputs, as base64 little-endian float32),
  // written to a temp name and renamed. save -> load -> predict gives identical results.
  void save(const std::string& path) const;
  // Throws ser::Error (input) naming the file for a missing, corrupt or inconsistent file.
  static ClassicModel load(const std::string& path);
  nlohmann::json to_json() const;
  static ClassicModel from_json(const nlohmann::json& j, const std::string& origin);

  bool empty() const { return impl_ == nullptr; }
  const ClassicSettings& settings() const;  // as given to fit (svm.gamma <= 0 stays "scale")
  std::size_t dim() const;
  int n_classes() const;
  // Classes present at fit, ascending (the model's own class order).
  const std::vector<int>& classes() const;
  // The gamma the rbf kernel uses (resolved "scale" value); 0 for other models.
  double gamma_used() const;

  struct Impl;

 private:
  explicit ClassicModel(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;  // immutable after fit/load, so copies share it
};

// scikit-learn's gamma="scale": 1 / (dim * var(all values)), 1 when the variance is 0.
double gamma_scale(const float* rows, std::size_t n, std::size_t dim);

namespace detail {
// Training sets of up to this many rows (default 4096) hand libsvm a precomputed kernel matrix
// (n^2 x 16 bytes) computed exactly as libsvm would, which trains the same model many times
// faster; larger ones use libsvm's own kernel code. Returns the previous value (for tests).
std::size_t set_svm_gram_max_rows(std::size_t rows);
}  // namespace detail

}  // namespace ser::classic
