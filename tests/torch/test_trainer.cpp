// One-fold training: learning on separable data, determinism, the scaler and the optimisation
// never seeing test rows (leakage rule 1 and 4), early stopping, model save/load, config errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "ser/error.hpp"
#include "ser/model/models.hpp"
#include "ser/train/trainer.hpp"
#include "support/temp_dir.hpp"

using namespace ser;

namespace {

constexpr std::size_t kDim = 16;
constexpr int kClasses = 3;

// Three Gaussian clusters with different means and scales per feature; 40 rows per class.
struct Data {
  std::vector<float> rows;
  std::vector<int> labels;
  data::Fold fold;
};

Data make_data(std::uint64_t seed = 7) {
  Data d;
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::normal_distribution<float> noise(0.0f, 1.0f);
  for (int i = 0; i < 120; ++i) {
    const int c = i % kClasses;
    for (std::size_t k = 0; k < kDim; ++k) d.rows.push_back(100.0f + 10.0f * k + 3.0f * c * ((k % 3) == 0) + noise(rng));
    d.labels.push_back(c);
  }
  d.fold.index = 0;
  for (std::size_t i = 0; i < 120; ++i) {
    if (i < 72) d.fold.train.push_back(i);
    else if (i < 96) d.fold.validation.push_back(i);
    else d.fold.test.push_back(i);
  }
  return d;
}

train::TrainConfig mlp_config() {
  train::TrainConfig cfg;
  cfg.model.architecture = "mlp";
  cfg.model.mlp_hidden = 32;
  cfg.epochs = 40;
  cfg.batch_size = 16;
  cfg.optimizer.name = "adam";
  cfg.optimizer.lr = 1e-2;
  cfg.patience = 0;
  cfg.device = "cpu";
  cfg.threads = 1;
  return cfg;
}

TEST(Trainer, LearnsSeparableClasses) {
  const Data d = make_data();
  const auto r = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, mlp_config());
  ASSERT_EQ(r.test_predictions.size(), d.fold.test.size());
  std::size_t correct = 0;
  for (std::size_t i = 0; i < d.fold.test.size(); ++i) correct += r.test_predictions[i] == d.labels[d.fold.test[i]];
  EXPECT_GE(correct, 22u) << "test accuracy " << correct << "/24";
  EXPECT_EQ(r.history.size(), 40u);
  EXPECT_GE(r.best_epoch, 1);
  for (const auto& p : r.test_probabilities) {
    double sum = 0;
    for (float v : p) sum += v;
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  EXPECT_EQ(r.device, "cpu");
}

TEST(Trainer, SameConfigGivesIdenticalResults) {
  const Data d = make_data();
  const auto a = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, mlp_config());
  const auto b = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, mlp_config());
  ASSERT_EQ(a.history.size(), b.history.size());
  for (std::size_t e = 0; e < a.history.size(); ++e) {
    EXPECT_EQ(a.history[e].train_loss, b.history[e].train_loss);
    EXPECT_EQ(a.history[e].val_loss, b.history[e].val_loss);
  }
  EXPECT_EQ(a.test_probabilities, b.test_probabilities);
}

TEST(Trainer, TestRowsNeverInfluenceTraining) {
  Data d = make_data();
  const auto a = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, mlp_config());
  // Wreck every test row: scaler statistics and the whole training trajectory must not move.
  for (std::size_t i : d.fold.test) {
    for (std::size_t k = 0; k < kDim; ++k) d.rows[i * kDim + k] = 1e6f;
  }
  const auto b = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, mlp_config());
  EXPECT_EQ(a.scaler.mean(), b.scaler.mean());
  EXPECT_EQ(a.scaler.scale(), b.scaler.scale());
  ASSERT_EQ(a.history.size(), b.history.size());
  for (std::size_t e = 0; e < a.history.size(); ++e) {
    EXPECT_EQ(a.history[e].train_loss, b.history[e].train_loss);
    EXPECT_EQ(a.history[e].val_uar, b.history[e].val_uar);
  }
  EXPECT_EQ(a.best_epoch, b.best_epoch);
}

