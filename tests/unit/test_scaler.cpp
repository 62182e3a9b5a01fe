// StandardScaler: scikit-learn semantics, fitting on training rows only (leakage rule 1), JSON.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "ser/error.hpp"
#include "ser/features/scaler.hpp"

using ser::features::StandardScaler;

namespace {

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const ser::Error& e) {
    return e.what();
  }
  return "<no ser::Error thrown>";
}

// 5 rows x 3 columns; column 2 is constant over every row.
std::vector<float> table() {
  return {1.0f, 10.0f, 7.0f,   //
          2.0f, 20.0f, 7.0f,   //
          4.0f, 25.0f, 7.0f,   //
          8.0f, -5.0f, 7.0f,   //
          100.f, 1e6f, 7.0f};
}

}  // namespace

TEST(Scaler, FitOnSubsetMatchesHandComputation) {
  const auto rows = table();
  StandardScaler s;
  s.fit(rows.data(), {0, 1, 2, 3}, 3);  // row 4 (the outlier) is not training data
  ASSERT_EQ(s.dim(), 3u);
  EXPECT_EQ(s.n_samples_seen(), 4u);
  // Column 0: 1 2 4 8 -> mean 3.75, population var ((2.75^2 + 1.75^2 + 0.25^2 + 4.25^2) / 4) = 7.1875.
  EXPECT_DOUBLE_EQ(s.mean()[0], 3.75);
  EXPECT_DOUBLE_EQ(s.scale()[0], std::sqrt(7.1875));
  // Column 1: 10 20 25 -5 -> mean 12.5, var ((2.5^2 + 7.5^2 + 12.5^2 + 17.5^2) / 4) = 131.25.
  EXPECT_DOUBLE_EQ(s.mean()[1], 12.5);
  EXPECT_DOUBLE_EQ(s.scale()[1], std::sqrt(131.25));
  EXPECT_DOUBLE_EQ(s.mean()[2], 7.0);
  EXPECT_DOUBLE_EQ(s.scale()[2], 1.0);

  std::vector<float> r = {8.0f, 12.5f, 7.0f};
  s.transform(r.data());
  EXPECT_FLOAT_EQ(r[0], static_cast<float>((8.0 - 3.75) / std::sqrt(7.1875)));
  EXPECT_FLOAT_EQ(r[1], 0.0f);
  EXPECT_FLOAT_EQ(r[2], 0.0f);  // constant column: centred, not divided by ~0
}

TEST(Scaler, TransformedTrainingRowsHaveZeroMeanUnitStd) {
  std::vector<float> rows;
  for (int i = 0; i < 50; ++i) {
    rows.push_back(static_cast<float>(std::sin(i * 0.7) * 3 + 5));
    rows.push_back(static_cast<float>(i * i) * 0.01f - 3.0f);
  }
  std::vector<std::size_t> train;
  for (std::size_t i = 0; i < 50; i += 2) train.push_back(i);
  StandardScaler s;
  s.fit(rows.data(), train, 2);
  s.transform_rows(rows.data(), 50);
  for (std::size_t j = 0; j < 2; ++j) {
    double m = 0, v = 0;
    for (std::size_t i : train) m += rows[i * 2 + j];
    m /= static_cast<double>(train.size());
    for (std::size_t i : train) v += (rows[i * 2 + j] - m) * (rows[i * 2 + j] - m);
    v /= static_cast<double>(train.size());
    EXPECT_NEAR(m, 0.0, 1e-6) << "column " << j;
    EXPECT_NEAR(v, 1.0, 1e-5) << "column " << j;
  }
}

TEST(Scaler, RowsOutsideTheTrainingIndicesDoNotChangeTheFit) {
  auto rows = table();
  const std::vector<std::size_t> train = {1, 3, 4};
  StandardScaler a;
  a.fit(rows.data(), train, 3);
  // Change every non-training row, including to values that would poison a fit (NaN, inf).
  for (std::size_t j = 0; j < 3; ++j) {
    rows[0 * 3 + j] = std::numeric_limits<float>::quiet_NaN();
    rows[2 * 3 + j] = std::numeric_limits<float>::infinity();
  }
  StandardScaler b;
  b.fit(rows.data(), train, 3);
  EXPECT_EQ(a.mean(), b.mean());
  EXPECT_EQ(a.scale(), b.scale());
  EXPECT_EQ(a.n_samples_seen(), b.n_samples_seen());
}

TEST(Scaler, ZeroVarianceColumnsGetScaleOne) {
  // 0.1f is not exactly representable: a naive sum/n could leave a tiny non-zero variance.
  std::vector<float> rows(97 * 2);
  for (std::size_t i = 0; i < 97; ++i) {
    rows[i * 2] = 0.1f;
    rows[i * 2 + 1] = static_cast<float>(i);
  }
  std::vector<std::size_t> all(97);
  for (std::size_t i = 0; i < 97; ++i) all[i] = i;
  StandardScaler s;
  s.fit(rows.data(), all, 2);
  EXPECT_EQ(s.scale()[0], 1.0);
  EXPECT_NEAR(s.mean()[0], 0.1, 1e-8);
  EXPECT_NE(s.scale()[1], 1.0);

  StandardScaler one;  // a single training row: every column is constant
  one.fit(rows.data(), {5}, 2);
  EXPECT_EQ(one.scale(), (std::vector<double>{1.0, 1.0}));
  EXPECT_EQ(one.mean()[1], 5.0);
}

