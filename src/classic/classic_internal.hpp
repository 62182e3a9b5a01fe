#pragma once
// Internal state of a ClassicModel (src/classic only).
#include <libsvm/svm.h>

#include <cstddef>
#include <string>
#include <vector>

#include "ser/classic/classic.hpp"

namespace ser::classic {

enum class Kind { Svm, Ovr, Multinomial };

// Everything a fitted model is. Immutable once built; never copied or moved after build_svm(),
// because the libsvm view (svm) points into the vectors.
struct ClassicModel::Impl {
  ClassicSettings settings;
  std::size_t dim = 0;
  int n_classes = 0;
  std::vector<int> classes;  // present at fit, ascending; the libraries' own class order
  Kind kind = Kind::Svm;

  // svm (libsvm C-SVC, classes in `classes` order)
  int kernel_type = RBF;
  double gamma = 0.0;          // resolved
  std::vector<int> n_sv;       // per class
  std::vector<float> sv;       // l x dim, row-major (the training rows that became SVs)
  std::vector<double> sv_coef; // (k-1) x l, row-major
  std::vector<double> rho;     // k(k-1)/2
  std::vector<double> prob_a, prob_b;  // k(k-1)/2 each, or empty

  // logreg: rows x dim coefficients and one intercept per row. ovr with two classes has one row
  // (liblinear's: positive = classes[0]); otherwise one row per class in `classes`.
  std::vector<double> coef;
  std::vector<double> intercept;
  std::size_t rows = 0;

  // libsvm's view of the svm part, pointing into the vectors above (build_svm()).
  std::vector<svm_node> sv_nodes;
  std::vector<svm_node*> sv_ptrs;
  std::vector<double*> coef_ptrs;
  std::vector<int> label_arr;
  svm_model model{};

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void build_svm();
  std::size_t n_sv_total() const { return sv.size() / (dim ? dim : 1); }
};

// svm.cpp / logreg.cpp
void fit_svm(ClassicModel::Impl& m, const float* rows, std::size_t n, const std::vector<int>& labels,
             const std::vector<std::size_t>& order, const std::vector<double>& class_weight);
void fit_ovr(ClassicModel::Impl& m, const float* rows, std::size_t n, const std::vector<int>& labels,
             const std::vector<std::size_t>& order, const std::vector<double>& class_weight);
void fit_multinomial(ClassicModel::Impl& m, const float* rows, std::size_t n, const std::vector<int>& labels,
                     const std::vector<std::size_t>& order, const std::vector<double>& class_weight);

// Per row: decision values in model terms; writes pred (global class index) and proba (n_classes).
void predict_svm(const ClassicModel::Impl& m, const float* row, int& pred, std::vector<float>& proba,
                 std::vector<double>* dec);
void predict_linear(const ClassicModel::Impl& m, const float* row, int& pred, std::vector<float>& proba,
                    std::vector<double>* dec);

}  // namespace ser::classic