TEST(Trainer, EarlyStoppingAndSavedModel) {
  const Data d = make_data();
  auto cfg = mlp_config();
  cfg.epochs = 200;
  cfg.patience = 5;
  cfg.min_epochs = 12;
  cfg.monitor = "val_loss";
  cfg.optimizer.name = "rmsprop";
  cfg.optimizer.lr = 1e-3;
  cfg.optimizer.decay = 1e-4;
  cfg.schedule.name = "plateau";
  cfg.schedule.plateau_patience = 2;
  test::TempDir tmp;
  const std::string path = tmp / "model.pt";
  const auto r = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cfg, path);
  EXPECT_LT(r.history.size(), 200u);
  EXPECT_GE(static_cast<int>(r.history.size()), cfg.min_epochs);
  EXPECT_EQ(static_cast<int>(r.history.size()), std::max(cfg.min_epochs, r.best_epoch + cfg.patience));
  ASSERT_TRUE(std::filesystem::exists(path));
  // The saved model is the best epoch's: it reproduces the reported test probabilities.
  auto net = model::load_model(path);
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::empty({1, 1, static_cast<int64_t>(kDim)});
  std::vector<float> row(d.rows.begin() + static_cast<std::ptrdiff_t>(d.fold.test[0] * kDim),
                         d.rows.begin() + static_cast<std::ptrdiff_t>((d.fold.test[0] + 1) * kDim));
  r.scaler.transform(row.data());
  std::copy(row.begin(), row.end(), x.data_ptr<float>());
  const auto p = torch::softmax(net->forward(x), 1);
  // One row here, the fold's batch there: an optimised BLAS (OpenBLAS) picks its kernel by shape,
  // so the last bits may differ; the weights must be the same to float precision.
  for (int c = 0; c < kClasses; ++c) {
    const double want = r.test_probabilities[0][c];
    EXPECT_NEAR(p[0][c].item<float>(), want, 1e-7 + 1e-5 * std::fabs(want)) << "class " << c;
  }
}

TEST(Trainer, ModelARunsOnTheFeatureVector) {
  // Model A's pooling needs the real width; a couple of epochs show the whole path works.
  std::mt19937 rng(3);
  std::normal_distribution<float> noise;
  std::vector<float> rows;
  std::vector<int> labels;
  data::Fold fold{0, {}, {}, {}};
  for (std::size_t i = 0; i < 48; ++i) {
    for (int k = 0; k < 193; ++k) rows.push_back(noise(rng) + static_cast<float>(i % 4));
    labels.push_back(static_cast<int>(i % 4));
    (i < 32 ? fold.train : i < 40 ? fold.validation : fold.test).push_back(i);
  }
  train::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.device = "cpu";
  cfg.threads = 1;
  const auto r = train::train_fold(rows, 193, labels, 4, fold, cfg);
  EXPECT_EQ(r.history.size(), 2u);
  EXPECT_EQ(r.test_predictions.size(), 8u);
}

TEST(Trainer, TrailingSingleSampleBatchWithBatchNorm) {
  // 33 training rows with batch 32 leave one sample: BatchNorm must not see a batch of one.
  Data d = make_data();
  d.fold.train.resize(33);
  auto cfg = mlp_config();
  cfg.model.architecture = "model_a";
  cfg.epochs = 1;
  std::vector<float> rows;
  for (std::size_t i = 0; i < 120; ++i) {
    for (int k = 0; k < 193; ++k) rows.push_back(d.rows[i * kDim + static_cast<std::size_t>(k) % kDim]);
  }
  EXPECT_NO_THROW(train::train_fold(rows, 193, d.labels, kClasses, d.fold, cfg));
}

TEST(Trainer, ConfigErrorsNameTheKey) {
  const Data d = make_data();
  auto expect_key = [&](train::TrainConfig cfg, const std::string& key) {
    try {
      train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cfg);
      ADD_FAILURE() << "no error for " << key;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      EXPECT_EQ(e.exit_code(), 2);
    }
  };
  auto cfg = mlp_config();
  cfg.optimizer.name = "adamx";
  expect_key(cfg, "train.optimizer.name");
  cfg = mlp_config();
  cfg.monitor = "val_f1";
  expect_key(cfg, "train.monitor");
  cfg = mlp_config();
  cfg.schedule.name = "linear";
  expect_key(cfg, "train.schedule.name");
  cfg = mlp_config();
  cfg.model.architecture = "resnet";
  expect_key(cfg, "model.architecture");
  if (!torch::cuda::is_available()) {
    cfg = mlp_config();
    cfg.device = "cuda";
    expect_key(cfg, "train.device");
    EXPECT_EQ(train::resolve_device("auto"), "cpu");
  }
}

