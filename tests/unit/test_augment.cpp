// The augmentation library without reference data: the recipe grammar and its errors, seeded
// determinism, what each op does to a synthetic signal (lengths, SNR, shifted samples, trim
// intervals), and per-copy feature caching.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "ser/augment/augment.hpp"
#include "ser/error.hpp"
#include "ser/features/augmented.hpp"
#include "ser/features/registry.hpp"
#include "support/cli.hpp"
#include "support/temp_dir.hpp"

using namespace ser;

namespace {

std::vector<float> tone(std::size_t n, double freq = 440.0, int sr = 22050, float amp = 0.5f) {
  std::vector<float> y(n);
  for (std::size_t i = 0; i < n; ++i) y[i] = amp * static_cast<float>(std::sin(2 * M_PI * freq * static_cast<double>(i) / sr));
  return y;
}

double power(const std::vector<float>& y, std::size_t from, std::size_t to) {
  double p = 0;
  for (std::size_t i = from; i < to; ++i) p += static_cast<double>(y[i]) * y[i];
  return p / static_cast<double>(to - from);
}

// The message of the config error parse_recipe throws for `text` ("" if none).
std::string recipe_error(const std::string& text) {
  try {
    augment::parse_recipe(text, "--ops");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config) << text;
    EXPECT_EQ(e.subject(), "--ops");
    return e.what();
  }
  return "";
}

TEST(Recipe, ParsesShorthandKeyValueChoicesRangesAndChains) {
  const auto r = augment::parse_recipe(" trim + noise:snr_db=10..30,fraction=0.25+speed=0.81|1.23 ", "--ops");
  ASSERT_EQ(r.ops.size(), 3u);
  EXPECT_EQ(augment::recipe_tag(r), "trim+noise+speed");
  EXPECT_EQ(r.ops[0].params[0].first, "top_db");
  EXPECT_EQ(r.ops[0].params[0].second.choices, std::vector<std::string>{"60"});  // the default
  EXPECT_TRUE(r.ops[1].params[0].second.is_range);
  EXPECT_DOUBLE_EQ(r.ops[1].params[0].second.lo, 10);
  EXPECT_DOUBLE_EQ(r.ops[1].params[0].second.hi, 30);
  EXPECT_EQ(r.ops[1].params[1].second.choices, std::vector<std::string>{"0.25"});
  EXPECT_EQ(r.ops[2].params[0].second.choices, (std::vector<std::string>{"0.81", "1.23"}));
  EXPECT_EQ(augment::parse_recipe("shift:max_ms=200,direction=right|left", "x").ops[0].params[1].second.choices.size(), 2u);
  EXPECT_EQ(augment::parse_recipe("pitch=-2", "x").ops[0].params[1].second.choices, std::vector<std::string>{"12"});
}

TEST(Recipe, BadInputIsAConfigErrorNamingTheProblem) {
  EXPECT_NE(recipe_error("reverb=0.3").find("unknown augmentation op 'reverb'"), std::string::npos);
  EXPECT_NE(recipe_error("reverb=0.3").find("speed, tempo, pitch, noise, shift, trim"), std::string::npos);
  EXPECT_NE(recipe_error("speed=0").find("factor must be in [0.25, 4] (got 0)"), std::string::npos);
  EXPECT_NE(recipe_error("speed=-1.1").find("factor must be in [0.25, 4]"), std::string::npos);
  EXPECT_NE(recipe_error("speed=0.9|0").find("got 0"), std::string::npos);
  EXPECT_NE(recipe_error("tempo:rate=0..1.2").find("rate must be in [0.25, 4]"), std::string::npos);
  EXPECT_NE(recipe_error("noise=inf").find("snr_db must be in [-20, 100] (got inf)"), std::string::npos);
  EXPECT_NE(recipe_error("noise=nan").find("snr_db must be in [-20, 100] (got nan)"), std::string::npos);
  EXPECT_NE(recipe_error("noise:snr_db=20,fraction=1.5").find("fraction must be in (0, 1]"), std::string::npos);
  EXPECT_NE(recipe_error("noise:snr=20").find("noise has no parameter 'snr'"), std::string::npos);
  EXPECT_NE(recipe_error("noise").find("noise needs snr_db"), std::string::npos);
  EXPECT_NE(recipe_error("shift=-5").find("max_ms must be in [0, 60000]"), std::string::npos);
  EXPECT_NE(recipe_error("shift:max_ms=100,direction=up").find("direction must be right or left"), std::string::npos);
  EXPECT_NE(recipe_error("trim=0").find("top_db must be in (0, 200]"), std::string::npos);
  EXPECT_NE(recipe_error("speed=1.2..0.8").find("lo > hi"), std::string::npos);
  EXPECT_NE(recipe_error("speed=fast").find("'fast' is not a number"), std::string::npos);
  EXPECT_NE(recipe_error("speed=0.9+").find("empty op"), std::string::npos);
  EXPECT_NE(recipe_error("").find("empty recipe"), std::string::npos);
  EXPECT_NE(recipe_error("pitch:steps=2,bins_per_octave=0").find("whole number in [1, 120]"), std::string::npos);
}

