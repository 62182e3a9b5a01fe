// Agreement of ser::classic with scikit-learn (scripts/oracle_classic.py) on synthetic data and on
// RAVDESS fold 1 (test actors 01 11 20 21) of the librosa reference features (193-dim and
// 1020-dim functionals). Skips without Debian's python3-sklearn or ../shared.
#include "support/classic_data.hpp"
#include "support/python.hpp"

// --- scikit-learn oracle ----------------------------------------------------------------------------

namespace {

using ser::test::project_dir;

std::string sklearn_python() { return ser::test::python_with("sklearn, numpy"); }

#define SER_REQUIRE_SKLEARN()                                                                         \
  do {                                                                                                \
    if (sklearn_python().empty())                                                                     \
      GTEST_SKIP() << "no python3 with scikit-learn (set SER_PYTHON or install python3-sklearn); " \
                      "skipping the scikit-learn oracle check";                                       \
  } while (0)

struct Split {
  std::vector<float> train, test;
  std::vector<int> ytrain, ytest;
  std::size_t dim = 0;
  std::size_t ntrain() const { return ytrain.size(); }
  std::size_t ntest() const { return ytest.size(); }
};

std::string oracle_args(const ClassicSettings& s) {
  std::ostringstream a;
  a.precision(17);
  if (s.architecture == "svm") {
    a << " --model svm --kernel " << s.svm.kernel << " --C " << s.svm.c << " --tol " << s.svm.tol << " --probability "
      << (s.svm.probability ? 1 : 0) << " --gamma " << (s.svm.gamma > 0 ? std::to_string(s.svm.gamma) : std::string("scale"));
  } else {
    a << " --model logreg --multi-class " << s.logreg.multi_class << " --C " << s.logreg.c << " --tol " << s.logreg.tol
      << " --max-iter " << s.logreg.max_iter;
  }
  a << " --class-weight " << (s.class_weights ? "balanced" : "none") << " --seed " << s.seed;
  return a.str();
}

struct OracleResult {
  std::size_t agree = 0, total = 0;
  double our_fit_s = 0.0, sklearn_fit_s = 0.0;
  double max_proba_diff = 0.0;
  std::uintmax_t model_bytes = 0;
};

OracleResult compare_with_sklearn(const Split& sp, int n_classes, const ClassicSettings& s, const std::string& tag) {
  TempDir dir;
  ser::util::write_npy_f32(dir.file("train.npy"), {sp.ntrain(), sp.dim}, sp.train.data());
  ser::util::write_npy_f32(dir.file("test.npy"), {sp.ntest(), sp.dim}, sp.test.data());
  {
    std::ofstream y(dir.file("ytrain.csv"));
    for (int v : sp.ytrain) y << v << "\n";
  }
  const std::string cmd = "'" + sklearn_python() + "' '" + project_dir() + "/scripts/oracle_classic.py' --train '" +
                          dir.file("train.npy") + "' --train-labels '" + dir.file("ytrain.csv") + "' --test '" +
                          dir.file("test.npy") + "'" + oracle_args(s) + " > '" + dir.file("out.json") + "' 2> '" +
                          dir.file("err.txt") + "'";
  OracleResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const ClassicModel m = ClassicModel::fit(sp.train.data(), sp.ntrain(), sp.dim, sp.ytrain, n_classes, s);
  r.our_fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<int> pred;
  std::vector<std::vector<float>> proba;
  m.predict(sp.test.data(), sp.ntest(), pred, proba);
  {  // save -> load -> predict is identical on realistic data too
    m.save(dir.file("model.json"));
    r.model_bytes = fs::file_size(dir.file("model.json"));
    std::vector<int> pred2;
    std::vector<std::vector<float>> proba2;
    ClassicModel::load(dir.file("model.json")).predict(sp.test.data(), sp.ntest(), pred2, proba2);
    EXPECT_EQ(pred2, pred) << tag;
    EXPECT_EQ(proba2, proba) << tag;
  }

  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    ADD_FAILURE() << tag << ": oracle failed (" << rc << "): " << cmd << "\n" << ser::util::read_text(dir.file("err.txt"));
    return r;
  }
  const auto out = ser::util::read_json(dir.file("out.json"));
  const auto ref = out.at("pred").get<std::vector<int>>();
  EXPECT_EQ(ref.size(), pred.size());
  r.total = std::min(ref.size(), pred.size());
  for (std::size_t i = 0; i < r.total; ++i) r.agree += ref[i] == pred[i];
  r.sklearn_fit_s = out.at("fit_seconds").get<double>();
  if (s.architecture == "svm" && s.svm.kernel == "rbf" && s.svm.gamma <= 0) {
    const double g = out.at("gamma").get<double>();
    EXPECT_NEAR(m.gamma_used(), g, 1e-12 * g) << tag;
  }
  if (s.architecture == "logreg" && out.contains("proba")) {
    const auto cls = out.at("classes").get<std::vector<int>>();
    const auto pr = out.at("proba").get<std::vector<std::vector<double>>>();
    for (std::size_t i = 0; i < std::min(pr.size(), proba.size()); ++i)
      for (std::size_t c = 0; c < cls.size(); ++c)
        r.max_proba_diff = std::max(r.max_proba_diff, std::abs(pr[i][c] - proba[i][static_cast<std::size_t>(cls[c])]));
  }
  std::cout << "[oracle] " << tag << " " << describe(s) << " C=" << (s.architecture == "svm" ? s.svm.c : s.logreg.c)
            << (s.class_weights ? " balanced" : "") << ": " << r.agree << "/" << r.total << " agree with sklearn "
            << out.at("sklearn").get<std::string>() << "; fit " << r.our_fit_s << " s (sklearn " << r.sklearn_fit_s << " s)";
  if (s.architecture == "logreg") std::cout << "; max |proba diff| " << r.max_proba_diff;
  std::cout << "; model.json " << r.model_bytes / 1024 << " KiB";
  std::cout << std::endl;
  return r;
}