TEST(Scaler, JsonRoundTripIsExact) {
  std::vector<float> rows;
  for (int i = 0; i < 31; ++i) {
    for (int j = 0; j < 7; ++j) rows.push_back(static_cast<float>(std::exp(0.1 * i) * std::cos(i + j) + j));
  }
  std::vector<std::size_t> train;
  for (std::size_t i = 0; i < 31; i += 3) train.push_back(i);
  StandardScaler s;
  s.fit(rows.data(), train, 7);
  const std::string text = s.to_json().dump();
  const StandardScaler back = StandardScaler::from_json(nlohmann::json::parse(text), "scaler.json");
  EXPECT_EQ(back.mean(), s.mean());  // bit-exact doubles
  EXPECT_EQ(back.scale(), s.scale());
  EXPECT_EQ(back.n_samples_seen(), s.n_samples_seen());
  EXPECT_EQ(back.to_json().dump(), text);

  std::vector<float> r1(rows.begin(), rows.begin() + 7), r2 = r1;
  s.transform(r1.data());
  back.transform(r2.data());
  EXPECT_EQ(r1, r2);
}

TEST(Scaler, MalformedJsonNamesTheOrigin) {
  const std::string origin = "runs/x/fold-2/scaler.json";
  auto bad = [&](const std::string& text) {
    return error_text([&] { StandardScaler::from_json(nlohmann::json::parse(text), origin); });
  };
  const std::string ok_prefix = R"({"type":"StandardScaler","n_samples_seen":3,)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[1,2]", "JSON object"},
      {R"({"n_samples_seen":3,"mean":[0],"scale":[1]})", "type"},
      {R"({"type":"MinMaxScaler","n_samples_seen":3,"mean":[0],"scale":[1]})", "type"},
      {ok_prefix + R"("scale":[1]})", "'mean'"},
      {ok_prefix + R"("mean":[0]})", "'scale'"},
      {ok_prefix + R"("mean":"0","scale":[1]})", "'mean'"},
      {ok_prefix + R"("mean":[0,"a"],"scale":[1,1]})", "entry 1"},
      {ok_prefix + R"("mean":[],"scale":[]})", "empty"},
      {ok_prefix + R"("mean":[0,1],"scale":[1]})", "2 entries"},
      {ok_prefix + R"("mean":[0,1],"scale":[1,0]})", "not positive"},
      {ok_prefix + R"("mean":[0,1],"scale":[1,-2]})", "not positive"},
      {ok_prefix + R"("mean":[null],"scale":[1]})", "not a number"},
      {R"({"type":"StandardScaler","mean":[0],"scale":[1]})", "n_samples_seen"},
      {R"({"type":"StandardScaler","n_samples_seen":-1,"mean":[0],"scale":[1]})", "n_samples_seen"},
      {R"({"type":"StandardScaler","n_samples_seen":1.5,"mean":[0],"scale":[1]})", "n_samples_seen"},
  };
  for (const auto& [text, needle] : cases) {
    const std::string msg = bad(text);
    EXPECT_NE(msg.find(origin), std::string::npos) << text << " -> " << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << text << " -> " << msg;
  }
  try {
    StandardScaler::from_json(nlohmann::json::parse("{}"), origin);
    ADD_FAILURE() << "no throw";
  } catch (const ser::Error& e) {
    EXPECT_EQ(e.subject(), origin);
    EXPECT_EQ(e.kind(), ser::ErrorKind::Input);
  }
  EXPECT_NO_THROW(StandardScaler::from_json(nlohmann::json::parse(ok_prefix + R"("mean":[0,1.5],"scale":[1,2]})"), origin));
}

TEST(Scaler, BadFitAndUnfittedTransformThrow) {
  const auto rows = table();
  StandardScaler s;
  EXPECT_NE(error_text([&] { s.fit(rows.data(), {}, 3); }).find("no rows"), std::string::npos);
  EXPECT_NE(error_text([&] { s.fit(rows.data(), {0}, 0); }).find("0-dimensional"), std::string::npos);
  std::vector<float> nan_rows = rows;
  nan_rows[1 * 3 + 2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_text([&] { s.fit(nan_rows.data(), {0, 1}, 3); }).find("row 1 column 2"), std::string::npos);
  EXPECT_FALSE(s.fitted());
  std::vector<float> r(3, 0.0f);
  EXPECT_NE(error_text([&] { s.transform(r.data()); }).find("before fit"), std::string::npos);
}