TEST(Rng, IsDeterministicAndWellSpread) {
  augment::Rng a(7), b(7), c(8);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(augment::Rng(7).next(), c.next());
  augment::Rng r(1);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    sum += x;
    sum2 += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.01);
  for (int i = 0; i < 1000; ++i) {
    const double u = r.uniform(2.0, 3.0);
    EXPECT_GE(u, 2.0);
    EXPECT_LT(u, 3.0);
    EXPECT_LT(r.below(5), 5u);
  }
}

TEST(CopySeed, DependsOnEveryPartButNothingElse) {
  const auto s = augment::copy_seed(42, "a/b", 0, 0);
  EXPECT_EQ(s, augment::copy_seed(42, "a/b", 0, 0));
  EXPECT_NE(s, augment::copy_seed(43, "a/b", 0, 0));
  EXPECT_NE(s, augment::copy_seed(42, "a/c", 0, 0));
  EXPECT_NE(s, augment::copy_seed(42, "a/b", 1, 0));
  EXPECT_NE(s, augment::copy_seed(42, "a/b", 0, 1));
}

TEST(Ops, SpeedAndTempoLengths) {
  const auto y = tone(22050);
  EXPECT_EQ(augment::change_speed(y, 22050, 0.5).size(), 44100u);
  EXPECT_EQ(augment::change_speed(y, 22050, 1.0), y);  // librosa returns equal rates untouched
  EXPECT_EQ(augment::time_stretch(y, 2.0).size(), 11025u);
  EXPECT_EQ(augment::time_stretch(y, 0.81).size(), static_cast<std::size_t>(std::nearbyint(22050 / 0.81)));
  EXPECT_EQ(augment::pitch_shift(y, 22050, 3.0).size(), y.size());
  EXPECT_THROW(augment::change_speed(y, 22050, 0.0), Error);
  EXPECT_THROW(augment::time_stretch(y, -1.0), Error);
  EXPECT_THROW(augment::pitch_shift(y, 22050, NAN), Error);
  // Bounded: beyond a factor 4 (or two octaves) the output size grows without limit.
  EXPECT_THROW(augment::change_speed(y, 22050, 1e-6), Error);
  EXPECT_THROW(augment::time_stretch(y, 1e-4), Error);
  EXPECT_THROW(augment::pitch_shift(y, 22050, 1000.0), Error);
  // A stretched tone keeps its pitch: the zero-crossing rate in the middle is unchanged.
  const auto slow = augment::time_stretch(y, 0.5);
  auto crossings = [](const std::vector<float>& v, std::size_t from, std::size_t len) {
    int c = 0;
    for (std::size_t i = from + 1; i < from + len; ++i) c += (v[i - 1] < 0) != (v[i] < 0);
    return c;
  };
  EXPECT_NEAR(crossings(slow, 11025, 11025), crossings(y, 5512, 11025), 2);
}

TEST(Ops, NoiseHitsTheTargetSnrOnTheChosenFraction) {
  const auto y = tone(100000);
  augment::Rng rng(3);
  const auto noisy = augment::add_noise(y, 20.0, 1.0, rng);
  std::vector<float> noise(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) noise[i] = noisy[i] - y[i];
  EXPECT_NEAR(10 * std::log10(power(y, 0, y.size()) / power(noise, 0, y.size())), 20.0, 0.1);

  augment::Rng rng2(4);
  const auto part = augment::add_noise(y, 10.0, 0.25, rng2);
  std::size_t first = y.size(), last = 0, changed = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (part[i] != y[i]) {
      first = std::min(first, i);
      last = i;
      ++changed;
    }
  }
  EXPECT_EQ(last - first + 1, 25000u) << "one contiguous quarter";
  EXPECT_GT(changed, 24900u);
  std::vector<float> seg(y.size());
  for (std::size_t i = first; i <= last; ++i) seg[i] = part[i] - y[i];
  EXPECT_NEAR(10 * std::log10(power(y, first, last + 1) / power(seg, first, last + 1)), 10.0, 0.2);

  const std::vector<float> silence(1000, 0.0f);
  augment::Rng rng3(5);
  EXPECT_EQ(augment::add_noise(silence, 10.0, 1.0, rng3), silence);
}