void expect_agreement(const OracleResult& r, double min_fraction) {
  ASSERT_GT(r.total, 0u);
  EXPECT_GE(static_cast<double>(r.agree), min_fraction * static_cast<double>(r.total)) << r.agree << "/" << r.total;
}

// RAVDESS fold 1 of a librosa reference table: test actors 01 11 20 21, standardised on training.
Split ravdess_fold1(const std::string& csv_path) {
  Split sp;
  const auto rows = ser::util::parse_csv(ser::util::read_text(csv_path), csv_path);
  if (rows.size() < 2) return sp;
  sp.dim = rows[0].fields.size() - 1;
  std::vector<float> all;
  std::vector<int> labels;
  std::vector<bool> is_test;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    if (f.size() != sp.dim + 1) continue;
    const std::string& id = f[0];  // ravdess/Actor_NN/03-01-EE-...
    const auto a = id.find("Actor_");
    const auto slash = id.rfind('/');
    if (a == std::string::npos || slash == std::string::npos) continue;
    const int actor = std::stoi(id.substr(a + 6, 2));
    const std::string name = id.substr(slash + 1);
    const int emotion = std::stoi(name.substr(6, 2));  // third field
    labels.push_back(emotion - 1);
    is_test.push_back(actor == 1 || actor == 11 || actor == 20 || actor == 21);
    for (std::size_t j = 0; j < sp.dim; ++j) all.push_back(std::strtof(f[j + 1].c_str(), nullptr));
  }
  std::vector<std::size_t> train_idx;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (!is_test[i]) train_idx.push_back(i);
  ser::features::StandardScaler scaler;
  scaler.fit(all.data(), train_idx, sp.dim);
  scaler.transform_rows(all.data(), labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto& dst = is_test[i] ? sp.test : sp.train;
    dst.insert(dst.end(), all.begin() + static_cast<std::ptrdiff_t>(i * sp.dim), all.begin() + static_cast<std::ptrdiff_t>((i + 1) * sp.dim));
    (is_test[i] ? sp.ytest : sp.ytrain).push_back(labels[i]);
  }
  return sp;
}

