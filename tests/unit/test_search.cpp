// train.search: inner cross-validation on the training part only (leakage rule 4), and the
// config errors a grid can make.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "ser/config/config.hpp"
#include "ser/error.hpp"
#include "ser/train/search.hpp"

namespace {

using namespace ser;
using nlohmann::json;

config::Config parse(const json& extra) {
  json doc = {{"dataset", "manifest"}, {"manifest", "m.csv"}, {"features", {{"out", "f"}}},
              {"model", {{"architecture", "logreg"}}}};
  doc.merge_patch(extra);
  return config::parse_config(doc, "test.json");
}

std::string error_of(const json& extra) {
  try {
    parse(extra);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2) << e.what();
    return e.what();
  }
  return "";
}

// 6 speakers x 3 classes x 4 items, 4 features: class c sits at 2c on feature c, plus noise.
struct Data {
  std::vector<data::Item> items;
  std::vector<float> values;
  std::vector<int> labels;
  data::Fold outer;
};

Data make_data() {
  Data d;
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  for (int s = 0; s < 6; ++s) {
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < 4; ++i) {
        data::Item it;
        it.id = "s" + std::to_string(s) + "c" + std::to_string(c) + "i" + std::to_string(i);
        it.label = "c" + std::to_string(c);
        it.speaker = "spk" + std::to_string(s);
        d.items.push_back(it);
        for (int j = 0; j < 4; ++j) d.values.push_back((j == c ? 2.0f * c : 0.0f) + noise(rng));
        d.labels.push_back(c);
      }
    }
  }
  for (std::size_t i = 0; i < d.items.size(); ++i) (d.items[i].speaker == "spk5" ? d.outer.test : d.outer.train).push_back(i);
  return d;
}

train::SearchInput input(const config::Config& cfg, const Data& d, const std::vector<float>& values, bool by_speaker) {
  train::SearchInput in;
  in.cfg = &cfg;
  in.values = &values;
  in.dim = 4;
  in.labels = &d.labels;
  in.n_classes = 3;
  in.items = &d.items;
  in.by_speaker = by_speaker;
  return in;
}

TEST(Search, InnerFoldsAreSpeakerGroupedAndNeverHoldATestItem) {
  const Data d = make_data();
  const auto cfg = parse({{"train", {{"search", {{"model.logreg_c", {0.01, 1.0}}}}, {"search_folds", 3}}}});
  const auto folds = train::inner_folds(input(cfg, d, d.values, true), d.outer);
  ASSERT_EQ(folds.size(), 3u);
  const std::set<std::size_t> test(d.outer.test.begin(), d.outer.test.end());
  std::set<std::size_t> held_out;
  for (const auto& f : folds) {
    std::set<std::string> train_speakers, test_speakers;
    for (std::size_t i : f.train) {
      EXPECT_FALSE(test.count(i));
      train_speakers.insert(d.items[i].speaker);
    }
    for (std::size_t i : f.test) {
      EXPECT_FALSE(test.count(i));
      test_speakers.insert(d.items[i].speaker);
      held_out.insert(i);
    }
    for (const auto& s : test_speakers) EXPECT_FALSE(train_speakers.count(s)) << s;
  }
  EXPECT_EQ(held_out.size(), d.outer.train.size());  // every training item held out exactly once
}

TEST(Search, NeverReadsATestItem) {
  const Data d = make_data();
  const auto cfg = parse({{"train", {{"search", {{"model.logreg_c", {0.0001, 0.1, 10.0}}}}, {"search_folds", 3}}}});
  const auto a = train::search_fold(input(cfg, d, d.values, true), d.outer);
  // Test features replaced by NaN: a fit that read one would throw; the choice must not move.
  std::vector<float> poisoned = d.values;
  for (std::size_t i : d.outer.test) {
    for (int j = 0; j < 4; ++j) poisoned[i * 4 + j] = NAN;
  }
  const auto b = train::search_fold(input(cfg, d, poisoned, true), d.outer);
  EXPECT_EQ(a.chosen, b.chosen);
  EXPECT_EQ(a.grid, b.grid);
  // Permuted test labels change nothing either.
  Data shuffled = d;
  for (std::size_t k = 0; k < d.outer.test.size(); ++k) {
    shuffled.labels[d.outer.test[k]] = d.labels[d.outer.test[(k + 5) % d.outer.test.size()]];
  }
  const auto c = train::search_fold(input(cfg, shuffled, d.values, true), d.outer);
  EXPECT_EQ(a.grid, c.grid);
  EXPECT_EQ(a.grid.size(), 3u);
  EXPECT_EQ(a.inner_folds, 3);
  EXPECT_GT(a.inner_uar, 0.5);
  EXPECT_EQ(a.config.train.model.logreg_c, a.chosen["model.logreg_c"].get<double>());
  EXPECT_TRUE(a.config.train.search.empty());
}

TEST(Search, PicksTheBestPointByInnerUar) {
  const Data d = make_data();
  // C = 1e-6 shrinks every weight to ~0: a near-constant prediction, inner UAR ~1/3.
  const auto cfg = parse({{"train", {{"search", {{"model.logreg_c", {1e-6, 1.0}}}}, {"search_folds", 3}}}});
  const auto r = train::search_fold(input(cfg, d, d.values, false), d.outer);
  EXPECT_EQ(r.chosen["model.logreg_c"].get<double>(), 1.0);
  EXPECT_GT(r.grid[1]["inner_uar"].get<double>(), r.grid[0]["inner_uar"].get<double>());
}

