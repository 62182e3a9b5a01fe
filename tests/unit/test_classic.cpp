// Classic classifiers (ser::classic): libsvm SVC, liblinear / L-BFGS logistic regression.
// Synthetic fits, probabilities, save/load identity, determinism, bad input, gamma="scale".
// Agreement with scikit-learn is in test_classic_oracle.cpp.
#include "support/classic_data.hpp"

// --- fitting and predicting ----------------------------------------------------------------------

TEST(Classic, ArchitectureNames) {
  EXPECT_TRUE(ser::classic::is_classic_architecture("svm"));
  EXPECT_TRUE(ser::classic::is_classic_architecture("logreg"));
  EXPECT_FALSE(ser::classic::is_classic_architecture("model_a"));
  EXPECT_FALSE(ser::classic::is_classic_architecture("SVM"));
  EXPECT_FALSE(ser::classic::is_classic_architecture(""));
}

TEST(Classic, SeparableDataIsLearnedByEveryModel) {
  const Data train = blobs(40, 4, 10, 8.0, 1), test = blobs(25, 4, 10, 8.0, 2);
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    EXPECT_EQ(m.dim(), 10u);
    EXPECT_EQ(m.n_classes(), 4);
    EXPECT_EQ(m.classes(), (std::vector<int>{0, 1, 2, 3}));
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(train.rows.data(), train.n, pred, proba);
    EXPECT_EQ(accuracy(pred, train.labels), 1.0);
    m.predict(test.rows.data(), test.n, pred, proba);
    EXPECT_GE(accuracy(pred, test.labels), 0.98);
    check_proba(proba, test.n, 4);
    // pred is a maximiser of proba for logreg (argmax of the decision values) and mostly for svm
    // (libsvm's vote and Platt's pairwise coupling may differ near a boundary).
    std::size_t agree = 0;
    for (std::size_t i = 0; i < test.n; ++i) {
      const float top = *std::max_element(proba[i].begin(), proba[i].end());
      agree += proba[i][static_cast<std::size_t>(pred[i])] == top;
    }
    if (s.architecture == "logreg")
      EXPECT_EQ(agree, test.n);
    else
      EXPECT_GE(agree, test.n * 95 / 100);
  }
}

TEST(Classic, OverlappingDataBeatsChanceWithValidProbabilities) {
  const Data train = blobs(60, 3, 6, 1.0, 3), test = blobs(60, 3, 6, 1.0, 4);
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 3, s);
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(test.rows.data(), test.n, pred, proba);
    const double acc = accuracy(pred, test.labels);
    EXPECT_GT(acc, 0.5);
    EXPECT_LT(acc, 1.0);  // really overlapping
    check_proba(proba, test.n, 3);
  }
}

TEST(Classic, BinaryProblems) {
  const Data train = blobs(50, 2, 5, 3.0, 5), test = blobs(50, 2, 5, 3.0, 6);
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 2, s);
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(test.rows.data(), test.n, pred, proba);
    EXPECT_GE(accuracy(pred, test.labels), 0.85);
    check_proba(proba, test.n, 2);
    // One pair (svm), one liblinear row (ovr), two softmax rows (multinomial).
    const std::size_t expect = s.logreg.multi_class == "multinomial" && s.architecture == "logreg" ? 2u : 1u;
    EXPECT_EQ(m.decision_values(test.rows.data(), 1).at(0).size(), expect);
  }
}

TEST(Classic, TinyTrainingSetsStillFit) {
  // One item per class (libsvm's Platt CV then has folds without one of the classes).
  const std::vector<float> rows = {-1.0f, 0.5f, 1.0f, -0.5f, 0.9f, -0.4f};
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const auto m = ClassicModel::fit(rows.data(), 2, 2, {0, 1}, 2, s);
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(rows.data(), 3, pred, proba);
    check_proba(proba, 3, 2);
    const auto m3 = ClassicModel::fit(rows.data(), 3, 2, {0, 1, 1}, 3, s);
    m3.predict(rows.data(), 3, pred, proba);
    check_proba(proba, 3, 3);
  }
}

