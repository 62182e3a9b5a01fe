// Model registry: shapes, parameter counts, BN/dropout switches, determinism, save/load.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "ser/error.hpp"
#include "ser/model/models.hpp"
#include "support/temp_dir.hpp"

namespace sm = ser::model;

namespace {

constexpr int kDim = 193;
constexpr int kClasses = 8;

sm::ModelConfig arch(const std::string& name) {
  sm::ModelConfig c;
  c.architecture = name;
  return c;
}

// Model A, 193 inputs, 8 classes (weights + biases; BN = gamma + beta):
//   conv1  1->256 k5:   1*256*5 + 256       =   1,536    bn_conv1  2*256 = 512
//   conv2  256->128 k5: 256*128*5 + 128     = 163,968    bn_block1 2*128 = 256
//   conv3..conv5 128->128 k5: 3*(128*128*5 + 128) = 246,144   bn_conv5 2*128 = 256
//   conv6  128->128 k5: 128*128*5 + 128     =  82,048
//   dense  (24*128 = 3072) -> 8: 3072*8 + 8 =  24,584    bn_head   2*8   = 16
//   total: 1,536 + 512 + 163,968 + 256 + 246,144 + 256 + 82,048 + 24,584 + 16 = 519,320
// BN running mean/var (Keras "non-trainable"): 2*(256 + 128 + 128 + 8) = 1,040 -> 520,360.
constexpr std::int64_t kModelAParams = 519320;
constexpr std::int64_t kModelABuffers = 1040;
// MLP: 193*300 + 300 + 300*8 + 8 = 60,608.
constexpr std::int64_t kMlpParams = 60608;

bool same_weights(const sm::Classifier& a, const sm::Classifier& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& p : pa)
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  return true;
}

}  // namespace

TEST(Model, OutputShapeBothArchitecturesTrainAndEval) {
  torch::manual_seed(1);
  for (const auto& name : sm::architecture_names()) {
    auto model = sm::make_model(arch(name), kDim, kClasses);
    for (bool train : {true, false}) {
      model->train(train);
      const auto y = model->forward(torch::randn({4, 1, kDim}));
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{4, kClasses})) << name << " train=" << train;
      EXPECT_EQ(y.scalar_type(), torch::kFloat);
      // (batch, input_dim) is accepted as well.
      EXPECT_EQ(model->forward(torch::randn({4, kDim})).sizes(), (std::vector<int64_t>{4, kClasses}));
    }
  }
  EXPECT_EQ(sm::architecture_names(), (std::vector<std::string>{"model_a", "mlp"}));
}