TEST(Search, AStopRequestEndsTheSearchBetweenInnerFits) {
  // Classic models have no epochs: without this poll, Ctrl-C waited for the whole grid.
  const Data d = make_data();
  const auto cfg = parse({{"train", {{"search", {{"model.logreg_c", {0.01, 1.0}}}}, {"search_folds", 3}}}});
  auto in = input(cfg, d, d.values, true);
  int fits = 0;
  in.keep_going = [&fits] { return ++fits < 3; };
  try {
    train::search_fold(in, d.outer);
    FAIL() << "the search ignored the stop request";
  } catch (const ser::Error& e) {
    EXPECT_EQ(e.exit_code(), 130) << e.what();
  }
  EXPECT_EQ(fits, 3);
}

TEST(Search, GridIsTheCartesianProductInKeyOrder) {
  const auto cfg = parse({{"model", {{"architecture", "svm"}}},
                          {"train", {{"search", {{"model.svm_c", {1, 10}}, {"model.svm_kernel", {"rbf", "linear"}}}}}}});
  const auto points = config::search_points(cfg.train);
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0], (json{{"model.svm_c", 1}, {"model.svm_kernel", "rbf"}}));
  EXPECT_EQ(points[3], (json{{"model.svm_c", 10}, {"model.svm_kernel", "linear"}}));
  EXPECT_EQ(config::with_point(cfg, points[3]).train.model.svm_kernel, "linear");
}

TEST(Search, AListOfGridsPoolsTheirPointsAcrossArchitectures) {
  const Data d = make_data();
  const auto cfg = parse({{"train",
                           {{"search", json::array({json{{"model.logreg_c", {1e-6, 1.0}}},
                                                    json{{"model.architecture", {"svm"}}, {"model.svm_c", {0.1, 10}}}})},
                            {"search_folds", 3}}}});
  const auto points = config::search_points(cfg.train);
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[2], (json{{"model.architecture", "svm"}, {"model.svm_c", 0.1}}));
  const auto r = train::search_fold(input(cfg, d, d.values, true), d.outer);
  EXPECT_EQ(r.grid.size(), 4u);
  EXPECT_NE(r.chosen, (json{{"model.logreg_c", 1e-6}}));
  EXPECT_EQ(r.config.train.model.architecture, r.chosen.value("model.architecture", "logreg"));
  // A point's options must belong to its own architecture.
  EXPECT_NE(error_of({{"train", {{"search", json::array({json{{"model.architecture", {"svm"}}, {"model.logreg_c", {1}}}})}}}})
                .find("is an option of logreg"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"search", json::array()}}}}).find("empty list of grids"), std::string::npos);
  EXPECT_NE(error_of({{"train", {{"search", json::array({json::object()})}}}}).find("empty grid"), std::string::npos);
}

TEST(SearchConfig, BadGridsAreOneLineConfigErrors) {
  EXPECT_NE(error_of({{"train", {{"search", {{"model.logreg_cc", {1}}}}}}}).find("did you mean 'model.logreg_c'"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"search", {{"model.logreg_c", json::array()}}}}}}).find("empty grid"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"search", {{"model.logreg_c", 1}}}}}}).find("list of values"), std::string::npos);
  EXPECT_NE(error_of({{"train", {{"search", {{"protocol.k", {3}}}}}}}).find("only model.* and train.*"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"search", {{"model.logreg_c", {"big"}}}}}}}).find("train.search.model.logreg_c"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"search", {{"model.svm_c", {1}}}}}}}).find("is an option of svm"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"search_folds", 1}}}}).find("train.search_folds"), std::string::npos);
}

TEST(SearchConfig, ModelOptionsMustBelongToTheArchitecture) {
  const std::string e = error_of({{"model", {{"svm_c", 10}}}});
  EXPECT_NE(e.find("model.svm_c"), std::string::npos) << e;
  EXPECT_NE(e.find("'logreg'"), std::string::npos) << e;
  EXPECT_NE(error_of({{"model", {{"architecture", "svm"}, {"logreg_c", 1}}}}).find("model.logreg_c"), std::string::npos);
  EXPECT_EQ(error_of({{"model", {{"architecture", "svm"}, {"svm_c", 10}, {"svm_kernel", "linear"}}}}), "");
  // The resolved config holds only the architecture's own options, so it parses back as it is.
  const auto cfg = parse({{"model", {{"architecture", "svm"}, {"svm_c", 10}}}});
  const json resolved = config::to_json(cfg);
  EXPECT_FALSE(resolved["model"].contains("logreg_c"));
  EXPECT_EQ(config::parse_config(resolved, "resolved").train.model.svm_c, 10);
}

TEST(SearchConfig, NormalizeAndArchitectureAreValidated) {
  auto cfg = parse({{"features", {{"normalize", "speaker"}}}});
  EXPECT_EQ(cfg.features.normalize, "speaker");
  cfg.features.normalize = "per_speaker";
  EXPECT_THROW(config::validate(cfg, "t"), Error);
  cfg.features.normalize = "global";
  cfg.train.model.architecture = "xgboost";
  try {
    config::validate(cfg, "t");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.architecture"), std::string::npos);
  }
}

}  // namespace