TEST(Classic, ClassesAbsentFromTrainingGetZeroProbability) {
  // 5 classes declared, 1 and 4 never occur.
  const Data train = blobs(30, 5, 8, 6.0, 7, {1, 4}), test = blobs(10, 5, 8, 6.0, 8, {1, 4});
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 5, s);
    EXPECT_EQ(m.classes(), (std::vector<int>{0, 2, 3}));
    std::vector<int> pred;
    std::vector<std::vector<float>> proba;
    m.predict(test.rows.data(), test.n, pred, proba);
    check_proba(proba, test.n, 5);
    for (std::size_t i = 0; i < test.n; ++i) {
      EXPECT_NE(pred[i], 1);
      EXPECT_NE(pred[i], 4);
      EXPECT_EQ(proba[i][1], 0.0f);
      EXPECT_EQ(proba[i][4], 0.0f);
    }
    EXPECT_GE(accuracy(pred, test.labels), 0.95);
    // Two present classes out of many: still a valid (binary) model.
    Data two = blobs(20, 6, 4, 6.0, 9, {0, 2, 3, 5});
    const ClassicModel b = ClassicModel::fit(two.rows.data(), two.n, two.dim, two.labels, 6, s);
    b.predict(two.rows.data(), two.n, pred, proba);
    check_proba(proba, two.n, 6);
    EXPECT_EQ(accuracy(pred, two.labels), 1.0);
  }
}

TEST(Classic, SvmWithoutProbabilityGivesOneHotOfThePrediction) {
  const Data train = blobs(30, 3, 4, 2.0, 10);
  const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 3, svm("rbf", 1.0, false));
  std::vector<int> pred;
  std::vector<std::vector<float>> proba;
  m.predict(train.rows.data(), train.n, pred, proba);
  for (std::size_t i = 0; i < train.n; ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(proba[i][static_cast<std::size_t>(c)], c == pred[i] ? 1.0f : 0.0f);
}

TEST(Classic, ProbabilityDoesNotChangeSvmPredictions) {
  // libsvm's Platt CV is separate from the final model, so pred (the vote) is the same.
  const Data train = blobs(40, 4, 6, 1.5, 11), test = blobs(40, 4, 6, 1.5, 12);
  const auto with = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, svm("rbf", 1.0, true));
  const auto without = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, svm("rbf", 1.0, false));
  std::vector<int> p1, p2;
  std::vector<std::vector<float>> q1, q2;
  with.predict(test.rows.data(), test.n, p1, q1);
  without.predict(test.rows.data(), test.n, p2, q2);
  EXPECT_EQ(p1, p2);
}

TEST(Classic, BalancedClassWeightsFavourTheMinorityClass) {
  // 200 vs 20 items, overlapping: balanced weights must raise the minority's recall.
  Data big = blobs(200, 2, 3, 1.2, 13, {1}), small = blobs(20, 2, 3, 1.2, 14, {0});
  Data train = big;
  train.rows.insert(train.rows.end(), small.rows.begin(), small.rows.end());
  train.labels.insert(train.labels.end(), small.labels.begin(), small.labels.end());
  train.n = train.labels.size();
  const Data test = blobs(200, 2, 3, 1.2, 15);
  for (auto s : {svm("rbf", 1.0, false), svm("linear", 1.0, false), logreg("ovr"), logreg("multinomial")}) {
    SCOPED_TRACE(describe(s));
    auto recall1 = [&](const ClassicModel& m) {
      std::vector<int> pred;
      std::vector<std::vector<float>> proba;
      m.predict(test.rows.data(), test.n, pred, proba);
      std::size_t hit = 0, all = 0;
      for (std::size_t i = 0; i < test.n; ++i)
        if (test.labels[i] == 1) {
          ++all;
          hit += pred[i] == 1;
        }
      return static_cast<double>(hit) / static_cast<double>(all);
    };
    const double plain = recall1(ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 2, s));
    s.class_weights = true;
    const double balanced = recall1(ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 2, s));
    EXPECT_GT(balanced, plain + 0.1) << "plain " << plain << " balanced " << balanced;
  }
}

TEST(Classic, PredictIsThreadSafe) {
  const Data train = blobs(40, 4, 8, 2.0, 16), test = blobs(50, 4, 8, 2.0, 17);
  for (const auto& s : {svm("rbf"), logreg("multinomial")}) {
    const ClassicModel m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    std::vector<int> ref;
    std::vector<std::vector<float>> ref_p;
    m.predict(test.rows.data(), test.n, ref, ref_p);
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int rep = 0; rep < 5; ++rep) {
          std::vector<int> pred;
          std::vector<std::vector<float>> proba;
          m.predict(test.rows.data(), test.n, pred, proba);
          if (pred != ref || proba != ref_p) ++mismatches;
        }
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0);
  }
}

