// The frame store of the `functionals` set (ser extract --frames): for every librosa reference
// clip, each frame block (mfcc, dmfcc, logmel, chroma, contrast and the six scalar descriptors)
// equals librosa 0.11's frame matrix (func_*.npy) to 1e-4 block-relative, the pooled vector is
// the store's features.npy row, and a re-run from the cache writes the same bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "ser/features/frames.hpp"
#include "ser/util/files.hpp"
#include "ser/util/npy.hpp"
#include "support/cli.hpp"
#include "support/shared.hpp"

namespace ser::test {

class FunctionalsFramesCli : public CliTest {};

TEST_F(FunctionalsFramesCli, EveryFrameBlockEqualsLibrosa) {
  SER_REQUIRE_SHARED();
  const std::vector<std::string> clips = {"03a01Fa", "16b10Wb", "chirp_44k_float", "noise_8k_24bit",
                                          "ravdess_03-01-05-02-01-01-12", "silence_16k", "tones_stereo_44k"};
  std::string manifest = "path,label,id\n";
  for (const auto& c : clips) manifest += clip_source(c) + ",x," + c + "\n";
  util::write_text_atomic(p("m.csv"), manifest);
  const std::string cmd = "extract --dataset manifest --manifest " + shell_quote(p("m.csv")) + " --out " +
                          shell_quote(p("f")) + " --features functionals --frames --no-progress";
  const auto r = run_cli_streams(cmd);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto store = features::FrameStore::open(p("f"));
  ASSERT_EQ(store.items(), clips.size());
  ASSERT_EQ(store.width(), 169u);
  EXPECT_NEAR(store.rate_hz(), 22050.0 / 512.0, 1e-9);
  const std::map<std::string, std::string> stage = {{"mfcc", "mfcc"},         {"dmfcc", "delta_mfcc"},
                                                    {"logmel", "logmel64"},   {"chroma", "chroma_stft"},
                                                    {"contrast", "contrast"}, {"rms", "rms"},
                                                    {"zcr", "zcr"},           {"centroid", "centroid"},
                                                    {"bandwidth", "bandwidth"}, {"rolloff", "rolloff"},
                                                    {"flatness", "flatness"}};
  double worst = 0;
  for (std::size_t i = 0; i < store.items(); ++i) {
    const std::string clip = store.id(i);
    for (const auto& b : store.blocks()) {
      const auto ref = util::read_npy(clip_dir(clip) + "/func_" + stage.at(b.name) + ".npy");
      ASSERT_EQ(ref.shape.size(), 2u);
      ASSERT_EQ(ref.shape[0], b.size) << clip << " " << b.name;
      ASSERT_EQ(ref.shape[1], store.frames(i)) << clip << " " << b.name;
      double err = 0, scale = 1e-3;
      for (std::size_t t = 0; t < store.frames(i); ++t) {
        for (std::size_t k = 0; k < b.size; ++k) {
          const double want = ref.at(k, t);
          err = std::max(err, std::fabs(store.data(i)[t * store.width() + b.offset + k] - want));
          scale = std::max(scale, std::fabs(want));
        }
      }
      EXPECT_LE(err / scale, 1e-4) << clip << " " << b.name;
      worst = std::max(worst, err / scale);
    }
  }
  std::printf("functionals frames vs librosa: worst block-relative error %.3g over %zu clips\n", worst, clips.size());
  // The vectors are the usual functionals (the frames come from the same pass), and a re-run
  // from the cache writes the same frame bytes.
  const auto with = util::read_text(p("f/features.npy"));
  ASSERT_EQ(run_cli_streams("extract --dataset manifest --manifest " + shell_quote(p("m.csv")) + " --out " +
                            shell_quote(p("g")) + " --features functionals --no-progress --no-cache")
                .code,
            0);
  EXPECT_EQ(util::read_text(p("g/features.npy")), with);
  const auto frames_before = util::read_text(p("f/frames.npy"));
  const auto again = run_cli_streams(cmd);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("from cache"), std::string::npos) << again.err;
  EXPECT_EQ(util::read_text(p("f/frames.npy")), frames_before);
}

}  // namespace ser::test
