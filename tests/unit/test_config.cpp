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

TEST(Config, MissingFileAndBadJson) {
  EXPECT_THROW(config::load_config("/nonexistent/ser.json"), Error);
}

}  // namespace
