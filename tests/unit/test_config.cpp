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
    config::validate_training(c, "test.json");
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

// Ranges and names of every train/model/protocol setting are checked by validate, so that no
// fold process meets a value it cannot use after the run directory was written.
TEST(Config, RangesAreValidatedUpFront) {
  const json base = json::parse(R"({"dataset":"emodb","root":"r","features":{"out":"o"}})");
  EXPECT_EQ(config_error(base), "");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"model.architecture=resnet", "model.architecture: unknown architecture 'resnet'"},
      {"train.epochs=-5", "train.epochs: must be >= 1, got -5"},
      {"train.epochs=0", "train.epochs: must be >= 1, got 0"},
      {"train.batch_size=0", "train.batch_size: must be >= 1"},
      {"train.optimizer.lr=-1", "train.optimizer.lr: must be > 0, got -1"},
      {"train.optimizer.name=lion", "train.optimizer.name: unknown optimizer 'lion'"},
      {"train.monitor=val_f1", "train.monitor: unknown monitor 'val_f1'"},
      {"train.device=tpu", "train.device: unknown device 'tpu'"},
      {"model.dropout_head=2.0", "model.dropout_head: must be in [0, 1), got 2"},
      {"model.bn_momentum=1.0", "model.bn_momentum: must be in [0, 1)"},
      {"model.mlp_hidden=0", "model.mlp_hidden: must be >= 1"},
      {"train.schedule.gamma=0", "train.schedule.gamma: must be in (0, 1]"},
      {"train.checkpoint_every=-1", "train.checkpoint_every: must be >= 0"},
      {"protocol.name=loso", "protocol.name: unknown protocol 'loso'"},
      {"protocol.validation_fraction=1", "protocol.validation_fraction: must be in [0, 1)"},
      {"train.search={\"model.architecture\": [\"svm\", \"resnet\"]}",
       "train.search: point {\"model.architecture\":\"resnet\"}: model.architecture: unknown architecture"},
  };
  for (const auto& [set, expect] : bad) {
    json doc = base;
    config::apply_override(doc, set);
    const std::string e = config_error(doc);
    EXPECT_EQ(e.rfind(expect, 0), 0u) << set << ": " << e;
    EXPECT_NE(e.find("test.json"), std::string::npos) << e;
  }
  json k = base;
  config::apply_override(k, "protocol.name=random_kfold");
  config::apply_override(k, "protocol.k=1");
  EXPECT_EQ(config_error(k).rfind("protocol.k: must be >= 2", 0), 0u) << config_error(k);
  // A manifest without a speaker table gets speaker folds made from its data: only k is checked.
  json manifest = json::parse(R"({"dataset":"manifest","manifest":"m.csv","features":{"out":"o"}})");
  EXPECT_EQ(config_error(manifest), "");
  config::apply_override(manifest, "protocol.k=1");
  EXPECT_EQ(config_error(manifest).rfind("protocol.k: must be >= 2", 0), 0u) << config_error(manifest);
}

TEST(Config, MissingFileAndBadJson) {
  EXPECT_THROW(config::load_config("/nonexistent/ser.json"), Error);
}

}  // namespace

TEST(Config, OverridesIntoANonObjectAreConfigErrors) {
  // Found by fuzz_config: a document that is a JSON string or array made --set throw a raw
  // nlohmann type_error instead of a ser::Error naming the key.
  for (json doc : {json("text"), json::array({1, 2}), json(3)}) {
    try {
      config::apply_override(doc, "train.epochs=3");
      FAIL() << "no error for " << doc.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
      EXPECT_NE(std::string(e.what()).find("train.epochs"), std::string::npos) << e.what();
    }
  }
  json nested = {{"train", "x"}};
  EXPECT_THROW(config::apply_override(nested, "train.epochs=3"), Error);
}

TEST(Config, NumbersTooLargeToRepresentAreConfigErrors) {
  // Found by fuzz_config: nlohmann's out_of_range for "1e999" escaped as a raw message.
  json doc = {{"dataset", "emodb"}, {"root", "r"}};
  try {
    config::apply_override(doc, "train.lr=2E222222");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("train.lr"), std::string::npos) << e.what();
  }
}
