#pragma once
// Shared by the classic-model tests: synthetic blobs, settings shorthands, a temp folder and checks.
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

namespace ser::test::classic_support {

struct Data {
  std::vector<float> rows;  // n x dim
  std::vector<int> labels;
  std::size_t n = 0, dim = 0;
};

// k Gaussian blobs in `dim` dimensions; centres at distance ~`sep` (in units of the noise std).
inline Data blobs(std::size_t per_class, int k, std::size_t dim, double sep, unsigned seed, std::vector<int> skip = {}) {
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

inline ClassicSettings svm(const std::string& kernel = "rbf", double c = 1.0, bool probability = true) {
  ClassicSettings s;
  s.architecture = "svm";
  s.svm.kernel = kernel;
  s.svm.c = c;
  s.svm.probability = probability;
  return s;
}

inline ClassicSettings logreg(const std::string& mc = "ovr", double c = 1.0) {
  ClassicSettings s;
  s.architecture = "logreg";
  s.logreg.multi_class = mc;
  s.logreg.c = c;
  return s;
}

inline std::vector<ClassicSettings> all_kinds() {
  return {svm("rbf"), svm("linear", 1.0, false), svm("rbf", 10.0, false), logreg("ovr"), logreg("multinomial")};
}

inline std::string describe(const ClassicSettings& s) {
  if (s.architecture == "svm") return "svm/" + s.svm.kernel + (s.svm.probability ? "/prob" : "");
  return "logreg/" + s.logreg.multi_class;
}

inline double accuracy(const std::vector<int>& pred, const std::vector<int>& truth) {
  std::size_t ok = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) ok += pred[i] == truth[i];
  return pred.empty() ? 0.0 : static_cast<double>(ok) / static_cast<double>(pred.size());
}

inline std::string error_text(const std::function<void()>& f, ser::ErrorKind* kind = nullptr) {
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

inline void check_proba(const std::vector<std::vector<float>>& proba, std::size_t n, int n_classes) {
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

}  // namespace ser::test::classic_support

using namespace ser::test::classic_support;
