// The frame store (features.frames) and sharded extraction (ser extract --shard K/N, --merge):
// frames equal the reference hidden states frame for frame, the pooled vectors are their means,
// three shards merge into the same bytes as one process, and the mistakes are named.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "ser/audio/audio.hpp"
#include "ser/error.hpp"
#include "ser/features/frames.hpp"
#include "ser/util/files.hpp"
#include "ser/util/npy.hpp"
#include "support/cli.hpp"
#include "support/npz.hpp"
#include "support/shared.hpp"

namespace fs = std::filesystem;

namespace ser::test {

namespace {

class FramesCli : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    enc_ = encoder_references_dir();
    if (!fs::exists(enc_ + "/wavlm-tiny")) GTEST_SKIP() << "no encoder references in " << enc_ << " (set SER_SHARED_DIR)";
  }
  // The three reference clips, then `copies - 1` more of each at other levels (distinct files,
  // not duplicates), a missing file, and `extra`.
  std::string manifest(const std::string& extra = "", int copies = 2) {
    std::string m = "path,label,speaker\n";
    for (int copy = 0; copy < copies; ++copy) {
      for (const char* c : {"c00", "c01", "c02"}) {
        const std::string clip = p("clips/" + std::string(c) + "-" + std::to_string(copy) + ".wav");
        fs::create_directories(p("clips"));
        if (!fs::exists(clip)) {
          audio::Signal s = audio::read_mono(enc_ + "/clips/" + c + ".wav");
          if (copy) {
            for (auto& v : s.samples) v *= 1.0f / static_cast<float>(copy + 1);
            audio::write_wav(clip, s);
          } else {
            fs::copy_file(enc_ + "/clips/" + c + ".wav", clip);
          }
        }
        m += clip + "," + (copy % 2 ? "b" : "a") + ",s" + std::to_string(copy) + "\n";
      }
    }
    m += p("clips/missing.wav") + ",a,s0\n" + extra;
    util::write_text_atomic(p("m.csv"), m);
    return shell_quote(p("m.csv"));
  }
  std::string extract(const std::string& out, const std::string& model, const std::string& more) {
    return "extract --dataset manifest --manifest " + shell_quote(p("m.csv")) + " --out " + shell_quote(p(out)) +
           " --features encoder --set features.encoder.checkpoint=" + shell_quote(enc_ + "/" + model) +
           " --no-progress --allow-failures " + more;
  }
  std::string enc_;
};

double rel_error(const float* got, const util::NpyArray& want, std::size_t rows, std::size_t width, std::size_t stride) {
  double err = 0, scale = 0;
  for (std::size_t f = 0; f < rows; ++f) {
    for (std::size_t j = 0; j < width; ++j) {
      err = std::max(err, std::fabs(got[f * stride + j] - want.values[f * width + j]));
      scale = std::max(scale, std::fabs(want.values[f * width + j]));
    }
  }
  return err / scale;
}

}  // namespace

TEST_F(FramesCli, FramesAreTheReferenceHiddenStatesAndPoolToTheVector) {
  manifest();
  for (const std::string model : {"wavlm-tiny", "hubert-tiny-stable"}) {
    const auto r = run_cli_streams(extract("f-" + model, model, "--frames --set features.encoder.layers=[2,0] "
                                                                "--set features.encoder.pooling=mean+std"));
    ASSERT_EQ(r.code, 0) << r.err;
    const auto store = features::FrameStore::open(p("f-" + model));
    ASSERT_EQ(store.items(), 6u);
    ASSERT_EQ(store.blocks().size(), 2u);
    EXPECT_EQ(store.blocks()[0].name, "layer02");
    EXPECT_EQ(store.blocks()[1].name, "layer00");
    EXPECT_DOUBLE_EQ(store.rate_hz(), 50.0);
    const std::size_t w = store.blocks()[0].size;
    ASSERT_EQ(store.width(), 2 * w);
    const auto ref = read_npz(enc_ + "/" + model + "/frames.npz");
    const auto pooled = util::read_npy(p("f-" + model + "/features.npy"));
    ASSERT_EQ(pooled.shape[1], 4 * w);
    for (std::size_t i = 0; i < 6; ++i) {
      const std::string id = store.id(i);  // clips/c01-0
      ASSERT_GE(id.size(), 11u);
      const std::string clip = id.substr(6, 3);
      const bool reference = id.substr(9) == "-0";
      const auto& h2 = ref.at(clip + "/h2");
      const auto& h0 = ref.at(clip + "/h0");
      ASSERT_EQ(store.frames(i), h2.shape[0]) << clip;
      if (reference) {  // the reference clips themselves
        EXPECT_LE(rel_error(store.data(i), h2, h2.shape[0], w, 2 * w), 1e-4) << model << " " << clip << " h2";
        EXPECT_LE(rel_error(store.data(i) + w, h0, h0.shape[0], w, 2 * w), 1e-4) << model << " " << clip << " h0";
      }
      // The vector's layer02.mean / layer02.std are the mean and population std of its frames.
      for (std::size_t j = 0; j < w; j += 7) {
        double m = 0, q = 0;
        const std::size_t n = store.frames(i);
        for (std::size_t f = 0; f < n; ++f) m += store.data(i)[f * 2 * w + j];
        m /= static_cast<double>(n);
        for (std::size_t f = 0; f < n; ++f) q += std::pow(store.data(i)[f * 2 * w + j] - m, 2);
        EXPECT_NEAR(pooled.at(i, j), m, 1e-5 * (1 + std::fabs(m)));
        EXPECT_NEAR(pooled.at(i, w + j), std::sqrt(q / static_cast<double>(n)), 1e-5);
      }
    }
    // Again from the cache: the same frames, byte for byte.
    const std::string before = util::read_text(p("f-" + model + "/frames.npy"));
    const auto again = run_cli_streams(extract("f-" + model, model, "--frames --set features.encoder.layers=[2,0] "
                                                                    "--set features.encoder.pooling=mean+std"));
    ASSERT_EQ(again.code, 0) << again.err;
    EXPECT_NE(again.err.find("6 from cache"), std::string::npos) << again.err;
    EXPECT_EQ(util::read_text(p("f-" + model + "/frames.npy")), before);
    // Without --frames the store keeps no stale frames.
    ASSERT_EQ(run_cli_streams(extract("f-" + model, model, "--set features.encoder.layers=[2,0]")).code, 0);
    EXPECT_FALSE(fs::exists(p("f-" + model + "/frames.npy")));
    EXPECT_THROW(features::FrameStore::open(p("f-" + model)), Error);
  }
}