// --- determinism, copies, save/load -------------------------------------------------------------

TEST(Classic, FitsAreDeterministicForASeed) {
  const Data train = blobs(40, 4, 6, 1.5, 18);
  for (const auto& s : all_kinds()) {
    SCOPED_TRACE(describe(s));
    const auto a = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    const auto b = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    EXPECT_EQ(a.to_json().dump(), b.to_json().dump());
  }
  // The seed drives libsvm's probability CV: another seed gives other Platt parameters (and the
  // same support vectors).
  auto s = svm("rbf");
  const auto a = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s).to_json();
  s.seed = 7;
  const auto b = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s).to_json();
  EXPECT_EQ(a["svm"]["support_vectors"], b["svm"]["support_vectors"]);
  EXPECT_EQ(a["svm"]["rho"], b["svm"]["rho"]);
  EXPECT_NE(a["svm"]["prob_a"], b["svm"]["prob_a"]);
}

TEST(Classic, ConcurrentSvmFitsWithProbabilityStayReproducible) {
  const Data train = blobs(30, 3, 5, 1.5, 19);
  const std::string ref = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 3, svm("rbf")).to_json().dump();
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      got[t] = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 3, svm("rbf")).to_json().dump();
    });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, ref);
}

TEST(Classic, SaveLoadRoundTripIsIdentical) {
  TempDir dir;
  const Data train = blobs(50, 4, 12, 1.5, 20, {2}), test = blobs(40, 4, 12, 1.5, 21);
  auto kinds = all_kinds();
  kinds.push_back(logreg("ovr"));
  kinds.back().class_weights = true;
  auto with_gamma = svm("rbf", 3.0);
  with_gamma.svm.gamma = 0.0123;
  kinds.push_back(with_gamma);
  int idx = 0;
  for (const auto& s : kinds) {
    SCOPED_TRACE(describe(s));
    const auto m = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    const std::string path = dir.file("model" + std::to_string(idx++) + ".json");
    m.save(path);
    const auto loaded = ClassicModel::load(path);
    EXPECT_EQ(loaded.to_json(), m.to_json());
    EXPECT_EQ(loaded.dim(), m.dim());
    EXPECT_EQ(loaded.n_classes(), m.n_classes());
    EXPECT_EQ(loaded.settings().svm.gamma, s.svm.gamma);
    EXPECT_EQ(loaded.gamma_used(), m.gamma_used());
    std::vector<int> p1, p2;
    std::vector<std::vector<float>> q1, q2;
    m.predict(test.rows.data(), test.n, p1, q1);
    loaded.predict(test.rows.data(), test.n, p2, q2);
    EXPECT_EQ(p1, p2);
    EXPECT_EQ(q1, q2);  // bitwise
    EXPECT_EQ(m.decision_values(test.rows.data(), test.n), loaded.decision_values(test.rows.data(), test.n));
    // Copies share the fitted state and predict the same.
    ClassicModel copy = loaded;
    ClassicModel moved = std::move(copy);
    moved.predict(test.rows.data(), test.n, p2, q2);
    EXPECT_EQ(q1, q2);
    EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    // No temp file left behind.
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) files += contains(e.path().string(), ".tmp.");
    EXPECT_EQ(files, 0u);
  }
}