TEST(Ops, ShiftFillsWithZerosAndKeepsTheLength) {
  const std::vector<float> y = {1, 2, 3, 4, 5};
  EXPECT_EQ(augment::shift(y, 2, true), (std::vector<float>{0, 0, 1, 2, 3}));
  EXPECT_EQ(augment::shift(y, 2, false), (std::vector<float>{3, 4, 5, 0, 0}));
  EXPECT_EQ(augment::shift(y, 0, true), y);
  EXPECT_THROW(augment::shift(y, 5, true), Error);
}

TEST(Ops, TrimFindsTheLoudPart) {
  std::vector<float> y(30000, 0.0f);
  const auto t = tone(8000);
  std::copy(t.begin(), t.end(), y.begin() + 10000);
  const augment::Trimmed r = augment::trim(y, 60.0);
  // Frames are centred 2048-sample windows every 512: the first frame reaching the tone starts
  // at 9216 (window 8192-10240 overlaps 10000), the last ends at 18944 (window 17408-19456).
  EXPECT_EQ(r.start, 9216u);
  EXPECT_EQ(r.end, 19456u);
  EXPECT_EQ(r.samples.size(), r.end - r.start);
  // All silence: every frame is 0 dB below the loudest one, so nothing is trimmed (as librosa).
  const augment::Trimmed s = augment::trim(std::vector<float>(5000, 0.0f), 60.0);
  EXPECT_EQ(s.start, 0u);
  EXPECT_EQ(s.end, 5000u);
}

TEST(ApplyRecipe, IsSeededAndReportsWhatWasDrawn) {
  const auto y = tone(22050);
  const auto recipe = augment::parse_recipe("speed=0.9|1.1+noise:snr_db=10..30,fraction=0.5+shift=100", "x");
  const auto a = augment::apply_recipe(recipe, y, 22050, 11, "clip.wav");
  const auto b = augment::apply_recipe(recipe, y, 22050, 11, "clip.wav");
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.applied, b.applied);
  EXPECT_EQ(a.applied.rfind("speed:factor=", 0), 0u) << a.applied;
  EXPECT_NE(a.applied.find("+noise:snr_db="), std::string::npos) << a.applied;
  EXPECT_NE(a.applied.find("+shift:samples="), std::string::npos) << a.applied;
  bool any_different = false;
  for (std::uint64_t seed = 12; seed < 20 && !any_different; ++seed) {
    any_different = augment::apply_recipe(recipe, y, 22050, seed, "clip.wav").samples != a.samples;
  }
  EXPECT_TRUE(any_different);
}

TEST(ApplyRecipe, ShiftLongerThanTheClipNamesTheFile) {
  const auto recipe = augment::parse_recipe("shift=200", "x");
  try {
    augment::apply_recipe(recipe, tone(882), 22050, 1, "short.wav");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "short.wav");
    EXPECT_NE(std::string(e.what()).find("not shorter than the clip (882 samples)"), std::string::npos) << e.what();
  }
}

class AugmentFeatures : public ser::test::CliTest {};

TEST_F(AugmentFeatures, CopiesAreCachedAndIndependentOfTheOtherSources) {
  write_tone_corpus("m.csv");
  const auto index = data::index_manifest(p("m.csv"));
  const auto set = features::make_feature_set("issa193");
  const std::vector<augment::Recipe> recipes = {augment::parse_recipe("speed=0.9|1.1", "x"),
                                                augment::parse_recipe("noise=20", "x")};
  features::AugmentOptions opt;
  opt.copies = 2;
  opt.cache_dir = p("cache");
  const auto first = features::augment_features(index.items, {0, 5, 9}, recipes, *set, opt);
  ASSERT_EQ(first.rows.size(), 12u);
  EXPECT_EQ(first.computed, 12u);
  EXPECT_EQ(first.rows[4].source, 5u);
  EXPECT_EQ(first.rows[4].recipe, 0u);
  const auto again = features::augment_features(index.items, {0, 5, 9}, recipes, *set, opt);
  EXPECT_EQ(again.from_cache, 12u);
  EXPECT_EQ(again.values, first.values);
  // Item 5's copies do not depend on which other items are copied, nor on the cache.
  opt.use_cache = false;
  const auto alone = features::augment_features(index.items, {5}, recipes, *set, opt);
  EXPECT_TRUE(std::equal(alone.values.begin(), alone.values.end(), first.values.begin() + 4 * static_cast<long>(set->dim())));
  // A different seed gives different copies.
  opt.seed = 7;
  EXPECT_NE(features::augment_features(index.items, {5}, recipes, *set, opt).values, alone.values);
  EXPECT_EQ(features::copy_id("wav/03a01Fa", recipes[0], 0), "wav/03a01Fa#speed.1");
}

}  // namespace