TEST(Model, FlattenSizeFollowsInputDim) {
  // 100 -> MaxPool 8 -> 12 frames -> Dense over 12*128 = 1536 inputs.
  auto model = sm::make_model(arch("model_a"), 100, 4);
  model->eval();
  EXPECT_EQ(model->forward(torch::randn({3, 1, 100})).sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(model->named_parameters()["dense.weight"].sizes(), (std::vector<int64_t>{4, 1536}));
  EXPECT_THROW(sm::make_model(arch("model_a"), 7, 4), ser::Error);  // shorter than the pool
}

TEST(Model, ParameterCountsMatchHandArithmetic) {
  auto a = sm::make_model(arch("model_a"), kDim, kClasses);
  EXPECT_EQ(sm::parameter_count(*a), kModelAParams);
  EXPECT_EQ(sm::parameter_count(*a, true), kModelAParams + kModelABuffers);
  EXPECT_EQ(sm::parameter_count(*sm::make_model(arch("mlp"), kDim, kClasses)), kMlpParams);
  // Forward MACs: 193*256*5 + 193*128*256*5 + 4*24*128*128*5 + 24*128*8 = 39,757,056.
  EXPECT_EQ(sm::forward_macs_per_sample(a->spec()), 39757056);
}

TEST(Model, EachBatchNormFlagRemovesItsGammaAndBeta) {
  struct Case {
    bool sm::ModelConfig::*flag;
    std::int64_t params;  // 2 * features
  };
  const Case cases[] = {{&sm::ModelConfig::bn_conv1, 2 * 256},
                        {&sm::ModelConfig::bn_block1, 2 * 128},
                        {&sm::ModelConfig::bn_conv5, 2 * 128},
                        {&sm::ModelConfig::bn_head, 2 * kClasses}};
  sm::ModelConfig all_off = arch("model_a");
  std::int64_t removed = 0;
  for (const auto& c : cases) {
    sm::ModelConfig cfg = arch("model_a");
    cfg.*c.flag = false;
    EXPECT_EQ(sm::parameter_count(*sm::make_model(cfg, kDim, kClasses)), kModelAParams - c.params);
    all_off.*c.flag = false;
    removed += c.params;
  }
  auto plain = sm::make_model(all_off, kDim, kClasses);
  EXPECT_EQ(sm::parameter_count(*plain), kModelAParams - removed);
  EXPECT_EQ(sm::parameter_count(*plain, true), kModelAParams - removed);  // no BN buffers left
  plain->train();
  EXPECT_EQ(plain->forward(torch::randn({2, 1, kDim})).sizes(), (std::vector<int64_t>{2, kClasses}));
}

TEST(Model, KerasDefaultInitialisation) {
  torch::manual_seed(3);
  auto model = sm::make_model(arch("model_a"), kDim, kClasses);
  const auto params = model->named_parameters();
  for (const auto& p : params) {
    if (p.key().find("bias") != std::string::npos && p.key().rfind("bn_", 0) != 0)
      EXPECT_EQ(p.value().abs().max().item<float>(), 0.0f) << p.key();
  }
  // glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)); conv2 fans are 256*5 and 128*5.
  const double limit = std::sqrt(6.0 / (256 * 5 + 128 * 5));
  const auto w = params["conv2.weight"];
  EXPECT_LE(w.abs().max().item<float>(), limit);
  EXPECT_GT(w.abs().max().item<float>(), 0.99 * limit);
  EXPECT_NEAR(w.std().item<float>(), limit / std::sqrt(3.0), 0.01 * limit);
  EXPECT_TRUE(torch::equal(params["bn_head.weight"], torch::ones({kClasses})));
  // BN: Keras momentum 0.99 -> torch 0.01, eps 1e-3.
  for (const auto& m : model->named_modules()) {
    if (auto* bn = m.value()->as<torch::nn::BatchNorm1d>()) {
      EXPECT_NEAR(bn->options.momentum().value(), 0.01, 1e-15) << m.key();  // 1 - 0.99 in doubles
      EXPECT_DOUBLE_EQ(bn->options.eps(), 1e-3) << m.key();
    }
  }
}

TEST(Model, EvalIsDeterministicTrainDropoutIsNot) {
  torch::manual_seed(5);
  auto model = sm::make_model(arch("model_a"), kDim, kClasses);
  const auto x = torch::randn({4, 1, kDim});
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(x), model->forward(x)));
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(x), model->forward(x)));
  // With every dropout at 0, train mode is deterministic too (BN uses batch statistics).
  sm::ModelConfig no_drop = arch("model_a");
  no_drop.dropout_block1 = no_drop.dropout_mid = no_drop.dropout_head = 0.0;
  auto nd = sm::make_model(no_drop, kDim, kClasses);
  nd->train();
  EXPECT_TRUE(torch::equal(nd->forward(x), nd->forward(x)));
}

TEST(Model, DropoutIsInvertedBernoulliAndSeeded) {
  const auto x = torch::ones({100001}, torch::requires_grad());
  EXPECT_TRUE(torch::equal(sm::dropout(x, 0.2, false), x));
  EXPECT_TRUE(torch::equal(sm::dropout(x, 0.0, true), x));
  torch::manual_seed(11);
  const auto y = sm::dropout(x, 0.2, true);
  const auto kept = (y != 0).to(torch::kDouble);
  EXPECT_NEAR(kept.mean().item<double>(), 0.8, 0.005);  // ~10 sigma for n = 1e5
  EXPECT_TRUE(torch::allclose(y.masked_select(y != 0), torch::full({1}, 1.25f)));
  const float last = y[100000].item<float>();  // odd length: the tail element is written too
  EXPECT_TRUE(last == 0.0f || last == 1.25f) << last;
  y.sum().backward();  // d(sum)/dx = the mask itself
  EXPECT_TRUE(torch::equal(x.grad(), y.detach()));
  torch::manual_seed(11);
  EXPECT_TRUE(torch::equal(sm::dropout(x, 0.2, true), y));
  EXPECT_FALSE(torch::equal(sm::dropout(x, 0.2, true), y));
  // Independent of the thread count (the mask is a hash of seed and index).
  const int threads = at::get_num_threads();
  at::set_num_threads(threads > 1 ? 1 : 2);
  torch::manual_seed(11);
  EXPECT_TRUE(torch::equal(sm::dropout(x, 0.2, true), y));
  at::set_num_threads(threads);
}

TEST(Model, SameSeedSameWeights) {
  for (const auto& name : sm::architecture_names()) {
    torch::manual_seed(42);
    auto a = sm::make_model(arch(name), kDim, kClasses);
    torch::manual_seed(42);
    auto b = sm::make_model(arch(name), kDim, kClasses);
    torch::manual_seed(43);
    auto c = sm::make_model(arch(name), kDim, kClasses);
    EXPECT_TRUE(same_weights(*a, *b)) << name;
    EXPECT_FALSE(same_weights(*a, *c)) << name;
  }
}