TEST(Classic, PrecomputedKernelPathTrainsTheSameSvm) {
  // Small training sets hand libsvm a precomputed kernel matrix; it must give the model libsvm's
  // own kernel code gives (bit for bit; Platt's CV evaluates its kernel values in another form,
  // so probA/probB may differ in the last digits).
  const Data train = blobs(40, 4, 9, 1.0, 26), test = blobs(30, 4, 9, 1.0, 27);
  for (const auto& s : {svm("rbf", 10.0, true), svm("linear", 1.0, false), svm("rbf", 1.0, false)}) {
    SCOPED_TRACE(describe(s));
    const auto gram = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    const std::size_t before = ser::classic::detail::set_svm_gram_max_rows(0);
    const auto plain = ClassicModel::fit(train.rows.data(), train.n, train.dim, train.labels, 4, s);
    ser::classic::detail::set_svm_gram_max_rows(before);
    auto a = gram.to_json(), b = plain.to_json();
    for (const char* key : {"support_vectors", "sv_coef", "rho", "n_sv"}) EXPECT_EQ(a["svm"][key], b["svm"][key]) << key;
    const auto pa = a["svm"]["prob_a"].get<std::vector<double>>(), pb = b["svm"]["prob_a"].get<std::vector<double>>();
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_NEAR(pa[i], pb[i], 1e-6 * std::abs(pb[i]) + 1e-9);
    std::vector<int> p1, p2;
    std::vector<std::vector<float>> q1, q2;
    gram.predict(test.rows.data(), test.n, p1, q1);
    plain.predict(test.rows.data(), test.n, p2, q2);
    EXPECT_EQ(p1, p2);
  }
}

TEST(Classic, GammaScaleIsSklearnsFormula) {
  const Data d = blobs(17, 3, 7, 2.0, 22);
  double mean = 0.0;
  for (float v : d.rows) mean += v;
  mean /= static_cast<double>(d.rows.size());
  double var = 0.0;
  for (float v : d.rows) var += (v - mean) * (v - mean);
  var /= static_cast<double>(d.rows.size());
  const double expect = 1.0 / (7.0 * var);
  EXPECT_NEAR(ser::classic::gamma_scale(d.rows.data(), d.n, d.dim), expect, 1e-13 * expect);
  const auto m = ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, svm("rbf"));
  EXPECT_NEAR(m.gamma_used(), expect, 1e-13 * expect);
  EXPECT_EQ(m.settings().svm.gamma, 0.0);  // the settings keep "scale"
  auto explicit_gamma = svm("rbf");
  explicit_gamma.svm.gamma = 0.5;
  EXPECT_EQ(ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, explicit_gamma).gamma_used(), 0.5);
  EXPECT_EQ(ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, svm("linear")).gamma_used(), 0.0);
  // Zero variance: sklearn uses 1.
  const std::vector<float> constant(12, 3.0f);
  EXPECT_EQ(ser::classic::gamma_scale(constant.data(), 4, 3), 1.0);
}

// --- bad input ------------------------------------------------------------------------------------

TEST(Classic, BadTrainingDataIsReported) {
  const Data d = blobs(10, 3, 4, 2.0, 23);
  ser::ErrorKind kind{};
  const auto s = svm("rbf");
  {
    const std::vector<int> one(d.n, 1);
    const auto e = error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, one, 3, s); }, &kind);
    EXPECT_TRUE(contains(e, "only one class")) << e;
    EXPECT_EQ(kind, ser::ErrorKind::Input);
  }
  {
    auto rows = d.rows;
    rows[2 * d.dim + 3] = std::numeric_limits<float>::quiet_NaN();
    const auto e = error_text([&] { ClassicModel::fit(rows.data(), d.n, d.dim, d.labels, 3, logreg()); }, &kind);
    EXPECT_TRUE(contains(e, "non-finite")) << e;
    EXPECT_TRUE(contains(e, "row 2")) << e;
    EXPECT_EQ(kind, ser::ErrorKind::Input);
    rows[2 * d.dim + 3] = std::numeric_limits<float>::infinity();
    EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(rows.data(), d.n, d.dim, d.labels, 3, s); }), "non-finite"));
  }
  {
    auto labels = d.labels;
    labels[5] = 3;
    EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, labels, 3, s); }), "outside 0..2"));
    labels[5] = -1;
    EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, labels, 3, s); }), "outside"));
    labels.pop_back();
    EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, labels, 3, s); }), "labels for"));
  }
  EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), 0, d.dim, {}, 3, s); }), "no training rows"));
  EXPECT_TRUE(contains(error_text([&] { ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 1, s); }), "n_classes"));
  // Prediction rows are checked too.
  const auto m = ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, s);
  auto rows = d.rows;
  rows[1] = std::numeric_limits<float>::quiet_NaN();
  std::vector<int> pred;
  std::vector<std::vector<float>> proba;
  EXPECT_TRUE(contains(error_text([&] { m.predict(rows.data(), 2, pred, proba); }), "non-finite"));
  // An empty (default / moved-from) model refuses to work.
  ClassicModel empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(contains(error_text([&] { empty.predict(rows.data(), 1, pred, proba); }), "before it was fitted"));
}

