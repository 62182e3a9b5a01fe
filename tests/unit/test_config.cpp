// Config parsing: typed keys, typos rejected with a suggestion, overrides, validation.
#include <gtest/gtest.h>

#include "ser/config/config.hpp"
#include "ser/error.hpp"

using namespace ser;
using nlohmann::json;

namespace {

std::string config_error(const json& doc) {
  try {
    config::Config c = config::parse_config(doc, "test.json");
    config::validate(c, "test.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  return "";
}

TEST(Config, ParsesAndFillsDefaults) {
  const auto c = config::parse_config(json::parse(R"({"dataset":"emodb","root":"data/emodb","features":{"out":"o"}})"), "t");
  EXPECT_EQ(c.features.set, "issa193");
  EXPECT_EQ(c.features.jobs, 0);
  EXPECT_TRUE(c.features.cache);
  EXPECT_EQ(c.name, "emodb");
}

TEST(Config, TypoIsRejectedWithSuggestion) {
  const std::string e = config_error(json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o","jbos":2}})"));
  EXPECT_NE(e.find("features.jbos"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'features.jobs'"), std::string::npos) << e;
  EXPECT_NE(config_error(json::parse(R"({"datset":"emodb"})")).find("did you mean 'dataset'"), std::string::npos);
}

TEST(Config, WrongTypesAndMissingKeys) {
  EXPECT_NE(config_error(json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o","jobs":"two"}})"))
                .find("features.jobs: must be an integer"),
            std::string::npos);
  EXPECT_NE(config_error(json::parse(R"({"dataset":"timit","root":"r","features":{"out":"o"}})")).find("dataset"),
            std::string::npos);
  EXPECT_NE(config_error(json::parse(R"({"dataset":"manifest","features":{"out":"o"}})")).find("manifest"),
            std::string::npos);
  EXPECT_NE(config_error(json::parse(R"({"dataset":"emodb","root":"r"})")).find("features.out"), std::string::npos);
}

TEST(Config, OverridesApplyDottedKeys) {
  json doc = json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o"}})");
  config::apply_override(doc, "features.jobs=3");
  config::apply_override(doc, "features.cache=false");
  config::apply_override(doc, "root=other/place");
  const auto c = config::parse_config(doc, "t");
  EXPECT_EQ(c.features.jobs, 3);
  EXPECT_FALSE(c.features.cache);
  EXPECT_EQ(c.root, "other/place");
  json bad = doc;
  EXPECT_THROW(config::apply_override(bad, "novalue"), Error);
  config::apply_override(bad, "features.jbos=1");
  EXPECT_NE(config_error(bad).find("features.jbos"), std::string::npos);
}

TEST(Config, TrainingSectionsParseAndRoundTrip) {
  const auto doc = json::parse(R"({
    "dataset": "ravdess", "root": "data/ravdess", "features": {"out": "o"},
    "protocol": {"name": "speaker_kfold", "speaker_table": [["01", "02"], ["03"]], "validation_fraction": 0.2},
    "model": {"architecture": "model_a", "dropout_mid": 0.3, "bn_head": false},
    "train": {"epochs": 50, "seed": 7, "optimizer": {"name": "rmsprop", "lr": 1e-5, "decay": 1e-6},
              "schedule": {"name": "plateau", "plateau_patience": 4}}})");
  const auto c = config::parse_config(doc, "t");
  EXPECT_EQ(c.protocol.speaker_table.size(), 2u);
  EXPECT_DOUBLE_EQ(c.protocol.validation_fraction, 0.2);
  EXPECT_EQ(c.protocol.seed, 7u);  // one seed drives folds and training
  EXPECT_DOUBLE_EQ(c.train.model.dropout_mid, 0.3);
  EXPECT_FALSE(c.train.model.bn_head);
  EXPECT_EQ(c.train.optimizer.name, "rmsprop");
  EXPECT_DOUBLE_EQ(c.train.optimizer.decay, 1e-6);
  EXPECT_EQ(c.train.schedule.plateau_patience, 4);
  // The resolved config (defaults filled in) parses back to the same settings.
  const auto again = config::parse_config(config::to_json(c), "resolved");
  EXPECT_EQ(config::to_json(again), config::to_json(c));
}

TEST(Config, NestedTyposAndTypes) {
  EXPECT_NE(config_error(json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o"},
                                          "train":{"optimizer":{"lrr":0.1}}})"))
                .find("did you mean 'train.optimizer.lr'"),
            std::string::npos);
  EXPECT_NE(config_error(json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o"},
                                          "protocol":{"speaker_table":["01","02"]}})"))
                .find("protocol.speaker_table: must be a list of lists of strings"),
            std::string::npos);
  EXPECT_NE(config_error(json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o"},
                                          "train":{"optimizer":{"lr":"fast"}}})"))
                .find("train.optimizer.lr: must be a number"),
            std::string::npos);
}

// label_map's keys are the user's corpus labels, so they are not schema keys; values must be strings.
TEST(Config, LabelMapTakesAnyLabels) {
  const auto c = config::parse_config(
      json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o"},"label_map":{"anger":"angry","Ärger":"angry"}})"), "t");
  EXPECT_EQ(c.label_map.at("anger"), "angry");
  EXPECT_EQ(c.label_map.size(), 2u);
  EXPECT_NE(config_error(json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o"},"label_map":{"anger":1}})"))
                .find("label_map: must be an object of strings"),
            std::string::npos);
  EXPECT_NE(config_error(json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o"},"labelmap":{}})"))
                .find("did you mean 'label_map'"),
            std::string::npos);
}

TEST(Config, MissingFileAndBadJson) {
  EXPECT_THROW(config::load_config("/nonexistent/ser.json"), Error);
}

}  // namespace