TEST_F(FramesCli, ThreeShardsMergeToTheBytesOfOneProcess) {
  manifest();
  const std::string more = "--frames --set features.encoder.layers=[0,1] --set features.encoder.batch=1";
  ASSERT_EQ(run_cli_streams(extract("one", "wav2vec2-tiny", more + " --no-cache")).code, 0);
  for (int k = 1; k <= 3; ++k) {
    const auto r = run_cli_streams(extract("sharded", "wav2vec2-tiny", more + " --shard " + std::to_string(k) + "/3"));
    ASSERT_EQ(r.code, 0) << r.err;
  }
  // A shard holds every third item of the listing: shard 2 has items 1 and 4.
  const auto lines = [&](const std::string& f) {
    std::vector<std::string> out;
    std::istringstream in(util::read_text(p(f)));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  const auto all = lines("one/index.csv"), shard2 = lines("sharded/shards/2-of-3/index.csv");
  ASSERT_EQ(all.size(), 7u);  // header + 6 (the missing file is item 6, in shard 1)
  EXPECT_EQ(shard2, (std::vector<std::string>{all[0], all[2], all[5]}));
  const auto merged = run_cli_streams(extract("sharded", "wav2vec2-tiny", more + " --merge"));
  ASSERT_EQ(merged.code, 0) << merged.err;
  for (const char* f : {"features.npy", "index.csv", "audio.csv", "frames.npy", "frames.csv"}) {
    EXPECT_EQ(util::read_text(p("sharded/") + f), util::read_text(p("one/") + f)) << f;
  }
  auto a = nlohmann::json::parse(util::read_text(p("one/meta.json")));
  auto b = nlohmann::json::parse(util::read_text(p("sharded/meta.json")));
  EXPECT_EQ(b["merged_from_shards"], 3);
  EXPECT_EQ(b["errors"].size(), 1u);  // the missing file, once
  for (auto* m : {&a, &b}) {
    for (const char* k : {"created", "seconds", "merged_from_shards"}) m->erase(k);
    (*m)["counts"].erase("extracted");
    (*m)["counts"].erase("from_cache");
  }
  EXPECT_EQ(a, b);
  EXPECT_NO_THROW(features::FrameStore::open(p("sharded")));
}

// Batches of 2 (windows of 16 items): 39 clips + a missing file in 3 windows, one per shard.
// The merge equals one process byte for byte, and batching changes no value beyond 1e-5.
TEST_F(FramesCli, BatchedShardsMergeToTheBytesOfOneProcess) {
  manifest("", 13);
  const std::string more = "--frames --set features.encoder.layers=[0,2] --set features.encoder.batch=2";
  ASSERT_EQ(run_cli_streams(extract("one", "wavlm-tiny", more + " --no-cache")).code, 0);
  ASSERT_EQ(run_cli_streams(extract("alone", "wavlm-tiny",
                                    "--frames --set features.encoder.layers=[0,2] --set features.encoder.batch=1 --no-cache"))
                .code,
            0);
  for (int k = 1; k <= 3; ++k) {
    const auto r = run_cli_streams(extract("sharded", "wavlm-tiny", more + " --shard " + std::to_string(k) + "/3"));
    ASSERT_EQ(r.code, 0) << r.err;
  }
  const auto meta1 = nlohmann::json::parse(util::read_text(p("sharded/shards/1-of-3/meta.json")));
  EXPECT_EQ(meta1["shard"]["window"], 16);
  EXPECT_EQ(meta1["counts"]["rows"], 16);  // window 0: 16 of the 39 clips (the missing file is last)
  const auto merged = run_cli_streams(extract("sharded", "wavlm-tiny", more + " --merge"));
  ASSERT_EQ(merged.code, 0) << merged.err;
  for (const char* f : {"features.npy", "index.csv", "audio.csv", "frames.npy", "frames.csv"}) {
    EXPECT_EQ(util::read_text(p("sharded/") + f), util::read_text(p("one/") + f)) << f;
  }
  // Batched against one clip per pass: the same rows, equal to 1e-5 of each column's scale.
  const auto a = util::read_npy(p("one/features.npy")), b = util::read_npy(p("alone/features.npy"));
  ASSERT_EQ(a.shape, b.shape);
  ASSERT_EQ(a.shape[0], 39u);
  double worst = 0;
  for (std::size_t j = 0; j < a.shape[1]; ++j) {
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < a.shape[0]; ++i) {
      err = std::max(err, std::fabs(a.at(i, j) - b.at(i, j)));
      scale = std::max(scale, std::fabs(b.at(i, j)));
    }
    worst = std::max(worst, err / std::max(scale, 1e-12));
  }
  EXPECT_LE(worst, 1e-5);
  const auto fa = features::FrameStore::open(p("one")), fb = features::FrameStore::open(p("alone"));
  ASSERT_EQ(fa.total_frames(), fb.total_frames());
  double ferr = 0, fscale = 0;
  for (std::size_t i = 0; i < fa.total_frames() * fa.width(); ++i) {
    ferr = std::max(ferr, static_cast<double>(std::fabs(fa.data(0)[i] - fb.data(0)[i])));
    fscale = std::max(fscale, static_cast<double>(std::fabs(fb.data(0)[i])));
  }
  EXPECT_LE(ferr / fscale, 1e-5);
}