void ravdess_oracle(const std::string& file) {
  const std::string path = ser::test::reference_dir() + "/" + file;
  if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
  const Split sp = ravdess_fold1(path);
  ASSERT_EQ(sp.ntrain(), 1200u);
  ASSERT_EQ(sp.ntest(), 240u);
  ClassicSettings rbf = svm("rbf", 10.0, true);
  ClassicSettings linear = svm("linear", 1.0, false);
  ClassicSettings ovr = logreg("ovr", 0.1);
  ClassicSettings multi = logreg("multinomial", 0.1);
  // FUNCTIONALS.md: libsvm and liblinear predict exactly what sklearn predicts (240/240).
  expect_agreement(compare_with_sklearn(sp, 8, rbf, file), 1.0);
  expect_agreement(compare_with_sklearn(sp, 8, linear, file), 0.99);
  expect_agreement(compare_with_sklearn(sp, 8, ovr, file), 1.0);
  expect_agreement(compare_with_sklearn(sp, 8, multi, file), 0.99);
}

}  // namespace

TEST(ClassicOracle, SyntheticAgreesWithSklearn) {
  SER_REQUIRE_SKLEARN();
  const Data tr = blobs(60, 5, 20, 1.0, 30), te = blobs(60, 5, 20, 1.0, 31, {3});
  Split sp;
  sp.dim = tr.dim;
  sp.train = tr.rows;
  sp.ytrain = tr.labels;
  sp.test = te.rows;
  sp.ytest = te.labels;
  std::vector<ClassicSettings> kinds = {svm("rbf", 10.0, true), svm("linear", 1.0, false), logreg("ovr", 0.1),
                                        logreg("multinomial", 0.1)};
  for (std::size_t i = 0, n = kinds.size(); i < n; ++i) {
    kinds.push_back(kinds[i]);
    kinds.back().class_weights = true;
  }
  for (const auto& s : kinds) {
    SCOPED_TRACE(describe(s));
    expect_agreement(compare_with_sklearn(sp, 5, s, "synthetic"), 0.99);
  }
  // Imbalanced, with a class absent from training, class weights on.
  const Data full = blobs(60, 4, 8, 1.0, 32, {2});
  Data imb;
  imb.dim = full.dim;
  for (std::size_t i = 0; i < full.n; ++i) {
    const int c = full.labels[i];
    if ((c == 1 && i % 4 != 0) || (c == 3 && i % 2 != 0)) continue;  // 60 / 15 / 30 items
    imb.rows.insert(imb.rows.end(), full.rows.begin() + static_cast<std::ptrdiff_t>(i * full.dim),
                    full.rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * full.dim));
    imb.labels.push_back(c);
  }
  imb.n = imb.labels.size();
  Split sp2;
  sp2.dim = imb.dim;
  sp2.train = imb.rows;
  sp2.ytrain = imb.labels;
  const Data te2 = blobs(40, 4, 8, 1.0, 33);
  sp2.test = te2.rows;
  sp2.ytest = te2.labels;
  for (auto s : {svm("rbf", 10.0, false), logreg("ovr", 0.1), logreg("multinomial", 0.1)}) {
    s.class_weights = true;
    SCOPED_TRACE(describe(s));
    expect_agreement(compare_with_sklearn(sp2, 4, s, "imbalanced"), 0.99);
  }
}

TEST(ClassicOracle, RavdessFold1Issa193AgreesWithSklearn) {
  SER_REQUIRE_SHARED();
  SER_REQUIRE_SKLEARN();
  ravdess_oracle("ravdess_features193.csv");
}

TEST(ClassicOracle, RavdessFold1FunctionalsAgreesWithSklearn) {
  SER_REQUIRE_SHARED();
  SER_REQUIRE_SKLEARN();
  ravdess_oracle("ravdess_functionals.csv");
}