TEST(Model, SaveLoadRoundTripIsBitExact) {
  ser::test::TempDir dir;
  torch::manual_seed(7);
  for (const auto& name : sm::architecture_names()) {
    sm::ModelConfig cfg = arch(name);
    cfg.bn_head = false;  // a non-default spec must survive the trip
    cfg.dropout_mid = 0.3;
    cfg.mlp_hidden = 64;
    auto model = sm::make_model(cfg, kDim, kClasses);
    // A few train-mode passes so BN running statistics differ from their initial values.
    model->train();
    for (int i = 0; i < 3; ++i) model->forward(torch::randn({8, 1, kDim}));
    model->eval();
    const auto x = torch::randn({5, 1, kDim});
    const auto expected = model->forward(x);

    const std::string path = dir / (name + "/model.pt");
    sm::save_model(*model, path);
    auto loaded = sm::load_model(path);
    loaded->eval();
    EXPECT_TRUE(torch::equal(loaded->forward(x), expected)) << name;
    EXPECT_EQ(loaded->spec().config.architecture, name);
    EXPECT_FALSE(loaded->spec().config.bn_head);
    EXPECT_DOUBLE_EQ(loaded->spec().config.dropout_mid, 0.3);
    EXPECT_EQ(loaded->spec().config.mlp_hidden, 64);
    EXPECT_EQ(loaded->spec().input_dim, kDim);
    EXPECT_EQ(loaded->spec().n_classes, kClasses);
    EXPECT_EQ(sm::parameter_count(*loaded, true), sm::parameter_count(*model, true));

    auto copy = sm::clone_model(*model);
    EXPECT_FALSE(copy->is_training());
    EXPECT_TRUE(torch::equal(copy->forward(x), expected)) << name;
    // The clone is independent of the original.
    {
      torch::NoGradGuard no_grad;
      for (auto& p : copy->parameters()) p.add_(1.0);
    }
    EXPECT_TRUE(torch::equal(model->forward(x), expected));
  }
}

TEST(Model, LoadRejectsMissingOrForeignFiles) {
  ser::test::TempDir dir;
  const std::string junk = dir / "junk.pt";
  std::ofstream(junk) << "not a model";
  for (const auto& path : {junk, dir / "missing.pt"}) {
    try {
      sm::load_model(path);
      FAIL() << "expected ser::Error for " << path;
    } catch (const ser::Error& e) {
      EXPECT_EQ(e.kind(), ser::ErrorKind::Input);
      EXPECT_EQ(e.subject(), path);
    }
  }
}

TEST(Model, UnknownArchitectureNamesKeyAndKnownOnes) {
  try {
    sm::make_model(arch("resnet"), kDim, kClasses);
    FAIL() << "expected ser::Error";
  } catch (const ser::Error& e) {
    EXPECT_EQ(e.kind(), ser::ErrorKind::Config);
    EXPECT_EQ(e.subject(), "model.architecture");
    const std::string msg = e.what();
    EXPECT_NE(msg.find("resnet"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model_a"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mlp"), std::string::npos) << msg;
  }
}

TEST(Model, InvalidValuesNameTheirKey) {
  sm::ModelConfig cfg = arch("model_a");
  cfg.dropout_head = 1.0;
  try {
    sm::make_model(cfg, kDim, kClasses);
    FAIL();
  } catch (const ser::Error& e) {
    EXPECT_EQ(e.subject(), "model.dropout_head");
  }
  cfg = arch("model_a");
  cfg.bn_momentum = 1.0;  // running statistics that never move
  try {
    sm::make_model(cfg, kDim, kClasses);
    FAIL();
  } catch (const ser::Error& e) {
    EXPECT_EQ(e.subject(), "model.bn_momentum");
  }
  auto model = sm::make_model(arch("model_a"), kDim, kClasses);
  EXPECT_THROW(model->forward(torch::randn({2, 1, 192})), ser::Error);  // wrong feature count
}

// bn_momentum follows Keras (running = m * running + (1 - m) * batch) and travels with the model.
TEST(Model, BatchNormMomentumIsKerasStyleAndSaved) {
  sm::ModelConfig cfg = arch("model_a");
  cfg.bn_momentum = 0.9;
  auto model = sm::make_model(cfg, kDim, kClasses);
  for (const auto& m : model->named_modules()) {
    if (auto* bn = m.value()->as<torch::nn::BatchNorm1d>()) EXPECT_NEAR(bn->options.momentum().value(), 0.1, 1e-12);
  }
  ser::test::TempDir dir;
  sm::save_model(*model, dir / "m.pt");
  EXPECT_DOUBLE_EQ(sm::load_model(dir / "m.pt")->spec().config.bn_momentum, 0.9);
}