TEST_F(FramesCli, MistakesAreNamed) {
  manifest();
  for (const std::string bad : {"0/3", "4/3", "2", "a/b", "1/3x", "-1/3"}) {
    const auto r = run_cli_streams(extract("s", "wav2vec2-tiny", "--shard " + bad));
    EXPECT_EQ(r.code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--shard"), std::string::npos) << r.err;
  }
  // Merging before every shard is there names the missing one.
  ASSERT_EQ(run_cli_streams(extract("s", "wav2vec2-tiny", "--shard 1/2")).code, 0);
  auto r = run_cli_streams(extract("s", "wav2vec2-tiny", "--merge"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("2-of-2"), std::string::npos) << r.err;
  // A shard made with other settings (layers) is refused.
  ASSERT_EQ(run_cli_streams(extract("s", "wav2vec2-tiny", "--shard 2/2 --set features.encoder.layers=[1]")).code, 0);
  r = run_cli_streams(extract("s", "wav2vec2-tiny", "--merge"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("2-of-2/meta.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("other settings"), std::string::npos) << r.err;
  // ...and so is a corpus that lists other files than the shards were made from.
  ASSERT_EQ(run_cli_streams(extract("s", "wav2vec2-tiny", "--shard 2/2")).code, 0);
  ASSERT_EQ(run_cli_streams(extract("s", "wav2vec2-tiny", "--merge")).code, 0);
  manifest(p("clips/c00-0.wav") + ",b,s9\n");
  r = run_cli_streams(extract("s", "wav2vec2-tiny", "--merge"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("re-run"), std::string::npos) << r.err;
  // Frames of a set that has none.
  r = run_cli_streams("extract --dataset manifest --manifest " + shell_quote(p("m.csv")) + " --out " +
                      shell_quote(p("i")) + " --features issa193 --frames --no-progress");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("features.frames"), std::string::npos) << r.err;
  // A damaged frame store is named, not read past its end.
  manifest();
  ASSERT_EQ(run_cli_streams(extract("d", "wav2vec2-tiny", "--frames")).code, 0);
  const std::string npy = p("d/frames.npy");
  fs::resize_file(npy, fs::file_size(npy) - 4);
  try {
    features::FrameStore::open(p("d"));
    ADD_FAILURE() << "a truncated frames.npy opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("frames.npy"), std::string::npos) << e.what();
  }
  std::string csv = util::read_text(p("d/frames.csv"));
  csv.replace(csv.find(",0,"), 3, ",1,");
  util::write_text_atomic(p("d/frames.csv"), csv);
  try {
    features::FrameStore::open(p("d"));
    ADD_FAILURE() << "a frames.csv with overlapping rows opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("frames.csv"), std::string::npos) << e.what();
  }
}

}  // namespace ser::test