TEST(Classic, BadSettingsNameTheKey) {
  const Data d = blobs(10, 2, 3, 2.0, 24);
  ser::ErrorKind kind{};
  auto fit = [&](const ClassicSettings& s) { ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 2, s); };
  auto s = svm("poly");
  auto e = error_text([&] { fit(s); }, &kind);
  EXPECT_TRUE(contains(e, "model.svm_kernel")) << e;
  EXPECT_TRUE(contains(e, "poly")) << e;
  EXPECT_EQ(kind, ser::ErrorKind::Config);
  s = svm("rbf", 0.0);
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.svm_c"));
  s = svm("rbf");
  s.svm.tol = -1;
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.svm_tol"));
  s = logreg("softmax");
  e = error_text([&] { fit(s); });
  EXPECT_TRUE(contains(e, "model.logreg_multi_class")) << e;
  EXPECT_TRUE(contains(e, "softmax")) << e;
  s = logreg("ovr", -1.0);
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.logreg_c"));
  s = logreg("multinomial");
  s.logreg.max_iter = 0;
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.logreg_max_iter"));
  s.architecture = "mlp";
  EXPECT_TRUE(contains(error_text([&] { fit(s); }), "model.architecture"));
}

TEST(Classic, CorruptOrInconsistentFilesAreRejectedNamingTheFile) {
  TempDir dir;
  const Data d = blobs(15, 3, 4, 2.0, 25);
  const auto svm_json = ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, svm("rbf")).to_json();
  const auto lr_json = ClassicModel::fit(d.rows.data(), d.n, d.dim, d.labels, 3, logreg("ovr")).to_json();
  auto rejects = [&](const std::string& name, const std::string& text, const std::string& part) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name);
    ser::util::write_text_atomic(path, text);
    ser::ErrorKind kind{};
    const auto e = error_text([&] { ClassicModel::load(path); }, &kind);
    EXPECT_TRUE(contains(e, path)) << e;
    EXPECT_TRUE(contains(e, part)) << e;
    EXPECT_EQ(kind, ser::ErrorKind::Input) << e;
  };
  {
    ser::ErrorKind kind{};
    const auto e = error_text([&] { ClassicModel::load(dir.file("missing.json")); }, &kind);
    EXPECT_TRUE(contains(e, "missing.json")) << e;
    EXPECT_EQ(kind, ser::ErrorKind::Input);
  }
  const std::string full = svm_json.dump();
  rejects("truncated.json", full.substr(0, full.size() / 2), "not valid JSON");
  rejects("array.json", "[1, 2]", "not a valid classic model");
  auto j = svm_json;
  j["format"] = "something-else";
  rejects("format.json", j.dump(), "format");
  j = svm_json;
  j["format_version"] = 99;
  rejects("version.json", j.dump(), "format_version");
  j = svm_json;
  j["svm"]["rho"].erase(0);
  rejects("rho.json", j.dump(), "svm.rho");
  j = svm_json;
  j["svm"]["support_vectors"]["base64"] = "AAAA";
  rejects("sv.json", j.dump(), "base64");
  j = svm_json;
  j["svm"]["n_sv"][0] = j["svm"]["n_sv"][0].get<int>() + 1;
  rejects("nsv.json", j.dump(), "shape");
  j = svm_json;
  j["svm"]["prob_a"] = nlohmann::json::array();
  rejects("prob.json", j.dump(), "prob_a");
  j = svm_json;
  j["settings"]["svm"]["kernel"] = "sigmoid";
  rejects("kernel.json", j.dump(), "model.svm_kernel");
  j = svm_json;
  j["classes"] = {0, 2, 1};
  rejects("classes.json", j.dump(), "ascending");
  j = svm_json;
  j.erase("dim");
  rejects("nodim.json", j.dump(), "dim");
  j = lr_json;
  j["logreg"]["coef"][1].erase(0);
  rejects("coef.json", j.dump(), "dim values");
  j = lr_json;
  j["logreg"]["intercept"] = {1.0, "x", 2.0};
  rejects("intercept.json", j.dump(), "not a valid classic model");
  j = lr_json;
  j["logreg"]["multi_class"] = "multinomial";
  rejects("mc.json", j.dump(), "multi_class");
}