// Interrupted after epoch 7, then resumed from the checkpoint: the history, the chosen epoch and
// the test probabilities are bit-identical to an uninterrupted run.
TEST(Trainer, ResumeFromCheckpointIsBitExact) {
  const Data d = make_data();
  auto cfg = mlp_config();
  cfg.model.architecture = "model_a";
  cfg.epochs = 12;
  cfg.optimizer.name = "rmsprop";
  cfg.optimizer.lr = 1e-3;
  cfg.optimizer.decay = 1e-3;
  cfg.schedule.name = "plateau";
  cfg.schedule.plateau_patience = 2;
  const train::FoldResult full = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cfg);

  test::TempDir dir;
  train::FoldOptions opt;
  opt.checkpoint_path = dir / "checkpoint.pt";
  opt.model_path = dir / "model.pt";
  opt.keep_going = [](const train::EpochRecord& e) { return e.epoch < 7; };
  try {
    train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cfg, opt);
    FAIL() << "expected an Interrupted error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Interrupted);
    EXPECT_EQ(e.exit_code(), 130);
  }
  ASSERT_TRUE(std::filesystem::exists(opt.checkpoint_path));
  EXPECT_FALSE(std::filesystem::exists(opt.model_path));

  opt.keep_going = nullptr;
  const train::FoldResult resumed = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cfg, opt);
  EXPECT_FALSE(std::filesystem::exists(opt.checkpoint_path)) << "a finished fold removes its checkpoint";
  EXPECT_TRUE(std::filesystem::exists(opt.model_path));
  ASSERT_EQ(resumed.history.size(), full.history.size());
  for (std::size_t i = 0; i < full.history.size(); ++i) {
    EXPECT_EQ(resumed.history[i].train_loss, full.history[i].train_loss) << "epoch " << i + 1;
    EXPECT_EQ(resumed.history[i].val_loss, full.history[i].val_loss) << "epoch " << i + 1;
    EXPECT_EQ(resumed.history[i].lr, full.history[i].lr) << "epoch " << i + 1;
  }
  EXPECT_EQ(resumed.best_epoch, full.best_epoch);
  EXPECT_EQ(resumed.test_probabilities, full.test_probabilities);
}

TEST(Trainer, CheckpointOfAnotherFoldIsRefused) {
  Data d = make_data();
  auto cfg = mlp_config();
  cfg.epochs = 5;
  test::TempDir dir;
  train::FoldOptions opt;
  opt.checkpoint_path = dir / "checkpoint.pt";
  opt.keep_going = [](const train::EpochRecord& e) { return e.epoch < 2; };
  EXPECT_THROW(train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cfg, opt), Error);
  d.fold.train.pop_back();  // a different training part
  opt.keep_going = nullptr;
  try {
    train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cfg, opt);
    FAIL() << "expected the checkpoint to be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), opt.checkpoint_path);
    EXPECT_NE(std::string(e.what()).find("different fold"), std::string::npos) << e.what();
  }
}

// A fixed epoch count without validation (the final model on all data): no early stopping.
TEST(Trainer, EpochsOverrideTrainsWithoutValidation) {
  const Data d = make_data();
  auto cfg = mlp_config();
  cfg.patience = 2;
  train::FoldOptions opt;
  opt.epochs_override = 9;
  const auto r = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cfg, opt);
  ASSERT_EQ(r.history.size(), 9u);
  EXPECT_TRUE(std::isnan(r.history.back().val_loss));
  EXPECT_TRUE(std::isnan(r.best_validation));
  EXPECT_EQ(r.best_epoch, 9);
}

// The CUDA path, in two steps so a failure says which: Model A trains on the GPU, learns, and
// saves a model that loads on the CPU; then a fold interrupted on the GPU resumes from its
// checkpoint. Skipped on machines without CUDA.
train::TrainConfig cuda_model_a() {
  auto cfg = mlp_config();
  cfg.model.architecture = "model_a";
  cfg.model.bn_momentum = 0.9;
  cfg.optimizer.lr = 1e-3;
  cfg.epochs = 30;
  cfg.device = "cuda";
  return cfg;
}

TEST(Trainer, CudaTrainsModelA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  const Data d = make_data();
  EXPECT_EQ(train::resolve_device("auto"), "cuda");
  test::TempDir dir;
  const auto r = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cuda_model_a(), dir / "model.pt");
  EXPECT_EQ(r.device, "cuda");
  ASSERT_EQ(r.history.size(), 30u);
  int correct = 0;
  for (std::size_t i = 0; i < d.fold.test.size(); ++i) correct += r.test_predictions[i] == d.labels[d.fold.test[i]];
  EXPECT_GE(correct, static_cast<int>(d.fold.test.size()) * 9 / 10);
  auto on_cpu = model::load_model(dir / "model.pt", torch::kCPU);
  EXPECT_TRUE(on_cpu->parameters().front().device().is_cpu());
}

TEST(Trainer, CudaResumesFromCheckpoint) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  const Data d = make_data();
  test::TempDir dir;
  train::FoldOptions opt;
  opt.checkpoint_path = dir / "checkpoint.pt";
  opt.keep_going = [](const train::EpochRecord& e) { return e.epoch < 10; };
  EXPECT_THROW(train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cuda_model_a(), opt), Error);
  ASSERT_TRUE(std::filesystem::exists(opt.checkpoint_path));
  opt.keep_going = nullptr;
  const auto r = train::train_fold(d.rows, kDim, d.labels, kClasses, d.fold, cuda_model_a(), opt);
  EXPECT_EQ(r.history.size(), 30u);
  EXPECT_EQ(r.history[9].epoch, 10);
}

}  // namespace
